"""Creating, editing and deleting messages, shared by channel routes and interaction responses.

One place turns a validated request body into a ``Message`` (normalised embeds, numbered
components, attachments, resolved pings) and announces it on the gateway, so bot messages,
interaction responses and follow-ups all look alike.
"""

from __future__ import annotations

import io
import mimetypes
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from PIL import Image

from .components import number_components
from .errors import APIError, empty_message, form_error
from .gateway import GatewayHub
from .interactions import ATTACHMENT_SIZE_LIMIT
from .mentions import PARSE_ALL, MentionContext, resolve_pings
from .permissions import P
from .snowflakes import utcnow
from .state import (
    EPHEMERAL,
    LOADING,
    REPLY,
    THREAD_STARTER_MESSAGE,
    Channel,
    Message,
    Payload,
    User,
)
from .validation import message_has_content, normalize_embeds
from .world import World


@dataclass(frozen=True)
class UploadedFile:
    field: str
    filename: str
    content_type: str
    data: bytes


_FILE_INDEX = re.compile(r"^files\[(\d+)\]$")
_SIGNATURES = (
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
)


def _media_type(upload: UploadedFile) -> str | None:
    """What Discord reports as ``content_type``: it looks at the file, not at the part header
    (discord.py always sends ``application/octet-stream``)."""
    for signature, media_type in _SIGNATURES:
        if upload.data.startswith(signature):
            return media_type
    if upload.data[:4] == b"RIFF" and upload.data[8:12] == b"WEBP":
        return "image/webp"
    guessed, _ = mimetypes.guess_type(upload.filename, strict=False)
    if guessed is None and upload.content_type != "application/octet-stream":
        guessed = upload.content_type
    if guessed is not None and guessed.startswith("text/") and "charset" not in guessed:
        guessed += "; charset=utf-8"
    return guessed


def _dimensions(data: bytes) -> tuple[int, int] | None:
    try:
        with Image.open(io.BytesIO(data)) as picture:
            return picture.size
    except (OSError, ValueError, Image.DecompressionBombError):
        return None


def attachments_from(
    body: Payload,
    files: Sequence[UploadedFile],
    ids: Any,
    channel_id: int,
    *,
    ephemeral: bool = False,
) -> list[Payload]:
    """Attachment objects for uploaded ``files[n]``, described by ``attachments`` entries whose
    ``id`` is ``n`` (filename, description), as Discord's message routes document."""
    described = {str(a.get("id")): a for a in body.get("attachments") or [] if isinstance(a, dict)}
    attachments = []
    for position, upload in enumerate(files):
        if len(upload.data) > ATTACHMENT_SIZE_LIMIT:  # per file, as interactions announce it
            raise APIError(413, 40005, "Request entity too large")
        match = _FILE_INDEX.match(upload.field)
        meta = described.get(match.group(1) if match else str(position), {})
        attachment_id = ids.next()
        filename = meta.get("filename") or upload.filename
        folder = "ephemeral-attachments" if ephemeral else "attachments"
        url = f"https://cdn.discordapp.com/{folder}/{channel_id}/{attachment_id}/{filename}"
        attachment: Payload = {
            "id": str(attachment_id),
            "filename": filename,
            "size": len(upload.data),
            "url": url,
            "proxy_url": url.replace("cdn.discordapp.com", "media.discordapp.net"),
        }
        media_type = _media_type(upload)
        if media_type is not None:
            attachment["content_type"] = media_type
            if media_type.startswith("image/"):
                size = _dimensions(upload.data)
                if size is not None:
                    attachment["width"], attachment["height"] = size
        if meta.get("description"):
            attachment["description"] = meta["description"]
        if ephemeral:
            attachment["ephemeral"] = True
        attachments.append(attachment)
    return attachments


def _data_by_id(message: Message) -> dict[str, bytes]:
    """Uploaded bytes by attachment id (``attachment_data`` runs parallel to ``attachments``)."""
    ids = [str(attachment["id"]) for attachment in message.attachments]
    return dict(zip(ids, message.attachment_data, strict=False))


def attached_file(message: Message, filename: str) -> bytes:
    """The bytes uploaded as ``filename`` on ``message`` (KeyError when there is none)."""
    data = _data_by_id(message)
    for attachment in message.attachments:
        if attachment["filename"] == filename and attachment["id"] in data:
            return data[attachment["id"]]
    raise KeyError(f"message {message.id} has no attachment named {filename!r}")


def check_edit_keeps_content(
    message: Message, body: Payload, files: Sequence[UploadedFile]
) -> None:
    """50006 when an edit would leave nothing: no content, embeds, components or attachments."""
    merged: Payload = {
        "content": body.get("content", message.content),
        "embeds": body.get("embeds", message.embeds),
        "components": body.get("components", message.components),
    }
    kept = (
        len(message.attachments)
        if "attachments" not in body
        else len(body.get("attachments") or [])
    )
    if not message_has_content(merged, files=len(files) + kept):
        raise empty_message()


class MessageService:
    def __init__(self, world: World, hub: GatewayHub) -> None:
        self.world = world
        self.hub = hub

    def reference_target(self, channel: Channel, body: Payload) -> Message | None:
        reference = body.get("message_reference")
        if not isinstance(reference, dict):
            return None
        if reference.get("type", 0) != 0:
            raise form_error(
                ("message_reference", "type"), "BASE_TYPE_CHOICES", "Only replies are supported."
            )
        try:
            target = self.world.messages.get(int(reference.get("message_id", 0)))
        except (TypeError, ValueError):
            target = None
        channel_id = reference.get("channel_id")
        wrong_channel = channel_id is not None and str(channel_id) != str(channel.id)
        if (
            target is None
            or target.deleted
            or target.ephemeral
            or wrong_channel
            or target.channel_id != channel.id
        ):
            if reference.get("fail_if_not_exists", True) is False:
                return None
            raise form_error(
                ("message_reference",), "MESSAGE_REFERENCE_UNKNOWN_MESSAGE", "Unknown message"
            )
        return target

    def pings_for(
        self,
        channel: Channel,
        author_permissions: int,
        content: str,
        allowed_mentions: Payload | None,
        *,
        default_parse: tuple[str, ...],
        replied: Message | None,
        author_id: int,
    ) -> Any:
        guild = self.world.guilds.get(channel.guild_id) if channel.guild_id is not None else None

        def guild_role(role_id: int) -> tuple[bool, bool] | None:
            if guild is None or role_id not in guild.roles or role_id == guild.id:
                return None
            return True, guild.roles[role_id].mentionable

        replied_user = None
        if replied is not None and replied.author_id != author_id:
            replied_user = replied.author_id
        context = MentionContext(
            user_exists=lambda user_id: user_id in self.world.users,
            guild_role=guild_role,
            can_mention_everyone=guild is None or bool(author_permissions & P.MENTION_EVERYONE),
            replied_user_id=replied_user,
        )
        return resolve_pings(content, allowed_mentions, context, default_parse=default_parse)

    def create(
        self,
        *,
        channel: Channel,
        author: User,
        body: Payload,
        files: Sequence[UploadedFile] = (),
        author_permissions: int,
        default_parse: tuple[str, ...] = PARSE_ALL,
        message_type: int = 0,
        webhook_id: int | None = None,
        application_id: int | None = None,
        interaction_id: int | None = None,
        interaction_metadata: Payload | None = None,
        interaction_legacy: Payload | None = None,
        extra_flags: int = 0,
        dispatch: bool = True,
    ) -> Message:
        replied = self.reference_target(channel, body)
        content = body.get("content") or ""
        flags = (body.get("flags") or 0) | extra_flags
        message = Message(
            id=self.world.ids.next(),
            channel_id=channel.id,
            guild_id=channel.guild_id,
            author_id=author.id,
            content=content,
            embeds=normalize_embeds(body.get("embeds") or []),
            components=number_components(body.get("components") or []),
            flags=flags,
            nonce=body.get("nonce"),
            interaction_id=interaction_id,
            created_at=utcnow(),
            type=REPLY if replied is not None and message_type == 0 else message_type,
            tts=bool(body.get("tts", False)),
            webhook_id=webhook_id,
            application_id=application_id,
            interaction_metadata=interaction_metadata,
            interaction_legacy=interaction_legacy,
        )
        message.attachments = attachments_from(
            body, files, self.world.ids, channel.id, ephemeral=message.ephemeral
        )
        message.attachment_data = [f.data for f in files]
        if replied is not None:
            message.message_reference = {
                "type": 0,
                "message_id": str(replied.id),
                "channel_id": str(channel.id),
            }
            if channel.guild_id is not None:
                message.message_reference["guild_id"] = str(channel.guild_id)
        if not flags & LOADING:
            message.pings = self.pings_for(
                channel,
                author_permissions,
                content,
                body.get("allowed_mentions"),
                default_parse=default_parse,
                replied=replied,
                author_id=author.id,
            )
            message.mention_user_ids = sorted(message.pings.users)
            message.mention_role_ids = sorted(message.pings.roles)
            message.mention_everyone = message.pings.everyone
        self.world.add_message(message)
        if dispatch:
            self._announce("MESSAGE_CREATE", message, channel)
        return message

    def edit(
        self,
        message: Message,
        body: Payload,
        files: Sequence[UploadedFile] = (),
        *,
        author_permissions: int,
        default_parse: tuple[str, ...] = PARSE_ALL,
    ) -> Message:
        """Apply an edit; a deferred (loading) message gets its pings when it is first filled."""
        channel = self.world.channels[message.channel_id]
        was_loading = message.loading
        if "content" in body:
            message.content = body.get("content") or ""
        if "embeds" in body:
            message.embeds = normalize_embeds(body.get("embeds") or [])
        if "components" in body:
            message.components = number_components(body.get("components") or [])
        if isinstance(body.get("flags"), int):
            # Ephemerality and the loading state cannot be changed by an edit.
            keep = message.flags & (EPHEMERAL | LOADING)
            message.flags = keep | (body["flags"] & ~(EPHEMERAL | LOADING))
        if "attachments" in body or files:
            # Documented: new files are appended; ``attachments``, when given, lists the old
            # ones to keep (by id) besides describing the new ones.
            kept_ids = {
                str(a.get("id")) for a in body.get("attachments") or [] if isinstance(a, dict)
            }
            data = _data_by_id(message)
            kept = [
                attachment
                for attachment in message.attachments
                if "attachments" not in body or attachment["id"] in kept_ids
            ]
            added = attachments_from(
                body, files, self.world.ids, channel.id, ephemeral=message.ephemeral
            )
            message.attachments = kept + added
            message.attachment_data = [data.get(a["id"], b"") for a in kept]
            message.attachment_data += [upload.data for upload in files]
        replied = None
        if message.message_reference:
            replied = self.world.messages.get(int(message.message_reference["message_id"]))
        fresh = self.pings_for(
            channel,
            author_permissions,
            message.content,
            body.get("allowed_mentions"),
            default_parse=default_parse,
            replied=replied,
            author_id=message.author_id,
        )
        if was_loading:
            # The deferred response appears now, so this is when it notifies people.
            message.flags &= ~LOADING
            message.pings = fresh
        else:
            message.edited_at = utcnow()
        if was_loading or "content" in body or "allowed_mentions" in body:
            message.mention_user_ids = sorted(fresh.users)
            message.mention_role_ids = sorted(fresh.roles)
            message.mention_everyone = fresh.everyone
        self._announce("MESSAGE_UPDATE", message, channel)
        return message

    def post_system(self, message: Message) -> Message:
        """Store a message Discord writes itself (thread created/starter) and announce it."""
        self.world.add_message(message)
        self._announce("MESSAGE_CREATE", message, self.world.channels[message.channel_id])
        return message

    def announce_update(self, message: Message) -> None:
        """MESSAGE_UPDATE for a change Discord makes to a message (e.g. it started a thread)."""
        self._announce("MESSAGE_UPDATE", message, self.world.channels[message.channel_id])

    def _announce(self, event: str, message: Message, channel: Channel) -> None:
        """Send MESSAGE_CREATE/UPDATE to the bots that may see it; ephemeral messages stay
        between the interaction and its user."""
        if not message.ephemeral:
            self.hub.emit(
                event,
                message.to_payload(gateway=True),
                guild_id=message.guild_id,
                recipients=dm_recipients(channel),
                channel_id=channel.id,
            )

    def delete(self, message: Message) -> None:
        """MESSAGE_DELETE with ``id``, ``channel_id`` and (in a guild) ``guild_id``."""
        self._forget(message)
        if message.ephemeral:
            return
        data: Payload = {"id": str(message.id), "channel_id": str(message.channel_id)}
        if message.guild_id is not None:
            data["guild_id"] = str(message.guild_id)
        channel = self.world.channels.get(message.channel_id)
        recipients = dm_recipients(channel) if channel is not None else None
        self.hub.emit(
            "MESSAGE_DELETE",
            data,
            guild_id=message.guild_id,
            recipients=recipients,
            channel_id=message.channel_id,
        )

    def bulk_delete(self, channel: Channel, messages: Sequence[Message]) -> None:
        """One MESSAGE_DELETE_BULK (``ids``, ``channel_id``, ``guild_id``) for a guild channel."""
        for message in messages:
            self._forget(message)
        data: Payload = {"ids": [str(m.id) for m in messages], "channel_id": str(channel.id)}
        if channel.guild_id is not None:
            data["guild_id"] = str(channel.guild_id)
        self.hub.emit("MESSAGE_DELETE_BULK", data, guild_id=channel.guild_id, channel_id=channel.id)

    def _forget(self, message: Message) -> None:
        message.deleted = True
        channel = self.world.channels.get(message.channel_id)
        if (
            channel is not None
            and channel.thread is not None
            and not message.ephemeral
            and message.type != THREAD_STARTER_MESSAGE
        ):
            channel.thread.message_count = max(0, channel.thread.message_count - 1)


def dm_recipients(channel: Channel) -> list[int] | None:
    """DM events only go to the bots in the conversation."""
    return channel.recipient_ids if channel.guild_id is None else None
