"""Hostile input: every command's options, fuzzed through the emulator with Hypothesis.

Every slash command and subcommand, every context menu and every form a command opens is found
in the bot's command tree (one test per command, so commands added later are fuzzed too, and a
command with an option type the strategies don't know fails). Each example is what a member can
really submit through Discord's client (see ``hostile_input``): hostile text inside the
registered limits, huge and negative numbers, any channel, user or role of the server. For each
one the real bot, talking to the emulator over HTTP and websockets, must

- acknowledge within Discord's 3 seconds (a message, a deferral, a form, or autocomplete
  choices: at most 25, each within Discord's limits) and then really answer;
- raise nothing unexpected (no ERROR logged, no "something went wrong" answer);
- ping nobody: no @everyone, @here or role in anything it posted or edited, and users only in
  an ask's thread (at most three helpers, never the asker or a bot);
- store nothing beyond the documented limits (every ``String(n)`` column, and the limits of
  /share and /ask for text columns and tag counts).

Two tests: one per command (its examples on one server, so later examples meet what earlier
ones stored), and sessions of up to 8 commands drawn from the whole catalogue (commands with
more options more often), on one server for all examples, so hostile text one command stored is
read back by the commands that show it (/resources, /asks open, /challenge list...). Both steer
towards long answers with Hypothesis's ``target``: Discord's length limits are where hostile
input breaks a bot that parses it well.

How it runs: pytest-asyncio runs a Hypothesis ``@given`` test one example at a time on the
session's event loop, so one bot and one emulator (function-scoped fixtures, created once per
test) serve all of its examples; the fixtures' health check is suppressed on purpose. Examples
are drawn inside the test with ``st.data()`` because what can be drawn depends on the live
command and server. The default run is derandomized (the same examples in CI every time):
10 per command and 10 sessions. A long, random run::

    PLN_FUZZ_EXAMPLES=300 .venv/bin/pytest tests/e2e/test_fuzz_commands.py \\
        --hypothesis-show-statistics

A failure prints the drawn values (and ``@reproduce_failure``); a session's failure is not
shrunk, since its examples build on one another.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import os
import re
from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import discord
import pytest
from discord import app_commands
from hypothesis import HealthCheck, Phase, event, given, settings, target
from hypothesis import strategies as st
from sqlalchemy import String, func, select

from bot.app import PLNCoachBot, discover_extensions
from bot.command_tree import UNEXPECTED
from bot.config import local_settings
from bot.db import Base
from bot.services.share_input import MAX_NOTE_LENGTH, MAX_TAGS, MAX_URL_LENGTH
from cogs._admin import is_admin_only
from emulator import DiscordEmulator
from emulator import commands as c
from emulator.interactions import Interaction
from emulator.state import Message
from tests.e2e.conftest import Community
from tests.e2e.helpers import eventually, run_command, text_of
from tests.e2e.hostile_input import (
    Targets,
    UnknownOptionType,
    hostile_text,
    option_value,
    typed_so_far,
)

LONG_RUN = os.environ.get("PLN_FUZZ_EXAMPLES")
FUZZ = settings(
    max_examples=int(LONG_RUN or 10),
    deadline=None,  # the 3 s that matter are checked in the example, against Discord's clock
    derandomize=LONG_RUN is None,  # CI sees the same examples every run
    database=None,
    print_blob=True,
    # One bot serves every example of a command; long strings are the point.
    suppress_health_check=list(HealthCheck),
)

ACK_LIMIT = 3.0  # Discord drops an interaction not acknowledged within 3 s
ANSWER_LIMIT = 10.0  # after a deferral: no real limit (15 min), but nothing should hang
MESSAGE_LIMIT = 2000
MESSAGE, DEFERRED, AUTOCOMPLETE_RESULT, MODAL = 4, 5, 8, 9
CHANNEL_TEXT, CHANNEL_THREAD, CHANNEL_FORUM = 0, 11, 15
ASK_POST = re.compile(r"\*\*A question from <@(\d+)>\*\*")
# Text columns and counts the README documents limits for (String(n) columns carry their own).
DOCUMENTED_LENGTHS = {"resources.url": MAX_URL_LENGTH, "resources.note": MAX_NOTE_LENGTH}
DOCUMENTED_TAG_COUNTS = {"resource_tags": "resource_id", "ask_tags": "ask_id"}
SLASH, MESSAGE_MENU, USER_MENU = "/", "message:", "user:"


# -- the commands, found in the bot's tree --------------------------------------------------------


@functools.cache
def command_catalogue() -> tuple[str, ...]:
    """Every command the cogs register, as test ids: ``/share``, ``message:Mark as helpful``."""

    async def walk() -> tuple[str, ...]:
        settings_ = local_settings(
            token="collecting",
            api_base_url="http://127.0.0.1:9",
            gateway_url="ws://127.0.0.1:9",
            database_url="sqlite+aiosqlite://",
        )
        bot = PLNCoachBot(settings_)
        try:
            for extension in discover_extensions():
                await bot.load_extension(extension)
            names = [
                SLASH + command.qualified_name
                for command in bot.tree.walk_commands()
                if isinstance(command, app_commands.Command)
            ]
            for kind, prefix in (
                (discord.AppCommandType.message, MESSAGE_MENU),
                (discord.AppCommandType.user, USER_MENU),
            ):
                names += [prefix + menu.name for menu in bot.tree.get_commands(type=kind)]
            return tuple(names)
        finally:
            await bot.close()

    return asyncio.run(walk())


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "command" in metafunc.fixturenames:
        metafunc.parametrize("command", command_catalogue())


def test_the_catalogue_holds_every_kind_of_command() -> None:
    names = set(command_catalogue())
    assert {"/share", "/connect intro", "/challenge schedule", "message:Mark as helpful"} <= names


# -- the server the examples run in ---------------------------------------------------------------


class ErrorLog(logging.Handler):
    """Everything logged at ERROR or above while the bot runs: an unexpected exception."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def _trace(self, record: logging.LogRecord) -> str:
        return logging.Formatter().formatException(record.exc_info) if record.exc_info else ""

    def take(self) -> list[str]:
        found = [
            f"{record.name}: {record.getMessage()}\n{record.exc_text or self._trace(record)}"
            for record in self.records
        ]
        self.records.clear()
        return found


@dataclass(repr=False)  # Hypothesis prints the arguments of a failing example
class Arena:
    community: Community
    bot: PLNCoachBot
    targets: Targets
    channels_by_type: dict[int, list[int]]
    option_users: list[int]
    members: list[int]
    places: list[int]
    ask_thread: int
    errors: ErrorLog
    bot_ids: set[int] = field(default_factory=set)
    longest_answer: int = 0  # in the current example

    def __repr__(self) -> str:
        return "arena"

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text("arena")  # what Hypothesis prints for a failing example

    @property
    def emu(self) -> DiscordEmulator:
        return self.community.emulator


@pytest.fixture
def error_log() -> Iterator[ErrorLog]:
    handler = ErrorLog()
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        yield handler
    finally:
        root.removeHandler(handler)


@pytest.fixture
async def arena(
    coach: PLNCoachBot, community: Community, error_log: ErrorLog
) -> AsyncIterator[Arena]:
    """The demo server plus what hostile input can point at: a member named like a ping, a user
    who is not a member, an unmentionable role, a forum, a thread, channels the bot can't see or
    post in, and an ask (with a helper who offered help) whose thread already has an answer."""
    emu, guild = community.emulator, community.guild
    mallory = emu.create_user("mallory", global_name="@everyone **M** ||x||")
    emu.add_member(guild.id, mallory.id, roles=(community.teachers.id,), nick="@here <@&1>")
    stranger = emu.create_user("stranger", global_name="Not Here")
    staff = emu.create_role(guild.id, "Staff", permissions=0, mentionable=False)
    forum = emu.create_forum_channel(guild.id, "questions", tags=["math", "assessment"])
    hidden = emu.create_text_channel(guild.id, "hidden")
    emu.set_permission_overwrite(hidden.id, community.app.bot_user.id, deny=1 << 10, type=1)
    muted = emu.create_text_channel(guild.id, "muted")
    emu.set_permission_overwrite(muted.id, community.app.bot_user.id, deny=1 << 11, type=1)
    thread = await emu.create_thread(community.general.id, community.ana.id, "chat")
    await emu.send_message(thread.id, community.ana.id, "Hello in a thread")

    reply = await run_command(
        community, community.ben.id, "connect helper", {"tag": "math", "help": "on"}
    )
    assert "will name you" in reply.content
    ix = await emu.run_slash_command(
        guild.id,
        community.general.id,
        community.ana.id,
        "ask",
        {"question": "How do I teach fractions?", "tags": "math"},
    )
    await ix.wait_response()
    bot_id = community.app.bot_user.id

    def ask_post() -> Message | None:
        return next(
            (
                m
                for m in emu.world.messages.values()
                if m.author_id == bot_id and m.content.startswith("**A question from")
            ),
            None,
        )

    def thread_opened() -> bool:  # the bot posts the question, then opens its thread
        post = ask_post()
        return post is not None and post.id in emu.world.channels

    await eventually(thread_opened, what="the seed ask's thread")
    post = ask_post()
    assert post is not None
    await emu.send_message(post.id, community.ben.id, "Use fraction strips!")
    error_log.take()

    users = [community.ana.id, community.ben.id, community.admin.id, mallory.id]
    yield Arena(
        community=community,
        bot=coach,
        targets=Targets(
            users=[*users, bot_id],
            roles=[community.teachers.id, staff.id, community.bot_role.id],
            channels=[community.general.id, hidden.id, post.id],
            everyone_role=guild.id,
        ),
        channels_by_type={
            CHANNEL_TEXT: [community.general.id, community.resources.id, hidden.id, muted.id],
            CHANNEL_THREAD: [thread.id, post.id],
            CHANNEL_FORUM: [forum.id],
        },
        option_users=[*users, bot_id, stranger.id],
        members=users,
        places=[community.general.id, community.resources.id, thread.id, post.id],
        ask_thread=post.id,
        errors=error_log,
        bot_ids={bot_id},
    )
    # Whatever the examples did, the bot is still up and answering.
    answer = await run_command(community, community.ana.id, "ping")
    assert answer.content


# -- one example ----------------------------------------------------------------------------------


def registered(arena: Arena, root: str, kind: int) -> dict[str, Any]:
    """The command as Discord stores it (what the client validates options against)."""
    app, guild = arena.community.app, arena.community.guild
    for scope in (guild.id, None):
        found = arena.emu.command_registry.find(app.id, scope, root, kind)
        if found is not None:
            return found
    raise AssertionError(f"{root!r} (type {kind}) is not registered with Discord")


def leaf_options(command: dict[str, Any], path: Sequence[str]) -> list[dict[str, Any]]:
    options: list[dict[str, Any]] = command.get("options") or []
    for part in path:
        options = next(o for o in options if o["name"] == part).get("options") or []
    return options


def live_command(bot: PLNCoachBot, name: str) -> app_commands.Command[Any, ..., Any]:
    for command in bot.tree.walk_commands():
        if isinstance(command, app_commands.Command) and command.qualified_name == name:
            return command
    raise AssertionError(f"/{name} is no longer in the command tree")


async def acknowledged(ix: Interaction) -> int:
    """The first response's type, which must come within Discord's 3 seconds."""
    try:
        response = await ix.wait_response(timeout=ACK_LIMIT + 0.5)
    except TimeoutError:
        raise AssertionError(f"no acknowledgement within {ACK_LIMIT} s") from None
    assert ix.responded_at is not None
    took = ix.responded_at - ix.created_at
    assert took <= ACK_LIMIT, f"acknowledged after {took:.2f} s"
    return response.type


async def final_answer(ix: Interaction, kind: int) -> Message:
    if kind == DEFERRED:
        try:
            return await ix.wait_original_edit(timeout=ANSWER_LIMIT)
        except TimeoutError:
            raise AssertionError(f"deferred, then no answer within {ANSWER_LIMIT} s") from None
    assert kind == MESSAGE, f"unexpected first response type {kind}"
    assert ix.original_message is not None
    return ix.original_message


def modal_inputs(components: Sequence[Any]) -> Iterator[dict[str, Any]]:
    for component in components:
        if not isinstance(component, dict):
            continue
        if component.get("type") == 4:
            yield component
        yield from modal_inputs(component.get("components") or [])
        if isinstance(component.get("component"), dict):
            yield from modal_inputs([component["component"]])


def draw_form(data: st.DataObject, modal: dict[str, Any], targets: Targets) -> dict[str, str]:
    values: dict[str, str] = {}
    for text_input in modal_inputs(modal.get("components") or []):
        required = text_input.get("required", True)
        if not required and data.draw(st.booleans(), label=f"skip {text_input['custom_id']}"):
            continue
        low = max(text_input.get("min_length") or 0, 1)
        high = text_input.get("max_length") or 4000
        values[text_input["custom_id"]] = data.draw(
            hostile_text(targets, low, high), label=text_input["custom_id"]
        )
    return values


async def answered(arena: Arena, data: st.DataObject, ix: Interaction) -> Message:
    """Follow an interaction to the answer the member sees, filling in any form it opens."""
    kind = await acknowledged(ix)
    if kind == MODAL:
        assert ix.modal is not None
        values = draw_form(data, ix.modal, arena.targets)
        ix = await arena.emu.submit_modal(ix, values)
        kind = await acknowledged(ix)
        assert kind != MODAL, "a form answered with another form"
    answer = await final_answer(ix, kind)
    # What kind of answer it was, for --hypothesis-show-statistics: how deep the fuzz got.
    event(
        re.sub(r"“[^”]*”|`[^`]*`|\*\*[^*]*\*\*|<[^>]*>|\d+", "…", answer.content)[:40] or "(embed)"
    )
    arena.longest_answer = max(arena.longest_answer, len(text_of(answer)))
    assert UNEXPECTED not in answer.content, answer.content
    assert len(answer.content) <= MESSAGE_LIMIT
    return answer


def draw_options(
    data: st.DataObject, arena: Arena, options: Sequence[dict[str, Any]], *, all_optional: bool
) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for option in options:
        if (all_optional or not option.get("required")) and not data.draw(
            st.booleans(), label=f"give {option['name']}"
        ):
            continue
        values[option["name"]] = data.draw(
            option_value(option, arena.targets, arena.channels_by_type, arena.option_users),
            label=option["name"],
        )
    return values


async def fuzz_slash(arena: Arena, data: st.DataObject, name: str) -> None:
    root, *path = name.split()
    options = leaf_options(registered(arena, root, c.CHAT_INPUT), path)
    for option in options:  # fail on an option type the strategies don't know, even unused
        option_value(option, arena.targets, arena.channels_by_type, arena.option_users)
    admin = is_admin_only(live_command(arena.bot, name))
    community = arena.community
    user = community.admin.id if admin else data.draw(st.sampled_from(arena.members), label="who")
    place = data.draw(st.sampled_from(arena.places), label="where")
    focusable = [o for o in options if o.get("autocomplete")]
    autocomplete = bool(focusable) and data.draw(st.booleans(), label="autocomplete")
    if autocomplete:
        focused = data.draw(st.sampled_from(focusable), label="focused")
        values = draw_options(
            data, arena, [o for o in options if o is not focused], all_optional=True
        )
        values[focused["name"]] = data.draw(typed_so_far(focused, arena.targets), label="typed")
        choices = await arena.emu.autocomplete(
            community.guild.id, place, user, name, values, focused["name"], timeout=ACK_LIMIT
        )
        ix = arena.emu.interactions[-1]
        assert ix.responded_at is not None
        assert ix.responded_at - ix.created_at <= ACK_LIMIT
        assert ix.response is not None
        assert ix.response.type == AUTOCOMPLETE_RESULT
        assert len(choices) <= 25
        for choice in choices:
            assert 1 <= len(choice["name"]) <= 100, choice
            assert len(str(choice["value"])) <= 100, choice
        return
    values = draw_options(data, arena, options, all_optional=False)
    ix = await arena.emu.run_slash_command(community.guild.id, place, user, name, values)
    await answered(arena, data, ix)


async def fuzz_message_menu(arena: Arena, data: st.DataObject, name: str) -> None:
    registered(arena, name, c.MESSAGE_COMMAND)
    community, emu = arena.community, arena.emu
    place = data.draw(st.sampled_from(arena.places), label="where")
    author = data.draw(st.sampled_from([*arena.members, *arena.bot_ids]), label="author")
    # Drawn whatever happens next, so the draws never depend on the server's state.
    content = data.draw(hostile_text(arena.targets, 1, MESSAGE_LIMIT), label="message")
    target: Message | None = None
    if author in arena.bot_ids:  # the bot's latest post there, if any
        target = next(
            (
                m
                for m in reversed(emu.messages_in(place))
                if m.author_id == author and not m.ephemeral
            ),
            None,
        )
    if target is None:
        if not content.strip():  # Discord refuses a blank message
            content = "." + content[: MESSAGE_LIMIT - 1]
        poster = author if author not in arena.bot_ids else community.ben.id
        target = await emu.send_message(place, poster, content)
    user = data.draw(st.sampled_from(arena.members), label="who")
    ix = await emu.run_context_command(
        community.guild.id, place, user, name, target_message_id=target.id
    )
    await answered(arena, data, ix)


async def fuzz_user_menu(arena: Arena, data: st.DataObject, name: str) -> None:
    registered(arena, name, c.USER_COMMAND)
    community = arena.community
    place = data.draw(st.sampled_from(arena.places), label="where")
    target = data.draw(st.sampled_from(arena.option_users), label="target")
    user = data.draw(st.sampled_from(arena.members), label="who")
    ix = await arena.emu.run_context_command(
        community.guild.id, place, user, name, target_user_id=target
    )
    await answered(arena, data, ix)


# -- what must hold after every example -----------------------------------------------------------


def ping_problems(arena: Arena) -> list[str]:
    """Anything the bot posted or edited that notifies (or highlights) someone it shouldn't."""
    problems = []
    for message in arena.emu.world.messages.values():
        if message.author_id not in arena.bot_ids:
            continue
        where = f"message {message.id} {message.content[:120]!r}"
        if message.pings.everyone or message.mention_everyone:
            problems.append(f"@everyone/@here in {where}")
        if message.pings.roles or message.mention_role_ids:
            problems.append(f"roles {message.pings.roles or message.mention_role_ids} in {where}")
        users = message.pings.users | set(message.mention_user_ids)
        if not users:
            continue
        ask = ASK_POST.match(message.content)
        if ask is None:
            problems.append(f"users {users} pinged by {where}")
        elif len(users) > 3 or int(ask[1]) in users or users & arena.bot_ids:
            problems.append(f"an ask's thread pings {users} (asker {ask[1]}): {where}")
    return problems


async def storage_problems(bot: PLNCoachBot) -> list[str]:
    problems = []
    async with bot.services.database.read() as session:
        for table in Base.metadata.sorted_tables:
            limits = {}
            for column in table.columns:
                declared = column.type.length if isinstance(column.type, String) else None
                limit = declared or DOCUMENTED_LENGTHS.get(f"{table.name}.{column.name}")
                if limit is not None:
                    limits[column.name] = limit
            if not limits:
                continue
            rows = await session.execute(select(*(table.c[name] for name in limits)))
            for row in rows:
                for name, value in row._mapping.items():
                    if isinstance(value, str) and len(value) > limits[name]:
                        problems.append(
                            f"{table.name}.{name} holds {len(value)} characters "
                            f"(limit {limits[name]}): {value[:60]!r}…"
                        )
        for table_name, parent in DOCUMENTED_TAG_COUNTS.items():
            table = Base.metadata.tables[table_name]
            counts = await session.execute(
                select(table.c[parent], func.count()).group_by(table.c[parent])
            )
            over = [(key, count) for key, count in counts if count > MAX_TAGS]
            if over:
                problems.append(f"more than {MAX_TAGS} tags in {table_name}: {over}")
    return problems


async def check_after(arena: Arena) -> None:
    await asyncio.sleep(0)  # let what the bot owes right after the answer start
    errors = arena.errors.take()
    assert not errors, "unexpected errors logged:\n" + "\n".join(errors)
    pings = ping_problems(arena)
    assert not pings, "\n".join(pings)
    stored = await storage_problems(arena.bot)
    assert not stored, "\n".join(stored)


# -- the test -------------------------------------------------------------------------------------


def steer(arena: Arena) -> None:
    """Steer towards long answers: that is where Discord's limits for messages and embeds bite
    (Hypothesis's target phase mutates the examples that scored highest)."""
    target(float(arena.longest_answer), label="characters in the longest answer")


async def fuzz_one(arena: Arena, data: st.DataObject, command: str) -> None:
    if command.startswith(SLASH):
        await fuzz_slash(arena, data, command.removeprefix(SLASH))
    elif command.startswith(MESSAGE_MENU):
        await fuzz_message_menu(arena, data, command.removeprefix(MESSAGE_MENU))
    elif command.startswith(USER_MENU):
        await fuzz_user_menu(arena, data, command.removeprefix(USER_MENU))
    else:  # pragma: no cover - command_catalogue names every kind it finds
        raise UnknownOptionType(command)


@pytest.mark.no_cooldowns  # a fuzz acts in bursts; cooldowns would answer most examples
@FUZZ
@given(data=st.data())
async def test_hostile_options_never_crash_ping_or_overflow(
    arena: Arena, command: str, data: st.DataObject
) -> None:
    arena.longest_answer = 0
    await fuzz_one(arena, data, command)
    await check_after(arena)
    steer(arena)


def weighted_catalogue(arena: Arena) -> list[str]:
    """Every command, those with more options more often: they are what stores hostile text."""
    weighted = []
    for command in command_catalogue():
        options = 0
        if command.startswith(SLASH):
            root, *path = command.removeprefix(SLASH).split()
            options = len(leaf_options(registered(arena, root, c.CHAT_INPUT), path))
        weighted += [command] * (1 + 2 * options)
    return weighted


@pytest.mark.no_cooldowns
# Each example runs on what the earlier ones stored, so a shrunk example would not replay:
# report the failing session as it happened.
@settings(FUZZ, phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.target])
@given(data=st.data())
async def test_hostile_sessions_never_crash_ping_or_overflow(
    arena: Arena, data: st.DataObject
) -> None:
    """Commands one after another on one server, so what hostile input stored (long titles,
    odd tags, custom challenges) is read back by the commands that show it (/resources, /asks
    open, /challenge list...). The server keeps everything across examples."""
    commands = data.draw(
        st.lists(st.sampled_from(weighted_catalogue(arena)), min_size=1, max_size=8),
        label="commands",
    )
    arena.longest_answer = 0
    for command in commands:
        await fuzz_one(arena, data, command)
        await check_after(arena)
    steer(arena)


@pytest.mark.no_cooldowns
async def test_nul_characters_are_dropped_before_storing(
    coach: PLNCoachBot, community: Community
) -> None:
    """Found by the fuzz on PostgreSQL: a NUL character (Discord's client sends one, and shows
    nothing for it) in a /share title or note, an /ask question, a /challenge add title or text,
    an intro or a /resources search failed the command ("something went wrong"): PostgreSQL
    refuses NUL in text. The text is kept without it."""
    admin, emu = community.admin.id, community.emulator
    runs = {
        "share": {"url": "https://example.org/nul", "title": "Frac\x00tions", "note": "n\x00"},
        "ask": {"question": "Why\x00?"},
        "challenge add": {
            "habit": "connect",
            "difficulty": "easy",
            "title": "Say\x00 hi",
            "text": "To\x00 someone",
        },
        "resources": {"query": "frac\x00"},
    }
    for name, options in runs.items():
        answer = await run_command(community, admin, name, options)
        assert UNEXPECTED not in answer.content, name
    ix = await emu.run_slash_command(
        community.guild.id, community.general.id, admin, "connect intro", {}
    )
    await ix.wait_response()
    form = {"pln:intro-form:role": "Teach\x00er", "pln:intro-form:subjects": "ma\x00th"}
    answer = await answered_form(await emu.submit_modal(ix, form))
    assert UNEXPECTED not in answer.content
    assert not await storage_problems(coach)
    async with coach.services.database.read() as session:
        for table in Base.metadata.sorted_tables:
            for row in await session.execute(select(table)):
                assert not any(isinstance(v, str) and "\x00" in v for v in row), table.name


async def answered_form(ix: Interaction) -> Message:
    return await final_answer(ix, await acknowledged(ix))
