"""The closed vocabularies of the domain, stored as their string values.

Values are stable identifiers (they are stored in the database and used as keys of the bot's
text catalogue); the Persian words for them live with each face, not here.
"""

from __future__ import annotations

from enum import StrEnum


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


class OutboxStatus(StrEnum):
    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"
