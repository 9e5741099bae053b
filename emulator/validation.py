"""Discord's documented limits on message bodies: content, embeds, components, allowed_mentions.

Every check reports into a ``FormErrors`` tree at the offending path so that a rejected request
gets the same 400 / 50035 "Invalid Form Body" shape Discord returns.
"""

from __future__ import annotations

import datetime
from typing import Any

from .errors import FormErrors, empty_message

CONTENT_LIMIT = 2000
EMBEDS_LIMIT = 10
EMBED_TOTAL_LIMIT = 6000
NONCE_LIMIT = 25
ACTION_ROWS_LIMIT = 5
BUTTONS_PER_ROW = 5
CUSTOM_ID_LIMIT = 100
V2_COMPONENTS_LIMIT = 40

_EMBED_TEXT_LIMITS = {"title": 256, "description": 4096}
_URL_SCHEMES = ("http://", "https://")
_MEDIA_SCHEMES = ("http://", "https://", "attachment://")
_SELECT_TYPES = {3, 5, 6, 7, 8}
_V2_ONLY_TYPES = {9, 10, 11, 12, 13, 14, 17}
_ALLOWED_PARSE = {"users", "roles", "everyone"}


def _check_string(
    errors: FormErrors,
    path: tuple[str | int, ...],
    value: Any,
    *,
    low: int = 0,
    high: int,
    required: bool = False,
) -> None:
    if value is None:
        if required:
            errors.add_required(path)
        return
    if not isinstance(value, str):
        errors.add(path, "BASE_TYPE_STRING", "Must be a string.")
        return
    if not low <= len(value) <= high:
        if low:
            errors.add_bad_length(path, low, high)
        else:
            errors.add_max_length(path, high)


def _check_url(
    errors: FormErrors, path: tuple[str | int, ...], value: Any, schemes: tuple[str, ...]
) -> None:
    if value is None:
        return
    if not isinstance(value, str) or not value.startswith(schemes) or len(value) > 2048:
        errors.add(path, "URL_TYPE_INVALID_URL", "Not a well formed URL.")


def _strip(value: Any) -> Any:
    return value.strip() if isinstance(value, str) else value


def _check_embed_text(
    errors: FormErrors, path: tuple[str | int, ...], value: Any, limit: int
) -> None:
    """A text an embed part must have; Discord trims it before checking its length."""
    _check_string(errors, path, _strip(value), low=1, high=limit, required=True)


def _check_embed_object(
    errors: FormErrors,
    path: tuple[str | int, ...],
    value: Any,
    *,
    text: tuple[str, int] | None = None,
    urls: dict[str, tuple[str, ...]],
) -> None:
    """An embed's footer, author, image or thumbnail: an object with an optional required text
    (key and length limit) and URL fields (key and allowed schemes)."""
    if value is None:
        return
    if not isinstance(value, dict):
        errors.add_not_an_object(path)
        return
    if text is not None:
        key, limit = text
        _check_embed_text(errors, (*path, key), value.get(key), limit)
    for key, schemes in urls.items():
        _check_url(errors, (*path, key), value.get(key), schemes)


def embed_text_size(embed: dict[str, Any]) -> int:
    total = 0
    for key in ("title", "description"):
        if isinstance(embed.get(key), str):
            total += len(embed[key].strip())
    for fld in embed.get("fields") or []:
        if isinstance(fld, dict):
            total += len(str(fld.get("name", "")).strip()) + len(str(fld.get("value", "")).strip())
    footer = embed.get("footer")
    if isinstance(footer, dict) and isinstance(footer.get("text"), str):
        total += len(footer["text"].strip())
    author = embed.get("author")
    if isinstance(author, dict) and isinstance(author.get("name"), str):
        total += len(author["name"].strip())
    return total


def validate_embeds(errors: FormErrors, embeds: Any) -> None:
    if embeds is None:
        return
    if not isinstance(embeds, list):
        errors.add_not_an_array(("embeds",))
        return
    if len(embeds) > EMBEDS_LIMIT:
        errors.add_max_length(("embeds",), EMBEDS_LIMIT)
        return
    total = 0
    for index, embed in enumerate(embeds):
        base: tuple[str | int, ...] = ("embeds", index)
        if not isinstance(embed, dict):
            errors.add_not_an_object(base)
            continue
        for key, limit in _EMBED_TEXT_LIMITS.items():
            _check_string(errors, (*base, key), _strip(embed.get(key)), high=limit)
        _check_url(errors, (*base, "url"), embed.get("url"), _URL_SCHEMES)
        color = embed.get("color")
        if color is not None and (not isinstance(color, int) or not 0 <= color <= 0xFFFFFF):
            errors.add(
                (*base, "color"),
                "NUMBER_TYPE_MAX",
                "int value should be less than or equal to 16777215.",
            )
        timestamp = embed.get("timestamp")
        if timestamp is not None:
            try:
                datetime.datetime.fromisoformat(str(timestamp))
            except ValueError:
                errors.add((*base, "timestamp"), "DATE_TYPE_PARSE", "Could not parse timestamp.")
        fields = embed.get("fields")
        if fields is not None:
            if not isinstance(fields, list):
                errors.add_not_an_array((*base, "fields"))
            elif len(fields) > 25:
                errors.add_max_length((*base, "fields"), 25)
            else:
                for fi, fld in enumerate(fields):
                    fpath = (*base, "fields", fi)
                    if not isinstance(fld, dict):
                        errors.add_not_an_object(fpath)
                        continue
                    _check_embed_text(errors, (*fpath, "name"), fld.get("name"), 256)
                    _check_embed_text(errors, (*fpath, "value"), fld.get("value"), 1024)
        _check_embed_object(
            errors,
            (*base, "footer"),
            embed.get("footer"),
            text=("text", 2048),
            urls={"icon_url": _MEDIA_SCHEMES},
        )
        _check_embed_object(
            errors,
            (*base, "author"),
            embed.get("author"),
            text=("name", 256),
            urls={"url": _URL_SCHEMES, "icon_url": _MEDIA_SCHEMES},
        )
        for media in ("image", "thumbnail"):
            _check_embed_object(
                errors, (*base, media), embed.get(media), urls={"url": _MEDIA_SCHEMES}
            )
        total += embed_text_size(embed)
    if total > EMBED_TOTAL_LIMIT:
        errors.add(
            ("embeds",),
            "MAX_EMBED_SIZE_EXCEEDED",
            f"Embed size exceeds maximum size of {EMBED_TOTAL_LIMIT}",
        )


def normalize_embeds(embeds: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """What Discord stores: type forced to rich, text trimmed, colour kept."""
    result = []
    for embed in embeds:
        clean = {k: v for k, v in embed.items() if v is not None and k not in ("provider", "video")}
        clean["type"] = "rich"
        for key in ("title", "description"):
            if isinstance(clean.get(key), str):
                clean[key] = clean[key].strip()
        if isinstance(clean.get("fields"), list):
            clean["fields"] = [
                {
                    **f,
                    "name": str(f.get("name", "")).strip(),
                    "value": str(f.get("value", "")).strip(),
                    "inline": bool(f.get("inline", False)),
                }
                for f in clean["fields"]
            ]
        if clean.get("timestamp") is not None:
            moment = datetime.datetime.fromisoformat(str(clean["timestamp"]))
            if moment.tzinfo is None:
                moment = moment.replace(tzinfo=datetime.UTC)
            clean["timestamp"] = moment.astimezone(datetime.UTC).isoformat()
        result.append(clean)
    return result


def embed_has_content(embed: dict[str, Any]) -> bool:
    keys = ("title", "description", "fields", "footer", "author", "image", "thumbnail", "url")
    return any(embed.get(k) for k in keys)


def validate_components(errors: FormErrors, components: Any, *, v2: bool) -> None:
    if components is None:
        return
    if not isinstance(components, list):
        errors.add_not_an_array(("components",))
        return
    if not v2 and len(components) > ACTION_ROWS_LIMIT:
        errors.add_max_length(("components",), ACTION_ROWS_LIMIT)
        return
    custom_ids: set[str] = set()
    counter = [0]
    for index, component in enumerate(components):
        path: tuple[str | int, ...] = ("components", index)
        if not isinstance(component, dict):
            errors.add_not_an_object(path)
            continue
        ctype = component.get("type")
        if not v2 and ctype != 1:
            errors.add(
                (*path, "type"), "UNION_TYPE_CHOICES", 'Value of field "type" must be one of (1,).'
            )
            continue
        _validate_component(errors, path, component, custom_ids, counter, top_level=True, v2=v2)
    if v2 and counter[0] > V2_COMPONENTS_LIMIT:
        errors.add(
            ("components",),
            "COMPONENT_LAYOUT_WIDTH_EXCEEDED",
            f"Total number of components exceeds {V2_COMPONENTS_LIMIT}.",
        )


def _validate_component(
    errors: FormErrors,
    path: tuple[str | int, ...],
    component: dict[str, Any],
    custom_ids: set[str],
    counter: list[int],
    *,
    top_level: bool,
    v2: bool,
) -> None:
    counter[0] += 1
    ctype = component.get("type")
    if ctype == 1:
        children = component.get("components")
        if not isinstance(children, list) or not children:
            errors.add_bad_length((*path, "components"), 1, BUTTONS_PER_ROW)
            return
        kinds = {c.get("type") for c in children if isinstance(c, dict)}
        if kinds & _SELECT_TYPES:
            if len(children) != 1:
                errors.add(
                    (*path, "components"),
                    "COMPONENT_LAYOUT_WIDTH_EXCEEDED",
                    "The specified component exceeds the maximum width",
                )
        elif len(children) > BUTTONS_PER_ROW:
            errors.add_max_length((*path, "components"), BUTTONS_PER_ROW)
            return
        for ci, child in enumerate(children):
            cpath = (*path, "components", ci)
            if not isinstance(child, dict):
                errors.add_not_an_object(cpath)
                continue
            if child.get("type") not in ({2} | _SELECT_TYPES):
                errors.add(
                    (*cpath, "type"),
                    "UNION_TYPE_CHOICES",
                    'Value of field "type" must be one of (2, 3, 5, 6, 7, 8).',
                )
                continue
            _validate_component(errors, cpath, child, custom_ids, counter, top_level=False, v2=v2)
        return
    if ctype == 2:
        _validate_button(errors, path, component, custom_ids)
        return
    if ctype in _SELECT_TYPES:
        _validate_select(errors, path, component, custom_ids)
        return
    if ctype in _V2_ONLY_TYPES and v2:
        for key in ("components",):
            for ci, child in enumerate(component.get(key) or []):
                if isinstance(child, dict):
                    _validate_component(
                        errors, (*path, key, ci), child, custom_ids, counter, top_level=False, v2=v2
                    )
        accessory = component.get("accessory")
        if isinstance(accessory, dict):
            _validate_component(
                errors, (*path, "accessory"), accessory, custom_ids, counter, top_level=False, v2=v2
            )
        if ctype == 10:
            _check_string(
                errors,
                (*path, "content"),
                component.get("content"),
                low=1,
                high=4000,
                required=True,
            )
        return
    errors.add((*path, "type"), "UNION_TYPE_CHOICES", "Invalid component type.")


def _check_custom_id(
    errors: FormErrors, path: tuple[str | int, ...], component: dict[str, Any], custom_ids: set[str]
) -> None:
    custom_id = component.get("custom_id")
    if custom_id is None:
        errors.add_required((*path, "custom_id"))
        return
    _check_string(errors, (*path, "custom_id"), custom_id, low=1, high=CUSTOM_ID_LIMIT)
    if isinstance(custom_id, str):
        if custom_id in custom_ids:
            errors.add(
                (*path, "custom_id"),
                "COMPONENT_CUSTOM_ID_DUPLICATED",
                "Component custom id cannot be duplicated",
            )
        custom_ids.add(custom_id)


def _validate_button(
    errors: FormErrors, path: tuple[str | int, ...], button: dict[str, Any], custom_ids: set[str]
) -> None:
    style = button.get("style")
    if style not in (1, 2, 3, 4, 5, 6):
        errors.add(
            (*path, "style"), "BASE_TYPE_CHOICES", "Value must be one of {1, 2, 3, 4, 5, 6}."
        )
        return
    _check_string(errors, (*path, "label"), button.get("label"), high=80)
    if style == 5:
        if button.get("url") is None:
            errors.add((*path, "url"), "BUTTON_COMPONENT_URL_REQUIRED", "A url is required")
        else:
            _check_url(errors, (*path, "url"), button.get("url"), (*_URL_SCHEMES, "discord://"))
        if button.get("custom_id") is not None:
            errors.add(
                (*path, "custom_id"),
                "BUTTON_COMPONENT_CUSTOM_ID_CANNOT_BE_SET",
                "A custom id cannot be specified for this button style",
            )
    elif style == 6:
        if button.get("sku_id") is None:
            errors.add_required((*path, "sku_id"))
    else:
        if button.get("url") is not None:
            errors.add(
                (*path, "url"),
                "BUTTON_COMPONENT_URL_CANNOT_BE_SET",
                "A url cannot be specified for this button style",
            )
        _check_custom_id(errors, path, button, custom_ids)
    if style != 6 and button.get("label") is None and button.get("emoji") is None:
        errors.add(
            (*path,), "BUTTON_COMPONENT_LABEL_OR_EMOJI_REQUIRED", "A label or emoji is required"
        )


def _validate_select(
    errors: FormErrors, path: tuple[str | int, ...], select: dict[str, Any], custom_ids: set[str]
) -> None:
    _check_custom_id(errors, path, select, custom_ids)
    _check_string(errors, (*path, "placeholder"), select.get("placeholder"), high=150)
    min_values = select.get("min_values", 1)
    max_values = select.get("max_values", 1)
    if not isinstance(min_values, int) or not 0 <= min_values <= 25:
        errors.add(
            (*path, "min_values"),
            "NUMBER_TYPE_MAX",
            "int value should be less than or equal to 25.",
        )
    if not isinstance(max_values, int) or not 1 <= max_values <= 25:
        errors.add(
            (*path, "max_values"),
            "NUMBER_TYPE_MAX",
            "int value should be less than or equal to 25.",
        )
    if select.get("type") == 3:
        options = select.get("options")
        if not isinstance(options, list) or not 1 <= len(options) <= 25:
            errors.add_bad_length((*path, "options"), 1, 25)
            return
        values: set[str] = set()
        for oi, option in enumerate(options):
            opath = (*path, "options", oi)
            if not isinstance(option, dict):
                errors.add_not_an_object(opath)
                continue
            _check_string(
                errors, (*opath, "label"), option.get("label"), low=1, high=100, required=True
            )
            _check_string(
                errors, (*opath, "value"), option.get("value"), low=1, high=100, required=True
            )
            _check_string(errors, (*opath, "description"), option.get("description"), high=100)
            value = option.get("value")
            if isinstance(value, str):
                if value in values:
                    errors.add(
                        (*opath, "value"),
                        "SELECT_COMPONENT_OPTION_VALUE_DUPLICATED",
                        "Select option values must be unique",
                    )
                values.add(value)
        if isinstance(max_values, int) and max_values > len(options):
            errors.add(
                (*path, "max_values"),
                "NUMBER_TYPE_MAX",
                f"int value should be less than or equal to {len(options)}.",
            )


def validate_allowed_mentions(errors: FormErrors, allowed: Any) -> None:
    if allowed is None:
        return
    if not isinstance(allowed, dict):
        errors.add_not_an_object(("allowed_mentions",))
        return
    parse = allowed.get("parse")
    if parse is not None and (
        not isinstance(parse, list) or any(p not in _ALLOWED_PARSE for p in parse)
    ):
        errors.add(
            ("allowed_mentions", "parse"),
            "BASE_TYPE_CHOICES",
            "Value must be one of {'users', 'roles', 'everyone'}.",
        )
        return
    for key in ("users", "roles"):
        ids = allowed.get(key)
        if ids is None:
            continue
        if not isinstance(ids, list):
            errors.add_not_an_array(("allowed_mentions", key))
            continue
        if len(ids) > 100:
            errors.add_max_length(("allowed_mentions", key), 100)
        if parse and key in parse and ids:
            errors.add(
                ("allowed_mentions",),
                "MESSAGE_ALLOWED_MENTIONS_PARSE_EXCLUSIVE",
                f'parse:["{key}"] and {key}: [ids...] are mutually exclusive.',
            )


def validate_message_body(
    body: dict[str, Any],
    *,
    allowed_flags: int,
    files: int = 0,
    edit: bool = False,
) -> None:
    """Check a create/edit message body against Discord's limits; raise 50035 / 50006."""
    errors = FormErrors()
    content = body.get("content")
    if content is not None:
        if not isinstance(content, str):
            errors.add(("content",), "BASE_TYPE_STRING", "Must be a string.")
        elif len(content) > CONTENT_LIMIT:
            errors.add_max_length(("content",), CONTENT_LIMIT)
    flags = body.get("flags")
    if flags is not None and (not isinstance(flags, int) or flags & ~allowed_flags):
        errors.add(("flags",), "MESSAGE_FLAGS_INVALID", "Invalid message flags")
    v2 = isinstance(flags, int) and bool(flags & (1 << 15))
    if v2 and (
        body.get("content") or body.get("embeds") or body.get("poll") or body.get("sticker_ids")
    ):
        errors.add(
            ("content",),
            "MESSAGE_CANNOT_USE_LEGACY_FIELDS_WITH_COMPONENTS_V2",
            "The 'content', 'embeds', 'sticker_ids', and 'poll' fields cannot be used when "
            "using MessageFlags.IS_COMPONENTS_V2",
        )
    validate_embeds(errors, body.get("embeds"))
    validate_components(errors, body.get("components"), v2=v2)
    validate_allowed_mentions(errors, body.get("allowed_mentions"))
    nonce = body.get("nonce")
    if nonce is not None:
        if isinstance(nonce, bool) or not isinstance(nonce, (str, int)):
            errors.add(("nonce",), "BASE_TYPE_STRING", "Must be a string or integer.")
        elif isinstance(nonce, str) and len(nonce) > NONCE_LIMIT:
            errors.add_max_length(("nonce",), NONCE_LIMIT)
    tts = body.get("tts")
    if tts is not None and not isinstance(tts, bool):
        errors.add(("tts",), "BASE_TYPE_BOOLEAN", "Must be either true or false.")
    errors.raise_if_any()
    if not edit and not message_has_content(body, files=files):
        raise empty_message()


def message_has_content(body: dict[str, Any], *, files: int = 0) -> bool:
    embeds = body.get("embeds") or []
    content = body.get("content")
    return bool(
        (isinstance(content, str) and content.strip())
        or any(isinstance(e, dict) and embed_has_content(e) for e in embeds)
        or body.get("components")
        or body.get("sticker_ids")
        or body.get("poll")
        or files
    )
