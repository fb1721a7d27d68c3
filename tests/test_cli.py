"""The command line: JSON Lines, text, table, and clear errors with exit code 2."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from cds import knowledge
from cds.cli import main

from .cli_support import run_cds
from .conftest import ICD, ROOT, bundle, condition, patient


def _subprocess(*args: str) -> subprocess.CompletedProcess[str]:
    """`python -m cds.cli ARGS`: the entry point itself, its exit code and what a shell sees."""
    return subprocess.run([sys.executable, "-m", "cds.cli", *args], capture_output=True, text=True,
                          cwd=ROOT, check=False, timeout=60)


def test_json_lines_one_line_per_patient(tmp_path: Path) -> None:
    (tmp_path / "a.json").write_text(json.dumps(bundle(patient("a"))))
    (tmp_path / "b.json").write_text(json.dumps(bundle(patient("b"), condition("c", ICD, "G89.29", "pain", pid="b"))))
    done = run_cds("evaluate", str(tmp_path), "--as-of", "2026-11-22")
    assert done.returncode == 0, done.stderr
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    assert [line["patient"] for line in lines] == ["Patient/a", "Patient/b"]
    assert all(line["asOf"] == "2026-11-22" for line in lines)
    assert set(lines[0]["rulesets"]) == set(knowledge.default().rulesets)
    assert all("+sha256:" in v for v in lines[0]["rulesets"].values())


def test_therapy_option_limits_the_assessments(tmp_path: Path) -> None:
    (tmp_path / "a.json").write_text(json.dumps(bundle(patient("a"))))
    done = run_cds("evaluate", str(tmp_path / "a.json"), "--therapy", "S9363", "--as-of", "2026-11-22")
    assert [a["therapy"] for a in json.loads(done.stdout)["assessments"]] == ["S9363"]


def test_text_format_shows_marks_reasons_and_evidence(tmp_path: Path) -> None:
    (tmp_path / "a.json").write_text(json.dumps(bundle(patient("a"), condition("c", ICD, "G89.29", "Other chronic pain", pid="a"))))
    done = run_cds("evaluate", str(tmp_path / "a.json"), "--format", "text", "--as-of", "2026-11-22")
    assert "[x] S9326.indication: met - Chronic pain on record: Other chronic pain." in done.stdout
    assert "evidence: Condition/c" in done.stdout
    assert "alternatives:" in done.stdout


def test_bad_input_exit_2_with_a_message_and_no_traceback(tmp_path: Path) -> None:
    path = tmp_path / "broken.json"
    path.write_text("{not json")
    done = _subprocess("evaluate", str(path))
    assert done.returncode == 2
    assert f"cds: {path}: not valid JSON" in done.stderr
    assert "Traceback" not in done.stderr


def test_missing_file_and_bad_date_exit_2(tmp_path: Path, capsys: object) -> None:
    assert main(["evaluate", str(tmp_path / "nope.json")]) == 2
    (tmp_path / "a.json").write_text(json.dumps(bundle(patient("a"))))
    assert main(["evaluate", str(tmp_path / "a.json"), "--as-of", "22/11/2026"]) == 2
    assert main(["evaluate", str(tmp_path / "a.json"), "--therapy", "S9999"]) == 2


def test_rulesets_check_passes_on_the_shipped_rulesets() -> None:
    done = run_cds("rulesets", "check")
    assert done.returncode == 0, done.stderr
    assert "S9326.yaml: ok" in done.stdout and "S9363.yaml: ok" in done.stdout


def _fifo(tmp_path: Path) -> str:
    path = tmp_path / "pipe.json"
    os.mkfifo(path)
    return str(path)


@pytest.mark.parametrize(("make", "expected"), [
    (lambda tmp: "/dev/zero", "/dev/zero: not a regular file or folder"),
    (_fifo, "pipe.json: not a regular file or folder"),
])
def test_what_is_not_a_file_or_folder_is_refused_not_read(tmp_path: Path, make: Any, expected: str) -> None:
    # A process with a deadline: a command that read the pipe would wait for a writer forever.
    done = _subprocess("evaluate", make(tmp_path))
    assert done.returncode == 2
    assert expected in done.stderr


@pytest.mark.parametrize(("encoding", "expected"), [
    ("utf-16", "is UTF-16"), ("utf-16-le", "is UTF-16"), ("utf-16-be", "is UTF-16"), ("utf-32", "is UTF-32"),
])
def test_a_utf16_file_says_it_is_utf16(tmp_path: Path, encoding: str, expected: str) -> None:
    (tmp_path / "a.json").write_bytes(json.dumps(bundle(patient("a"))).encode(encoding))
    done = run_cds("evaluate", str(tmp_path / "a.json"))
    assert done.returncode == 2
    assert f"a.json: {expected}: FHIR JSON must be UTF-8" in done.stderr


@pytest.mark.parametrize(("max_bytes", "code"), [("100", 2), ("1000000", 0)])
def test_max_bytes_caps_what_is_read_per_file(tmp_path: Path, max_bytes: str, code: int) -> None:
    (tmp_path / "a.json").write_text(json.dumps(bundle(patient("a"))))
    done = run_cds("evaluate", str(tmp_path / "a.json"), "--max-bytes", max_bytes, "--as-of", "2026-11-22")
    assert done.returncode == code, done.stderr
    if code:
        assert "more than 100 bytes: over the cap (max bytes per file, --max-bytes" in done.stderr


def test_rulesets_check_quiet_is_one_line() -> None:
    done = run_cds("rulesets", "check", "--quiet")
    assert done.returncode == 0, done.stderr
    loaded = knowledge.default()
    assert done.stdout == (f"rulesets: ok, {len(loaded.rulesets)} rulesets and "
                           f"{len(loaded.valuesets.by_id)} value sets\n")
