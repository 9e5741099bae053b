"""The coach: one concrete next step for a member, from their progress."""

from __future__ import annotations

from bot.habits import Level
from bot.services.progress import MemberProgress

_FIRST_STEPS = {
    "connect": "Reply to or react to a colleague's post today: reaching out starts a network.",
    "contribute": "Share one resource you used this week with `/share`: a link, a plan, a tip.",
    "converse": "Pick up a thread where a colleague replied to you and keep the exchange going.",
    "request": "Ask the network a real question from your classroom this week.",
}


def next_step(progress: MemberProgress) -> str:
    """The first habit, in the order a network grows, that the bot can see is not yet a habit.

    Habits the bot cannot see yet are suggested only once every tracked one is a habit, so the
    advice is always about something the member's next action will visibly change.
    """
    tracked = [item for item in progress.habits if item.tracked]
    for item in tracked:
        if item.level < Level.HABIT and item.next_milestone:
            if item.level is Level.NOT_STARTED:
                return _FIRST_STEPS[item.habit.value]
            return f"{item.habit.display_name}: {item.next_milestone}"
    for item in progress.habits:
        if not item.tracked:
            return _FIRST_STEPS[item.habit.value]
    return "You practise all four habits: welcome a newcomer and help them take their first step."
