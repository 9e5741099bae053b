"""What an ask's thread, a thank-you and the asker's answers say.

Everything a member typed is escaped; the only mentions that notify are the helpers who offered
to help with one of the ask's tags (at most three), never roles, @everyone or the asker.
"""

from __future__ import annotations

import discord

from bot.delivery.renderers import OutgoingPost
from bot.services.asks import HelpfulResult, OpenAsk, StoredAsk, thread_name
from bot.services.outbox import PostState, PostStatus
from bot.services.routing import HelperPick
from cogs._safe_text import plain
from cogs._shared import COACH_COLOUR, message_link

QUESTION_LIMIT = 4000
MESSAGE_LIMIT = 2000


def ask_marker(ask_id: int) -> str:
    return f"PLN Coach ask #{ask_id} · reply in this thread to answer"


def thanks_marker(message_id: int) -> str:
    return f"Marked helpful by the asker · answer {message_id}"


def ask_post(ask: StoredAsk) -> OutgoingPost:
    pinged = [helper for helper in ask.helpers if helper.opted_in]
    named = [helper for helper in ask.helpers if not helper.opted_in]
    lines = [f"**A question from <@{ask.asker_id}>**"]
    if pinged:
        lines.append("Could you help? " + " ".join(f"<@{h.member_id}>" for h in pinged))
    if named:
        lines.append("Also likely to know: " + " ".join(f"<@{h.member_id}>" for h in named))
    embed = discord.Embed(
        description=plain(ask.question, limit=QUESTION_LIMIT), colour=COACH_COLOUR
    )
    if ask.tags:
        embed.add_field(name="Tags", value=", ".join(plain(tag) for tag in ask.tags))
    embed.set_footer(text=ask_marker(ask.id))
    return OutgoingPost(
        marker=ask_marker(ask.id),
        content="\n".join(lines),
        embed=embed,
        thread_name=thread_name(ask.question),
        forum_tags=ask.tags,
        pings=tuple(h.member_id for h in pinged),
    )


def _helper_line(helper: HelperPick) -> str:
    why = f" — {plain('; '.join(helper.reasons))}" if helper.reasons else ""
    told = " (notified: they offered to help)" if helper.opted_in else ""
    return f"• <@{helper.member_id}>{why}{told}"


def ask_reply(ask: StoredAsk, thread: PostStatus | None, guild_id: int) -> str:
    if thread is None or thread.state is PostState.PENDING:
        first = "Your question is saved and its thread is on its way."
    elif thread.state is PostState.POSTED and thread.message_id is not None:
        # A thread has its first message's id: <#id> links straight to it.
        first = f"Your question is up in <#{thread.message_id}>. Answers come in there."
    else:
        problem = thread.problem or "Discord refused it"
        first = (
            f"Your question is saved, but I couldn't open its thread in <#{thread.channel_id}>: "
            f"{problem}. An admin can fix that or pick another channel with `/pln asks-channel`."
        )
    if ask.helpers:
        lines = [first, "**Likely to help**", *(_helper_line(h) for h in ask.helpers)]
    else:
        lines = [
            first,
            "Nobody here has offered to help with these tags yet: the question shows in "
            "`/asks open` for the whole community.",
        ]
    lines.append(
        "When an answer helps, right-click it → Apps → **Mark as helpful** to thank its author."
    )
    return "\n".join(lines)


def thanks_post(ask: StoredAsk, helper_id: int, guild_id: int, message_id: int) -> OutgoingPost:
    thread_id = ask.thread.message_id if ask.thread and ask.thread.message_id else 0
    link = message_link(guild_id, thread_id, message_id)
    embed = discord.Embed(
        description=(
            f"<@{ask.asker_id}> marked [this answer]({link}) by <@{helper_id}> as helpful. "
            "Thank you for sharing what you know! 🙌"
        ),
        colour=COACH_COLOUR,
    )
    embed.set_footer(text=thanks_marker(message_id))
    return OutgoingPost(marker=thanks_marker(message_id), embed=embed)


def helpful_reply(result: HelpfulResult, ask: StoredAsk | None, helper_id: int | None) -> str:
    if result is HelpfulResult.MARKED:
        return (
            f"Marked helpful: <@{helper_id}> gets the credit, and a short thank-you is posted "
            "in the thread (without a ping)."
        )
    if result is HelpfulResult.ALREADY_MARKED:
        return "You already marked this answer helpful. Thanks counted once."
    if result is HelpfulResult.NOT_THE_ASKER and ask is not None:
        return (
            f"Only <@{ask.asker_id}>, who asked this question, can mark its answers helpful. "
            "Found it useful too? Add a reaction."
        )
    if result is HelpfulResult.OWN_MESSAGE:
        return "That's your own message. Mark an answer someone else gave."
    return (
        "**Mark as helpful** works on answers inside a question's thread (one opened with `/ask`)."
    )


def open_asks_text(asks: list[OpenAsk], guild_id: int, waiting_since: float) -> str:
    if not asks:
        return "Every question here has an answer. Ask yours with `/ask`."
    old = [ask for ask in asks if ask.created_at.timestamp() <= waiting_since]
    new = [ask for ask in asks if ask.created_at.timestamp() > waiting_since]
    sections = (
        ("**Waiting for an answer for over 48 hours: can you help?**", old),
        ("**Asked lately, no answer yet**", new),
    )
    # Long questions fill a message before the list ends: show what fits, oldest first.
    room = MESSAGE_LIMIT - len(_more(len(asks))) - 1
    lines: list[str] = []
    shown = 0
    for header, group in sections:
        for index, ask in enumerate(group):
            adding = [_open_line(ask, guild_id)]
            if index == 0:
                adding.insert(0, header)
            if len("\n".join([*lines, *adding])) > room:
                return "\n".join([*lines, _more(len(asks) - shown)])
            lines += adding
            shown += 1
    return "\n".join(lines)


def _more(count: int) -> str:
    return f"…and {count} more: once some of these are answered, the rest show up here."


def _open_line(ask: OpenAsk, guild_id: int) -> str:
    question = plain(" ".join(ask.question.split()), limit=120)
    when = discord.utils.format_dt(ask.created_at, "R")
    line = f"• <@{ask.asker_id}>: {question} — asked {when}"
    if ask.thread_id is not None:
        line += f" in <#{ask.thread_id}>"
    return line
