"""The package as a user installs it: the wheel in a fresh venv, run from outside the checkout."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from .conftest import ICD, ROOT, bundle, condition, patient

pytestmark = pytest.mark.heavy

# What a source distribution holds: the wheel is built from a copy of these, never from the
# checkout itself, where setuptools' build/ folder could ship files deleted since.
SOURCES = ("cds", "rulesets", "setup.py", "pyproject.toml", "README.md")
START_DEADLINE = 90.0


class Installed:
    def __init__(self, venv: Path, work: Path) -> None:
        self.venv = venv
        self.work = work

    def cds(self, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run([str(self.venv / "bin" / "cds"), *args], cwd="/", capture_output=True, text=True,
                              timeout=120, check=False, env={**os.environ, **(env or {})})

    @property
    def package(self) -> Path:
        found = subprocess.run([str(self.venv / "bin" / "python"), "-c", "import cds; print(cds.__file__)"],
                               cwd="/", capture_output=True, text=True, check=True)
        return Path(found.stdout.strip()).parent


def _run(*args: str | Path, cwd: Path = ROOT) -> None:
    done = subprocess.run([str(a) for a in args], cwd=cwd, capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, f"{args}: {done.stdout}\n{done.stderr}"


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Installed:
    work = tmp_path_factory.mktemp("wheel")
    source = work / "source"
    for name in SOURCES:
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, source / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            source.mkdir(exist_ok=True)
            shutil.copy2(ROOT / name, source / name)
    # No build isolation: this venv's setuptools builds it, with no download.
    _run(sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
         "-w", work / "dist", source, cwd=work)
    (wheel,) = (work / "dist").glob("*.whl")
    venv = work / "venv"
    # This venv's pip installs into the new one (`pip --python`): bootstrapping pip there took
    # more CPU than installing the package. Only scripts/durable-rules.sh, which builds the
    # patched durable-rules inside the venv on Python 3.13, needs the venv's own pip.
    own_pip = [] if sys.version_info >= (3, 13) else ["--without-pip"]
    _run(sys.executable, "-m", "venv", *own_pip, venv, cwd=work)
    python = venv / "bin" / "python"
    # What `make` does first: on Python 3.13 durable-rules must be the patched build.
    _run(ROOT / "scripts" / "durable-rules.sh", python)
    # The dependencies come from pip's cache (the project's own install filled it).
    # No byte-compiling of every installed file (a third of the install's time): the commands
    # below compile only the modules they import.
    _run(sys.executable, "-m", "pip", "--python", python, "install", "--quiet", "--no-compile", wheel, cwd=work)
    return Installed(venv, work)


def test_the_wheel_ships_every_file_of_the_rulesets_folder(installed: Installed) -> None:
    def files(folder: Path) -> set[str]:
        return {str(p.relative_to(folder)) for p in folder.rglob("*")
                if p.is_file() and "__pycache__" not in p.parts}
    shipped = files(installed.package / "_rulesets")
    assert files(ROOT / "rulesets") == shipped
    assert {"terminology.yaml", "S9326.yaml", "S9363.yaml"} <= shipped


def test_rulesets_check_from_outside_the_checkout(installed: Installed) -> None:
    done = installed.cds("rulesets", "check")
    assert done.returncode == 0, done.stderr
    assert "S9326.yaml: ok" in done.stdout and "S9363.yaml: ok" in done.stdout
    assert "valuesets: ok" in done.stdout


def test_evaluate_from_outside_the_checkout(installed: Installed) -> None:
    record = installed.work / "patient.json"
    record.write_text(json.dumps(bundle(patient("a"), condition("c", ICD, "G89.3", "Neoplasm related pain", pid="a"))))
    done = installed.cds("evaluate", str(record), "--as-of", "2026-11-22")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["patient"] == "Patient/a"
    # Every ruleset of the repository ships in the wheel and is assessed.
    assert [a["therapy"] for a in result["assessments"]] == sorted(p.stem for p in (ROOT / "rulesets").glob("S*.yaml"))
    indication = next(c for c in result["assessments"][0]["criteria"] if c["id"] == "S9326.indication")
    assert indication["result"] == "met"


@pytest.mark.parametrize(("keep", "expected"), [
    (["S9326.yaml", "terminology.yaml", "valuesets"], ["S9326.yaml: ok"]),
    (["S9363.yaml", "terminology.yaml", "valuesets"], ["S9363.yaml: ok"]),
])
def test_cds_rulesets_names_a_deployments_own_folder(installed: Installed, tmp_path: Path,
                                                      keep: list[str], expected: list[str]) -> None:
    for name in keep:
        copy = shutil.copytree if (ROOT / "rulesets" / name).is_dir() else shutil.copy2
        copy(ROOT / "rulesets" / name, tmp_path / name)
    done = installed.cds("rulesets", "check", env={"CDS_RULESETS": str(tmp_path)})
    assert done.returncode == 0, done.stderr
    assert [line.split(",")[0] for line in done.stdout.splitlines() if ".yaml" in line] == expected


def test_a_missing_cds_rulesets_folder_is_a_clear_error(installed: Installed, tmp_path: Path) -> None:
    done = installed.cds("rulesets", "check", env={"CDS_RULESETS": str(tmp_path / "nowhere")})
    assert done.returncode == 2
    assert done.stderr == f"cds: ruleset error: {tmp_path / 'nowhere'}: no such rulesets folder " \
                          "(set CDS_RULESETS to a folder, or unset it)\n"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def served(installed: Installed) -> Iterator[str]:
    port = _free_port()
    log = installed.work / "serve.log"
    with log.open("w") as out:
        process = subprocess.Popen(
            [str(installed.venv / "bin" / "cds"), "serve", "--port", str(port), "--workers", "2",
             "--feedback-db", str(installed.work / "hooks.sqlite"),
             "--audit-url", f"sqlite:///{installed.work / 'audit.sqlite'}"],
            cwd="/", stdout=out, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + START_DEADLINE
        while True:
            if process.poll() is not None:
                pytest.fail(f"cds serve exited with {process.returncode}: {log.read_text()}")
            try:
                if httpx.get(base + "/cds-services", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"cds serve not ready after {START_DEADLINE} s: {log.read_text()}")
            time.sleep(0.2)
        yield base
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def test_serve_from_outside_the_checkout(served: str) -> None:
    services = httpx.get(served + "/cds-services").json()["services"]
    assert len(services) == 3
    criteria = httpx.get(served + "/criteria/S9326")
    assert criteria.status_code == 200 and "S9326.indication" in criteria.text


def test_the_review_page_offers_no_fixture_picker_without_the_fixtures(served: str) -> None:
    page = httpx.get(served + "/review")
    assert page.status_code == 200
    assert 'id="fixture"' not in page.text
    assert 'name="bundle"' in page.text
