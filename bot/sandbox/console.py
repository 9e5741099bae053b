"""The sandbox prompt: type slash commands as a demo member and watch what the bot does."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import sys
import threading
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from bot.sandbox.command_line import CommandLineError, parse_slash
from bot.sandbox.demo_world import DemoWorld
from bot.sandbox.forms import FormField, read_form
from bot.sandbox.render import SELECTS, buttons_of, render_message
from bot.sandbox.saved_files import SavedFiles
from bot.scheduling.clock import ShiftedClock
from emulator import DiscordEmulator, OptionError
from emulator.interactions import Interaction
from emulator.state import Message

HELP = """\
Type a slash command as you would in Discord, for example:
  /share url:https://example.org/fractions title:Fractions warm-up tags:math, 7th-grade
  /connect intro       /connect suggest     /converse     /progress member:@ben
  /ask question:How do you grade lab reports? tags:assessment     /asks open
  /resources tag:math  /connect helper tag:assessment help:on
  /pln setup   /pln check   /pln thresholds   /pln shares-channel channel:#resources  (as maya)
  /challenge schedule channel:#general weekday:Monday time:09:00 timezone:Europe/Berlin
  /challenge current   /challenge done   /recap preview   /nudges on
Other commands:
  :as NAME     act as another member ({members})
  :join NAME   a new member called NAME joins the server; you act as them
  :in CHANNEL  move to another channel ({channels}), or into a thread by
               the start of its name (e.g. the thread /ask opened)
  :press N     press button [N] as the current member
  :choose N X  pick X in menu [N]: an option, a #channel or a member (nothing: clear it)
  :app NAME    use a message's Apps menu (e.g. :app Mark as helpful) on the last
               message someone else posted here
  :reply TEXT  reply to the last message someone else posted here
  :react EMOJI react (e.g. :react 👍) to the last message someone else posted here
  :thread NAME start a thread here and move into it (:in general to leave it)
  :delete      delete your last message here
  :clock next  move the bot's clock to just after its next weekly post (a challenge or
               recap), to see it now; :clock +3d (or 5h, 30m) moves it by that much;
               :clock alone shows the bot's time
  :help        this text            :quit   leave (Ctrl-D works too)
Anything else is posted as an ordinary chat message in the current channel.
Replies, reactions and threads count toward Connect and Converse (see /progress).
When the bot opens a form, answer its fields one at a time (an empty line skips an
optional one; :cancel closes the form). Images and files the bot sends are saved in
{files} and their path is shown."""

USER, CHANNEL, ROLE, MENTIONABLE, INTEGER, BOOLEAN, NUMBER = 6, 7, 8, 9, 4, 5, 10
DEFERRED, MODAL = 5, 9
DEFERRED_UPDATE, UPDATE_MESSAGE = 6, 7
# Discord's rule for usernames (letters, digits, "_" and "."; 2 to 32 characters).
_USERNAME = re.compile(r"^[a-z0-9_.]{2,32}$")
_CLOCK_STEP = re.compile(r"^\+?\s*(\d{1,4})\s*([dhm])$")


async def _no_input(prompt: str) -> str:
    raise EOFError


class TerminalInput:
    """Lines typed at the prompt, read by the event loop itself.

    A thread blocked in ``input()`` keeps Ctrl-C from ending the sandbox promptly (an executor
    thread is waited for at exit; a daemon thread holding stdin aborts the interpreter), so the
    loop watches stdin and splits lines itself. Where stdin cannot be watched (Windows, a
    regular file), lines are read on a daemon thread instead.
    """

    def __init__(self) -> None:
        self._lines: asyncio.Queue[str | None] = asyncio.Queue()
        self._buffer = b""
        self._loop = asyncio.get_running_loop()
        self._watching = False
        if sys.stdin is None:  # started with stdin closed: nothing will ever be typed
            self._lines.put_nowait(None)
            return
        self._fd = sys.stdin.fileno()
        try:
            self._loop.add_reader(self._fd, self._on_readable)
            self._watching = True
        except (NotImplementedError, OSError):
            threading.Thread(target=self._read_blocking, name="sandbox-input", daemon=True).start()

    def _on_readable(self) -> None:
        data = os.read(self._fd, 65536)
        if not data:
            self.close()
            if self._buffer:
                self._lines.put_nowait(self._buffer.decode(errors="replace"))
            self._lines.put_nowait(None)
            return
        *lines, self._buffer = (self._buffer + data).split(b"\n")
        for line in lines:
            self._lines.put_nowait(line.decode(errors="replace").rstrip("\r"))

    def _read_blocking(self) -> None:
        try:
            for raw in sys.stdin.buffer:
                line = raw.decode(errors="replace").rstrip("\r\n")
                self._loop.call_soon_threadsafe(self._lines.put_nowait, line)
        finally:
            self._loop.call_soon_threadsafe(self._lines.put_nowait, None)

    async def read_line(self, prompt: str) -> str:
        print(prompt, end="", flush=True)
        line = await self._lines.get()
        if line is None:
            raise EOFError
        return line

    def close(self) -> None:
        if self._watching:
            self._loop.remove_reader(self._fd)
            self._watching = False


class SandboxConsole:
    def __init__(
        self,
        emulator: DiscordEmulator,
        world: DemoWorld,
        *,
        files_folder: Path,
        clock: ShiftedClock | None = None,
        next_post_at: Callable[[], Awaitable[datetime | None]] | None = None,
    ) -> None:
        self.clock = clock or ShiftedClock()
        self.next_post_at = next_post_at
        # Bot posts printed so far: `:clock next` waits for the weekly post it brought.
        self.posts_shown = 0
        self.emulator = emulator
        self.world = world
        self.member = world.members["ana"]
        self.channel = world.channels["general"]
        self.buttons: dict[int, tuple[int, str]] = {}
        # Which numbered components are select menus, and of what type.
        self.selects: dict[int, dict[str, Any]] = {}
        self.files = SavedFiles(files_folder)
        # Where the answers to forms come from: the terminal once ``loop`` runs.
        self.read_line: Callable[[str], Awaitable[str]] = _no_input

    # Output ---------------------------------------------------------------------------------

    def name_of(self, snowflake: int) -> str:
        known = self.world.names.get(snowflake)
        if known is None:
            channel = self.emulator.world.channels.get(snowflake)
            if channel is not None and channel.name:  # a thread someone (the bot) started
                known = self.world.names[snowflake] = channel.name
        return known or str(snowflake)

    def find_channel(self, argument: str) -> int:
        """A channel by name, or a thread by the start of its name (threads the bot opened too)."""
        name = argument.strip().lstrip("#").casefold()
        if name in self.world.channels:
            return self.world.channels[name]
        threads = [
            channel
            for channel in self.emulator.world.channels.values()
            if channel.guild_id == self.world.guild.id
            and channel.thread is not None
            and (channel.name or "").casefold().startswith(name)
        ]
        if name and threads:
            thread = threads[-1]  # the newest with that name
            self.world.names[thread.id] = thread.name or "thread"
            return thread.id
        raise CommandLineError(
            f"Channels here: {', '.join(self.world.channels)} (or the start of a thread's name)"
        )

    def show(self, message: Message | dict[str, Any], *, author: str | None = None) -> None:
        payload = message.to_payload() if isinstance(message, Message) else message
        numbers = []
        for button in buttons_of(payload):
            number = len(self.buttons) + 1
            self.buttons[number] = (int(payload["id"]), button.get("custom_id", ""))
            if button.get("type") in SELECTS:
                self.selects[number] = button
            numbers.append(number)
        print()
        print(
            render_message(
                payload,
                author=author or "PLN Coach",
                where="#" + self.name_of(int(payload["channel_id"])),
                names=self.name_of,
                button_numbers=numbers,
            )
        )
        stored = message if isinstance(message, Message) else None
        if stored is None and payload.get("attachments"):
            stored = self.emulator.get_message(int(payload["id"]))
        if stored is not None:
            self.save_attachments(stored)

    def save_attachments(self, message: Message) -> None:
        """Save what the bot attached, so the user can open it (a terminal shows no images)."""
        for attachment, data in zip(message.attachments, message.attachment_data, strict=False):
            path = self.files.save(str(attachment.get("filename", "file")), data)
            image = str(attachment.get("content_type", "")).startswith("image/")
            kind = "image" if image else "file"
            print(f"  [{kind} saved: {path}]")

    def on_event(self, event: str, data: Any) -> None:
        """Print what the bot posts in channels (answers to commands are printed by run)."""
        if event != "MESSAGE_CREATE" or not isinstance(data, dict):
            return
        from_bot = int(data.get("author", {}).get("id", 0)) == self.world.app.bot_user.id
        answers_a_command = data.get("interaction") or data.get("interaction_metadata")
        if from_bot and not answers_a_command:
            self.posts_shown += 1
            self.show(data)

    # Input ----------------------------------------------------------------------------------

    @property
    def prompt(self) -> str:
        return f"\n{self.name_of(self.member).split(' ')[0]} in #{self.name_of(self.channel)}> "

    def help_text(self) -> str:
        return HELP.format(
            members=", ".join(self.world.members),
            channels=", ".join(self.world.channels),
            files=self.files.folder,
        )

    def _value(self, value: str, option_type: int) -> Any:
        clean = value.strip().lstrip("@#").casefold()
        if option_type in (USER, MENTIONABLE) and clean in self.world.members:
            return self.world.members[clean]
        if option_type == CHANNEL and clean in self.world.channels:
            return self.world.channels[clean]
        if option_type in (ROLE, MENTIONABLE) and clean == self.world.teachers.name.casefold():
            return self.world.teachers.id
        if option_type in (USER, CHANNEL, ROLE, MENTIONABLE):
            raise CommandLineError(f"I don't know {value!r} here. Try :help for names.")
        if option_type == INTEGER:
            return int(value)
        if option_type == NUMBER:
            return float(value)
        if option_type == BOOLEAN:
            return value.strip().casefold() in ("true", "yes", "1")
        return value

    async def run_slash(self, line: str) -> None:
        commands = self.emulator.commands(self.world.app.id)
        commands += self.emulator.commands(self.world.app.id, self.world.guild.id)
        parsed = parse_slash(line, commands)
        options = {
            name: self._value(value, parsed.option_types[name])
            for name, value in parsed.options.items()
        }
        ix = await self.emulator.run_slash_command(
            self.world.guild.id, self.channel, self.member, parsed.name, options
        )
        await self._show_answer(ix)

    def _current(self, message_id: int) -> Message:
        message = self.emulator.get_message(message_id)
        if message is None:
            raise CommandLineError("That message is gone.")
        return message

    async def _until_changed(self, message_id: int, content: str | None) -> None:
        """Wait (up to 10 s) for the bot to edit the message away from ``content``."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(10):
                # The emulator has no event for "this message changed"; a person at a prompt
                # won't notice 50 ms.
                while self._current(message_id).content == content:  # noqa: ASYNC110
                    await asyncio.sleep(0.05)

    async def _show_answer(self, ix: Interaction) -> None:
        source_id = ix.source_message_id
        before = self._current(source_id).content if source_id else None
        response = await ix.wait_response(timeout=10)
        if source_id and response.type in (DEFERRED_UPDATE, UPDATE_MESSAGE):
            # A button or menu that changes its own message: show the message as it now reads
            # (a placeholder such as "Forgetting you…" is followed to what replaces it).
            if response.type == DEFERRED_UPDATE:
                await self._until_changed(source_id, before)
            elif self._current(source_id).content.endswith("…"):
                await self._until_changed(source_id, self._current(source_id).content)
            after = self._current(source_id)
            if response.type == UPDATE_MESSAGE or after.content != before:
                self.show(after)
            return
        if response.type == MODAL:
            await self.fill_form(ix)
            return
        if response.type == DEFERRED:
            self.show(await ix.wait_original_edit(timeout=10))
        elif ix.original_message is not None:
            self.show(ix.original_message)
        elif response.data:
            self.show({"channel_id": self.channel, "id": 0, **response.data})
        for followup in ix.followups:
            self.show(followup)

    async def fill_form(self, ix: Interaction) -> None:
        """Ask for each field of the modal the bot opened, then submit it as the member."""
        assert ix.modal is not None
        form = read_form(ix.modal)
        print(f"\n┌ Form: {form.title}")
        print("│ (one field at a time; an empty line skips an optional field, :cancel closes)")
        values: dict[str, str | list[str]] = {}
        for item in form.items:
            if isinstance(item, str):
                print("│ " + item.replace("\n", "\n│ "))
                continue
            value = await self._ask(item)
            if value is not None:
                values[item.custom_id] = value
        print("└ (sent)")
        try:
            submitted = await self.emulator.submit_modal(ix, values)
        except ValueError as error:  # what the client itself would refuse to send
            raise CommandLineError(str(error)) from None
        await self._show_answer(submitted)

    async def _ask(self, field: FormField) -> str | list[str] | None:
        print(f"│ {field.label} ({field.hints()})")
        if field.description:
            print(f"│   {field.description}")
        for number, choice in enumerate(field.choices, start=1):
            extra = f" — {choice.description}" if choice.description else ""
            print(f"│   {number}. {choice.label}{extra}")
        while True:
            line = await self.read_line("│ > ")
            if line.strip() == ":cancel":
                raise CommandLineError("Form closed; nothing was sent.")
            try:
                return field.answer(line)
            except CommandLineError as error:
                print(f"│   ! {error}")

    def join(self, argument: str) -> None:
        """A new member joins the demo server (GUILD_MEMBER_ADD) and becomes the current one."""
        display_name = " ".join(argument.split())
        username = display_name.lstrip("@").casefold()
        if not _USERNAME.match(username):
            raise CommandLineError(
                "Give the newcomer a name of 2 to 32 letters, digits, '_' or '.', e.g. :join zoe"
            )
        if username in self.world.members:
            raise CommandLineError(f"{username} is already here; :as {username} acts as them.")
        user = self.emulator.create_user(username, global_name=display_name.lstrip("@"))
        self.emulator.add_member(self.world.guild.id, user.id)
        self.world.members[username] = user.id
        self.world.names[user.id] = display_name.lstrip("@")
        self.member = user.id
        print(f"({self.name_of(user.id)} joined {self.world.guild.name}; you are them now)")

    async def use_app(self, name: str) -> None:
        """A message's Apps menu (e.g. Mark as helpful) on the last message someone else posted."""
        if not name:
            raise CommandLineError("Name the app, e.g. :app Mark as helpful")
        target = self._last_message(mine=False)
        ix = await self.emulator.run_context_command(
            self.world.guild.id, self.channel, self.member, name, target_message_id=target.id
        )
        print(f"(used {name} on {self.name_of(target.author_id)}'s message)")
        await self._show_answer(ix)

    async def press(self, argument: str) -> None:
        if not argument.strip().isdigit() or int(argument) not in self.buttons:
            raise CommandLineError("Give the number shown in [brackets], e.g. :press 1")
        if int(argument) in self.selects:
            raise CommandLineError(f"[{argument}] is a menu: :choose {argument} VALUE")
        message_id, custom_id = self.buttons[int(argument)]
        ix = await self.emulator.press_button(message_id, custom_id, self.member)
        await self._show_answer(ix)

    async def choose(self, argument: str) -> None:
        """Pick in a select menu: an option's name, a channel or a member; nothing clears it."""
        number, _, value = argument.strip().partition(" ")
        if not number.isdigit() or int(number) not in self.selects:
            raise CommandLineError(
                "Give the menu's number shown in [brackets], e.g. :choose 2 math"
            )
        select = self.selects[int(number)]
        message_id, custom_id = self.buttons[int(number)]
        value = value.strip()
        values: list[Any] = []
        if value and select.get("type") == 3:
            wanted = value.casefold()
            found = [
                option["value"]
                for option in select.get("options", [])
                if wanted in (option["label"].casefold(), option["value"].casefold())
            ]
            if not found:
                names = ", ".join(option["label"] for option in select.get("options", []))
                raise CommandLineError(f"Pick one of: {names}")
            values = found[:1]
        elif value and select.get("type") == 8:
            values = [self.find_channel(value.lstrip("#"))]
        elif value:
            name = value.lstrip("@").casefold()
            if name not in self.world.members:
                raise CommandLineError(f"Members here: {', '.join(self.world.members)}")
            values = [self.world.members[name]]
        ix = await self.emulator.choose_select(message_id, custom_id, values, self.member)
        await self._show_answer(ix)

    def _last_message(self, *, mine: bool) -> Message:
        for message in reversed(self.emulator.messages_in(self.channel)):
            if message.ephemeral or message.interaction_id is not None:
                continue
            if (message.author_id == self.member) == mine:
                return message
        whose = "of yours" if mine else "from someone else"
        raise CommandLineError(f"There is no message {whose} here yet.")

    async def move_clock(self, argument: str) -> None:
        """Weekly posts follow the bot's clock: moving it forward shows what a week brings."""
        if argument == "next":
            next_post_at = self.next_post_at
            if next_post_at is None:
                raise CommandLineError("This sandbox has no weekly clock.")
            upcoming = await next_post_at()
            if upcoming is None:
                raise CommandLineError(
                    "No weekly post is scheduled yet: an admin sets one with /challenge schedule."
                )
            shown = self.posts_shown
            self.clock.set(max(upcoming, self.clock()) + timedelta(seconds=1))
            for _ in range(100):  # show the post it brings before the next prompt
                await asyncio.sleep(0.05)
                if self.posts_shown > shown and await next_post_at() != upcoming:
                    break
        elif argument:
            match = _CLOCK_STEP.match(argument)
            if match is None:
                raise CommandLineError("Move the clock forward like this: :clock +3d, +5h or +30m")
            amount, unit = int(match.group(1)), match.group(2)
            step = {"d": timedelta(days=amount), "h": timedelta(hours=amount)}.get(
                unit, timedelta(minutes=amount)
            )
            self.clock.shift(step)
        now = self.clock()
        print(f"(the bot's clock says {now:%A %d %B %Y, %H:%M} UTC)")

    async def interact(self, command: str, argument: str) -> None:
        """What members do in the server anyway: replies, reactions, threads, deletions."""
        if command == ":reply":
            if not argument:
                raise CommandLineError("Write what you reply, e.g. :reply Great idea!")
            target = self._last_message(mine=False)
            await self.emulator.send_message(self.channel, self.member, argument, target.id)
            print(f"(replied to {self.name_of(target.author_id)})")
        elif command == ":react":
            target = self._last_message(mine=False)
            await self.emulator.add_reaction(self.channel, target.id, self.member, argument or "👍")
            print(f"(reacted to {self.name_of(target.author_id)}'s message)")
        elif command == ":thread":
            thread = await self.emulator.create_thread(
                self.channel, self.member, argument or "Let's talk"
            )
            self.world.names[thread.id] = thread.name or "thread"
            self.channel = thread.id
            print(f"(started the thread #{self.name_of(thread.id)}; you are in it now)")
        else:
            target = self._last_message(mine=True)
            await self.emulator.delete_message(target.id, self.member)
            print("(deleted your last message)")

    async def handle(self, line: str) -> bool:
        """Act on one line; returns False when the user wants to leave."""
        line = line.strip()
        if not line:
            return True
        command, _, argument = line.partition(" ")
        if line.startswith("/"):
            await self.run_slash(line)
        elif command in (":quit", ":exit", ":q"):
            return False
        elif command == ":help":
            print(self.help_text())
        elif command == ":as":
            name = argument.strip().lstrip("@").casefold()
            if name not in self.world.members:
                raise CommandLineError(f"Members here: {', '.join(self.world.members)}")
            self.member = self.world.members[name]
        elif command == ":join":
            self.join(argument)
        elif command == ":in":
            self.channel = self.find_channel(argument)
        elif command == ":app":
            await self.use_app(argument.strip())
        elif command == ":clock":
            await self.move_clock(argument.strip())
        elif command == ":press":
            await self.press(argument)
        elif command == ":choose":
            await self.choose(argument)
        elif command in (":reply", ":react", ":thread", ":delete"):
            await self.interact(command, argument.strip())
        elif line.startswith(":"):
            raise CommandLineError("Unknown command. Type :help to see what you can do.")
        else:
            await self.emulator.send_message(self.channel, self.member, line)
            print(f"(posted in #{self.name_of(self.channel)})")
        return True

    async def loop(self) -> None:
        self.emulator.add_listener(self.on_event)
        terminal = TerminalInput()
        self.read_line = terminal.read_line
        try:
            while True:
                try:
                    line = await terminal.read_line(self.prompt)
                    if not await self.handle(line):
                        return
                except EOFError:  # at the prompt, or in the middle of a form
                    print()
                    return
                except (CommandLineError, OptionError) as error:
                    # OptionError: what Discord's own client would refuse to send.
                    print(f"  ! {error}")
                except TimeoutError:
                    print("  ! The bot did not answer in time (see the log above).")
        finally:
            terminal.close()
            self.emulator.remove_listener(self.on_event)
