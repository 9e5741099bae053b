"""No token survives into a log line, whichever logger wrote it and however it got there."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import pytest

from bot.log_redaction import install_redaction

BOT_TOKEN = "MTIzNDU2Nzg5MDEyMzQ1Njc4.Gx0aBc.bot-token-tail"
INTERACTION_TOKEN = "aW50ZXJhY3Rpb246MTIzNDU2Nzg5:Xq3-interaction-secret_tail"
TAIL = "interaction-secret_tail"
WEBHOOK_TOKEN = "Zk9-webhook-secret-tail"


@pytest.fixture
def log() -> Iterator[io.StringIO]:
    """Root logging to a buffer, set up the way `pln-coach` sets it up (minus the stream)."""
    root = logging.getLogger()
    saved = (root.handlers[:], root.level)
    buffer = io.StringIO()
    handler = logging.StreamHandler(buffer)
    handler.setFormatter(logging.Formatter("{levelname} {name}: {message}", style="{"))
    root.handlers = [handler]
    root.setLevel(logging.DEBUG)
    install_redaction([BOT_TOKEN])
    try:
        yield buffer
    finally:
        root.handlers, root.level = saved
        if logging.lastResort is not None:
            for redactor in list(logging.lastResort.filters):
                logging.lastResort.removeFilter(redactor)


def test_rest_urls_and_gateway_events_lose_their_tokens(log: io.StringIO) -> None:
    # What discord.py logs at DEBUG for an interaction, percent-encoded as its URLs are.
    encoded = INTERACTION_TOKEN.replace(":", "%3A")
    http = logging.getLogger("discord.http")
    http.debug(
        "%s %s with %s has returned %s",
        "POST",
        f"https://discord.com/api/v10/interactions/123456789/{encoded}/callback",
        '{"type":5}',
        204,
    )
    logging.getLogger("discord.webhook.async_").debug(
        "Webhook ID %s with %s %s has returned status code %s",
        42,
        "PATCH",
        f"https://discord.com/api/v10/webhooks/42/{WEBHOOK_TOKEN}/messages/@original",
        200,
    )
    logging.getLogger("discord.gateway").debug(
        "For Shard ID %s: WebSocket Event: %s",
        None,
        {"t": "INTERACTION_CREATE", "d": {"id": "123456789", "token": INTERACTION_TOKEN}},
    )
    logging.getLogger("anything").info('{"token": "%s", "user": "ana"}', INTERACTION_TOKEN)
    logging.getLogger("anything").info("answering %s late", INTERACTION_TOKEN)
    output = log.getvalue()
    assert TAIL not in output
    assert WEBHOOK_TOKEN not in output
    assert "/interactions/123456789/***/callback" in output
    assert "/webhooks/42/***/messages/@original" in output
    assert "'token': '***'" in output
    assert '"token": "***", "user": "ana"' in output
    assert "answering *** late" in output


def test_tracebacks_and_the_bot_token_are_cleaned_too(log: io.StringIO) -> None:
    try:
        raise RuntimeError(f"POST /interactions/1/{INTERACTION_TOKEN}/callback with {BOT_TOKEN}")
    except RuntimeError:
        logging.getLogger("discord.client").exception("Ignoring exception in %s", "on_ready")
    logging.getLogger("bot").warning("token is %s", BOT_TOKEN, stack_info=True)
    output = log.getvalue()
    assert "Ignoring exception in on_ready" in output
    assert "RuntimeError: POST /interactions/1/***/callback with ***" in output
    assert "Traceback (most recent call last)" in output  # the traceback itself is kept
    assert TAIL not in output
    assert BOT_TOKEN not in output
    assert "token is ***" in output


def test_ordinary_lines_are_left_alone(log: io.StringIO) -> None:
    logging.getLogger("pln_coach").info("Connected as %s to %d servers (%.1f%%)", "Coach", 3, 99.5)
    try:
        raise ValueError("nothing secret")
    except ValueError:
        logging.getLogger("pln_coach").exception("plain failure")
    output = log.getvalue()
    assert "Connected as Coach to 3 servers (99.5%)" in output
    assert "ValueError: nothing secret" in output


def test_a_handler_that_a_library_added_to_its_own_logger_is_covered(log: io.StringIO) -> None:
    own = io.StringIO()
    library = logging.getLogger("some.library")
    library.addHandler(logging.StreamHandler(own))
    library.propagate = False
    try:
        install_redaction([BOT_TOKEN])
        library.error("calling /webhooks/7/%s", WEBHOOK_TOKEN)
    finally:
        library.handlers.clear()
        library.propagate = True
    assert own.getvalue() == "calling /webhooks/7/***\n"
