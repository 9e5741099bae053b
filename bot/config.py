"""Settings: a TOML file, overridden by the environment, validated before anything starts.

Precedence (highest first): ``PLN_<SECTION>__<KEY>`` environment variables, ``DISCORD_TOKEN``
(for the token only, the name most hosting guides use), the TOML file, the defaults below.
Errors are reported as one line per problem so that a teacher editing ``config.toml`` sees
exactly which key to fix.
"""

from __future__ import annotations

import os
import re
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import (
    BaseSettings,
    EnvSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    SettingsError,
)
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from bot.discord_endpoints import DISCORD_API_BASE_URL

DEFAULT_CONFIG_PATH = Path("config.toml")
DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///data/pln-coach.sqlite3"


class ConfigError(Exception):
    """The configuration cannot be used; ``problems`` holds one readable line per mistake."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _must_be_http_url(value: str) -> str:
    if not value.startswith(("http://", "https://")):
        raise ValueError("must start with http:// or https://")
    return value.rstrip("/")


class DiscordSettings(_Section):
    token: SecretStr | None = Field(
        default=None, description="Bot token; without one, `pln-coach run` starts the sandbox."
    )
    api_base_url: str = Field(
        default=DISCORD_API_BASE_URL, description="REST base URL, with the API version."
    )
    gateway_url: str | None = Field(default=None, description="Gateway URL override.")
    dev_guild_id: int | None = Field(
        default=None,
        gt=0,
        description="Sync commands to this one server (instant) while developing.",
    )
    members_intent: bool = Field(
        default=False,
        description="Welcome newcomers (needs the privileged Server Members intent).",
    )
    requests_per_second: float = Field(
        default=48.0,
        gt=0,
        description=(
            "REST requests this process makes per second at most: Discord allows 50 per bot, "
            "so with several processes give each its share."
        ),
    )
    shard_ids: tuple[int, ...] | None = Field(
        default=None, description="The shards this process runs (with shard_count)."
    )
    shard_count: int | None = Field(default=None, ge=1, description="Shards of the whole bot.")

    @model_validator(mode="after")
    def _check_shards(self) -> DiscordSettings:
        if (self.shard_ids is None) != (self.shard_count is None):
            raise ValueError("set shard_ids and shard_count together, or neither")
        if self.shard_ids is not None and self.shard_count is not None:
            if not self.shard_ids:
                raise ValueError("shard_ids: give at least one shard")
            wrong = [shard for shard in self.shard_ids if not 0 <= shard < self.shard_count]
            if wrong:
                raise ValueError(
                    f"shard_ids {wrong} out of range: shards are 0 to {self.shard_count - 1}"
                )
        return self

    @field_validator("api_base_url")
    @classmethod
    def _check_api_base_url(cls, value: str) -> str:
        return _must_be_http_url(value)

    @field_validator("gateway_url")
    @classmethod
    def _check_gateway_url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("ws://", "wss://")):
            raise ValueError("must start with ws:// or wss://")
        return value

    @field_validator("token")
    @classmethod
    def _blank_token_is_none(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not value.get_secret_value().strip():
            return None
        return value


_PERCENT_ENCODING_HINT = "write @, : and / in the password as %40, %3A and %2F"


def _must_parse_as_database_url(value: str) -> str:
    # SQLAlchemy's own parse errors quote parts of the URL, password included: never pass them on.
    try:
        host = make_url(value).host or ""
    except (ValueError, ArgumentError):
        raise ValueError(f"not a valid URL ({_PERCENT_ENCODING_HINT})") from None
    if "@" in host:  # "user:p@ss@host" reads as host "ss@host"
        raise ValueError(f"more than one @ before the host ({_PERCENT_ENCODING_HINT})")
    return value


class DatabaseSettings(_Section):
    url: str = Field(default=DEFAULT_DATABASE_URL, description="SQLAlchemy async URL.")
    echo: bool = Field(default=False, description="Log every SQL statement (debugging only).")

    @field_validator("url")
    @classmethod
    def _check_driver(cls, value: str) -> str:
        if value.startswith(("sqlite+aiosqlite://", "postgresql+asyncpg://")):
            return _must_parse_as_database_url(value)
        if value.startswith(("postgresql://", "postgres://")):
            raise ValueError("use the asyncpg driver: postgresql+asyncpg://user@host:5432/dbname")
        if value.startswith("sqlite://"):
            raise ValueError("use the aiosqlite driver: sqlite+aiosqlite:///path/to/file.sqlite3")
        raise ValueError("expected sqlite+aiosqlite:///... or postgresql+asyncpg://...")


LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]


class ChallengeSettings(_Section):
    catch_up_grace_hours: float = Field(
        default=24,
        ge=0,
        le=24 * 6,
        description="A weekly post missed by less than this (bot down) goes out late, once.",
    )
    clock_shift_seconds: float = Field(
        default=0,
        description="Run the weekly clock this far ahead of real time (trying schedules out).",
    )


class PrivacySettings(_Section):
    retention_days: float = Field(
        default=30,
        ge=0,
        le=3650,
        description=(
            "Days a server's data is kept after the bot was removed from it (in case it is "
            "invited back); then everything stored about the server is deleted."
        ),
    )


class LimitSettings(_Section):
    member_cooldowns: bool = Field(
        default=True,
        description=(
            "Per-member cooldowns on commands that post publicly or cost real work (/share, "
            "/ask, /progress...). Off only for benchmarks and load tests."
        ),
    )


class LoggingSettings(_Section):
    level: LogLevel = Field(default="INFO", description="DEBUG, INFO, WARNING, ERROR or CRITICAL.")

    @field_validator("level", mode="before")
    @classmethod
    def _upper(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value


class _DiscordTokenEnvSource(PydanticBaseSettingsSource):
    """Accept the conventional ``DISCORD_TOKEN`` variable for the token."""

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        token = os.environ.get("DISCORD_TOKEN")
        return {"discord": {"token": token}} if token else {}


class Settings(BaseSettings):
    """Everything the bot reads from outside; nothing else reads the environment."""

    model_config = SettingsConfigDict(
        env_prefix="PLN_",
        env_nested_delimiter="__",
        extra="forbid",
        frozen=True,
    )

    discord: DiscordSettings = DiscordSettings()
    database: DatabaseSettings = DatabaseSettings()
    challenges: ChallengeSettings = ChallengeSettings()
    privacy: PrivacySettings = PrivacySettings()
    limits: LimitSettings = LimitSettings()
    logging: LoggingSettings = LoggingSettings()

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # The TOML file arrives as init kwargs, so it ranks below the environment.
        return (
            EnvSettingsSource(settings_cls, env_prefix="PLN_", env_nested_delimiter="__"),
            _DiscordTokenEnvSource(settings_cls),
            init_settings,
        )


class _ExplicitSettings(Settings):
    """Settings taken from the constructor's arguments alone."""

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings,)


def local_settings(
    *,
    token: str,
    api_base_url: str,
    gateway_url: str,
    database_url: str,
    logging: LoggingSettings | None = None,
    members_intent: bool = False,
    member_cooldowns: bool = True,
) -> Settings:
    """Settings for a bot talking to a local Discord (the emulator): the sandbox, tests, benchmarks.

    Built from these values only: ``PLN_*`` or ``DISCORD_TOKEN`` variables meant for the real
    bot must not send the sandbox to discord.com or its demo data into the real database.
    """
    return _ExplicitSettings(
        discord=DiscordSettings(
            token=SecretStr(token),
            api_base_url=api_base_url,
            gateway_url=gateway_url,
            members_intent=members_intent,
        ),
        database=DatabaseSettings(url=database_url),
        limits=LimitSettings(member_cooldowns=member_cooldowns),
        logging=logging or LoggingSettings(),
    )


def _describe(error: dict[str, Any]) -> str:
    key = ".".join(str(part) for part in error["loc"]) or "(top level)"
    if error["type"] == "extra_forbidden":
        return f"{key}: unknown setting (check its spelling against config.example.toml)"
    message = str(error["msg"]).removeprefix("Value error, ")
    given = error.get("input")
    if isinstance(given, dict | SecretStr) or "token" in key:
        return f"{key}: {message}"
    if isinstance(given, str):
        given = without_secrets(given)
    return f"{key}: {message} (got {given!r})"


# The password runs to the *last* @: one typed with @, : or / in it (not percent-encoded) must
# not leave its tail on show. Hiding a host that follows a stray @ is the lesser harm.
_URL_PASSWORD = re.compile(r"(://[^/@:]*:).*@")
_QUERY_PASSWORD = re.compile(r"(?i)((?:password|passwd|pwd|secret|token)=)[^&\s]*")


def without_secrets(url: str) -> str:
    """The URL with its password (``user:***@``) and any password in its query string hidden.

    For one URL at a time, not for a line of text: the password is taken to run to the last @.
    """
    return _QUERY_PASSWORD.sub(r"\1***", _URL_PASSWORD.sub(r"\1***@", url))


def config_path_in_use(config_path: Path | None) -> Path | None:
    """The file settings are read from: the one given, else ./config.toml when present."""
    if config_path is None and DEFAULT_CONFIG_PATH.is_file():
        return DEFAULT_CONFIG_PATH
    return config_path


def readable_by_others(path: Path) -> bool:
    """Whether other users of this machine can read the file (it may hold the bot token)."""
    if os.name != "posix":
        return False  # Windows has ACLs, not mode bits: nothing reliable to say
    try:
        return bool(path.stat().st_mode & 0o077)
    except OSError:
        return False


def load_settings(config_path: Path | None = None) -> Settings:
    """Read ``config_path`` (or ``./config.toml`` when present) and the environment.

    Raises ConfigError listing every problem; never includes the token in a message.
    """
    path = config_path_in_use(config_path)
    file_values: dict[str, Any] = {}
    if path is not None:
        try:
            with path.open("rb") as handle:
                file_values = tomllib.load(handle)
        except FileNotFoundError:
            raise ConfigError([f"{path}: config file not found"]) from None
        except IsADirectoryError:
            raise ConfigError([f"{path}: is a folder; give the path of a TOML file"]) from None
        except UnicodeDecodeError as exc:
            raise ConfigError(
                [
                    f"{path}: not UTF-8 text (byte {exc.object[exc.start]:#04x} at position "
                    f"{exc.start}); save the file as UTF-8"
                ]
            ) from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError([f"{path}: not valid TOML ({exc})"]) from None
        except OSError as exc:
            raise ConfigError([f"{path}: cannot read the file ({exc.strerror})"]) from None
    try:
        return Settings(**file_values)
    except ValidationError as exc:
        raise ConfigError([_describe(dict(error)) for error in exc.errors()]) from None
    except SettingsError as exc:  # e.g. PLN_DATABASE=x, where a whole section was expected
        raise ConfigError([f"environment: {exc} (use PLN_<SECTION>__<KEY>=value)"]) from None
