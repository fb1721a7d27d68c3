"""The README's shell example is run as written (on a free port), and what it documents exists."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
from pathlib import Path

import pytest

from cds import cases, demo

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_the_curl_example_waits_for_the_server_and_prints_cards(tmp_path: Path) -> None:
    # The heading itself: prose elsewhere (the quick start's output) may name the section.
    section = README[README.index("\n### Example\n"):]
    script = re.search(r"```sh\n(.*?\nJSON\n)```", section, re.S).group(1)
    port = str(_free_port())
    script = script.replace("8080", port).replace("--as-of 2026-11-22 &",
                                                 f"--as-of 2026-11-22 --port {port} "
                                                 f"--audit-url sqlite:///{tmp_path}/a.sqlite "
                                                 f"--feedback-db {tmp_path}/f.sqlite 2>/dev/null &")
    script = f"cd {ROOT}\n{script}"
    run = subprocess.Popen(["bash", "-c", script + "\nkill %1\n"], stdout=subprocess.PIPE, text=True,
                           start_new_session=True)
    try:
        out, _ = run.communicate(timeout=90)
    finally:
        if run.poll() is None:
            os.killpg(run.pid, signal.SIGTERM)
    assert '"cards":[{' in out.replace(" ", "")
    assert "S9326 continuous pain management infusion" in out


@pytest.mark.parametrize("documented", [
    "cds synth", "cds audit show", "--log-level", "CDS_RULESETS", "CDS_PG_DIR", "CDS_PG_PORT",
    "`apt-get`", "needs root", "--max-bytes", "CDS_MAX_RESOURCES", "CDS_MAX_FACTS", "CDS_MAX_BYTES",
])
def test_the_readme_documents(documented: str) -> None:
    assert documented in README


# The quick start shows what `make run` prints ------------------------------------------------


def _quick_start_output() -> list[str]:
    section = README[README.index("## Quick start"):README.index("## Install")]
    blocks = re.findall(r"^```(\w*)\n(.*?)^```", section, re.S | re.M)
    return next(text for language, text in blocks if not language).splitlines()


def test_the_quick_start_shows_the_commands_make_run_runs() -> None:
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    recipe = re.search(r"\nrun: .*?\n((?:\t.*\n)+)", makefile).group(1)
    commands = [line.strip().replace("$(BIN)", ".venv/bin") for line in recipe.splitlines()]
    shown = _quick_start_output()
    assert [line for line in shown if line.startswith(".venv/bin/")] == commands
    assert not any("fixtures build" in c for c in commands), "make run stays fast: the full case set is opt-in"
    assert re.fullmatch(r"rulesets: ok, \d+ rulesets and \d+ value sets", shown[1])


def test_the_quick_start_shows_what_the_demo_prints() -> None:
    known = cases.load()
    printed = demo.render(demo.assess(demo.load(known=known)), cds=".venv/bin/cds", case_count=len(known))
    shown = _quick_start_output()
    assert shown[shown.index(".venv/bin/cds demo") + 1:] == printed.splitlines()
