"""Domain errors: a stable ``code`` per kind of refusal and typed attributes for the details.

The bot's error router turns ``code`` (and the attributes) into polite Persian; services never
write chat sentences. Codes are part of the public API: do not rename them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import ClassVar

from persian.national_id import NationalIdProblem


class DomainError(Exception):
    """Base of every refusal a service can give; ``code`` is stable."""

    code: ClassVar[str] = "domain_error"

    def __init__(self, detail: str = "") -> None:
        super().__init__(detail or self.code)


# --- identity --------------------------------------------------------------------------------


class InvalidNationalIdError(DomainError):
    """What the user typed is not a national ID; ``problem`` says why (empty, length, checksum…)."""

    code = "invalid_national_id"

    def __init__(self, problem: NationalIdProblem) -> None:
        super().__init__(problem.value)
        self.problem = problem


class InvalidMobileError(DomainError):
    """The shared contact's phone number is not an Iranian mobile."""

    code = "invalid_mobile"


class ContactNotOwn(DomainError):
    """The shared contact has no ``user_id`` or belongs to someone other than the sender."""

    code = "contact_not_own"


class ContactRequired(DomainError):
    """The user must share their own contact before typing a national ID."""

    code = "contact_required"


class IdentityMismatch(DomainError):
    """The registry does not hold the user's mobile for that national ID.

    The official instruction (DOMAIN.md): register the mobile at a branch (شعبه).
    ``attempts_left`` counts down to the lock.
    """

    code = "identity_mismatch"
    # What to do (DOMAIN.md, the seed): register the mobile at a branch.
    next_step: ClassVar[str] = "register_mobile_at_branch"

    def __init__(self, attempts_left: int) -> None:
        super().__init__(f"attempts left: {attempts_left}")
        self.attempts_left = attempts_left


class MobileNotRegistered(IdentityMismatch):
    """The shared mobile is registered for nobody; same remedy as a mismatch (the branch)."""

    code = "mobile_not_registered"


class VerificationLocked(DomainError):
    """Too many failed attempts: verification is refused until ``until`` (aware, Tehran)."""

    code = "verification_locked"

    def __init__(self, until: dt.datetime) -> None:
        super().__init__(f"locked until {until.isoformat()}")
        self.until = until


class NotVerified(DomainError):
    """The operation needs a verified national ID and the user has none."""

    code = "not_verified"


class PersonNotFound(DomainError):
    """The registry has no such person (for a verified user: the upstream changed)."""

    code = "person_not_found"


# --- eligibility and dependants --------------------------------------------------------------


class NoSuchDependant(DomainError):
    """The user asked about a relation (e.g. «پسرم») that has no dependant on record."""

    code = "no_such_dependant"

    def __init__(self, relation: str) -> None:
        super().__init__(relation)
        self.relation = relation


class DependantNotEligible(DomainError):
    """The rules refuse this dependant; ``reasons`` are :class:`services.dependants.Reason` codes."""

    code = "dependant_not_eligible"

    def __init__(self, reasons: Sequence[str]) -> None:
        super().__init__(", ".join(reasons))
        self.reasons = tuple(reasons)


class AlreadyDependant(DomainError):
    """The person is already a dependant of this insured."""

    code = "already_dependant"


class DuplicateDependantRequest(DomainError):
    """An application for the same person is already under review; ``tracking_code`` is its code."""

    code = "duplicate_dependant_request"

    def __init__(self, tracking_code: str) -> None:
        super().__init__(tracking_code)
        self.tracking_code = tracking_code


class DependantRequestNotFound(DomainError):
    """No dependant request with this tracking code."""

    code = "dependant_request_not_found"

    def __init__(self, tracking_code: str) -> None:
        super().__init__(tracking_code)
        self.tracking_code = tracking_code


class DependantRequestDecided(DomainError):
    """The request was decided already (approved or rejected): it cannot be decided again."""

    code = "dependant_request_decided"

    def __init__(self, current: str) -> None:
        super().__init__(current)
        self.current = current


class InvalidDecision(DomainError):
    """A decision without what it needs (names on approval, a reason on rejection)."""

    code = "invalid_decision"

    def __init__(self, problem: str) -> None:
        super().__init__(problem)
        self.problem = problem


class InvalidDependant(DomainError):
    """The application cannot be right: ``problem`` is ``self``, ``future_birth_date`` or
    ``relation_gender`` (a wife for a female insured, a husband for a male one)."""

    code = "invalid_dependant"

    def __init__(self, problem: str) -> None:
        super().__init__(problem)
        self.problem = problem


# --- contributions, pension, voluntary -------------------------------------------------------


class PensionerRecordsUnavailable(DomainError):
    """Pensioners cannot view contribution records (seed «خدمات غیرحضوری»).

    ``can_see`` / ``cannot_see`` are :class:`services.contributions.PensionerView` codes.
    """

    code = "pensioner_records_unavailable"

    def __init__(self, can_see: Sequence[str], cannot_see: Sequence[str]) -> None:
        super().__init__("pensioner")
        self.can_see = tuple(can_see)
        self.cannot_see = tuple(cannot_see)


class NoContributions(DomainError):
    """The person has no month of record."""

    code = "no_contributions"


class NotPensioner(DomainError):
    """Pension slips were asked for by someone who is not a pensioner."""

    code = "not_pensioner"


class NoPensionSlips(DomainError):
    """A pensioner with no payslip on record yet."""

    code = "no_pension_slips"


class NoVoluntaryContract(DomainError):
    """The person has no voluntary-insurance contract."""

    code = "no_voluntary_contract"


class WageBaseOutOfRange(DomainError):
    """The wage base is outside the bounds of ``config.yml`` (Rial a month)."""

    code = "wage_base_out_of_range"

    def __init__(self, given: int, minimum: int, maximum: int) -> None:
        super().__init__(f"{given} not in [{minimum}, {maximum}]")
        self.given = given
        self.minimum = minimum
        self.maximum = maximum


# --- tickets ---------------------------------------------------------------------------------


class TicketNotFound(DomainError):
    """No ticket with that code belongs to the asking user (the same answer either way)."""

    code = "ticket_not_found"

    def __init__(self, tracking_code: str) -> None:
        super().__init__(tracking_code)
        self.tracking_code = tracking_code


class InvalidTicketText(DomainError):
    """The ticket text is ``empty`` or ``too_long`` (``limit`` characters)."""

    code = "invalid_ticket_text"

    def __init__(self, problem: str, limit: int) -> None:
        super().__init__(problem)
        self.problem = problem
        self.limit = limit


class TooManyAttachments(DomainError):
    """More files than a ticket may carry."""

    code = "too_many_attachments"

    def __init__(self, limit: int) -> None:
        super().__init__(str(limit))
        self.limit = limit


class InvalidTicketTransition(DomainError):
    """The lifecycle does not allow going from ``current`` to ``requested``."""

    code = "invalid_ticket_transition"

    def __init__(self, current: str, requested: str) -> None:
        super().__init__(f"{current} -> {requested}")
        self.current = current
        self.requested = requested


# --- the human handoff and the agent console -------------------------------------------------


class ConversationNotFound(DomainError):
    code: ClassVar[str] = "conversation_not_found"


class NotAllowed(DomainError):
    """The agent may not see or do this (another agent's chat, a supervisor's task)."""

    code: ClassVar[str] = "not_allowed"


class InvalidConversationState(DomainError):
    """The action does not fit the conversation's state (take an open chat, reply to a
    queued one…); ``current`` is the state it is in."""

    code: ClassVar[str] = "invalid_conversation_state"

    def __init__(self, current: str) -> None:
        super().__init__(current)
        self.current = current


class InvalidText(DomainError):
    """``problem`` is ``empty`` or ``too_long`` (``limit`` characters)."""

    code: ClassVar[str] = "invalid_text"

    def __init__(self, problem: str, limit: int) -> None:
        super().__init__(problem)
        self.problem = problem
        self.limit = limit


class InvalidLabel(DomainError):
    code: ClassVar[str] = "invalid_label"


class InvalidCannedReply(DomainError):
    """``problem`` is ``short_code``, ``title``, ``text`` or ``duplicate``."""

    code: ClassVar[str] = "invalid_canned_reply"

    def __init__(self, problem: str) -> None:
        super().__init__(problem)
        self.problem = problem


class NoChatForTicket(DomainError):
    """The ticket's owner has no messenger chat we can write to."""

    code: ClassVar[str] = "no_chat_for_ticket"


# --- knowledge base (issue 16) ---------------------------------------------------------------


class KnowledgeEntryNotFound(DomainError):
    """No entry has this id (in the folder or among the console's edits)."""

    code: ClassVar[str] = "kb_entry_not_found"


class KnowledgeEntryInvalid(DomainError):
    """An edit does not validate; ``fields`` names each offending field (dotted paths)."""

    code: ClassVar[str] = "kb_entry_invalid"

    def __init__(self, fields: Sequence[str]) -> None:
        super().__init__(", ".join(fields))
        self.fields = tuple(fields)
