"""Settings load from TOML and the environment, and mistakes are named plainly."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from bot.config import ConfigError, Settings, load_settings, without_secrets
from tests.conftest import environment_without_bot_settings

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in list(__import__("os").environ):
        if name.startswith("PLN_") or name == "DISCORD_TOKEN":
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)  # no stray ./config.toml


def test_the_example_config_loads_and_documents_every_setting() -> None:
    settings = load_settings(ROOT / "config.example.toml")
    assert settings == Settings()
    text = (ROOT / "config.example.toml").read_text()
    for section_name, section in Settings.model_fields.items():
        assert f"[{section_name}]" in text
        assert section.annotation is not None
        for key in section.annotation.model_fields:
            assert re.search(rf"^#? ?{key} = ", text, re.MULTILINE), f"{section_name}.{key}"


def test_environment_overrides_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "custom.toml"
    config.write_text(
        '[database]\nurl = "sqlite+aiosqlite:///a.sqlite3"\n[logging]\nlevel="debug"\n'
    )
    monkeypatch.setenv("PLN_DATABASE__URL", "sqlite+aiosqlite:///b.sqlite3")
    settings = load_settings(config)
    assert settings.database.url == "sqlite+aiosqlite:///b.sqlite3"
    assert settings.logging.level == "DEBUG"


def test_discord_token_variable_is_accepted_and_kept_secret(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DISCORD_TOKEN", "abc.def.ghi")
    settings = load_settings()
    assert settings.discord.token is not None
    assert settings.discord.token.get_secret_value() == "abc.def.ghi"
    assert "abc.def.ghi" not in repr(settings)
    monkeypatch.setenv("PLN_DISCORD__TOKEN", "from-pln")
    assert load_settings().discord.token.get_secret_value() == "from-pln"  # type: ignore[union-attr]


def test_config_toml_in_the_working_folder_is_used(tmp_path: Path) -> None:
    (tmp_path / "config.toml").write_text("[discord]\ndev_guild_id = 42\n")
    assert load_settings().discord.dev_guild_id == 42


def test_every_problem_is_reported_with_its_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PLN_DISCORD__DEV_GUILD_ID", "not-a-number")
    monkeypatch.setenv("PLN_DATABASE__URL", "postgresql://u:pa55word@h/db")
    monkeypatch.setenv("PLN_DISCORD__TOKEN", "secret-token-value")
    monkeypatch.setenv("PLN_DISCORD__API_BASE_URL", "discord.com/api")
    with pytest.raises(ConfigError) as caught:
        load_settings()
    problems = caught.value.problems
    assert len(problems) == 3
    assert any(p.startswith("discord.dev_guild_id:") for p in problems)
    assert any(p.startswith("database.url:") and "postgresql+asyncpg://" in p for p in problems)
    assert any(p.startswith("discord.api_base_url:") for p in problems)
    assert not any("secret-token-value" in p for p in problems)
    assert not any("pa55word" in p for p in problems)


@pytest.mark.parametrize(
    "url",
    [
        "mysql+aiomysql://u:hunter2@h:notaport/db",
        "postgres://u:hunter2@h/db",
        "postgresql://u@h/db?password=hunter2",
        "postgresql+asyncpg://u:hun@ter2@h/db",  # an @ not percent-encoded
        "postgresql+asyncpg://u:hun/ter2@h:notaport/db",
        "postgresql+asyncpg://u:hun:ter2@h:5432:5432/db",
    ],
)
def test_database_passwords_are_never_echoed(url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PLN_DATABASE__URL", url)
    with pytest.raises(ConfigError) as caught:
        load_settings()
    assert caught.value.problems[0].startswith("database.url:")
    for piece in ("hunter2", "hun", "ter2"):
        assert piece not in str(caught.value)
    assert "***" in str(caught.value)


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        (
            "postgresql+asyncpg://coach:s3cr3t@db:5432/pln",
            "postgresql+asyncpg://coach:***@db:5432/pln",
        ),
        ("postgresql+asyncpg://coach:s3@cr3t@db/pln", "postgresql+asyncpg://coach:***@db/pln"),
        ("postgresql+asyncpg://coach:s3:cr/3t@db/pln", "postgresql+asyncpg://coach:***@db/pln"),
        ("postgresql+asyncpg://coach:s3@c:r/3@t@db/pln", "postgresql+asyncpg://coach:***@db/pln"),
        ("postgresql+asyncpg://coach:s3%40cr3t@db/pln", "postgresql+asyncpg://coach:***@db/pln"),
        ("postgresql+asyncpg://coach@db/pln", "postgresql+asyncpg://coach@db/pln"),
        (
            "sqlite+aiosqlite:///data/pln@coach.sqlite3",
            "sqlite+aiosqlite:///data/pln@coach.sqlite3",
        ),
    ],
)
def test_a_shown_url_hides_the_whole_password(url: str, shown: str) -> None:
    assert without_secrets(url) == shown


def test_a_folder_or_a_non_utf8_file_as_config_is_named_plainly(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(tmp_path)
    assert caught.value.problems == [f"{tmp_path}: is a folder; give the path of a TOML file"]
    latin1 = tmp_path / "latin1.toml"
    latin1.write_bytes("# é\n".encode("latin-1"))
    with pytest.raises(ConfigError) as caught:
        load_settings(latin1)
    assert caught.value.problems == [
        f"{latin1}: not UTF-8 text (byte 0xe9 at position 2); save the file as UTF-8"
    ]


def test_a_whole_section_in_one_variable_is_a_config_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PLN_DATABASE", "sqlite")
    with pytest.raises(ConfigError) as caught:
        load_settings()
    assert caught.value.problems[0].startswith("environment:")


def test_the_command_line_exits_2_with_one_line_per_problem(tmp_path: Path) -> None:
    config = tmp_path / "bad.toml"
    config.write_text('[discord]\ntokn = "x"\n[logging]\nlevel = "loud"\n')
    result = subprocess.run(
        [sys.executable, "-m", "bot", "--config", str(config), "db", "upgrade"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert lines == [
        "pln-coach: config error: discord.tokn: unknown setting "
        "(check its spelling against config.example.toml)",
        "pln-coach: config error: logging.level: Input should be 'DEBUG', 'INFO', 'WARNING', "
        "'ERROR' or 'CRITICAL' (got 'LOUD')",
    ]
    assert "Traceback" not in result.stderr


def _migrate_with(config: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot", "--config", str(config), "db", "upgrade"],
        capture_output=True,
        text=True,
        check=False,
        env=environment_without_bot_settings(),
    )


def test_a_config_file_others_can_read_gets_a_warning(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text(
        '[discord]\ntoken = "a-secret-token"\n'
        f'[database]\nurl = "sqlite+aiosqlite:///{tmp_path / "db.sqlite3"}"\n'
    )
    config.chmod(0o644)
    result = _migrate_with(config)
    assert result.returncode == 0, result.stderr
    assert "can be read by other users of this machine" in result.stderr
    assert f"chmod 600 {config}" in result.stderr
    assert "a-secret-token" not in result.stderr + result.stdout

    config.chmod(0o600)
    result = _migrate_with(config)
    assert result.returncode == 0, result.stderr
    assert "can be read by other users" not in result.stderr
