"""Keep API keys out of everything storyframe prints, logs, records or raises."""

from __future__ import annotations

import logging
import re

_known: set[str] = set()
_KEY_PATTERNS = [
    re.compile(r"sk-or-v1-[A-Za-z0-9]{8,}"),
    re.compile(r"(?i)(bearer\s+)[A-Za-z0-9._\-]{8,}"),
]
MASK = "***"


def register_secret(value: str | None) -> None:
    """Remember a secret so that :func:`redact` masks it wherever it shows up."""
    if value and len(value) >= 4:
        _known.add(value)


def redact(text: str) -> str:
    """Return ``text`` with every known secret and anything shaped like an API key masked."""
    for secret in sorted(_known, key=len, reverse=True):
        if secret in text:
            text = text.replace(secret, MASK)
    for pattern in _KEY_PATTERNS:
        text = pattern.sub(lambda m: (m.group(1) if m.groups() else "") + MASK, text)
    return text


class RedactingFilter(logging.Filter):
    """A logging filter that masks secrets in every record's final message."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True
