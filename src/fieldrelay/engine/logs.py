"""structlog set-up: one format on stderr for fieldrelay's own lines and uvicorn's (JSON lines, or plain text), never
a secret in them (secrets are never passed to a logger; a secret in a request's path is hidden), and no personal data:
every line, tracebacks included, passes through the one redaction (domain/redaction.py)."""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Callable
from typing import Any, Literal

import structlog
from structlog.types import EventDict, WrappedLogger

from fieldrelay.domain.redaction import redact

LogFormat = Literal["json", "text"]
# Paths whose last segment is a secret: a one-time setup link, a signed unsubscribe token.
_SECRET_PATH = re.compile(r"^(/setup/|/unsubscribe/)[^/]+")
_ACCESS_FIELDS = ("client", "method", "path", "status")
_CHOSEN: dict[str, LogFormat] = {"format": "json"}  # what configure_logging was last asked for (a child process's)


class _AccessFields(logging.Filter):
    """uvicorn's access line as fields (client, method, path, status) without the query string or a path's secret."""

    def filter(self, record: logging.LogRecord) -> bool:
        # uvicorn.protocols logs '%s - "%s %s HTTP/%s" %d' with these five arguments.
        if isinstance(record.args, tuple) and len(record.args) == 5:
            client, method, path, _version, status = record.args
            record.client, record.method, record.status = client, method, status
            record.path = _SECRET_PATH.sub(r"\1…", str(path).split("?", 1)[0])
            record.msg, record.args = "http.request", ()
        return True


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


def chosen_format() -> LogFormat:
    """The format this process logs in, for a process it starts (serve's worker process)."""
    return _CHOSEN["format"]


def configure_logging(level: str = "INFO", fmt: LogFormat = "json", cache: bool = True) -> None:
    """Route structlog and the standard library's logging (uvicorn's too) to stderr (``cache``: loggers keep it)."""
    install_redaction()
    _CHOSEN["format"] = fmt
    renderer: structlog.types.Processor = (
        structlog.processors.JSONRenderer() if fmt == "json" else structlog.dev.ConsoleRenderer(colors=False)
    )
    stamped: list[structlog.types.Processor] = [
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    # Records of the standard library (uvicorn, alembic) go through the same processors and renderer.
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=[*stamped, structlog.stdlib.add_logger_name, structlog.stdlib.ExtraAdder(_ACCESS_FIELDS)],
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                structlog.processors.format_exc_info,
                redact_event,
                renderer,
            ],
        )
    )
    logging.basicConfig(level=level, handlers=[handler], force=True)
    # Alembic says which dialect it found at every start (serve and worker check the schema): only its warnings.
    logging.getLogger("alembic").setLevel(logging.WARNING)
    access = logging.getLogger("uvicorn.access")
    access.filters = [f for f in access.filters if not isinstance(f, _AccessFields)] + [_AccessFields()]
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            *stamped,
            structlog.processors.format_exc_info,
            redact_event,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level)),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=cache,
    )
