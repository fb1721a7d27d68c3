"""Run the service under uvicorn: `cds serve`."""

from __future__ import annotations

import os
import socket

import uvicorn
from uvicorn.supervisors import Multiprocess

from .. import knowledge
from ..audit import AuditTrail
from ..service.settings import ENV_VAR, Settings, is_loopback


# Seconds a worker may take to answer the supervisor's health check before it is restarted.
# uvicorn's 5 s was too short on a busy 2-core machine: workers still importing the stack were
# killed and respawned for 35-90 s, each restart as slow as the last.
WORKER_HEALTHCHECK_TIMEOUT = 60


class UnsafeBind(Exception):
    """A configuration that would serve patient data unsafely (or not at all)."""


def serve(settings: Settings, host: str = "127.0.0.1", port: int = 8080, workers: int = 1,
          log_level: str = "info", ssl_certfile: str | None = None, ssl_keyfile: str | None = None,
          worker_healthcheck_timeout: int = WORKER_HEALTHCHECK_TIMEOUT) -> None:
    if settings.auth is None and not is_loopback(host):
        raise UnsafeBind(f"refusing to serve on {host} without CDS client authentication "
                         "(--auth-config); without it only a loopback address is allowed")
    if (ssl_certfile is None) != (ssl_keyfile is None):
        raise UnsafeBind("TLS needs both --ssl-certfile and --ssl-keyfile")
    # Each worker opens the audit trail itself; opening it here first reports a bad URL or an
    # unwritable file (StoreError) before any worker starts.
    AuditTrail.open(settings.audit_url).close()
    # Likewise the rulesets (RulesetError): a worker that cannot build its engine would only be
    # restarted, again and again. With one worker this is the engine it serves with; each worker
    # process builds its own again at start-up, before it accepts a call (create_app).
    knowledge.default()
    # Workers are separate processes (each with its own durable-rules engine, which is not
    # thread-safe); they build the app from these settings.
    os.environ[ENV_VAR] = settings.model_copy(update={"log_level": log_level}).to_env()
    config = uvicorn.Config("cds.web.app:create_app_from_env", factory=True, host=host, port=port,
                            workers=workers, log_level=log_level, ssl_certfile=ssl_certfile,
                            ssl_keyfile=ssl_keyfile, timeout_worker_healthcheck=worker_healthcheck_timeout,
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
