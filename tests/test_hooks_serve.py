"""The service as deployed: `cds serve` under uvicorn on 127.0.0.1, with worker processes."""

from __future__ import annotations

import asyncio
import datetime as dt
import ipaddress
import socket
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from cds.web import Settings, create_app

from .cli_support import run_cds
from .hooks_support.checks import check_cards, check_response
from .hooks_support.patients import (
    baclofen_intrathecal,
    hook_request,
    morphine_infusion,
    pain_patient,
    spasticity_patient,
)

pytestmark = pytest.mark.heavy

ROOT = Path(__file__).resolve().parent.parent
SIGN = "/cds-services/home-infusion-order-sign"
PATIENTS = 16
START_DEADLINE = 120.0
SLOW_START = 8  # seconds: above uvicorn's own 5 s health check


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def _running(folder: Path, *args: str, scheme: str = "http", verify: Any = True) -> Iterator[tuple[str, Path]]:
    """`cds serve` in a child process, until the block ends."""
    log = folder / "server.log"
    port = _free_port()
    with log.open("w") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "cds.cli", "serve", "--host", "127.0.0.1", "--port", str(port),
             "--as-of", "2026-11-22", "--feedback-db", str(folder / "hooks.sqlite"),
             "--audit-url", f"sqlite:///{folder / 'audit.sqlite'}", *args],
            cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)
    base = f"{scheme}://127.0.0.1:{port}"
    try:
        # Readiness, not timing: poll until the discovery endpoint answers, within a deadline far
        # above a start-up on a busy machine (workers there took tens of seconds).
        deadline = time.monotonic() + START_DEADLINE
        while True:
            if process.poll() is not None:
                pytest.fail(f"cds serve exited: {log.read_text()}")
            try:
                if httpx.get(base + "/cds-services", timeout=2, verify=verify).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"cds serve not ready after {START_DEADLINE} s: {log.read_text()}")
            time.sleep(0.1)
        yield base, log
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    with _running(tmp_path_factory.mktemp("serve"), "--workers", "2") as running:
        yield running


def _marker(n: int) -> str:
    return f"Q{n:02d}Q"


def _request(n: int) -> dict[str, Any]:
    pid = f"patient-{n:02d}"
    if n % 2:
        return hook_request("order-sign", pid, spasticity_patient(pid, _marker(n)),
                            orders=[baclofen_intrathecal(f"order-{n:02d}", pid)])
    return hook_request("order-sign", pid, pain_patient(pid, _marker(n)),
                        orders=[morphine_infusion(f"order-{n:02d}", pid)])


def _assert_own_patient_only(n: int, body: dict[str, Any]) -> None:
    cards = check_cards(body, f"Patient/patient-{n:02d}")
    assert [c["source"]["topic"]["code"] for c in cards] == (["S9363"] if n % 2 else ["S9326"])
    text = str(cards)
    assert _marker(n) in text and f"order-{n:02d}" in text
    others = [m for k in range(PATIENTS) if k != n for m in (_marker(k), f"patient-{k:02d}", f"order-{k:02d}")]
    assert not [m for m in others if m in text]


async def _concurrently(client: httpx.AsyncClient) -> list[httpx.Response]:
    return await asyncio.gather(*(client.post(SIGN, json=_request(n)) for n in range(PATIENTS)))


def test_discovery_over_real_http(server: tuple[str, Path]) -> None:
    response = httpx.get(server[0] + "/cds-services")
    check_response("GET", "/cds-services", response.status_code, response.headers, response.content)
    assert len(response.json()["services"]) == 3


def test_16_concurrent_patients_each_get_cards_about_themselves_only(server: tuple[str, Path]) -> None:
    async def run() -> list[httpx.Response]:
        async with httpx.AsyncClient(base_url=server[0], timeout=60) as client:
            return await _concurrently(client)
    for n, response in enumerate(asyncio.run(run())):
        check_response("POST", SIGN, response.status_code, response.headers, response.content, _request(n))
        assert response.status_code == 200
        _assert_own_patient_only(n, response.json())


def test_16_concurrent_patients_in_one_process(tmp_path: Path) -> None:
    # One process, many threads: the engine's lock and per-call state are what keep them apart.
    app = create_app(Settings(as_of=dt.date(2026, 11, 22), feedback_db=tmp_path / "hooks.sqlite",
                              audit_url=f"sqlite:///{tmp_path / 'audit.sqlite'}"))

    async def run() -> list[httpx.Response]:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
            return await _concurrently(client)
    for n, response in enumerate(asyncio.run(run())):
        check_response("POST", SIGN, response.status_code, response.headers, response.content, _request(n))
        assert response.status_code == 200
        _assert_own_patient_only(n, response.json())


def test_the_server_log_holds_no_patient_details(server: tuple[str, Path]) -> None:
    base, log = server
    response = httpx.post(base + SIGN, json=_request(3))
    assert response.status_code == 200
    httpx.post(base + SIGN, content=b"{broken", headers={"Content-Type": "application/json"})
    text = log.read_text()
    assert "no CDS client authentication configured" in text
    assert "POST /cds-services/{service_id} 200" in text
    assert "patient-03" not in text and _marker(3) not in text


def test_serve_refuses_a_public_address_without_authentication() -> None:
    result = run_cds("serve", "--host", "0.0.0.0")
    assert result.returncode == 2
    assert "without CDS client authentication" in result.stderr


def test_serve_reports_a_bad_auth_config(tmp_path: Path) -> None:
    config = tmp_path / "auth.yaml"
    config.write_text("issuers: {}\n")
    result = run_cds("serve", "--auth-config", str(config))
    assert result.returncode == 2 and "issuers" in result.stderr


@pytest.mark.parametrize(("args", "expected"), [
    (["--workers", "2"], "no such rulesets folder"),
    (["--workers", "2", "--worker-healthcheck-timeout", "0"], "is not a whole number of seconds of at least 1"),
])
def test_serve_stops_before_starting_workers_that_could_not_run(tmp_path: Path, args: list[str],
                                                                expected: str) -> None:
    # Rulesets that do not load would have every worker fail and be restarted, again and again.
    result = run_cds("serve", "--port", str(_free_port()), *args, "--feedback-db", str(tmp_path / "hooks.sqlite"),
                     "--audit-url", f"sqlite:///{tmp_path / 'audit.sqlite'}",
                     env={"CDS_RULESETS": str(tmp_path / "nowhere")})
    assert result.returncode == 2
    assert expected in result.stderr and "Traceback" not in result.stderr


# Python runs sitecustomize at every start: here it holds each worker process (started with
# --multiprocessing-fork) back before it can answer the supervisor, as a busy machine did.
SLOW_WORKERS = f"""import sys, time
if "--multiprocessing-fork" in sys.orig_argv:
    time.sleep({SLOW_START})
"""


def _log_says(log: Path, text: str, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if text in log.read_text():
            return True
        time.sleep(0.2)
    return False


@pytest.mark.parametrize(("args", "restarted"), [
    ([], False),                                          # the default, 60 s
    (["--worker-healthcheck-timeout", "2"], True),        # below the workers' start-up
])
def test_workers_slow_to_start_are_restarted_only_past_the_health_check_timeout(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, args: list[str], restarted: bool) -> None:
    (tmp_path / "sitecustomize.py").write_text(SLOW_WORKERS)
    monkeypatch.setenv("PYTHONPATH", str(tmp_path))
    if not restarted:
        with _running(tmp_path, "--workers", "2", *args) as (base, log):
            assert httpx.get(base + "/cds-services").status_code == 200
        assert " died" not in log.read_text()
        return
    log = tmp_path / "server.log"
    with log.open("w") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "cds.cli", "serve", "--port", str(_free_port()), "--workers", "2", *args,
             "--feedback-db", str(tmp_path / "hooks.sqlite"), "--audit-url", f"sqlite:///{tmp_path / 'audit.sqlite'}"],
            cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)
    try:
        assert _log_says(log, " died", 60), log.read_text()
    finally:
        process.terminate()
        process.wait(timeout=30)


def _self_signed(folder: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                           critical=False)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


def test_serves_https_with_a_certificate(tmp_path: Path) -> None:
    cert, key = _self_signed(tmp_path)
    trust = ssl.create_default_context(cafile=str(cert))
    with _running(tmp_path, "--ssl-certfile", str(cert), "--ssl-keyfile", str(key), scheme="https",
                  verify=trust) as (base, _):
        response = httpx.post(base + SIGN, json=_request(1), verify=trust)
    assert response.status_code == 200
    (card,) = check_cards(response.json(), "Patient/patient-01")
    assert card["source"]["url"] == base + "/criteria/S9363"
