"""Every table says how its rows about servers and members are forgotten (bot/db/forgetting.py)."""

from __future__ import annotations

from bot.db import Base
from bot.db.forgetting import FORGETTING, How

PERSONAL_COLUMNS = {
    "server_id",
    "member_id",
    "user_id",
    "shared_by",
    "other_member_id",
    "member_a",
    "member_b",
}


def test_every_table_is_listed() -> None:
    assert set(Base.metadata.tables) == set(FORGETTING)


def test_every_column_about_a_server_or_member_is_covered() -> None:
    for name, table in Base.metadata.tables.items():
        rules = FORGETTING[name]
        covered = {
            column.strip()
            for columns in [*rules.server, *rules.member]
            for column in columns.split(",")
        }
        personal = {column.name for column in table.columns} & PERSONAL_COLUMNS
        assert personal <= covered, f"{name}: say how {personal - covered} is forgotten"


def test_claimed_cascades_are_what_the_foreign_keys_do() -> None:
    for name, table in Base.metadata.tables.items():
        rules = FORGETTING[name]
        for columns, how in [*rules.server.items(), *rules.member.items()]:
            if how is not How.CASCADE:
                continue
            wanted = [column.strip() for column in columns.split(",")]
            cascading = [
                [element.parent.name for element in constraint.elements]
                for constraint in table.foreign_key_constraints
                if constraint.ondelete == "CASCADE"
            ]
            assert wanted in cascading, f"{name}.{columns} has no ON DELETE CASCADE key"
