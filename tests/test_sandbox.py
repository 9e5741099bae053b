"""`make run` without a token: the offline sandbox, driven through its prompt."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

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


def _clean_environment() -> dict[str, str]:
    return {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("PLN_") and key != "DISCORD_TOKEN"
    }


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
    environment = _clean_environment() | {
        "DISCORD_TOKEN": "a-real-token-that-must-not-be-used",
        "PLN_DATABASE__URL": f"sqlite+aiosqlite:///{real_database}",
    }
    out = _sandbox("sandbox", "/share url:https://example.org/a\n:quit\n", tmp_path, environment)
    assert "**Shared!**" in out
    assert not real_database.exists()
    assert (tmp_path / "data" / "sandbox.sqlite3").exists()


def test_the_sandbox_runs_commands_typed_at_its_prompt(tmp_path: Path) -> None:
    environment = _clean_environment()
    result = subprocess.run(
        [sys.executable, "-m", "bot", "run"],
        input=SCRIPT,
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=environment,
        timeout=60,
        check=False,
    )
    out = result.stdout
    assert result.returncode == 0, result.stderr
    assert "OFFLINE SANDBOX" in out
    assert "DISCORD_TOKEN" in out  # says how to connect to Discord instead
    assert "** Fractions warm-up **" in out  # the card posted in #general
    assert "[1] 👍 Useful" in out
    assert "**Shared!**" in out
    assert "Ana (7th-grade science) will see that their share helped" in out  # Ben pressed it
    assert "2. Contribute — ◔ Started" in out
    assert "Only web links can be shared" in out  # the bad link, refused privately
    assert "Unknown command /nope" in out
    assert "Traceback" not in result.stderr
    assert (tmp_path / "data" / "sandbox.sqlite3").exists()
