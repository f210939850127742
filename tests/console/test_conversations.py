"""Every state change and permission of a conversation, through the console's HTTP API."""

from __future__ import annotations

import re

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.agents import AgentRole
from services.clock import FixedClock
from services.db.models import AuditLog, Outbox
from services.enums import TicketCategory
from services.identity import ChatUserInfo
from services.settings import Settings
from services.tickets import TicketService
from tests.console.conftest import AgentFactory, ConsoleFactory
from tests.handoff.conftest import Handoff


async def outbox_kinds(session: AsyncSession) -> list[str]:
    return [p["kind"] for p in await session.scalars(select(Outbox.payload).order_by(Outbox.id))]


async def test_queue_take_reply_poll_resolve(
    console_factory: ConsoleFactory,
    queued: int,
    session: AsyncSession,
    db_settings: Settings,
    clock: FixedClock,
) -> None:
    sara = await console_factory("sara")
    queue = await sara.get("/queue")
    assert f'href="/conversations/{queued}"' in queue.text and "مریم رضایی" in queue.text
    assert "۶۵۰*****۲۶" in queue.text and "6508124226" not in queue.text
    rows = await sara.get("/queue/rows")
    assert f'data-id="{queued}"' in rows.text

    taken = await sara.post(f"/conversations/{queued}/take")
    assert taken.status_code == 303 and taken.headers["location"] == f"/conversations/{queued}"
    page = await sara.get(f"/conversations/{queued}")
    assert page.status_code == 200
    assert "گفتگو به شما سپرده شد" in page.text and 'id="reply-text"' in page.text
    assert "کسی در صف نیست" in (await sara.get("/queue/rows")).text
    mine = await sara.get("/mine")
    assert mine.status_code == 200 and f'href="/conversations/{queued}"' in mine.text

    reply = await sara.post(f"/conversations/{queued}/reply", {"text": "سلام <b>مریم</b> خانم"})
    assert reply.status_code == 303
    page = await sara.get(f"/conversations/{queued}")
    # What agents type is shown as text, never as markup.
    assert "سلام &lt;b&gt;مریم&lt;/b&gt; خانم" in page.text
    last_id = int(re.search(r'data-last-id="(\d+)"', page.text).group(1))  # type: ignore[union-attr]

    # The user writes while the agent's page is open: the poll brings it.
    await Handoff(session, db_settings, clock).escalation.record_user_message(
        queued, text="پسرم ۲۰ ساله است"
    )
    await session.commit()
    poll = await sara.get(f"/conversations/{queued}/poll?after={last_id}")
    assert poll.status_code == 200
    data = poll.json()
    assert data["status"] == "open"
    assert len(data["messages"]) == 1 and "پسرم ۲۰ ساله است" in data["messages"][0]["html"]
    assert (
        await sara.get(f"/conversations/{queued}/poll?after={data['messages'][0]['id']}")
    ).json()["messages"] == []

    resolved = await sara.post(f"/conversations/{queued}/resolve")
    assert resolved.status_code == 303
    assert await outbox_kinds(session) == [
        "handoff_taken",
        "agent_reply",
        "handoff_resolved",
        "satisfaction_question",
    ]
    page = await sara.get(f"/conversations/{queued}")
    assert "بسته‌شده" in page.text and 'id="reply-text"' not in page.text
    history = await sara.get("/mine")
    assert history.text.count(f'href="/conversations/{queued}"') == 1  # now under "closed"
    again = await sara.post(f"/conversations/{queued}/resolve")
    assert again.status_code == 409


async def test_another_agents_conversation_is_closed_to_an_agent_not_to_a_supervisor(
    console_factory: ConsoleFactory, queued: int
) -> None:
    sara = await console_factory("sara")
    reza = await console_factory("reza")
    boss = await console_factory("boss")
    # Pending: every agent may look.
    assert (await reza.get(f"/conversations/{queued}")).status_code == 200
    await sara.post(f"/conversations/{queued}/take")
    assert (await reza.get(f"/conversations/{queued}")).status_code == 403
    assert (await reza.get(f"/conversations/{queued}/poll")).status_code == 403
    assert (await reza.post(f"/conversations/{queued}/reveal")).status_code == 403
    for action, form in (
        ("reply", {"text": "x"}),
        ("notes", {"text": "x"}),
        ("resolve", {}),
        ("transfer", {"to": "queue"}),
    ):
        response = await reza.post(f"/conversations/{queued}/{action}", form)
        assert response.status_code == 403, action
    taken_again = await reza.post(f"/conversations/{queued}/take")
    assert taken_again.status_code == 409
    # The supervisor reads everything, sees all conversations, and may act.
    assert (await boss.get(f"/conversations/{queued}")).status_code == 200
    listing = await boss.get("/conversations?status=open")
    assert f'href="/conversations/{queued}"' in listing.text
    assert (await reza.get("/conversations")).status_code == 403
    note = await boss.post(f"/conversations/{queued}/notes", {"text": "یادداشت سرپرست"})
    assert note.status_code == 303


async def test_reveal_identity_is_logged(
    console_factory: ConsoleFactory, queued: int, session: AsyncSession
) -> None:
    sara = await console_factory("sara")
    await sara.post(f"/conversations/{queued}/take")
    page = await sara.get(f"/conversations/{queued}")
    assert "۶۵۰*****۲۶" in page.text and "۶۵۰۸۱۲۴۲۲۶" not in page.text
    revealed = await sara.post(f"/conversations/{queued}/reveal")
    assert revealed.status_code == 200 and "۶۵۰۸۱۲۴۲۲۶" in revealed.text
    assert "۰۹۱۲۱۲۳۴۵۶۷" in revealed.text
    count = await session.scalar(
        select(func.count())
        .select_from(AuditLog)
        .where(AuditLog.action == "conversation.reveal_identity", AuditLog.actor == "agent:sara")
    )
    assert count == 1


async def test_notes_labels_transfer(
    console_factory: ConsoleFactory, queued: int, session: AsyncSession
) -> None:
    sara = await console_factory("sara")
    boss = await console_factory("boss")
    await boss.get("/settings")
    assert (await boss.post("/settings/labels", {"name": "پیگیری شعبه"})).status_code == 303
    settings_page = await boss.get("/settings")
    label_id = re.search(r"/settings/labels/(\d+)/delete", settings_page.text).group(1)  # type: ignore[union-attr]

    await sara.post(f"/conversations/{queued}/take")
    await sara.post(f"/conversations/{queued}/notes", {"text": "برای سرپرست: پرونده قدیمی است"})
    await sara.post(f"/conversations/{queued}/labels", {"label_id": label_id, "action": "add"})
    page = await sara.get(f"/conversations/{queued}")
    assert "برای سرپرست: پرونده قدیمی است" in page.text
    assert '<span class="label">پیگیری شعبه' in page.text
    # Notes are never sent to the user.
    assert "پرونده قدیمی" not in str(await session.scalars(select(Outbox.payload)))

    reza_id = re.search(r'<option value="(\d+)">کارشناس reza', page.text).group(1)  # type: ignore[union-attr]
    moved = await sara.post(f"/conversations/{queued}/transfer", {"to": reza_id})
    assert moved.status_code == 303 and moved.headers["location"] == "/queue"
    assert (await sara.get(f"/conversations/{queued}")).status_code == 403
    reza = await console_factory("reza")
    assert (await reza.get(f"/conversations/{queued}")).status_code == 200
    back = await reza.post(f"/conversations/{queued}/transfer", {"to": "queue"})
    assert back.status_code == 303
    assert f'data-id="{queued}"' in (await reza.get("/queue/rows")).text
    bad = await sara.post(f"/conversations/{queued}/labels", {"label_id": "x", "action": "add"})
    assert bad.status_code == 422


async def test_canned_replies_managed_by_supervisors_offered_to_agents(
    console_factory: ConsoleFactory, queued: int
) -> None:
    sara = await console_factory("sara")
    boss = await console_factory("boss")
    assert (await sara.get("/settings")).status_code == 403
    await sara.get("/queue")
    refused = await sara.post(
        "/settings/canned", {"short_code": "hi", "title": "سلام", "text": "سلام"}
    )
    assert refused.status_code == 403
    await boss.get("/settings")
    saved = await boss.post(
        "/settings/canned",
        {"short_code": "docs", "title": "مدارک", "text": "لطفاً گواهی دانشگاه را به شعبه ببرید."},
    )
    assert saved.status_code == 303
    await sara.post(f"/conversations/{queued}/take")
    page = await sara.get(f"/conversations/{queued}")
    assert 'data-text="لطفاً گواهی دانشگاه را به شعبه ببرید."' in page.text
    invalid = await boss.post(
        "/settings/canned", {"short_code": "با فاصله", "title": "x", "text": "y"}
    )
    assert invalid.status_code == 400 and "پاسخ آماده درست نیست" in invalid.text


async def test_unknown_conversation_is_404(console_factory: ConsoleFactory, queued: int) -> None:
    sara = await console_factory("sara")
    assert (await sara.get("/conversations/999999")).status_code == 404
    assert (await sara.post("/conversations/999999/take")).status_code == 404
    assert (await sara.get("/no-such-page")).status_code == 404


async def test_attachment_is_served_safely(
    console_factory: ConsoleFactory,
    queued: int,
    session: AsyncSession,
    db_settings: Settings,
    clock: FixedClock,
) -> None:
    sara = await console_factory("sara")
    await sara.post(f"/conversations/{queued}/take")
    handoff = Handoff(session, db_settings, clock)
    photo = await handoff.escalation.record_user_message(
        queued, kind="photo", file_id="p", mime_type="image/png", content=b"\x89PNG..."
    )
    html = await handoff.escalation.record_user_message(
        queued,
        kind="document",
        file_id="d",
        file_name="x.html",
        mime_type="text/html",
        content=b"<script>alert(1)</script>",
    )
    await session.commit()
    image = await sara.get(f"/conversations/{queued}/files/{photo}")
    assert image.headers["content-type"] == "image/png"
    assert image.headers["content-disposition"].startswith("inline")
    doc = await sara.get(f"/conversations/{queued}/files/{html}")
    assert doc.headers["content-type"] == "application/octet-stream"
    assert doc.headers["content-disposition"].startswith("attachment")
    reza = await console_factory("reza")
    assert (await reza.get(f"/conversations/{queued}/files/{photo}")).status_code == 403


async def test_only_the_agent_holding_the_chat_or_a_supervisor_may_reveal(
    console_factory: ConsoleFactory, queued: int, session: AsyncSession
) -> None:
    # Issue 17, finding 6: any agent could reveal any queued conversation.
    sara = await console_factory("sara")
    reza = await console_factory("reza")
    boss = await console_factory("boss")
    page = await reza.get(f"/conversations/{queued}")
    assert page.status_code == 200 and 'id="reveal"' not in page.text
    assert (await reza.post(f"/conversations/{queued}/reveal")).status_code == 403
    await sara.post(f"/conversations/{queued}/take")
    assert 'id="reveal"' in (await sara.get(f"/conversations/{queued}")).text
    assert (await sara.post(f"/conversations/{queued}/reveal")).status_code == 200
    supervised = await boss.post(f"/conversations/{queued}/reveal")
    assert supervised.status_code == 200 and "۶۵۰۸۱۲۴۲۲۶" in supervised.text
    actors = (
        await session.scalars(
            select(AuditLog.actor)
            .where(AuditLog.action == "conversation.reveal_identity")
            .order_by(AuditLog.id)
        )
    ).all()
    assert actors == ["agent:sara", "agent:boss"]


async def test_a_ticket_is_revealed_only_by_the_agent_chatting_with_its_owner_or_a_supervisor(
    console_factory: ConsoleFactory,
    maryam: ChatUserInfo,
    session: AsyncSession,
    db_settings: Settings,
    clock: FixedClock,
    agent_factory: AgentFactory,
) -> None:
    await agent_factory("sara")
    await agent_factory("boss", AgentRole.SUPERVISOR)
    ticket = await TicketService(session, db_settings, clock).create(
        maryam.id, TicketCategory.INSURANCE, "کد ملی من 650.812.4226 است"
    )
    await session.commit()
    code = ticket.tracking_code
    sara = await console_factory("sara")
    boss = await console_factory("boss")
    page = await sara.get(f"/tickets/{code}")
    assert "۶۵۰*****۲۶" in page.text and "۶۵۰۸۱۲۴۲۲۶" not in page.text
    assert f"/tickets/{code}/reveal" not in page.text
    assert (await sara.post(f"/tickets/{code}/reveal")).status_code == 403
    assert (await boss.post(f"/tickets/{code}/reveal")).status_code == 200
    started = await sara.post(f"/tickets/{code}/chat")
    assert started.status_code == 303
    assert f"/tickets/{code}/reveal" in (await sara.get(f"/tickets/{code}")).text
    shown = await sara.post(f"/tickets/{code}/reveal")
    assert shown.status_code == 200 and "۶۵۰۸۱۲۴۲۲۶" in shown.text
