"""Run a README shell example that starts `cds serve --as-of 2026-11-22 &` on port 8080, as
written: on a free port, with the trail and feedback store in a temporary folder."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def run_serve_example(script: str, tmp_path: Path) -> str:
    """The script's standard output; the server it starts is stopped at the end."""
    port = str(free_port())
    script = script.replace("8080", port).replace("--as-of 2026-11-22 &",
                                                 f"--as-of 2026-11-22 --port {port} "
                                                 f"--audit-url sqlite:///{tmp_path}/a.sqlite "
                                                 f"--feedback-db {tmp_path}/f.sqlite 2>/dev/null &")
    run = subprocess.Popen(["bash", "-c", f"cd {ROOT}\n{script}\nkill %1\n"], stdout=subprocess.PIPE, text=True,
                           start_new_session=True)
    try:
        out, _ = run.communicate(timeout=90)
    finally:
        if run.poll() is None:
            os.killpg(run.pid, signal.SIGTERM)
    return out
