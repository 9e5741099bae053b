"""Forms (Discord modals) at the sandbox prompt: one question per field, checked like the client.

When the bot answers with a modal, Discord's client shows a form and refuses to send it until
every required field is filled within its limits. The sandbox does the same one line at a time:
it asks for each field in turn, then the console submits the values through the emulator.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from bot.sandbox.command_line import CommandLineError

ACTION_ROW, STRING_SELECT, TEXT_INPUT, TEXT_DISPLAY, LABEL = 1, 3, 4, 10, 18
PARAGRAPH = 2
TEXT_INPUT_LIMIT = 4000


@dataclass(frozen=True, slots=True)
class Choice:
    label: str
    value: str
    description: str | None = None


@dataclass(frozen=True, slots=True)
class FormField:
    """One question of a form: a text input, or a select menu of ``choices``."""

    custom_id: str
    label: str
    description: str | None = None
    placeholder: str | None = None
    required: bool = True
    min_length: int = 0
    max_length: int = TEXT_INPUT_LIMIT
    paragraph: bool = False
    choices: tuple[Choice, ...] = ()
    min_values: int = 1
    max_values: int = 1

    @property
    def is_select(self) -> bool:
        return bool(self.choices)

    def hints(self) -> str:
        """What the client shows around the field: optional or not, limits, placeholder."""
        parts = ["required" if self.required else "optional: empty line to skip"]
        if self.is_select:
            if self.max_values > 1:
                parts.append(f"pick up to {self.max_values}, separated by commas")
        elif self.min_length > 1:
            parts.append(f"{self.min_length} to {self.max_length} characters")
        else:
            parts.append(f"up to {self.max_length} characters")
        if self.placeholder:
            parts.append(self.placeholder)
        return "; ".join(parts)

    def answer(self, line: str) -> str | list[str] | None:
        """The value to submit for what was typed; None skips an optional field.

        Raises CommandLineError, saying what to fix, for what the client would not send.
        """
        text = line.strip()
        if not text:
            if self.required:
                raise CommandLineError("This field is required.")
            return None
        if self.is_select:
            return self._chosen(text)
        if len(text) < self.min_length:
            raise CommandLineError(f"Write at least {self.min_length} characters.")
        if len(text) > self.max_length:
            raise CommandLineError(
                f"That is {len(text)} characters; this field takes at most {self.max_length}."
            )
        return text

    def _chosen(self, text: str) -> list[str]:
        chosen: list[str] = []
        for part in (piece.strip() for piece in text.split(",")):
            choice = self._choice(part)
            if choice is None:
                raise CommandLineError(
                    f"{part!r} is not one of the choices: give its number (1 to "
                    f"{len(self.choices)})."
                )
            if choice.value not in chosen:
                chosen.append(choice.value)
        low = self.min_values if self.required else 0
        if not low <= len(chosen) <= self.max_values:
            raise CommandLineError(f"Pick between {low} and {self.max_values}.")
        return chosen

    def _choice(self, part: str) -> Choice | None:
        if part.isdigit() and 1 <= int(part) <= len(self.choices):
            return self.choices[int(part) - 1]
        for choice in self.choices:
            if part.casefold() in (choice.label.casefold(), choice.value.casefold()):
                return choice
        return None


@dataclass(frozen=True, slots=True)
class Form:
    title: str
    # In the order the client shows them: text to read (text displays) and fields to fill.
    items: tuple[str | FormField, ...]

    @property
    def fields(self) -> tuple[FormField, ...]:
        return tuple(item for item in self.items if isinstance(item, FormField))


def _field(component: dict[str, Any], label: str | None, description: str | None) -> FormField:
    ctype = component.get("type")
    custom_id = str(component.get("custom_id", ""))
    name = label or str(component.get("label") or custom_id)
    required = bool(component.get("required", True))
    if ctype == TEXT_INPUT:
        return FormField(
            custom_id=custom_id,
            label=name,
            description=description,
            placeholder=component.get("placeholder") or None,
            required=required,
            min_length=int(component.get("min_length", 0)),
            max_length=int(component.get("max_length", TEXT_INPUT_LIMIT)),
            paragraph=component.get("style") == PARAGRAPH,
        )
    if ctype == STRING_SELECT:
        choices = tuple(
            Choice(str(option["label"]), str(option["value"]), option.get("description"))
            for option in component.get("options") or []
        )
        return FormField(
            custom_id=custom_id,
            label=name,
            description=description,
            placeholder=component.get("placeholder") or None,
            required=required,
            choices=choices,
            min_values=int(component.get("min_values", 1)),
            max_values=int(component.get("max_values", 1)),
        )
    raise CommandLineError(
        f"This form has a kind of field the sandbox cannot fill yet (type {ctype}), "
        "so it was not sent."
    )


def read_form(modal: dict[str, Any]) -> Form:
    """The questions of a modal (the data of callback type 9), in the order the client shows."""
    items: list[str | FormField] = []

    def walk(components: Sequence[Any]) -> None:
        for component in components:
            if not isinstance(component, dict):
                continue
            ctype = component.get("type")
            if ctype == ACTION_ROW:
                walk(component.get("components") or [])
            elif ctype == TEXT_DISPLAY:
                items.append(str(component.get("content", "")))
            elif ctype == LABEL:
                inner = component.get("component") or {}
                items.append(_field(inner, component.get("label"), component.get("description")))
            else:
                items.append(_field(component, None, None))

    walk(modal.get("components") or [])
    return Form(str(modal.get("title", "Form")), tuple(items))
