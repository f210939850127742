"""Documents kept against a dependant request (issue 18): size and type as sent, the count."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from demo import HASAN_NID, PERSONA_MOBILES
from services.clock import FixedClock
from services.db.models import DependantRequestDocument
from services.dependants import DependantsService
from services.enums import Relation
from services.errors import DependantRequestNotFound
from services.settings import Settings
from tests.services.helpers import make_national_id, verified_user


async def test_documents_keep_their_size_and_are_counted(
    demo_db: AsyncEngine, session: AsyncSession, db_settings: Settings, clock: FixedClock
) -> None:
    user = await verified_user(session, db_settings, clock, HASAN_NID, PERSONA_MOBILES[HASAN_NID])
    deps = DependantsService(session, db_settings, clock)
    app = await deps.record_application(
        user.id, Relation.SON, make_national_id(611), clock.today() - dt.timedelta(days=40)
    )
    assert await deps.document_count(app.tracking_code) == 0
    await deps.add_document(
        app.tracking_code, platform="bale", file_id="p-1", kind="photo", file_size=120_000
    )
    # The code as a person types it (Persian digits) finds the same request.
    typed = app.tracking_code.translate(str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹"))
    await deps.add_document(
        typed,
        platform="bale",
        file_id="d-1",
        kind="document",
        file_name="کارت ملی.pdf",
        mime_type="application/pdf",
    )
    await session.commit()
    assert await deps.document_count(app.tracking_code) == 2
    rows = list(
        await session.scalars(
            select(DependantRequestDocument).order_by(DependantRequestDocument.id)
        )
    )
    assert [(r.file_id, r.kind, r.mime_type, r.file_size) for r in rows] == [
        ("p-1", "photo", None, 120_000),
        ("d-1", "document", "application/pdf", None),
    ]
    with pytest.raises(DependantRequestNotFound):
        await deps.document_count("0000000000")
