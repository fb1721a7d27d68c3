"""`cds ARGS` run inside the test process: what a command prints and returns, without the 2-4 s
of CPU a fresh interpreter spends importing the package and loading the rulesets.

A new process proves something only about the entry point itself (the console script, exit codes
seen by a shell, no traceback, a process killed mid-run); tests/test_cli.py, tests/test_wheel.py
and the kill test of tests/test_audit_batch.py keep those. Everything else runs here, with the
environment and working folder a subprocess would have had, restored afterwards.
"""

from __future__ import annotations

import contextlib
import io
import os
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Ran:
    """What `subprocess.run(..., capture_output=True, text=True)` would have given."""

    returncode: int
    stdout: str
    stderr: str


def run_cds(*args: str | Path, env: dict[str, str] | None = None, cwd: Path = ROOT) -> Ran:
    """`cds ARGS` with `env` added to the environment, in `cwd`."""
    # Imported here: the audit helpers import this module, and the writer processes of
    # tests/test_audit_trail.py import them, with no need of the whole command line (web, Da Vinci).
    from cds.cli import main

    saved_environ, saved_cwd = dict(os.environ), Path.cwd()
    out, err = io.StringIO(), io.StringIO()
    try:
        os.environ.update(env or {})
        os.chdir(cwd)
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                code = main([str(a) for a in args])
            except SystemExit as exit_:  # argparse refuses a command line with exit 2
                code = exit_.code if isinstance(exit_.code, int) else 1
    finally:
        # A command may set variables for its own workers (`--max-bytes`): none leaks to the next test.
        os.environ.clear()
        os.environ.update(saved_environ)
        os.chdir(saved_cwd)
    return Ran(code, out.getvalue(), err.getvalue())
