"""The tables: the demo registry (what Tamin's back end knows) and the assistant's own.

Registry tables stand in for Tamin's upstream services and are read only through
:class:`services.registry.SqlRegistryGateway`; nothing of the assistant points into them with a
foreign key, so a real upstream can replace them. National IDs and mobiles are strings (leading
zeros matter), money is an integer number of Rial, Jalali years and months are stored as the
integers Tamin's statements use, and moments are aware UTC datetimes (:class:`UtcDateTime`).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    SmallInteger,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from services.db.base import Base, CleanString, CleanText, UtcDateTime

NATIONAL_ID = String(10)
MOBILE = String(11)
NAME = String(64)
CODE = String(32)
MONEY = BigInteger()

# ---------------------------------------------------------------------------------------------
# Registry
# ---------------------------------------------------------------------------------------------


class Workshop(Base):
    """A workshop (کارگاه) registered with a branch (شعبه)."""

    __tablename__ = "workshops"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(16), unique=True)
    name: Mapped[str] = mapped_column(String(128))
    branch_code: Mapped[str] = mapped_column(String(8))
    branch_name: Mapped[str] = mapped_column(NAME)


class Person(Base):
    """A main insured or pensioner, with the mobile registered on the e-services portal."""

    __tablename__ = "people"
    __table_args__ = (
        CheckConstraint("gender IN ('male', 'female')", name="gender"),
        CheckConstraint(
            "insurance_relation IN "
            "('mandatory', 'voluntary', 'self_employed', 'pensioner', 'unemployment')",
            name="insurance_relation",
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    national_id: Mapped[str] = mapped_column(NATIONAL_ID, unique=True)
    first_name: Mapped[str] = mapped_column(NAME)
    last_name: Mapped[str] = mapped_column(NAME)
    father_name: Mapped[str] = mapped_column(NAME)
    birth_date: Mapped[dt.date] = mapped_column(Date)
    gender: Mapped[str] = mapped_column(String(6))
    mobile: Mapped[str | None] = mapped_column(MOBILE, index=True)
    insurance_relation: Mapped[str] = mapped_column(String(16))
    insured_since: Mapped[dt.date | None] = mapped_column(Date)
    # Tamin's eligibility service answers with one coverage-until date per person; covered ⇔
    # coverage_until ≥ today (DOMAIN.md § Treatment eligibility).
    coverage_until: Mapped[dt.date | None] = mapped_column(Date)

    dependants: Mapped[list[Dependant]] = relationship(
        back_populates="insured", cascade="all, delete-orphan", passive_deletes=True
    )


class Dependant(Base):
    """A person covered through a main insured (فرد تحت تکفل), with the facts the rules need."""

    __tablename__ = "dependants"
    __table_args__ = (
        UniqueConstraint("insured_id", "national_id"),
        CheckConstraint(
            "relation IN ('wife', 'husband', 'son', 'daughter', 'father', 'mother')",
            name="relation",
        ),
        CheckConstraint("gender IN ('male', 'female')", name="gender"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    insured_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"))
    national_id: Mapped[str] = mapped_column(NATIONAL_ID, index=True)
    first_name: Mapped[str] = mapped_column(NAME)
    last_name: Mapped[str] = mapped_column(NAME)
    relation: Mapped[str] = mapped_column(String(8))
    birth_date: Mapped[dt.date] = mapped_column(Date)
    gender: Mapped[str] = mapped_column(String(6))
    has_university_certificate: Mapped[bool] = mapped_column(Boolean, default=False)
    has_original_birth_certificate: Mapped[bool] = mapped_column(Boolean, default=True)
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    married: Mapped[bool] = mapped_column(Boolean, default=False)
    employed: Mapped[bool] = mapped_column(Boolean, default=False)
    has_own_pension: Mapped[bool] = mapped_column(Boolean, default=False)
    coverage_until: Mapped[dt.date | None] = mapped_column(Date)

    insured: Mapped[Person] = relationship(back_populates="dependants")


class ContributionMonth(Base):
    """One paid month of record (سابقه): Jalali year and month, workshop, days, wage."""

    __tablename__ = "contribution_months"
    __table_args__ = (
        # The last-record and total lookups read one person's rows newest first.
        Index(None, "person_id", "year", "month"),
        CheckConstraint("month BETWEEN 1 AND 12", name="month"),
        CheckConstraint("days BETWEEN 0 AND 31", name="days"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"))
    year: Mapped[int] = mapped_column(SmallInteger)
    month: Mapped[int] = mapped_column(SmallInteger)
    # None for voluntary and self-employed contributions, which have no workshop.
    workshop_id: Mapped[int | None] = mapped_column(ForeignKey("workshops.id"))
    days: Mapped[int] = mapped_column(SmallInteger)
    wage: Mapped[int] = mapped_column(MONEY)


class PensionSlip(Base):
    """A monthly pension payslip (فیش مستمری)."""

    __tablename__ = "pension_slips"
    __table_args__ = (
        UniqueConstraint("person_id", "year", "month"),
        CheckConstraint("month BETWEEN 1 AND 12", name="month"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"))
    year: Mapped[int] = mapped_column(SmallInteger)
    month: Mapped[int] = mapped_column(SmallInteger)
    gross: Mapped[int] = mapped_column(MONEY)
    deductions: Mapped[int] = mapped_column(MONEY)
    net: Mapped[int] = mapped_column(MONEY)
    paid_on: Mapped[dt.date] = mapped_column(Date)


class VoluntaryContract(Base):
    """A voluntary-insurance contract (قرارداد بیمه اختیاری)."""

    __tablename__ = "voluntary_contracts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), index=True)
    contract_number: Mapped[str] = mapped_column(String(20), unique=True)
    contract_date: Mapped[dt.date] = mapped_column(Date)
    wage_base: Mapped[int] = mapped_column(MONEY)
    rate_percent: Mapped[Decimal] = mapped_column(Numeric(5, 2))
    # The last day of the last paid Jalali month; None before the first payment.
    paid_through: Mapped[dt.date | None] = mapped_column(Date)
    medical_exam_exempt: Mapped[bool] = mapped_column(Boolean, default=True)


# ---------------------------------------------------------------------------------------------
# Assistant
# ---------------------------------------------------------------------------------------------


class ChatUser(Base):
    """A messenger account: ``(platform, platform_user_id)``, since Telegram and Bale ids collide."""

    __tablename__ = "chat_users"
    __table_args__ = (UniqueConstraint("platform", "platform_user_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    platform: Mapped[str] = mapped_column(String(16))
    platform_user_id: Mapped[int] = mapped_column(BigInteger)
    first_name: Mapped[str | None] = mapped_column(NAME)
    # The mobile of the user's own shared contact, normalised to 09xxxxxxxxx.
    mobile: Mapped[str | None] = mapped_column(MOBILE)
    # Set only once the registry held ``mobile`` for this national ID.
    national_id: Mapped[str | None] = mapped_column(NATIONAL_ID, index=True)
    verified_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    locked_until: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)


class VerificationAttempt(Base):
    """One try at proving a national ID; failures in a window lead to a lock."""

    __tablename__ = "verification_attempts"
    __table_args__ = (Index(None, "chat_user_id", "created_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    chat_user_id: Mapped[int] = mapped_column(ForeignKey("chat_users.id", ondelete="CASCADE"))
    # Masked: the attempt log must not become a list of national IDs someone tried.
    national_id_masked: Mapped[str] = mapped_column(String(16))
    success: Mapped[bool] = mapped_column(Boolean)
    reason: Mapped[str] = mapped_column(CODE)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)


class EligibilityInquiry(Base):
    """A treatment-eligibility inquiry and its answer, found again by its tracking code."""

    __tablename__ = "eligibility_inquiries"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tracking_code: Mapped[str] = mapped_column(String(16), unique=True)
    chat_user_id: Mapped[int | None] = mapped_column(
        ForeignKey("chat_users.id", ondelete="SET NULL"), index=True
    )
    national_id: Mapped[str] = mapped_column(NATIONAL_ID)
    relation_filter: Mapped[str | None] = mapped_column(String(8))
    covered: Mapped[bool] = mapped_column(Boolean)
    result: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)


class DependantRequest(Base):
    """An application to add a dependant, reviewed by the branch."""

    __tablename__ = "dependant_requests"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tracking_code: Mapped[str] = mapped_column(String(16), unique=True)
    chat_user_id: Mapped[int] = mapped_column(
        ForeignKey("chat_users.id", ondelete="CASCADE"), index=True
    )
    insured_national_id: Mapped[str] = mapped_column(NATIONAL_ID)
    relation: Mapped[str] = mapped_column(String(8))
    dependant_national_id: Mapped[str] = mapped_column(NATIONAL_ID)
    birth_date: Mapped[dt.date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(24))
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    # The desk's decision (console): who took the request, who decided, when and why not.
    assigned_agent_id: Mapped[int | None] = mapped_column(Integer)
    decided_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    decided_by: Mapped[str | None] = mapped_column(String(64))
    reject_reason: Mapped[str | None] = mapped_column(String(24))
    decision_note: Mapped[str | None] = mapped_column(CleanText)

    documents: Mapped[list[DependantRequestDocument]] = relationship(
        back_populates="request",
        cascade="all, delete-orphan",
        passive_deletes=True,
        order_by="DependantRequestDocument.id",
        lazy="selectin",
    )


class DependantRequestDocument(Base):
    """A document the user sent with a dependant request, kept as the messenger's reference."""

    __tablename__ = "dependant_request_documents"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    request_id: Mapped[int] = mapped_column(
        ForeignKey("dependant_requests.id", ondelete="CASCADE"), index=True
    )
    platform: Mapped[str] = mapped_column(String(16))
    file_id: Mapped[str] = mapped_column(String(256))
    kind: Mapped[str] = mapped_column(String(16))
    file_name: Mapped[str | None] = mapped_column(CleanString(256))
    mime_type: Mapped[str | None] = mapped_column(String(128))
    # Bytes, as the messenger reported them (None when it did not say).
    file_size: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)

    request: Mapped[DependantRequest] = relationship(back_populates="documents")


class Ticket(Base):
    """A 1420 request or complaint with its answer target (SLA)."""

    __tablename__ = "tickets"
    __table_args__ = (
        Index(None, "chat_user_id", "created_at"),
        # The agents' queue: open work by due date.
        Index(None, "status", "due_date"),
        CheckConstraint("category IN ('insurance', 'medical', 'other')", name="category"),
        CheckConstraint("status IN ('open', 'in_progress', 'answered', 'closed')", name="status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tracking_code: Mapped[str] = mapped_column(String(16), unique=True)
    chat_user_id: Mapped[int] = mapped_column(ForeignKey("chat_users.id", ondelete="CASCADE"))
    national_id: Mapped[str | None] = mapped_column(NATIONAL_ID)
    category: Mapped[str] = mapped_column(String(16))
    text: Mapped[str] = mapped_column(CleanText)
    status: Mapped[str] = mapped_column(String(16))
    due_date: Mapped[dt.date] = mapped_column(Date)
    answer: Mapped[str | None] = mapped_column(CleanText)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    closed_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)

    attachments: Mapped[list[TicketAttachment]] = relationship(
        back_populates="ticket",
        cascade="all, delete-orphan",
        passive_deletes=True,
        order_by="TicketAttachment.id",
    )
    events: Mapped[list[TicketEvent]] = relationship(
        back_populates="ticket",
        cascade="all, delete-orphan",
        passive_deletes=True,
        order_by="TicketEvent.id",
    )


class TicketAttachment(Base):
    """A file the user sent with a ticket, kept as the messenger's file reference."""

    __tablename__ = "ticket_attachments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(
        ForeignKey("tickets.id", ondelete="CASCADE"), index=True
    )
    platform: Mapped[str] = mapped_column(String(16))
    file_id: Mapped[str] = mapped_column(String(256))
    kind: Mapped[str] = mapped_column(String(16))
    file_name: Mapped[str | None] = mapped_column(CleanString(256))
    mime_type: Mapped[str | None] = mapped_column(String(128))

    ticket: Mapped[Ticket] = relationship(back_populates="attachments")


class TicketEvent(Base):
    """One step of a ticket's life: creation, a status change, an answer, a note."""

    __tablename__ = "ticket_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(
        ForeignKey("tickets.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(16))
    from_status: Mapped[str | None] = mapped_column(String(16))
    to_status: Mapped[str | None] = mapped_column(String(16))
    actor: Mapped[str] = mapped_column(String(64))
    note: Mapped[str | None] = mapped_column(CleanText)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)

    ticket: Mapped[Ticket] = relationship(back_populates="events")


class AuditLog(Base):
    """Who did what to whom, for operations; subjects and details hold masked identifiers only."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, index=True)
    actor: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(64))
    subject: Mapped[str | None] = mapped_column(String(64))
    details: Mapped[dict[str, Any]] = mapped_column(JSON)


class Outbox(Base):
    """A message waiting for the one outbound sender (agent replies, notices)."""

    __tablename__ = "outbox"
    __table_args__ = (
        Index(None, "status", "id"),
        CheckConstraint("status IN ('pending', 'sent', 'failed')", name="status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    platform: Mapped[str] = mapped_column(String(16))
    chat_id: Mapped[int] = mapped_column(BigInteger)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(CleanText)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    sent_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)


# The registry's tables (the demo stand-in for Tamin's back end), parents first.
REGISTRY_TABLES: tuple[str, ...] = (
    Workshop.__tablename__,
    Person.__tablename__,
    Dependant.__tablename__,
    ContributionMonth.__tablename__,
    PensionSlip.__tablename__,
    VoluntaryContract.__tablename__,
)
