"""The coach: one concrete next step for a member, aimed at their weakest habit.

The step names real people and posts where it can ("Ben replied to you 2 days ago — keep it
going"). It is built from parts (our words, a person, a moment, a message, member-typed text)
so whoever shows it decides how each is written: a cog shows a person as a mention that pings
nobody, a moment as a relative time, and escapes member-typed text.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime

from bot.habits import Habit, Level
from bot.services.converse import ConverseService, FollowUp, FollowUpKind
from bot.services.introductions import IntroductionService
from bot.services.progress import HabitProgress, MemberProgress
from bot.services.suggestions import Suggestion, SuggestionService


@dataclass(frozen=True, slots=True)
class Person:
    user_id: int
    name: str


@dataclass(frozen=True, slots=True)
class Moment:
    at: datetime


@dataclass(frozen=True, slots=True)
class MessageRef:
    channel_id: int
    message_id: int


@dataclass(frozen=True, slots=True)
class MemberText:
    """Words a member typed (a tag, an interest): shown escaped."""

    text: str


Part = str | Person | Moment | MessageRef | MemberText


@dataclass(frozen=True, slots=True)
class NextStep:
    habit: Habit | None
    parts: tuple[Part, ...]

    def plain(self) -> str:
        """The step as plain text (people by name, no links), e.g. for logs and tests."""
        words: list[str] = []
        for part in self.parts:
            if isinstance(part, str):
                words.append(part)
            elif isinstance(part, Person):
                words.append(part.name)
            elif isinstance(part, MemberText):
                words.append(part.text)
            elif isinstance(part, Moment):
                words.append(part.at.isoformat(timespec="minutes"))
        return "".join(words)


_FIRST_STEPS = {
    Habit.CONNECT: "Reply to or react to a colleague's post today: reaching out starts a network.",
    Habit.CONTRIBUTE: "Share one resource you used this week with `/share`: a link, a plan, a tip.",
    Habit.CONVERSE: "Pick up a thread where a colleague replied to you and keep it going.",
    Habit.REQUEST: "Ask the network a real question from your classroom with `/ask`.",
}


def weakest(progress: MemberProgress) -> HabitProgress | None:
    """The tracked habit with the lowest level (the earliest, in the order a network grows).

    Habits the bot cannot see yet come only once every tracked one is a habit, so the advice is
    about something the member's next action will visibly change.
    """
    open_habits = [item for item in progress.habits if item.tracked and item.level < Level.HABIT]
    if open_habits:
        return min(open_habits, key=lambda item: item.level)  # min keeps the earliest on ties
    return next((item for item in progress.habits if not item.tracked), None)


def next_step(progress: MemberProgress) -> str:
    """The next step from progress alone (no people): for answers that must not wait."""
    return _generic(weakest(progress)).plain()


def _generic(item: HabitProgress | None) -> NextStep:
    if item is None:
        return NextStep(
            None,
            ("You practise all four habits: welcome a newcomer and help them take a first step.",),
        )
    if item.level is Level.NOT_STARTED or not item.next_milestone:
        return NextStep(item.habit, (_FIRST_STEPS[item.habit],))
    return NextStep(item.habit, (f"{item.habit.display_name}: {item.next_milestone}",))


def next_action(
    progress: MemberProgress,
    *,
    suggestions: Sequence[Suggestion] = (),
    follow_ups: Sequence[FollowUp] = (),
    introduced: bool = True,
) -> NextStep:
    """The one step that would move the member's weakest habit, naming people where it can."""
    item = weakest(progress)
    habit = item.habit if item is not None else None
    waiting = [f for f in follow_ups if f.kind is FollowUpKind.WAITING]
    if habit is Habit.CONVERSE and (waiting or follow_ups):
        return _follow_up(habit, (waiting or list(follow_ups))[0])
    if habit is Habit.CONNECT:
        if suggestions:
            return _reach_out(habit, suggestions[0])
        if not introduced:
            return NextStep(
                habit,
                (
                    "Introduce yourself with `/connect intro` so colleagues who share your "
                    "subjects can find you.",
                ),
            )
    if habit is Habit.CONTRIBUTE and suggestions:
        wanted = [tag for s in suggestions for tag in s.shared]
        if wanted:
            return NextStep(
                habit,
                (
                    "Share a resource on ",
                    MemberText(wanted[0]),
                    " with `/share`: colleagues like ",
                    Person(suggestions[0].user_id, suggestions[0].display_name),
                    " work with it too.",
                ),
            )
    if item is None and waiting:  # every habit is a habit: keep the conversations going
        return _follow_up(None, waiting[0])
    return _generic(item)


def _follow_up(habit: Habit | None, follow_up: FollowUp) -> NextStep:
    who = Person(follow_up.partner_id, follow_up.partner_name)
    link: tuple[Part, ...] = ()
    if follow_up.channel_id is not None and follow_up.message_id is not None:
        link = (" ", MessageRef(follow_up.channel_id, follow_up.message_id))
    if follow_up.kind is FollowUpKind.WAITING:
        return NextStep(
            habit, (who, " replied to you ", Moment(follow_up.at), " — keep it going.", *link)
        )
    return NextStep(
        habit,
        (
            "You and ",
            who,
            " have talked before; nothing since ",
            Moment(follow_up.at),
            ". Check in: a conversation in a new week grows a relationship.",
            *link,
        ),
    )


def _reach_out(habit: Habit, suggestion: Suggestion) -> NextStep:
    why = "; ".join(suggestion.reasons[:2])
    return NextStep(
        habit,
        (
            "Say hi to ",
            Person(suggestion.user_id, suggestion.display_name),
            ": ",
            MemberText(why),
            ".",
        ),
    )


class CoachService:
    """Gathers what the next step needs: only the queries the member's weakest habit calls for."""

    def __init__(
        self,
        suggestions: SuggestionService,
        converse: ConverseService,
        introductions: IntroductionService,
    ) -> None:
        self._suggestions = suggestions
        self._converse = converse
        self._introductions = introductions

    async def next_action_for(
        self, progress: MemberProgress, *, exclude: Collection[int] = ()
    ) -> NextStep:
        item = weakest(progress)
        habit = item.habit if item is not None else None
        server_id, user_id = progress.server_id, progress.user_id
        suggestions: list[Suggestion] = []
        follow_ups: list[FollowUp] = []
        introduced = True
        if habit in (None, Habit.CONVERSE):
            follow_ups = await self._converse.worth_continuing(server_id, user_id)
        if habit in (Habit.CONNECT, Habit.CONTRIBUTE):
            suggestions = await self._suggestions.suggest(
                server_id, user_id, count=1, exclude=exclude
            )
        if habit is Habit.CONNECT and not suggestions:
            introduced = await self._introductions.introduced(server_id, user_id)
        return next_action(
            progress, suggestions=suggestions, follow_ups=follow_ups, introduced=introduced
        )
