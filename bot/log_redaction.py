"""Keep tokens out of the logs, at every level.

At DEBUG, discord.py logs the URL of every REST call, and the calls that answer an interaction
carry its token in the path (``/interactions/<id>/<token>/callback``,
``/webhooks/<application id>/<token>/messages/@original``); it also logs every gateway event,
and each INTERACTION_CREATE holds the token as ``'token': '...'``. An interaction token lets
anyone answer as the bot for 15 minutes, and DEBUG logs are what people paste into issues. The
bot token itself is never logged by discord.py, but it is hidden too, in case an error message
ever quotes it.

The filter sits on handlers, not loggers: a logger's filters see only the records logged on that
very logger, while a handler's filters see every record that reaches the handler, whichever
logger it came from.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable

REDACTED = "***"

_PATTERNS = (
    # The token segment of interaction callback and webhook paths (percent-encoded or not).
    (re.compile(r"(/(?:interactions|webhooks)/\d+/)[^/\s?#'\"]+"), rf"\1{REDACTED}"),
    # A "token" field in a logged payload, as JSON or as a Python dict's repr.
    (re.compile(r"""(['"]token['"]\s*:\s*['"])[^'"]*"""), rf"\1{REDACTED}"),
    # Any interaction token on its own: they start with the base64 of "interaction:".
    (re.compile(r"aW50ZXJhY3Rpb246[^\s'\"/?#,)\]}]*"), REDACTED),
)

_TRACEBACKS = logging.Formatter()


class TokenRedactor(logging.Filter):
    """Rewrites each record so that its message, arguments and traceback show no token."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        self._secrets = sorted({secret for secret in secrets if secret}, key=len, reverse=True)

    def redact(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, REDACTED)
        for pattern, replacement in _PATTERNS:
            text = pattern.sub(replacement, text)
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a malformed call; logging reports it, and must not quote a token
            message = f"{record.msg} {record.args!r}"
        if record.exc_info and record.exc_info[1] is not None:
            traceback = record.exc_text or _TRACEBACKS.formatException(record.exc_info)
            redacted = self.redact(traceback)
            if redacted != traceback:
                # Formatters may re-render exc_info (discord.py's colour formatter does), so
                # the cleaned traceback moves into the message and exc_info goes.
                message = f"{message}\n{redacted}"
                record.exc_info = None
                record.exc_text = None
        record.msg = self.redact(message)
        record.args = ()
        if record.stack_info:
            record.stack_info = self.redact(record.stack_info)
        return True


def install_redaction(secrets: Iterable[str] = ()) -> TokenRedactor:
    """Put one TokenRedactor on every handler a record can reach today.

    Those are the root logger's handlers (where every propagating record ends up), any handler
    a library attached to its own logger, and logging's last-resort handler. A redactor from an
    earlier call is replaced, so the newest secrets apply.
    """
    redactor = TokenRedactor(secrets)
    handlers = list(logging.getLogger().handlers)
    for logger in list(logging.Logger.manager.loggerDict.values()):
        if isinstance(logger, logging.Logger):
            handlers += logger.handlers
    if logging.lastResort is not None:
        handlers.append(logging.lastResort)
    for handler in handlers:
        for old in [f for f in handler.filters if isinstance(f, TokenRedactor)]:
            handler.removeFilter(old)
        handler.addFilter(redactor)
    return redactor
