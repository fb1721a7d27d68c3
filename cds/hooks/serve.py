"""Run the service under uvicorn: `cds serve`."""

from __future__ import annotations

import os
import socket

import uvicorn
from uvicorn.supervisors import Multiprocess

from ..audit import AuditTrail
from .settings import ENV_VAR, Settings, is_loopback


class UnsafeBind(Exception):
    """A configuration that would serve patient data unsafely (or not at all)."""


def serve(settings: Settings, host: str = "127.0.0.1", port: int = 8080, workers: int = 1,
          log_level: str = "info", ssl_certfile: str | None = None, ssl_keyfile: str | None = None) -> None:
    if settings.auth is None and not is_loopback(host):
        raise UnsafeBind(f"refusing to serve on {host} without CDS client authentication "
                         "(--auth-config); without it only a loopback address is allowed")
    if (ssl_certfile is None) != (ssl_keyfile is None):
        raise UnsafeBind("TLS needs both --ssl-certfile and --ssl-keyfile")
    # Each worker opens the audit trail itself; opening it here first reports a bad URL or an
    # unwritable file (StoreError) before any worker starts.
    AuditTrail.open(settings.audit_url).close()
    # Workers are separate processes (each with its own durable-rules engine, which is not
    # thread-safe); they build the app from these settings.
    os.environ[ENV_VAR] = settings.model_copy(update={"log_level": log_level}).to_env()
    config = uvicorn.Config("cds.hooks.app:create_app_from_env", factory=True, host=host, port=port,
                            workers=workers, log_level=log_level, ssl_certfile=ssl_certfile,
                            ssl_keyfile=ssl_keyfile,
                            # Our middleware logs each call without query strings; uvicorn's would not.
                            access_log=False)
    sock = config.bind_socket()
    # Worker processes get the listening socket from the supervisor, and asyncio then leaves
    # Nagle's algorithm on for the connections they accept: a response written in two parts
    # waited for the client's delayed ACK, 44 ms a call (bench/). Linux hands TCP_NODELAY on
    # from the listening socket to every accepted one.
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    if workers > 1:
        Multiprocess(config, sockets=[sock]).run()
    else:
        uvicorn.Server(config).run(sockets=[sock])
