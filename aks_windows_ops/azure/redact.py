"""Keep secrets out of azure-core's HTTP logs (DESIGN principle 6).

With ``logging_enable=True`` azure-core's ``NetworkTraceLoggingPolicy`` logs every request body at DEBUG,
including ``windowsProfile.adminPassword`` on a password rotation. :func:`install` adds a filter to the loggers
that azure-core writes HTTP traces to; it masks password fields in the message before any handler sees it.
"""

from __future__ import annotations

import logging
import re

__all__ = ["REDACTED", "SecretRedactingFilter", "install", "redact"]

REDACTED = "***REDACTED***"
_FIELDS = r"adminPassword|admin_password|password|clientSecret|secret"
_JSON = re.compile(
    rf'(?P<k>["\'](?:{_FIELDS})["\']\s*:\s*)(?P<q>["\'])(?:\\.|(?!(?P=q)).)*(?P=q)', re.IGNORECASE
)
_LOGGERS = (
    "azure.core.pipeline.policies._universal",
    "azure.core.pipeline.policies.http_logging_policy",
    "azure.core.pipeline.policies",
    "azure",
)


def redact(text: str) -> str:
    """Mask the values of password-like JSON fields in ``text``."""
    return _JSON.sub(lambda m: f"{m.group('k')}{m.group('q')}{REDACTED}{m.group('q')}", text)


class SecretRedactingFilter(logging.Filter):
    """A logging filter that rewrites a record's message with password fields masked."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Mask and keep the record."""
        try:
            message = record.getMessage()
        except Exception:
            return True
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


_FILTER = SecretRedactingFilter()


def install() -> None:
    """Attach the filter to azure-core's HTTP trace loggers (idempotent)."""
    for name in _LOGGERS:
        logger = logging.getLogger(name)
        if _FILTER not in logger.filters:
            logger.addFilter(_FILTER)
