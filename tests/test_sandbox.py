"""`make run` without a token: the offline sandbox, driven through its prompt."""

from __future__ import annotations

import asyncio
import contextlib
import io
import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import discord
import pytest
from discord.ext import commands
from PIL import Image

from bot.discord_endpoints import DISCORD_API_BASE_URL, apply_discord_endpoints
from bot.habits import HABIT_ORDER, Level
from bot.images import HabitCard, ProgressCard, render_progress_card
from bot.sandbox.command_line import CommandLineError
from bot.sandbox.console import SandboxConsole
from bot.sandbox.demo_world import build_demo_world
from bot.sandbox.saved_files import safe_filename
from emulator import DiscordEmulator
from tests.conftest import environment_without_bot_settings

SCRIPT = "\n".join(
    [
        "/share url:https://example.org/fractions title:Fractions warm-up tags:math, 7th-grade",
        ":as ben",
        ":press 1",
        "/progress member:@ana",
        "/share url:notalink",
        "/nope",
        ":quit",
    ]
)


def _sandbox(command: str, script: str, cwd: Path, environment: dict[str, str]) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "bot", command],
        input=script,
        capture_output=True,
        text=True,
        cwd=cwd,
        env=environment,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    return result.stdout


def test_the_sandbox_leaves_the_real_bots_token_and_database_alone(tmp_path: Path) -> None:
    real_database = tmp_path / "real.sqlite3"
    environment = environment_without_bot_settings() | {
        "DISCORD_TOKEN": "a-real-token-that-must-not-be-used",
        "PLN_DATABASE__URL": f"sqlite+aiosqlite:///{real_database}",
    }
    out = _sandbox("sandbox", "/share url:https://example.org/a\n:quit\n", tmp_path, environment)
    assert "**Shared!**" in out
    assert not real_database.exists()
    assert (tmp_path / "data" / "sandbox.sqlite3").exists()


def test_the_sandbox_runs_commands_typed_at_its_prompt(tmp_path: Path) -> None:
    out = _sandbox("run", SCRIPT, tmp_path, environment_without_bot_settings())
    assert "OFFLINE SANDBOX" in out
    assert "DISCORD_TOKEN" in out  # says how to connect to Discord instead
    assert "** Fractions warm-up **" in out  # the card posted in #general
    assert "[1] 👍 Useful" in out
    assert "**Shared!**" in out
    assert "counts toward Ana (7th-grade science)'s Contribute habit" in out  # Ben pressed it
    assert "2. Contribute — ◔ Started" in out
    assert "Only web links can be shared" in out  # the bad link, refused privately
    assert "Unknown command /nope" in out
    assert (tmp_path / "data" / "sandbox.sqlite3").exists()


def test_ctrl_c_ends_the_sandbox_cleanly(tmp_path: Path) -> None:
    reader, writer = os.pipe()  # a prompt that stays open, like a terminal nobody types in
    process = subprocess.Popen(
        [sys.executable, "-m", "bot", "sandbox"],
        stdin=reader,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        cwd=tmp_path,
        env=environment_without_bot_settings(),
    )
    try:
        assert process.stdout is not None
        seen = ""
        while "Type :help" not in seen:
            seen += process.stdout.readline().decode()
        process.send_signal(signal.SIGINT)
        output, _ = process.communicate(timeout=20)
    finally:
        os.close(writer)
        os.close(reader)
        process.kill()
    assert process.returncode == 0, output.decode()
    assert b"Fatal Python error" not in output


def test_replies_reactions_and_threads_in_the_sandbox_count(tmp_path: Path) -> None:
    script = "\n".join(
        [
            "Any tips for exit tickets?",
            ":as ben",
            ":reply Three quick questions work well",
            ":thread Exit tickets",
            "I use a form",
            ":as ana",
            "Thanks!",
            ":react 🙏",
            "/progress",
            ":quit",
        ]
    )
    out = _sandbox("sandbox", script, tmp_path, environment_without_bot_settings())
    assert "(replied to Ana" in out
    assert "(started the thread #Exit tickets" in out
    assert "1. Connect — ◔ Started" in out  # Ana answered Ben in the thread and reacted
    assert "3. Converse — ◔ Started" in out


def test_a_newcomer_joins_and_uses_the_bot(tmp_path: Path) -> None:
    script = "\n".join(
        [
            ":help",
            ":join Zoe",
            "/progress",
            ":join zoe",
            ":join no spaces allowed",
            ":as ana",
            "/progress member:@zoe",
            ":quit",
        ]
    )
    out = _sandbox("sandbox", script, tmp_path, environment_without_bot_settings())
    assert ":join NAME" in out  # in the help
    assert "(Zoe joined Demo Educators; you are them now)" in out
    assert "Zoe in #general>" in out
    assert "1. Connect — ○ Not started" in out  # Zoe's own /progress
    assert "zoe is already here; :as zoe acts as them." in out
    assert "Give the newcomer a name of 2 to 32 letters" in out
    assert "Zoe's learning network" in out  # Ana looks Zoe up by the name she joined with


# In-process: a small bot that opens forms and sends images, driven through the console.


class IntroModal(discord.ui.Modal, title="Introduce yourself"):
    intro: discord.ui.TextDisplay[Any] = discord.ui.TextDisplay("Colleagues see this on your card.")
    role: discord.ui.Label[IntroModal] = discord.ui.Label(
        text="Your role",
        description="What and whom you teach",
        component=discord.ui.TextInput(placeholder="e.g. 7th-grade science", max_length=40),
    )
    subjects: discord.ui.Label[IntroModal] = discord.ui.Label(
        text="Subjects",
        component=discord.ui.Select(
            options=[
                discord.SelectOption(label="Math", value="math"),
                discord.SelectOption(label="Science", value="science"),
                discord.SelectOption(label="History", value="history"),
            ],
            min_values=1,
            max_values=2,
            required=False,
        ),
    )
    wish: discord.ui.TextInput[IntroModal] = discord.ui.TextInput(
        label="What I want to learn", required=False, min_length=3
    )

    def __init__(self, answers: list[dict[str, object]]) -> None:
        super().__init__()
        self.answers = answers

    async def on_submit(self, interaction: discord.Interaction) -> None:
        assert isinstance(self.role.component, discord.ui.TextInput)
        assert isinstance(self.subjects.component, discord.ui.Select)
        answer: dict[str, object] = {
            "role": self.role.component.value,
            "subjects": self.subjects.component.values,
            "wish": self.wish.value,
        }
        self.answers.append(answer)
        await interaction.response.send_message(f"Welcome, {answer['role']}!", ephemeral=True)


class IntroButton(discord.ui.View):
    def __init__(self, answers: list[dict[str, object]]) -> None:
        super().__init__(timeout=None)
        self.answers = answers

    @discord.ui.button(label="Introduce yourself", custom_id="test:intro")
    async def introduce(
        self, interaction: discord.Interaction, button: discord.ui.Button[IntroButton]
    ) -> None:
        await interaction.response.send_modal(IntroModal(self.answers))


def card_png() -> bytes:
    habits = tuple(HabitCard(habit, Level.STARTED, "1 share") for habit in HABIT_ORDER)
    return render_progress_card(ProgressCard("Ana", "Demo Educators", "Week of 30 Nov", habits))


@dataclass
class Sandbox:
    console: SandboxConsole
    answers: list[dict[str, object]]
    lines: list[str] = field(default_factory=list)

    def type(self, *lines: str) -> None:
        self.lines.extend(lines)

    async def read_line(self, prompt: str) -> str:
        if not self.lines:
            raise EOFError
        return self.lines.pop(0)


@pytest.fixture
async def sandbox(tmp_path: Path) -> AsyncIterator[Sandbox]:
    async with DiscordEmulator() as emulator:
        apply_discord_endpoints(emulator.api_base_url, emulator.gateway_url)
        world = build_demo_world(emulator)
        bot = commands.Bot(
            command_prefix=commands.when_mentioned,
            intents=discord.Intents.default(),
            application_id=world.app.id,
        )
        answers: list[dict[str, object]] = []

        @bot.tree.command(name="introduce", description="Introduce yourself")
        async def introduce(interaction: discord.Interaction) -> None:
            await interaction.response.send_modal(IntroModal(answers))

        @bot.tree.command(name="welcome", description="Post the welcome card")
        async def welcome(interaction: discord.Interaction) -> None:
            await interaction.response.send_message("Welcome!", view=IntroButton(answers))

        @bot.tree.command(name="card", description="An image")
        async def card(interaction: discord.Interaction) -> None:
            await interaction.response.defer(ephemeral=True, thinking=True)
            image = discord.File(io.BytesIO(card_png()), filename="progress-card.png")
            await interaction.edit_original_response(content="Your card", attachments=[image])

        task = asyncio.create_task(bot.start(world.app.token))
        try:
            await asyncio.wait_for(bot.wait_until_ready(), 10)
            await bot.tree.sync()
            console = SandboxConsole(emulator, world, files_folder=tmp_path / "files")
            result = Sandbox(console, answers)
            console.read_line = result.read_line
            yield result
        finally:
            await bot.close()
            with contextlib.suppress(Exception, asyncio.CancelledError):
                await asyncio.wait_for(task, 5)
            apply_discord_endpoints(DISCORD_API_BASE_URL)


async def test_a_form_is_asked_field_by_field_and_submitted(
    sandbox: Sandbox, capsys: pytest.CaptureFixture[str]
) -> None:
    sandbox.type(
        "",  # the role is required: asked again
        "x" * 41,  # longer than its 40 characters: asked again
        "Grade 7 science",
        "Art",  # not a choice
        "1, science",
        "hi",  # shorter than 3 characters
        "",  # optional: skipped
    )
    await sandbox.console.handle("/introduce")
    out = capsys.readouterr().out
    assert "┌ Form: Introduce yourself" in out
    assert "Colleagues see this on your card." in out
    assert "Your role (required; up to 40 characters; e.g. 7th-grade science)" in out
    assert "What and whom you teach" in out
    assert "This field is required." in out
    assert "That is 41 characters; this field takes at most 40." in out
    assert "Subjects (optional: empty line to skip; pick up to 2, separated by commas)" in out
    assert "1. Math" in out
    assert "'Art' is not one of the choices" in out
    assert "What I want to learn (optional: empty line to skip; 3 to 4000 characters)" in out
    assert "Write at least 3 characters." in out
    assert "Welcome, Grade 7 science!" in out
    assert sandbox.answers == [
        {"role": "Grade 7 science", "subjects": ["math", "science"], "wish": ""}
    ]


async def test_a_button_can_open_a_form_and_a_form_can_be_cancelled(
    sandbox: Sandbox, capsys: pytest.CaptureFixture[str]
) -> None:
    await sandbox.console.handle("/welcome")
    assert "[1] Introduce yourself" in capsys.readouterr().out
    sandbox.type(":cancel")
    with pytest.raises(CommandLineError, match="Form closed; nothing was sent"):
        await sandbox.console.handle(":press 1")
    sandbox.type("Librarian", "", "")
    await sandbox.console.handle(":press 1")
    assert "Welcome, Librarian!" in capsys.readouterr().out
    assert sandbox.answers == [{"role": "Librarian", "subjects": [], "wish": ""}]


async def test_images_in_answers_are_saved_and_their_path_shown(
    sandbox: Sandbox, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    await sandbox.console.handle("/card")
    await sandbox.console.handle("/card")
    out = capsys.readouterr().out
    first = (tmp_path / "files" / "progress-card.png").resolve()
    second = (tmp_path / "files" / "progress-card-2.png").resolve()
    assert f"[image saved: {first}]" in out
    assert f"[image saved: {second}]" in out
    assert first.read_bytes() == card_png()
    with Image.open(first) as picture:
        assert picture.size == (800, 420)


def test_saved_files_get_plain_names() -> None:
    assert safe_filename("../../etc/passwd") == "passwd"
    assert safe_filename("..\\evil .png") == "evil_.png"
    assert safe_filename(".hidden") == "hidden"
    assert safe_filename("карта.png") == "png"
    assert safe_filename("") == "file"


def test_a_weekly_challenge_can_be_scheduled_and_seen_by_moving_the_clock(tmp_path: Path) -> None:
    script = "\n".join(
        [
            ":as maya",
            "/challenge schedule channel:#general weekday:Monday time:09:00 timezone:Europe/Berlin",
            ":clock next",
            ":clock next",
            ":as ana",
            "/progress",
            "/challenge current",
            "/challenge done",
            ":clock nonsense",
            ":quit",
        ]
    )
    out = _sandbox("sandbox", script, tmp_path, environment_without_bot_settings())
    assert "the weekly challenge goes to" in out
    assert "(the bot's clock says" in out
    assert "Weekly challenge · Connect" in out  # the post, printed as it arrives
    assert "[1] ✅ I did it" in out
    assert "This week's challenge · Connect" in out
    assert "Counted:" in out or "verified" in out
    assert "Weekly recap" in out  # the first :clock next reached the recap, the day before
    assert "Move the clock forward like this" in out


def test_an_admin_sets_the_server_up_with_menus_in_the_sandbox(tmp_path: Path) -> None:
    script = "\n".join(
        [
            ":as maya",
            "/pln setup timezone:Europe/Berlin",
            ":choose 2 #resources",  # menus are numbered on, as each answer is shown
            ":press 10",
            ":choose 12 Wednesday",
            ":choose 19 nonsense",
            ":press 22",
            "/pln check",
            ":quit",
        ]
    )
    out = _sandbox("sandbox", script, tmp_path, environment_without_bot_settings())
    assert "step 1 of 2" in out
    assert "▾ Resource cards from /share: pick a channel (:choose" in out
    assert "▾ Resource cards from /share: pick a channel [now: #resources]" in out
    assert "step 2 of 2" in out
    assert "Wednesdays at 08:00 (Europe/Berlin)" in out
    assert "Pick one of: 00:00" in out  # a time that is not on the menu, refused kindly
    assert "**Saved.**" in out
    assert "Permission check" in out


def test_a_member_sees_and_forgets_what_is_stored_in_the_sandbox(tmp_path: Path) -> None:
    script = "\n".join(
        [
            "/share url:https://example.org/a title:Fractions",
            "/privacy show",
            "/privacy forget",
            ":press 2",
            "/privacy show",
            ":quit",
        ]
    )
    out = _sandbox("sandbox", script, tmp_path, environment_without_bot_settings())
    assert "1 × shares" in out
    assert "[2] Forget me" in out
    # The button's "Forgetting you…" is followed to the outcome.
    assert "Done: I deleted everything I stored about you in this server" in out
    assert "I'm also deleting the post I made about you." in out
    assert "Nothing at all." in out
