"""The command line: JSON Lines, text, table, and clear errors with exit code 2."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from cds import knowledge
from cds.cli import main

from .conftest import ICD, ROOT, bundle, condition, patient


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "cds.cli", *args], capture_output=True, text=True,
                          cwd=ROOT, check=False)


def test_json_lines_one_line_per_patient(tmp_path: Path) -> None:
    (tmp_path / "a.json").write_text(json.dumps(bundle(patient("a"))))
    (tmp_path / "b.json").write_text(json.dumps(bundle(patient("b"), condition("c", ICD, "G89.29", "pain", pid="b"))))
    done = _run("evaluate", str(tmp_path), "--as-of", "2026-11-22")
    assert done.returncode == 0, done.stderr
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    assert [line["patient"] for line in lines] == ["Patient/a", "Patient/b"]
    assert all(line["asOf"] == "2026-11-22" for line in lines)
    assert set(lines[0]["rulesets"]) == set(knowledge.default().rulesets)
    assert all("+sha256:" in v for v in lines[0]["rulesets"].values())


def test_therapy_option_limits_the_assessments(tmp_path: Path) -> None:
    (tmp_path / "a.json").write_text(json.dumps(bundle(patient("a"))))
    done = _run("evaluate", str(tmp_path / "a.json"), "--therapy", "S9363", "--as-of", "2026-11-22")
    assert [a["therapy"] for a in json.loads(done.stdout)["assessments"]] == ["S9363"]


def test_text_format_shows_marks_reasons_and_evidence(tmp_path: Path) -> None:
    (tmp_path / "a.json").write_text(json.dumps(bundle(patient("a"), condition("c", ICD, "G89.29", "Other chronic pain", pid="a"))))
    done = _run("evaluate", str(tmp_path / "a.json"), "--format", "text", "--as-of", "2026-11-22")
    assert "[x] S9326.indication: met - Chronic pain on record: Other chronic pain." in done.stdout
    assert "evidence: Condition/c" in done.stdout
    assert "alternatives:" in done.stdout


def test_bad_input_exit_2_with_a_message_and_no_traceback(tmp_path: Path) -> None:
    path = tmp_path / "broken.json"
    path.write_text("{not json")
    done = _run("evaluate", str(path))
    assert done.returncode == 2
    assert f"cds: {path}: not valid JSON" in done.stderr
    assert "Traceback" not in done.stderr


def test_missing_file_and_bad_date_exit_2(tmp_path: Path, capsys: object) -> None:
    assert main(["evaluate", str(tmp_path / "nope.json")]) == 2
    (tmp_path / "a.json").write_text(json.dumps(bundle(patient("a"))))
    assert main(["evaluate", str(tmp_path / "a.json"), "--as-of", "22/11/2026"]) == 2
    assert main(["evaluate", str(tmp_path / "a.json"), "--therapy", "S9999"]) == 2


def test_rulesets_check_passes_on_the_shipped_rulesets() -> None:
    done = _run("rulesets", "check")
    assert done.returncode == 0, done.stderr
    assert "S9326.yaml: ok" in done.stdout and "S9363.yaml: ok" in done.stdout
