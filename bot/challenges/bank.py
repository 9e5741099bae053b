"""The built-in weekly challenges: small, concrete steps for educators, per habit.

Written for this bot, in our own words. Keys are stable (servers hide challenges and remember
the ones they have had by key), so a challenge's wording may be improved but its key is never
reused for a different challenge. Where the ledger can prove a challenge was done, its rule
says how; a challenge about *what* was said (a lesson that flopped, a question asked of a
librarian) has no rule, because the bot never reads message text, and members report it.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from bot.challenges.rules import CompletionRule, RuleKind
from bot.habits import Habit

MAX_KEY_LENGTH = 60
MAX_TITLE_LENGTH = 80
MAX_TEXT_LENGTH = 400


class Difficulty(StrEnum):
    EASY = "easy"
    MEDIUM = "medium"
    STRETCH = "stretch"


@dataclass(frozen=True, slots=True)
class Challenge:
    """One week's invitation to practise a habit."""

    # Stable forever: "<habit>.<words-with-dashes>", stored by servers that hid or had it.
    key: str
    habit: Habit
    difficulty: Difficulty
    title: str
    # What to do this week, and why it helps an educator.
    text: str
    # How the bot sees it was done; None when only the member can say.
    rule: CompletionRule | None


def _rule(kind: RuleKind, count: int = 1) -> CompletionRule:
    return CompletionRule(kind, count)


_CONNECT = (
    Challenge(
        "connect.say-hi-to-someone-new",
        Habit.CONNECT,
        Difficulty.EASY,
        "Say hello to someone new",
        "Find one colleague you have never talked with here and reply to one of their posts, "
        'even with a quick "we tried this too", or react to it. People outside your usual '
        "circle see your classroom with fresh eyes, and one small reply is all it takes.",
        _rule(RuleKind.REACH_NEW_PEOPLE),
    ),
    Challenge(
        "connect.three-new-faces",
        Habit.CONNECT,
        Difficulty.MEDIUM,
        "Three new faces this week",
        "Reply or react to three colleagues you have not been in touch with before. Try one "
        "from another grade band and one from another subject: a kindergarten teacher and a "
        "chemistry teacher solve the same problems in very different ways.",
        _rule(RuleKind.REACH_NEW_PEOPLE, 3),
    ),
    Challenge(
        "connect.widen-your-circle",
        Habit.CONNECT,
        Difficulty.STRETCH,
        "Widen your circle: five people you have not met",
        "Reach five colleagues you have never talked with here: a librarian, a coach, a "
        "counselor, someone from another school. The people you know least are the likeliest "
        "to know about the resource, job or idea you have not heard of yet.",
        _rule(RuleKind.REACH_NEW_PEOPLE, 5),
    ),
    Challenge(
        "connect.welcome-newcomer",
        Habit.CONNECT,
        Difficulty.EASY,
        "Welcome a newcomer",
        "Someone joined in the last two weeks. Reply to their intro or first post, say what "
        "you teach, and ask one thing about their classroom. Remember how it felt to be new "
        "in the staff room: one friendly reply makes a place feel like yours.",
        _rule(RuleKind.WELCOME_NEWCOMER),
    ),
    Challenge(
        "connect.welcome-committee",
        Habit.CONNECT,
        Difficulty.STRETCH,
        "Be the welcome committee",
        "Reply or react to three members who arrived in the last two weeks. Point each one "
        "to a channel or a colleague that fits what they teach. Newcomers who get an answer "
        "in their first days are the ones who stay and, later, help the next newcomer.",
        _rule(RuleKind.WELCOME_NEWCOMER, 3),
    ),
    Challenge(
        "connect.cheer-three-colleagues",
        Habit.CONNECT,
        Difficulty.EASY,
        "Cheer on three colleagues",
        "React to posts by three different colleagues: a share you might use, a win worth "
        "celebrating, a question you wish you had asked. It takes seconds between classes, "
        "and it tells people their work was seen.",
        _rule(RuleKind.REACT_TO_PEOPLE, 3),
    ),
    Challenge(
        "connect.reply-with-a-question",
        Habit.CONNECT,
        Difficulty.MEDIUM,
        "Reply with a question",
        "Reply to three different colleagues with a real follow-up question: how long did "
        "it take, what did students say, what would you change? A good question shows you "
        "read closely, and the answer is often more useful than the original post.",
        _rule(RuleKind.REPLY_TO_PEOPLE, 3),
    ),
    Challenge(
        "connect.introduce-yourself",
        Habit.CONNECT,
        Difficulty.EASY,
        "Tell us who you are",
        "Post your intro with /connect intro, or refresh it if your year has changed: what "
        "you teach, to whom, what you want to learn, what you can help with. It is how the "
        "right colleagues find you, and how your questions reach people who can answer.",
        _rule(RuleKind.INTRODUCE_YOURSELF),
    ),
    Challenge(
        "connect.read-the-intros",
        Habit.CONNECT,
        Difficulty.MEDIUM,
        "Find your someone in the intros",
        "Spend ten minutes reading members' intros. Note one person who can help with "
        "something you are working on, and one you could help. Knowing who knows what is "
        "half the value of a network, and you will know exactly whom to ask next time.",
        None,
    ),
    Challenge(
        "connect.bring-a-colleague",
        Habit.CONNECT,
        Difficulty.STRETCH,
        "Bring a colleague along",
        "Invite one colleague from your building or district who would enjoy this community, "
        "and help them post their first intro. A network grows one trusted invitation at a "
        "time, and you will have someone to try new ideas with down the hall.",
        None,
    ),
)

_CONTRIBUTE = (
    Challenge(
        "contribute.share-one-thing",
        Habit.CONTRIBUTE,
        Difficulty.EASY,
        "Share one thing that worked",
        "Use /share for one link, template or tip that made a lesson or a duty easier this "
        "term. Add a line on how you used it. What feels obvious to you after years of "
        "practice is exactly what a colleague is searching for tonight.",
        _rule(RuleKind.SHARE),
    ),
    Challenge(
        "contribute.three-shares",
        Habit.CONTRIBUTE,
        Difficulty.MEDIUM,
        "Three shares this week",
        "Share three resources with /share: one for planning, one for your students, one "
        "for your own learning. Tag each so colleagues can find it later. A steady trickle "
        "of good finds turns you into the person people look for.",
        _rule(RuleKind.SHARE, 3),
    ),
    Challenge(
        "contribute.useful-tomorrow",
        Habit.CONTRIBUTE,
        Difficulty.MEDIUM,
        "Share something a colleague can use tomorrow",
        "Share a resource someone could put to work the very next day, with a note on the "
        "grade and the time it takes. The challenge is done when a colleague marks it useful "
        "or reacts to it: the best shares solve a real problem for someone else.",
        _rule(RuleKind.SHARE_FOUND_USEFUL),
    ),
    Challenge(
        "contribute.useful-to-many",
        Habit.CONTRIBUTE,
        Difficulty.STRETCH,
        "Useful to three colleagues",
        "Have three different colleagues find your shares useful this week (a Useful click, "
        "a reaction on the card). Think about the questions people ask here most, and share "
        "the thing you wish you had been handed in your first year.",
        _rule(RuleKind.SHARE_FOUND_USEFUL, 3),
    ),
    Challenge(
        "contribute.answer-a-question",
        Habit.CONTRIBUTE,
        Difficulty.EASY,
        "Answer one colleague's question",
        "Open a question someone asked with /ask and write what you know, even if it is only "
        "what you tried and how it went. You do not need to be the expert: your experience "
        "is a real data point for someone deciding what to do on Monday.",
        _rule(RuleKind.ANSWER_ASKS),
    ),
    Challenge(
        "contribute.answer-three",
        Habit.CONTRIBUTE,
        Difficulty.STRETCH,
        "Answer three questions",
        "Answer three different questions from colleagues this week. Look for ones in your "
        "subject, and one outside it where your classroom experience still applies. Each "
        "answer you give makes it easier for you to ask when it is your turn.",
        _rule(RuleKind.ANSWER_ASKS, 3),
    ),
    Challenge(
        "contribute.first-to-help",
        Habit.CONTRIBUTE,
        Difficulty.MEDIUM,
        "Be the first to help",
        "Find a question nobody has answered yet and be the first to reply in its thread. "
        "An unanswered question is a colleague waiting alone; the first answer, even a "
        "partial one, often brings others in.",
        _rule(RuleKind.FIRST_ANSWER),
    ),
    Challenge(
        "contribute.answer-that-lands",
        Habit.CONTRIBUTE,
        Difficulty.STRETCH,
        "Give an answer that lands",
        "Answer a colleague's question so concretely that they mark it helpful: the steps "
        "you took, a link, what went wrong the first time. Helping someone solve a real "
        "problem is the fastest way to build trust in a network.",
        _rule(RuleKind.HELPFUL_ANSWER),
    ),
    Challenge(
        "contribute.share-a-flop",
        Habit.CONTRIBUTE,
        Difficulty.MEDIUM,
        "Share a lesson that flopped",
        "Share a lesson or activity that did not go as planned, and what you would change "
        "next time. Honest stories about what did not work save colleagues from the same "
        "mistake, and they make it safe for everyone to share their drafts.",
        None,
    ),
    Challenge(
        "contribute.show-your-work",
        Habit.CONTRIBUTE,
        Difficulty.STRETCH,
        "Share something you made",
        "Share something you built yourself: a rubric, a slide deck, a parent letter, a "
        "seating routine. Say who it is for and how to adapt it. Making your own work public "
        "is a small act of courage that colleagues remember and return to.",
        None,
    ),
)

_CONVERSE = (
    Challenge(
        "converse.reply-back",
        Habit.CONVERSE,
        Difficulty.EASY,
        "Answer someone who reached out",
        "Someone replied to you or reacted to your post lately. Reply to them and keep the "
        "thread going with a question of your own. Networks are built in the second and "
        "third messages, not the first.",
        _rule(RuleKind.REPLY_BACK),
    ),
    Challenge(
        "converse.close-three-loops",
        Habit.CONVERSE,
        Difficulty.MEDIUM,
        "Close three open loops",
        "Reply to three different colleagues who reached out to you in the last two weeks. "
        'Check the replies to your shares and questions: a quick "thanks, I tried it and..." '
        "turns a one-off exchange into someone you can count on.",
        _rule(RuleKind.REPLY_BACK, 3),
    ),
    Challenge(
        "converse.one-real-conversation",
        Habit.CONVERSE,
        Difficulty.EASY,
        "Have one real back-and-forth",
        "Have a conversation this week: you write, they answer, you answer back within a few "
        "days. Pick a post you have an opinion about and ask what they would do next. "
        "Conversations are where advice gets tailored to your students.",
        _rule(RuleKind.CONVERSE_WITH),
    ),
    Challenge(
        "converse.three-partners",
        Habit.CONVERSE,
        Difficulty.MEDIUM,
        "Talk shop with three colleagues",
        "Have back-and-forth conversations with three different colleagues this week. Mix "
        "it up: someone you know well, someone from another grade, someone new. Each "
        "perspective gives you one more way to look at your own practice.",
        _rule(RuleKind.CONVERSE_WITH, 3),
    ),
    Challenge(
        "converse.five-partners",
        Habit.CONVERSE,
        Difficulty.STRETCH,
        "A week of good conversations",
        "Have conversations with five different colleagues this week, in threads or in "
        "replies. Ask about their week, their students, their plans. A week of real "
        "exchanges is the closest thing to a good staff-room lunch, without leaving home.",
        _rule(RuleKind.CONVERSE_WITH, 5),
    ),
    Challenge(
        "converse.pick-it-back-up",
        Habit.CONVERSE,
        Difficulty.MEDIUM,
        "Pick up where you left off",
        "Go back to a colleague you had a good exchange with in an earlier week and continue "
        "it: did the idea work, what happened next? Coming back to the same person is how a "
        "contact becomes a relationship you can lean on.",
        _rule(RuleKind.CONVERSE_AGAIN),
    ),
    Challenge(
        "converse.grow-two-relationships",
        Habit.CONVERSE,
        Difficulty.STRETCH,
        "Grow two relationships",
        "Continue conversations with two colleagues you have talked with before. Share what "
        "you did with their advice, or ask what they are working on now. The few people you "
        "return to week after week become your most trusted thinking partners.",
        _rule(RuleKind.CONVERSE_AGAIN, 2),
    ),
    Challenge(
        "converse.one-level-deeper",
        Habit.CONVERSE,
        Difficulty.MEDIUM,
        "Go one level deeper",
        "In a conversation you are already having, ask the question behind the question: "
        "why did you choose that, what did students struggle with, what would you drop? "
        "Depth turns a tip you might try into an understanding you can adapt.",
        None,
    ),
    Challenge(
        "converse.say-what-changed",
        Habit.CONVERSE,
        Difficulty.EASY,
        "Tell someone what changed",
        "Tell a colleague, in a reply or a thread, exactly how something they shared or said "
        "changed a lesson of yours. Specific thanks is rare, it is motivating, and it often "
        "starts the best conversation of the week.",
        None,
    ),
    Challenge(
        "converse.take-it-live",
        Habit.CONVERSE,
        Difficulty.STRETCH,
        "Take it off the screen",
        "Invite a colleague you have been talking with to a short call, a co-planning "
        "session or a classroom visit. Twenty minutes of talking through a unit together "
        "can do more than a month of messages.",
        None,
    ),
)

_REQUEST = (
    Challenge(
        "request.ask-one-question",
        Habit.REQUEST,
        Difficulty.EASY,
        "Ask one real question",
        "Use /ask for one real question from your week: a student you cannot reach, a unit "
        "that drags, a tool you are unsure about. Add a tag or two. Asking is not a sign you "
        "are behind; it is how you borrow years of colleagues' experience.",
        _rule(RuleKind.ASK),
    ),
    Challenge(
        "request.ask-two",
        Habit.REQUEST,
        Difficulty.MEDIUM,
        "Two questions on your plate",
        "Ask two questions with /ask this week, one about teaching and one about everything "
        "around it: grading, parents, planning time. Small questions asked early save hours "
        "of figuring things out alone.",
        _rule(RuleKind.ASK, 2),
    ),
    Challenge(
        "request.get-an-answer",
        Habit.REQUEST,
        Difficulty.MEDIUM,
        "Get an answer from the network",
        "Ask a question with /ask that someone answers this week. Say your grade, subject "
        "and what you have already tried, and tag it so the colleagues who know the topic "
        "hear about it. A clear question gets a useful answer fast.",
        _rule(RuleKind.ASK_ANSWERED),
    ),
    Challenge(
        "request.two-answered",
        Habit.REQUEST,
        Difficulty.STRETCH,
        "Two questions, two answers",
        "Get answers to two of your questions this week. If one has been quiet, add a detail "
        "in its thread or a better tag. Learning to ask so that people can help is a skill, "
        "and it pays off every time you are stuck.",
        _rule(RuleKind.ASK_ANSWERED, 2),
    ),
    Challenge(
        "request.mark-helpful",
        Habit.REQUEST,
        Difficulty.EASY,
        "Say it helped",
        "Mark an answer to one of your questions as helpful (right-click the message, then "
        "Apps, then Mark as helpful). It thanks the colleague who took the time, and it "
        "shows the next person with the same question where to look.",
        _rule(RuleKind.MARK_HELPFUL),
    ),
    Challenge(
        "request.thank-two-helpers",
        Habit.REQUEST,
        Difficulty.MEDIUM,
        "Thank two helpers",
        "Look back at your questions and mark two helpful answers. Colleagues who see their "
        "help land keep helping, and a question with a marked answer becomes a small piece "
        "of the community's shared know-how.",
        _rule(RuleKind.MARK_HELPFUL, 2),
    ),
    Challenge(
        "request.ask-what-you-avoid",
        Habit.REQUEST,
        Difficulty.STRETCH,
        "Ask about what you have been avoiding",
        "Ask the question you have been putting off: the behavior plan that is not working, "
        "the tech everyone else seems to know. Hard questions asked in a kind community get "
        "the most thoughtful answers, and others are often quietly wondering too.",
        None,
    ),
    Challenge(
        "request.ask-for-feedback",
        Habit.REQUEST,
        Difficulty.MEDIUM,
        "Ask for feedback on your work",
        "Share a lesson plan, rubric or assignment you are unsure about and ask for two "
        "specific kinds of feedback. Fresh eyes catch what you cannot, and colleagues enjoy "
        "being asked for their judgment, not just their links.",
        None,
    ),
    Challenge(
        "request.ask-outside-your-role",
        Habit.REQUEST,
        Difficulty.STRETCH,
        "Ask someone outside your role",
        "Put a question to someone whose work is different from yours: a librarian about "
        "research skills, a counselor about a tough week, a coach about feedback. People in "
        "other roles see your students from angles you never get to.",
        None,
    ),
    Challenge(
        "request.report-back",
        Habit.REQUEST,
        Difficulty.MEDIUM,
        "Report back on advice you tried",
        "Try one piece of advice you got here, then go back to that thread and say how it "
        "went, what worked and what you changed. Reporting back closes the loop for the "
        "people who helped, and turns their advice into tested practice for everyone.",
        None,
    ),
)

BANK: tuple[Challenge, ...] = _CONNECT + _CONTRIBUTE + _CONVERSE + _REQUEST

_BY_KEY: dict[str, Challenge] = {challenge.key: challenge for challenge in BANK}


def built_in(key: str) -> Challenge | None:
    """The built-in challenge with this key, or None (a custom one, or one since retired)."""
    return _BY_KEY.get(key)
