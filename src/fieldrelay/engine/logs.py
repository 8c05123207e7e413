"""structlog set-up: JSON lines on stderr, never a secret in them (secrets are never passed to a logger), and no
personal data: every line, tracebacks included, passes through the one redaction (domain/redaction.py)."""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from typing import Any

import structlog
from structlog.types import EventDict, WrappedLogger

from fieldrelay.domain.redaction import redact


def redact_event(_logger: WrappedLogger, _method: str, event: EventDict) -> EventDict:
    """structlog processor: every text value of the line redacted (after the traceback is formatted into it)."""
    return {key: redact(value) if isinstance(value, str) else value for key, value in event.items()}


def _redacting(make_record: Callable[..., logging.LogRecord]) -> Callable[..., logging.LogRecord]:
    """A log-record factory that redacts each record's text and traceback as it is made.

    A factory rather than a formatter: it covers every handler, including the ones uvicorn configures for itself.
    """

    def make(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = make_record(*args, **kwargs)
        if isinstance(record.msg, str):
            record.msg = redact(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(redact(a) if isinstance(a, str) else a for a in record.args)
        if record.exc_info and record.exc_info[0] is not None:
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
        return record

    make.redacting = True  # type: ignore[attr-defined]
    return make


def install_redaction() -> None:
    """Make every standard-library log record redacted (idempotent)."""
    current = logging.getLogRecordFactory()
    if not getattr(current, "redacting", False):
        logging.setLogRecordFactory(_redacting(current))


def configure_logging(level: str = "INFO", json: bool = True, cache: bool = True) -> None:
    """Route structlog and the standard library's logging to stderr (``cache``: loggers keep this set-up once used)."""
    logging.basicConfig(stream=sys.stderr, level=level, format="%(message)s")
    install_redaction()
    renderer: structlog.types.Processor = (
        structlog.processors.JSONRenderer() if json else structlog.dev.ConsoleRenderer(colors=False)
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            redact_event,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level)),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=cache,
    )
