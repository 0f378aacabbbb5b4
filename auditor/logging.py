"""Structured logs: JSON lines when stderr is not a terminal, readable console output otherwise."""

from __future__ import annotations

import logging
import sys

import structlog

from auditor.config.apprise_log import quiet_apprise
from auditor.store.secret_fields import scrub_json


def redact_secrets(
    _logger: object, _method: str, event_dict: structlog.typing.EventDict
) -> structlog.typing.EventDict:
    """No log line carries URL userinfo or a secret query value (issue #17)."""
    return {k: scrub_json(v, ()) for k, v in event_dict.items()}


def configure_logging(level: str = "info", *, json_output: bool | None = None) -> None:
    if json_output is None:
        json_output = not sys.stderr.isatty()
    numeric = getattr(logging, level.upper(), logging.INFO)
    processors: list[structlog.typing.Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    renderer: structlog.typing.Processor = (
        structlog.processors.JSONRenderer()
        if json_output
        else structlog.dev.ConsoleRenderer(colors=False)
    )
    structlog.configure(
        processors=[
            *processors,
            structlog.processors.format_exc_info,
            redact_secrets,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(numeric),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=True,
    )
    _route_stdlib(max(numeric, logging.WARNING), renderer)
    for noisy in ("waitress", "httpx", "httpcore", "apscheduler", "urllib3"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    # Apprise logs receiver URLs (tokens) in its records: they never reach a handler here;
    # a failed send's reason is captured per call and scrubbed (auditor.alerting.apprise_send)
    quiet_apprise()


def _route_stdlib(level: int, renderer: structlog.typing.Processor) -> None:
    """Records of stdlib loggers (gunicorn, waitress, SQLAlchemy, ...) are rendered as ours
    are, JSON lines redacted the same way, not in a second format in the same stream.

    Like ``logging.basicConfig``, nothing is installed while the root logger has handlers
    someone else attached (an embedding app, pytest); our own handler is replaced."""
    root = logging.getLogger()
    ours = [h for h in root.handlers if getattr(h, "auditor_json", False)]
    if len(ours) != len(root.handlers):
        return
    for handler in ours:
        root.removeHandler(handler)
    handler = logging.StreamHandler(sys.stderr)
    handler.auditor_json = True  # type: ignore[attr-defined]
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=[
                structlog.stdlib.add_logger_name,
                structlog.stdlib.add_log_level,
                structlog.processors.TimeStamper(fmt="iso", utc=True),
            ],
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                structlog.processors.format_exc_info,
                redact_secrets,
                renderer,
            ],
        )
    )
    root.addHandler(handler)
    root.setLevel(level)
