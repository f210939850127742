"""The closed vocabularies of the domain, stored as their string values.

Values are stable identifiers (they are stored in the database and used as keys of the bot's
text catalogue); the Persian words for them live with each face, not here.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Final


class Gender(StrEnum):
    MALE = "male"
    FEMALE = "female"


class InsuranceRelation(StrEnum):
    """The main insured's relation with Tamin (نوع بیمه)."""

    MANDATORY = "mandatory"  # اجباری
    VOLUNTARY = "voluntary"  # اختیاری
    SELF_EMPLOYED = "self_employed"  # مشاغل آزاد
    PENSIONER = "pensioner"  # مستمری‌بگیر
    UNEMPLOYMENT = "unemployment"  # بیمه بیکاری


class Relation(StrEnum):
    """A dependant's relation to the main insured (first-degree family only, DOMAIN.md)."""

    WIFE = "wife"
    HUSBAND = "husband"
    SON = "son"
    DAUGHTER = "daughter"
    FATHER = "father"
    MOTHER = "mother"

    @property
    def gender(self) -> Gender:
        female = (Relation.WIFE, Relation.DAUGHTER, Relation.MOTHER)
        return Gender.FEMALE if self in female else Gender.MALE


# The relation words the NLU's ``relation`` entity carries: «پسرم» names one relation, «همسرم»
# and «بچه‌ام» name two (which one depends on the user's gender or is not said).
RELATION_WORDS: dict[str, tuple[Relation, ...]] = {
    "spouse": (Relation.WIFE, Relation.HUSBAND),
    "child": (Relation.SON, Relation.DAUGHTER),
    "son": (Relation.SON,),
    "daughter": (Relation.DAUGHTER,),
    "father": (Relation.FATHER,),
    "mother": (Relation.MOTHER,),
}


def relations_named(word: str | None) -> tuple[Relation, ...] | None:
    """The relations a relation word names (None when it names none: ask about everyone)."""
    return RELATION_WORDS.get(word or "")


class TicketCategory(StrEnum):
    INSURANCE = "insurance"
    MEDICAL = "medical"
    OTHER = "other"


class TicketStatus(StrEnum):
    """open → in_progress → answered → closed (see ``services.tickets.TRANSITIONS``)."""

    OPEN = "open"
    IN_PROGRESS = "in_progress"
    ANSWERED = "answered"
    CLOSED = "closed"


class DependantRequestStatus(StrEnum):
    UNDER_BRANCH_REVIEW = "under_branch_review"
    APPROVED = "approved"
    REJECTED = "rejected"


class DependantRejectReason(StrEnum):
    """Why the desk turns down a dependant request (the user's wording is in bot/texts.py)."""

    DOCUMENTS_MISSING = "documents_missing"  # مدارک ناقص یا ناخوانا
    CONDITIONS_NOT_MET = "conditions_not_met"  # شرایط تکفل (سن، تحصیل، تأهل، …) برقرار نیست
    CIVIL_REGISTRY_MISMATCH = "registry_mismatch"  # با اطلاعات ثبت احوال نمی‌خواند
    COVERED_ELSEWHERE = "covered_elsewhere"  # بیمهٔ درمانی دیگری دارد
    NOT_FIRST_DEGREE = "not_first_degree"  # بستگی درجهٔ یک نیست
    OTHER = "other"


class OutboxStatus(StrEnum):
    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"


# --- the human handoff -----------------------------------------------------------------------


class ConversationStatus(StrEnum):
    """bot → queued (waits for a person) → open (with an agent) → resolved; or ticketed."""

    QUEUED = "queued"
    OPEN = "open"
    RESOLVED = "resolved"
    TICKETED = "ticketed"


# The states in which a chat belongs to the handoff rather than to the bot.
ACTIVE_CONVERSATION_STATUSES: Final = (
    ConversationStatus.QUEUED.value,
    ConversationStatus.OPEN.value,
)


class HandoffReason(StrEnum):
    HUMAN_AGENT = "human_agent"  # the user asked for a person
    NLU_MISS = "nlu_miss"  # the bot did not understand twice in a row
    AGENT_PICK = "agent_pick"  # an agent started the chat (from a ticket)


class Resolution(StrEnum):
    RESOLVED = "resolved"
    USER_LEFT = "user_left"


class Sender(StrEnum):
    USER = "user"
    AGENT = "agent"
    SYSTEM = "system"


class MessageKind(StrEnum):
    TEXT = "text"
    PHOTO = "photo"
    DOCUMENT = "document"
    EVENT = "event"


class Event(StrEnum):
    """System events in a transcript; the console words them."""

    QUEUED = "queued"
    TAKEN = "taken"
    TRANSFERRED = "transferred"
    REQUEUED = "requeued"
    RESOLVED = "resolved"
    USER_LEFT = "user_left"
    PICKED = "picked"
    RATED = "rated"


class ClosedBecause(StrEnum):
    OUTSIDE_HOURS = "outside_hours"
    NOBODY_ONLINE = "nobody_online"


class OutboxKind(StrEnum):
    """What an outbox payload asks the bot to send (``bot.outbound`` words each kind)."""

    AGENT_REPLY = "agent_reply"
    HANDOFF_TAKEN = "handoff_taken"
    HANDOFF_TRANSFERRED = "handoff_transferred"
    HANDOFF_REQUEUED = "handoff_requeued"
    HANDOFF_RESOLVED = "handoff_resolved"
    SATISFACTION_QUESTION = "satisfaction_question"
    TICKET_ANSWER = "ticket_answer"
    # An agent opened a chat with the user from a ticket (not "accepted" a chat the user asked for).
    HANDOFF_STARTED = "handoff_started"
    # A bot's direct answer that flood control held up too long (``bot.pacing``): text, parse
    # mode and keyboard exactly as the handler made them.
    PREPARED = "prepared"
    NOTICE = (
        "notice"  # a proactive notice (``services.notices``); ``payload["notice"]`` is its kind
    )


class NoticeKind(StrEnum):
    """What a proactive notice is about (``services.notices``); the user switches each on or off."""

    TICKET_ANSWERED = "ticket_answered"
    TICKET_OVERDUE = "ticket_overdue"
    REQUEST_DECIDED = "request_decided"
    COVER_ENDING = "cover_ending"
    VOLUNTARY_PAYMENT = "voluntary_payment"
    MEDICAL_EXAM = "medical_exam"


class NoticeStatus(StrEnum):
    PENDING = "pending"  # waits for its moment (quiet hours) and the scheduler
    SENT = "sent"  # handed to the outbox
    DROPPED = "dropped"  # switched off, or no longer true, before its moment came


class RateOutcome(StrEnum):
    THANKS = "thanks"
    ALREADY_RATED = "already_rated"
    NOT_FOUND = "not_found"


class DueClass(StrEnum):
    """How a ticket stands against its answer target (3/7/10 working days)."""

    DONE = "done"
    OVERDUE = "overdue"
    DUE_TODAY = "due_today"
    ON_TIME = "on_time"
