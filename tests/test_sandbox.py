"""`make run` without a token: the offline sandbox, driven through its prompt."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

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
