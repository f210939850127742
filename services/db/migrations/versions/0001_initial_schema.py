"""Initial schema: the demo registry and the assistant's own tables.

Revision ID: 0001
Revises:
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from services.db.base import UtcDateTime

revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("subject", sa.String(length=64), nullable=True),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log")),
    )
    op.create_index(op.f("ix_audit_log_created_at"), "audit_log", ["created_at"], unique=False)
    op.create_table(
        "chat_users",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("platform", sa.String(length=16), nullable=False),
        sa.Column("platform_user_id", sa.BigInteger(), nullable=False),
        sa.Column("first_name", sa.String(length=64), nullable=True),
        sa.Column("mobile", sa.String(length=11), nullable=True),
        sa.Column("national_id", sa.String(length=10), nullable=True),
        sa.Column("verified_at", UtcDateTime(), nullable=True),
        sa.Column("locked_until", UtcDateTime(), nullable=True),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_chat_users")),
        sa.UniqueConstraint(
            "platform", "platform_user_id", name=op.f("uq_chat_users_platform_platform_user_id")
        ),
    )
    op.create_index(op.f("ix_chat_users_national_id"), "chat_users", ["national_id"], unique=False)
    op.create_table(
        "outbox",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("platform", sa.String(length=16), nullable=False),
        sa.Column("chat_id", sa.BigInteger(), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("sent_at", UtcDateTime(), nullable=True),
        sa.CheckConstraint(
            "status IN ('pending', 'sent', 'failed')", name=op.f("ck_outbox_status")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox")),
    )
    op.create_index(op.f("ix_outbox_status_id"), "outbox", ["status", "id"], unique=False)
    op.create_table(
        "people",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("national_id", sa.String(length=10), nullable=False),
        sa.Column("first_name", sa.String(length=64), nullable=False),
        sa.Column("last_name", sa.String(length=64), nullable=False),
        sa.Column("father_name", sa.String(length=64), nullable=False),
        sa.Column("birth_date", sa.Date(), nullable=False),
        sa.Column("gender", sa.String(length=6), nullable=False),
        sa.Column("mobile", sa.String(length=11), nullable=True),
        sa.Column("insurance_relation", sa.String(length=16), nullable=False),
        sa.Column("insured_since", sa.Date(), nullable=True),
        sa.Column("coverage_until", sa.Date(), nullable=True),
        sa.CheckConstraint("gender IN ('male', 'female')", name=op.f("ck_people_gender")),
        sa.CheckConstraint(
            "insurance_relation IN ('mandatory', 'voluntary', 'self_employed', 'pensioner', 'unemployment')",
            name=op.f("ck_people_insurance_relation"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_people")),
        sa.UniqueConstraint("national_id", name=op.f("uq_people_national_id")),
    )
    op.create_index(op.f("ix_people_mobile"), "people", ["mobile"], unique=False)
    op.create_table(
        "workshops",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("branch_code", sa.String(length=8), nullable=False),
        sa.Column("branch_name", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_workshops")),
        sa.UniqueConstraint("code", name=op.f("uq_workshops_code")),
    )
    op.create_table(
        "contribution_months",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("year", sa.SmallInteger(), nullable=False),
        sa.Column("month", sa.SmallInteger(), nullable=False),
        sa.Column("workshop_id", sa.Integer(), nullable=True),
        sa.Column("days", sa.SmallInteger(), nullable=False),
        sa.Column("wage", sa.BigInteger(), nullable=False),
        sa.CheckConstraint("days BETWEEN 0 AND 31", name=op.f("ck_contribution_months_days")),
        sa.CheckConstraint("month BETWEEN 1 AND 12", name=op.f("ck_contribution_months_month")),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["people.id"],
            name=op.f("fk_contribution_months_person_id_people"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["workshop_id"],
            ["workshops.id"],
            name=op.f("fk_contribution_months_workshop_id_workshops"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contribution_months")),
    )
    op.create_index(
        op.f("ix_contribution_months_person_id_year_month"),
        "contribution_months",
        ["person_id", "year", "month"],
        unique=False,
    )
    op.create_table(
        "dependant_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tracking_code", sa.String(length=16), nullable=False),
        sa.Column("chat_user_id", sa.Integer(), nullable=False),
        sa.Column("insured_national_id", sa.String(length=10), nullable=False),
        sa.Column("relation", sa.String(length=8), nullable=False),
        sa.Column("dependant_national_id", sa.String(length=10), nullable=False),
        sa.Column("birth_date", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=24), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["chat_user_id"],
            ["chat_users.id"],
            name=op.f("fk_dependant_requests_chat_user_id_chat_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dependant_requests")),
        sa.UniqueConstraint("tracking_code", name=op.f("uq_dependant_requests_tracking_code")),
    )
    op.create_index(
        op.f("ix_dependant_requests_chat_user_id"),
        "dependant_requests",
        ["chat_user_id"],
        unique=False,
    )
    op.create_table(
        "dependants",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("insured_id", sa.Integer(), nullable=False),
        sa.Column("national_id", sa.String(length=10), nullable=False),
        sa.Column("first_name", sa.String(length=64), nullable=False),
        sa.Column("last_name", sa.String(length=64), nullable=False),
        sa.Column("relation", sa.String(length=8), nullable=False),
        sa.Column("birth_date", sa.Date(), nullable=False),
        sa.Column("gender", sa.String(length=6), nullable=False),
        sa.Column("has_university_certificate", sa.Boolean(), nullable=False),
        sa.Column("has_original_birth_certificate", sa.Boolean(), nullable=False),
        sa.Column("disabled", sa.Boolean(), nullable=False),
        sa.Column("married", sa.Boolean(), nullable=False),
        sa.Column("employed", sa.Boolean(), nullable=False),
        sa.Column("has_own_pension", sa.Boolean(), nullable=False),
        sa.Column("coverage_until", sa.Date(), nullable=True),
        sa.CheckConstraint("gender IN ('male', 'female')", name=op.f("ck_dependants_gender")),
        sa.CheckConstraint(
            "relation IN ('wife', 'husband', 'son', 'daughter', 'father', 'mother')",
            name=op.f("ck_dependants_relation"),
        ),
        sa.ForeignKeyConstraint(
            ["insured_id"],
            ["people.id"],
            name=op.f("fk_dependants_insured_id_people"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dependants")),
        sa.UniqueConstraint(
            "insured_id", "national_id", name=op.f("uq_dependants_insured_id_national_id")
        ),
    )
    op.create_index(op.f("ix_dependants_national_id"), "dependants", ["national_id"], unique=False)
    op.create_table(
        "eligibility_inquiries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tracking_code", sa.String(length=16), nullable=False),
        sa.Column("chat_user_id", sa.Integer(), nullable=True),
        sa.Column("national_id", sa.String(length=10), nullable=False),
        sa.Column("relation_filter", sa.String(length=8), nullable=True),
        sa.Column("covered", sa.Boolean(), nullable=False),
        sa.Column("result", sa.JSON(), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["chat_user_id"],
            ["chat_users.id"],
            name=op.f("fk_eligibility_inquiries_chat_user_id_chat_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_eligibility_inquiries")),
        sa.UniqueConstraint("tracking_code", name=op.f("uq_eligibility_inquiries_tracking_code")),
    )
    op.create_index(
        op.f("ix_eligibility_inquiries_chat_user_id"),
        "eligibility_inquiries",
        ["chat_user_id"],
        unique=False,
    )
    op.create_table(
        "pension_slips",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("year", sa.SmallInteger(), nullable=False),
        sa.Column("month", sa.SmallInteger(), nullable=False),
        sa.Column("gross", sa.BigInteger(), nullable=False),
        sa.Column("deductions", sa.BigInteger(), nullable=False),
        sa.Column("net", sa.BigInteger(), nullable=False),
        sa.Column("paid_on", sa.Date(), nullable=False),
        sa.CheckConstraint("month BETWEEN 1 AND 12", name=op.f("ck_pension_slips_month")),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["people.id"],
            name=op.f("fk_pension_slips_person_id_people"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pension_slips")),
        sa.UniqueConstraint(
            "person_id", "year", "month", name=op.f("uq_pension_slips_person_id_year_month")
        ),
    )
    op.create_table(
        "tickets",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tracking_code", sa.String(length=16), nullable=False),
        sa.Column("chat_user_id", sa.Integer(), nullable=False),
        sa.Column("national_id", sa.String(length=10), nullable=True),
        sa.Column("category", sa.String(length=16), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("due_date", sa.Date(), nullable=False),
        sa.Column("answer", sa.Text(), nullable=True),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.Column("closed_at", UtcDateTime(), nullable=True),
        sa.CheckConstraint(
            "category IN ('insurance', 'medical', 'other')", name=op.f("ck_tickets_category")
        ),
        sa.CheckConstraint(
            "status IN ('open', 'in_progress', 'answered', 'closed')",
            name=op.f("ck_tickets_status"),
        ),
        sa.ForeignKeyConstraint(
            ["chat_user_id"],
            ["chat_users.id"],
            name=op.f("fk_tickets_chat_user_id_chat_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tickets")),
        sa.UniqueConstraint("tracking_code", name=op.f("uq_tickets_tracking_code")),
    )
    op.create_index(
        op.f("ix_tickets_chat_user_id_created_at"),
        "tickets",
        ["chat_user_id", "created_at"],
        unique=False,
    )
    op.create_index(
        op.f("ix_tickets_status_due_date"), "tickets", ["status", "due_date"], unique=False
    )
    op.create_table(
        "verification_attempts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("chat_user_id", sa.Integer(), nullable=False),
        sa.Column("national_id_masked", sa.String(length=16), nullable=False),
        sa.Column("success", sa.Boolean(), nullable=False),
        sa.Column("reason", sa.String(length=32), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["chat_user_id"],
            ["chat_users.id"],
            name=op.f("fk_verification_attempts_chat_user_id_chat_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_verification_attempts")),
    )
    op.create_index(
        op.f("ix_verification_attempts_chat_user_id_created_at"),
        "verification_attempts",
        ["chat_user_id", "created_at"],
        unique=False,
    )
    op.create_table(
        "voluntary_contracts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("contract_number", sa.String(length=20), nullable=False),
        sa.Column("contract_date", sa.Date(), nullable=False),
        sa.Column("wage_base", sa.BigInteger(), nullable=False),
        sa.Column("rate_percent", sa.Numeric(precision=5, scale=2), nullable=False),
        sa.Column("paid_through", sa.Date(), nullable=True),
        sa.Column("medical_exam_exempt", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["people.id"],
            name=op.f("fk_voluntary_contracts_person_id_people"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_voluntary_contracts")),
        sa.UniqueConstraint(
            "contract_number", name=op.f("uq_voluntary_contracts_contract_number")
        ),
    )
    op.create_index(
        op.f("ix_voluntary_contracts_person_id"),
        "voluntary_contracts",
        ["person_id"],
        unique=False,
    )
    op.create_table(
        "ticket_attachments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("platform", sa.String(length=16), nullable=False),
        sa.Column("file_id", sa.String(length=256), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("file_name", sa.String(length=256), nullable=True),
        sa.Column("mime_type", sa.String(length=128), nullable=True),
        sa.ForeignKeyConstraint(
            ["ticket_id"],
            ["tickets.id"],
            name=op.f("fk_ticket_attachments_ticket_id_tickets"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ticket_attachments")),
    )
    op.create_index(
        op.f("ix_ticket_attachments_ticket_id"), "ticket_attachments", ["ticket_id"], unique=False
    )
    op.create_table(
        "ticket_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("from_status", sa.String(length=16), nullable=True),
        sa.Column("to_status", sa.String(length=16), nullable=True),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["ticket_id"],
            ["tickets.id"],
            name=op.f("fk_ticket_events_ticket_id_tickets"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ticket_events")),
    )
    op.create_index(
        op.f("ix_ticket_events_ticket_id"), "ticket_events", ["ticket_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_ticket_events_ticket_id"), table_name="ticket_events")
    op.drop_table("ticket_events")
    op.drop_index(op.f("ix_ticket_attachments_ticket_id"), table_name="ticket_attachments")
    op.drop_table("ticket_attachments")
    op.drop_index(op.f("ix_voluntary_contracts_person_id"), table_name="voluntary_contracts")
    op.drop_table("voluntary_contracts")
    op.drop_index(
        op.f("ix_verification_attempts_chat_user_id_created_at"),
        table_name="verification_attempts",
    )
    op.drop_table("verification_attempts")
    op.drop_index(op.f("ix_tickets_status_due_date"), table_name="tickets")
    op.drop_index(op.f("ix_tickets_chat_user_id_created_at"), table_name="tickets")
    op.drop_table("tickets")
    op.drop_table("pension_slips")
    op.drop_index(
        op.f("ix_eligibility_inquiries_chat_user_id"), table_name="eligibility_inquiries"
    )
    op.drop_table("eligibility_inquiries")
    op.drop_index(op.f("ix_dependants_national_id"), table_name="dependants")
    op.drop_table("dependants")
    op.drop_index(op.f("ix_dependant_requests_chat_user_id"), table_name="dependant_requests")
    op.drop_table("dependant_requests")
    op.drop_index(
        op.f("ix_contribution_months_person_id_year_month"), table_name="contribution_months"
    )
    op.drop_table("contribution_months")
    op.drop_table("workshops")
    op.drop_index(op.f("ix_people_mobile"), table_name="people")
    op.drop_table("people")
    op.drop_index(op.f("ix_outbox_status_id"), table_name="outbox")
    op.drop_table("outbox")
    op.drop_index(op.f("ix_chat_users_national_id"), table_name="chat_users")
    op.drop_table("chat_users")
    op.drop_index(op.f("ix_audit_log_created_at"), table_name="audit_log")
    op.drop_table("audit_log")
