"""Structured (JSON lines) logging with a correlation id.

The gateway gives every request a correlation id; nameko carries it in its context data
(``nameko.correlation_id`` header) through RPC calls and events, and the outbox stores it
with each event. ``CorrelationId`` puts it in a green-thread local so every log line of
a worker carries it.
"""

from __future__ import annotations

import json
import logging
import sys
import threading
import uuid

from nameko.extensions import DependencyProvider

from rac_shared.clock import clock

_local = threading.local()


def current_correlation_id() -> str | None:
    return getattr(_local, "correlation_id", None)


def set_correlation_id(value: str | None) -> None:
    _local.correlation_id = value


def new_correlation_id() -> str:
    return uuid.uuid4().hex


class CorrelationId(DependencyProvider):
    """Reads or creates the worker's correlation id and exposes it to logs and the outbox."""

    def worker_setup(self, worker_ctx) -> None:
        data = worker_ctx.context_data
        if not data.get("correlation_id"):
            data["correlation_id"] = new_correlation_id()
        set_correlation_id(data["correlation_id"])

    def get_dependency(self, worker_ctx) -> str:
        return worker_ctx.context_data.get("correlation_id")

    def worker_teardown(self, worker_ctx) -> None:
        set_correlation_id(None)


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "at": clock.now().isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        correlation_id = current_correlation_id()
        if correlation_id:
            entry["correlation_id"] = correlation_id
        for key in ("service", "event_type", "event_id", "path", "status", "user_id"):
            if hasattr(record, key):
                entry[key] = getattr(record, key)
        if record.exc_info:
            entry["error"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


class RefusalsAreNotErrors(logging.Filter):
    """A service's business refusal (a ``DomainError``: a late acceptance, a cap exceeded, a
    validation error) is the expected answer to a request, not a defect: nameko's worker
    logs it at ERROR with a traceback, and with the error's French message, which may quote
    what a person typed. Here it becomes one INFO line naming the operation and the code;
    any other exception keeps its ERROR and traceback."""

    def filter(self, record: logging.LogRecord) -> bool:
        from rac_shared.errors import DomainError

        error = record.exc_info[1] if record.exc_info else None
        if isinstance(error, DomainError):
            worker = record.args[0] if isinstance(record.args, tuple) and record.args else None
            entrypoint = getattr(worker, "entrypoint", None)
            operation = (
                f"{getattr(worker, 'service_name', '?')}.{entrypoint.method_name}"
                if entrypoint is not None
                else record.name
            )
            record.msg, record.args = "%s refused (%s)", (operation, error.code)
            # Shed for want of a database connection: worth an operator's eye, not a defect.
            level = logging.WARNING if error.code == "unavailable" else logging.INFO
            record.levelno, record.levelname = level, logging.getLevelName(level)
            record.exc_info = record.exc_text = None
        return True


def configure_logging(level: str = "INFO") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for noisy in ("amqp", "kombu", "nameko.containers", "eventlet.wsgi.server"):
        logging.getLogger(noisy).setLevel("WARNING")
    containers = logging.getLogger("nameko.containers")
    if not any(isinstance(f, RefusalsAreNotErrors) for f in containers.filters):
        containers.addFilter(RefusalsAreNotErrors())
