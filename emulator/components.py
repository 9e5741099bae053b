"""Walking message and modal component trees: numbering, finding, and filling them in."""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from typing import Any

from .state import Payload


def number_components(components: list[Payload]) -> list[Payload]:
    """Discord gives every component without one a unique numeric ``id``, in tree order."""
    result = copy.deepcopy(components)
    used: set[int] = set()

    def collect(items: Sequence[Any]) -> None:
        for item in items:
            if isinstance(item, dict):
                if isinstance(item.get("id"), int):
                    used.add(item["id"])
                collect(item.get("components") or [])
                if isinstance(item.get("accessory"), dict):
                    collect([item["accessory"]])
                if isinstance(item.get("component"), dict):
                    collect([item["component"]])

    counter = [0]

    def assign(items: Sequence[Any]) -> None:
        for item in items:
            if not isinstance(item, dict):
                continue
            if not isinstance(item.get("id"), int):
                counter[0] += 1
                while counter[0] in used:
                    counter[0] += 1
                item["id"] = counter[0]
            assign(item.get("components") or [])
            if isinstance(item.get("accessory"), dict):
                assign([item["accessory"]])
            if isinstance(item.get("component"), dict):
                assign([item["component"]])

    collect(result)
    assign(result)
    return result


def find_component(components: Sequence[Any], custom_id: str) -> Payload | None:
    for component in components:
        if not isinstance(component, dict):
            continue
        if component.get("custom_id") == custom_id:
            return component
        for key in ("components",):
            found = find_component(component.get(key) or [], custom_id)
            if found is not None:
                return found
        for key in ("accessory", "component"):
            child = component.get(key)
            if isinstance(child, dict):
                found = find_component([child], custom_id)
                if found is not None:
                    return found
    return None


def modal_submission(
    component: Payload,
    values: Mapping[str, str | Sequence[str]],
    known: set[str],
    label: str | None = None,
) -> Payload | None:
    """What the Discord client sends back for one modal component, validating like the client.

    Inputs are looked up by custom_id, or by their label (discord.py generates random custom_ids).
    """
    ctype = component.get("type")
    if ctype == 1:
        children = [
            modal_submission(child, values, known) for child in component.get("components") or []
        ]
        return {
            "type": 1,
            "id": component.get("id"),
            "components": [c for c in children if c is not None],
        }
    if ctype == 18:
        inner = modal_submission(
            component.get("component") or {}, values, known, component.get("label")
        )
        return {"type": 18, "id": component.get("id"), "component": inner}
    if ctype == 10:
        return {"type": 10, "id": component.get("id")}
    custom_id = component.get("custom_id")
    if not isinstance(custom_id, str):
        return None
    label = label or component.get("label")
    known.add(custom_id)
    if isinstance(label, str):
        known.add(label)
    given = values.get(custom_id)
    if given is None and isinstance(label, str):
        given = values.get(label)
    if ctype == 4:
        text = "" if given is None else str(given)
        required = component.get("required", True)
        if required and not text:
            raise ValueError(f"text input {custom_id!r} is required")
        low, high = component.get("min_length", 0), component.get("max_length", 4000)
        if text and not low <= len(text) <= high:
            raise ValueError(f"text input {custom_id!r} must be {low}..{high} characters long")
        return {"type": 4, "id": component.get("id"), "custom_id": custom_id, "value": text}
    if ctype == 3:
        chosen = [] if given is None else ([given] if isinstance(given, str) else list(given))
        allowed = [o["value"] for o in component.get("options", [])]
        if any(v not in allowed for v in chosen):
            raise ValueError(f"{chosen} are not all options of select {custom_id!r}")
        low = component.get("min_values", 1) if component.get("required", True) else 0
        high = component.get("max_values", 1)
        if not low <= len(chosen) <= high:
            raise ValueError(f"select {custom_id!r} takes between {low} and {high} values")
        return {"type": 3, "id": component.get("id"), "custom_id": custom_id, "values": chosen}
    raise ValueError(f"modal component type {ctype} cannot be filled by the emulator")
