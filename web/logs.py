"""Link tokens never reach a log line: a filter rewrites ``/l/<token>`` wherever it appears,
and the board's sign-in secrets in a URL (``code``, ``state``, ``id_token_hint``…) too."""

from __future__ import annotations

import copy
import logging
import re
from typing import Any

TOKEN_PATH = re.compile(r"/l/[^/?#\s\"']+")
REDACTED = "/l/[redacted]"
SIGN_IN_PARAMETER = re.compile(
    r"([?&](?:code|state|nonce|id_token_hint|code_verifier|code_challenge)=)[^&#\s\"']+"
)

# httpx: Prefect and test clients log the URLs they request; httpx2: Authlib's requests.
LOGGERS = (
    "uvicorn",
    "uvicorn.access",
    "uvicorn.error",
    "web",
    "fastapi",
    "starlette",
    "httpx",
    "httpx2",
)


def _redacted(text: str) -> str:
    return SIGN_IN_PARAMETER.sub(r"\1[redacted]", TOKEN_PATH.sub(REDACTED, text))


def redact(value: object) -> object:
    if isinstance(value, str):
        return _redacted(value)
    if isinstance(value, (int, float, bytes)) or value is None:
        return value  # numbers keep their type: the format may say %d
    text = str(value)  # URL objects and the like
    cleaned = _redacted(text)
    return cleaned if cleaned != text else value


class TokenRedactingFilter(logging.Filter):
    """Applied to loggers and handlers alike; changes the record, never drops it."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = redact(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(redact(a) for a in record.args)
        elif isinstance(record.args, dict):
            record.args = {k: redact(v) for k, v in record.args.items()}
        return True


_FILTER = TokenRedactingFilter()


def install_redaction() -> None:
    """Put the filter on the loggers that could see a request path (idempotent)."""
    for name in LOGGERS:
        logger = logging.getLogger(name)
        if _FILTER not in logger.filters:
            logger.addFilter(_FILTER)


def uvicorn_log_config(level: str = "INFO") -> dict[str, Any]:
    """uvicorn's own logging setup with the redacting filter on every handler."""
    from uvicorn.config import LOGGING_CONFIG

    config = copy.deepcopy(LOGGING_CONFIG)
    config["filters"] = {"redact_tokens": {"()": "web.logs.TokenRedactingFilter"}}
    for handler in config["handlers"].values():
        handler["filters"] = ["redact_tokens"]
    # The app's own lines (which link did what, by token id) go where uvicorn's go.
    config["loggers"]["web"] = {"handlers": ["default"], "level": level, "propagate": False}
    for logger in config["loggers"].values():
        logger["filters"] = ["redact_tokens"]
        if "level" in logger:
            logger["level"] = level
    return config
