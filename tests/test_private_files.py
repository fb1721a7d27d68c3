"""Files holding patient data are created readable by their owner only (issue 24, defect 13):
the SQLite stores of the service and the audit trail 0600, a folder the package makes 0700."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from .hooks_support.checks import make_client
from .hooks_support.patients import hook_request, pain_patient


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_the_service_s_stores_and_trail_are_created_for_the_owner_only(tmp_path: Path) -> None:
    previous = os.umask(0o022)  # the usual umask, which left them 0644
    try:
        folder = tmp_path / "made-by-the-package"
        with make_client(tmp_path, feedback_db=folder / "hooks.sqlite",
                         audit_url=f"sqlite:///{folder / 'audit.sqlite'}") as client:
            assert client.post("/cds-services/home-infusion-patient-view",
                               json=hook_request("patient-view", "p1", pain_patient("p1"))).status_code == 200
    finally:
        os.umask(previous)
    assert _mode(folder) == 0o700
    files = sorted(p.name for p in folder.iterdir())
    assert {"hooks.sqlite", "audit.sqlite", "audit.sqlite.write-lock"} <= set(files), files
    for name in files:  # with the -wal and -shm files SQLite made beside them
        assert _mode(folder / name) == 0o600, (name, oct(_mode(folder / name)))


def test_an_existing_folder_and_file_keep_their_modes(tmp_path: Path) -> None:
    from cds.private import create_private

    tmp_path.chmod(0o755)
    existing = tmp_path / "kept.sqlite"
    existing.write_bytes(b"")
    existing.chmod(0o640)
    create_private(existing)
    create_private(tmp_path / "new.sqlite")
    assert (_mode(tmp_path), _mode(existing), _mode(tmp_path / "new.sqlite")) == (0o755, 0o640, 0o600)
