"""The handoff's state changes and permissions, in the service (the console tests drive the
same through HTTP)."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.agents import AgentRole
from services.clock import FixedClock
from services.db.handoff_models import Conversation, ConversationMessage
from services.db.models import AuditLog, Outbox, Ticket
from services.eligibility import EligibilityService
from services.enums import TicketStatus
from services.handoff import (
    ClosedBecause,
    ConversationStatus,
    HandoffReason,
    HandoffService,
    InvalidConversationState,
    InvalidText,
    MessageKind,
    NotAllowed,
    Queued,
    RateOutcome,
    Ticketed,
    WithAgent,
    mask_identifiers,
)
from services.identity import ChatUserInfo
from services.intent_log import log_intent
from services.settings import Settings
from tests.handoff.conftest import AgentFactory

TICKET_TEXT = "درخواست گفتگو با کارشناس"


async def escalate(handoff: HandoffService, user: ChatUserInfo, **kwargs: object) -> object:
    return await handoff.escalate(
        platform=user.platform,
        chat_id=user.platform_user_id,
        chat_user_id=user.id,
        ticket_text=TICKET_TEXT,
        **kwargs,  # type: ignore[arg-type]
    )


async def outbox_kinds(session: AsyncSession, chat_id: int) -> list[str]:
    rows = await session.scalars(
        select(Outbox.payload).where(Outbox.chat_id == chat_id).order_by(Outbox.id)
    )
    return [p["kind"] for p in rows]


async def test_escalation_queues_with_place_wait_and_record(
    handoff: HandoffService,
    session: AsyncSession,
    maryam: ChatUserInfo,
    agent_factory: AgentFactory,
    db_settings: Settings,
    clock: FixedClock,
) -> None:
    await agent_factory("sara")
    await log_intent(
        session,
        clock,
        platform="telegram",
        chat_id=maryam.platform_user_id,
        text="بیمه دارم؟",
        intent="check_eligibility",
        confidence=0.93,
        fallback=False,
    )
    await log_intent(
        session,
        clock,
        platform="telegram",
        chat_id=maryam.platform_user_id,
        text="کد ملی من 6508124226 است، چرا پسرم بیمه ندارد",
        intent=None,
        confidence=0.2,
        fallback=True,
    )
    inquiry = await EligibilityService(session, db_settings, clock).inquire(maryam.id)

    outcome = await escalate(handoff, maryam)
    assert isinstance(outcome, Queued)
    assert outcome.position == 1 and not outcome.already
    assert outcome.wait_minutes == handoff.config.default_handle_minutes

    conversation = await session.get(Conversation, outcome.conversation_id)
    assert conversation is not None
    assert conversation.status == "pending" and conversation.reason == "human_agent"
    assert conversation.national_id == "6508124226" and conversation.mobile == "09121234567"
    assert conversation.user_name == "مریم رضایی"
    record = conversation.escalation
    assert [line["intent"] for line in record["transcript"]] == ["check_eligibility", None]
    assert record["transcript"][1]["fallback"] is True
    assert record["answers"] == [
        {
            "kind": "eligibility",
            "at": record["answers"][0]["at"],
            "tracking_code": inquiry.tracking_code,
            "status": "covered",
            "detail": None,
        }
    ]
    # Asking again while queued: the same place, nothing new.
    again = await escalate(handoff, maryam)
    assert isinstance(again, Queued) and again.already
    assert again.conversation_id == outcome.conversation_id and again.position == 1


async def test_queue_order_and_wait_grow_with_place(
    handoff: HandoffService,
    session: AsyncSession,
    db_settings: Settings,
    clock: FixedClock,
    agent_factory: AgentFactory,
) -> None:
    from tests.services.helpers import chat_user

    await agent_factory("sara")
    users = [await chat_user(session, db_settings, clock) for _ in range(3)]
    outcomes = []
    for user in users:
        outcomes.append(await escalate(handoff, user))
        clock.advance(dt.timedelta(minutes=1))
    assert [o.position for o in outcomes] == [1, 2, 3]  # type: ignore[attr-defined]
    waits = [o.wait_minutes for o in outcomes]  # type: ignore[attr-defined]
    assert waits == sorted(waits) and waits[0] < waits[2]
    queue = await handoff.queue()
    assert [c.id for c in queue] == [o.conversation_id for o in outcomes]  # type: ignore[attr-defined]
    assert queue[0].waiting == dt.timedelta(minutes=3)
    assert queue[0].user_name == "کاربر" and queue[0].national_id_masked is None


async def test_outside_hours_becomes_a_ticket(
    handoff: HandoffService,
    session: AsyncSession,
    maryam: ChatUserInfo,
    agent_factory: AgentFactory,
    clock: FixedClock,
) -> None:
    await agent_factory("sara")
    clock.set(dt.datetime(2024, 8, 3, 21, 30))  # Saturday 21:30: closed at 20:00
    outcome = await escalate(handoff, maryam)
    assert isinstance(outcome, Ticketed)
    assert outcome.because is ClosedBecause.OUTSIDE_HOURS
    assert outcome.tracking_code.startswith("1420-")
    assert outcome.next_opening == dt.datetime(2024, 8, 4, 8, 0, tzinfo=clock.now().tzinfo)
    ticket = await session.scalar(
        select(Ticket).where(Ticket.tracking_code == outcome.tracking_code)
    )
    assert ticket is not None and ticket.status == "open"
    assert ticket.due_date == outcome.due_date
    assert ticket.text.startswith(TICKET_TEXT)
    conversation = await session.get(Conversation, outcome.conversation_id)
    assert conversation is not None and conversation.status == "ticketed"
    assert conversation.ticket_code == outcome.tracking_code
    assert await handoff.active("telegram", maryam.platform_user_id) is None


async def test_nobody_online_becomes_a_ticket(
    handoff: HandoffService, maryam: ChatUserInfo, agent_factory: AgentFactory
) -> None:
    await agent_factory("sara", online=False)
    outcome = await escalate(handoff, maryam)
    assert isinstance(outcome, Ticketed) and outcome.because is ClosedBecause.NOBODY_ONLINE


async def test_take_reply_resolve_rate(
    handoff: HandoffService,
    session: AsyncSession,
    maryam: ChatUserInfo,
    agent_factory: AgentFactory,
) -> None:
    sara = await agent_factory("sara")
    queued = await escalate(handoff, maryam)
    assert isinstance(queued, Queued)
    cid = queued.conversation_id
    chat = maryam.platform_user_id

    summary = await handoff.take(sara, cid)
    assert summary.status is ConversationStatus.OPEN and summary.agent_id == sara.id
    active = await handoff.active("telegram", chat)
    assert active is not None and active.status is ConversationStatus.OPEN
    assert isinstance(await escalate(handoff, maryam), WithAgent)

    await handoff.record_user_message(cid, text="سلام، پسرم ۲۰ ساله است")
    await handoff.record_user_message(
        cid, kind=MessageKind.PHOTO, file_id="f1", mime_type="image/jpeg", content=b"\xff\xd8jpg"
    )
    message_id = await handoff.reply(sara, cid, "  سلام، بررسی می‌کنم.  ")
    detail = await handoff.detail(sara, cid)
    kinds = [(m.sender.value, m.kind.value) for m in detail.messages]
    assert kinds == [
        ("system", "event"),
        ("system", "event"),
        ("user", "text"),
        ("user", "photo"),
        ("agent", "text"),
    ]
    reply = detail.messages[-1]
    assert (
        reply.id == message_id
        and reply.text == "سلام، بررسی می‌کنم."
        and reply.delivery == "pending"
    )
    photo = detail.messages[3]
    assert photo.has_file
    assert (await handoff.attachment(sara, cid, photo.id)).content == b"\xff\xd8jpg"
    assert [m.id for m in await handoff.messages_after(sara, cid, photo.id)] == [message_id]

    await handoff.resolve(sara, cid)
    assert await handoff.active("telegram", chat) is None
    assert await outbox_kinds(session, chat) == [
        "handoff_taken",
        "agent_reply",
        "handoff_resolved",
        "satisfaction_question",
    ]
    reply_payload = await session.scalar(
        select(Outbox.payload).where(Outbox.chat_id == chat).order_by(Outbox.id).offset(1)
    )
    assert reply_payload == {
        "kind": "agent_reply",
        "text": "سلام، بررسی می‌کنم.",
        "agent": "کارشناس sara",
        "conversation_id": cid,
    }
    assert await handoff.rate(
        platform="telegram", chat_id=chat, conversation_id=cid, rating=4
    ) is (RateOutcome.THANKS)
    assert await handoff.rate(
        platform="telegram", chat_id=chat, conversation_id=cid, rating=1
    ) is (RateOutcome.ALREADY_RATED)
    # Someone else's chat cannot rate it.
    assert (
        await handoff.rate(platform="telegram", chat_id=chat + 1, conversation_id=cid, rating=5)
        is RateOutcome.NOT_FOUND
    )
    conversation = await session.get(Conversation, cid)
    assert conversation is not None
    await session.refresh(conversation)
    assert conversation.satisfaction == 4 and conversation.resolution == "resolved"
    actions = set((await session.scalars(select(AuditLog.action))).all())
    assert {
        "handoff.queued",
        "conversation.take",
        "conversation.reply",
        "conversation.resolve",
        "handoff.rated",
    } <= actions


async def test_state_rules(
    handoff: HandoffService, maryam: ChatUserInfo, agent_factory: AgentFactory
) -> None:
    sara = await agent_factory("sara")
    reza = await agent_factory("reza")
    queued = await escalate(handoff, maryam)
    assert isinstance(queued, Queued)
    cid = queued.conversation_id
    with pytest.raises(InvalidConversationState):
        await handoff.reply(sara, cid, "not yet taken")
    with pytest.raises(InvalidConversationState):
        await handoff.resolve(sara, cid)
    await handoff.take(sara, cid)
    with pytest.raises(InvalidConversationState) as error:
        await handoff.take(reza, cid)
    assert error.value.current == "open"
    with pytest.raises(InvalidText):
        await handoff.reply(sara, cid, "   ")
    with pytest.raises(InvalidText):
        await handoff.reply(sara, cid, "x" * (handoff.config.max_reply_chars + 1))
    await handoff.resolve(sara, cid)
    with pytest.raises(InvalidConversationState):
        await handoff.reply(sara, cid, "after the end")
    with pytest.raises(InvalidConversationState):
        await handoff.record_user_message(cid, text="late")


async def test_permissions(
    handoff: HandoffService, maryam: ChatUserInfo, agent_factory: AgentFactory
) -> None:
    sara = await agent_factory("sara")
    reza = await agent_factory("reza")
    boss = await agent_factory("boss", AgentRole.SUPERVISOR)
    queued = await escalate(handoff, maryam)
    assert isinstance(queued, Queued)
    cid = queued.conversation_id
    # Pending: every agent may look before taking.
    assert (await handoff.detail(reza, cid)).can_act is False
    await handoff.take(sara, cid)
    # Open with Sara: Reza may neither read nor act; the supervisor may do both.
    for call in (
        handoff.detail(reza, cid),
        handoff.messages_after(reza, cid, 0),
        handoff.reply(reza, cid, "hi"),
        handoff.add_note(reza, cid, "note"),
        handoff.transfer(reza, cid, reza.id),
        handoff.resolve(reza, cid),
    ):
        with pytest.raises(NotAllowed):
            await call
    with pytest.raises(NotAllowed):
        await handoff.all_conversations(reza)
    assert (await handoff.detail(boss, cid)).can_act
    await handoff.add_note(boss, cid, "یادداشت سرپرست")
    assert [c.id for c in await handoff.all_conversations(boss)] == [cid]
    assert [c.id for c in await handoff.mine(sara)] == [cid]
    assert await handoff.mine(reza) == []


async def test_transfer_to_agent_and_back_to_queue(
    handoff: HandoffService,
    session: AsyncSession,
    maryam: ChatUserInfo,
    agent_factory: AgentFactory,
) -> None:
    sara = await agent_factory("sara")
    reza = await agent_factory("reza")
    queued = await escalate(handoff, maryam)
    assert isinstance(queued, Queued)
    cid = queued.conversation_id
    await handoff.take(sara, cid)
    await handoff.transfer(sara, cid, reza.id)
    with pytest.raises(NotAllowed):
        await handoff.detail(sara, cid)
    assert (await handoff.detail(reza, cid)).summary.agent_id == reza.id
    await handoff.transfer(reza, cid, None)
    assert [c.id for c in await handoff.queue()] == [cid]
    assert (await handoff.queue())[0].agent_id is None
    assert await outbox_kinds(session, maryam.platform_user_id) == [
        "handoff_taken",
        "handoff_transferred",
        "handoff_requeued",
    ]
    events = (
        await session.scalars(
            select(ConversationMessage.event)
            .where(ConversationMessage.conversation_id == cid)
            .order_by(ConversationMessage.id)
        )
    ).all()
    assert events == ["queued", "taken", "transferred", "requeued"]


async def test_notes_and_labels(
    handoff: HandoffService, maryam: ChatUserInfo, agent_factory: AgentFactory
) -> None:
    sara = await agent_factory("sara")
    boss = await agent_factory("boss", AgentRole.SUPERVISOR)
    label_id = await handoff.create_label(boss, "  شکایت   درمانی ")
    assert [label.name for label in await handoff.labels()] == ["شکایت درمانی"]
    with pytest.raises(NotAllowed):
        await handoff.create_label(sara, "x")
    queued = await escalate(handoff, maryam)
    assert isinstance(queued, Queued)
    cid = queued.conversation_id
    await handoff.take(sara, cid)
    await handoff.add_note(sara, cid, "کاربر مدارک دانشگاه پسرش را دارد")
    await handoff.set_label(sara, cid, label_id, True)
    await handoff.set_label(sara, cid, label_id, True)  # twice is once
    detail = await handoff.detail(sara, cid)
    assert [n.text for n in detail.notes] == ["کاربر مدارک دانشگاه پسرش را دارد"]
    assert [label.name for label in detail.summary.labels] == ["شکایت درمانی"]
    assert [c.id for c in await handoff.all_conversations(boss, label_id=label_id)] == [cid]
    await handoff.set_label(sara, cid, label_id, False)
    assert (await handoff.detail(sara, cid)).summary.labels == ()


async def test_canned_replies_are_for_supervisors_to_manage(
    handoff: HandoffService, agent_factory: AgentFactory
) -> None:
    sara = await agent_factory("sara")
    boss = await agent_factory("boss", AgentRole.SUPERVISOR)
    with pytest.raises(NotAllowed):
        await handoff.save_canned_reply(sara, short_code="hi", title="سلام", text="سلام")
    rid = await handoff.save_canned_reply(
        boss, short_code="Greet", title="سلام", text="سلام، وقت شما بخیر."
    )
    await handoff.save_canned_reply(
        boss, short_code="greet", title="سلام", text="سلام، در خدمتم.", reply_id=rid
    )
    [reply] = await handoff.canned_replies()
    assert (reply.short_code, reply.text) == ("greet", "سلام، در خدمتم.")
    from services.handoff import InvalidCannedReply

    with pytest.raises(InvalidCannedReply):
        await handoff.save_canned_reply(boss, short_code="greet", title="x", text="y")
    await handoff.delete_canned_reply(boss, rid)
    assert await handoff.canned_replies() == []


async def test_reveal_is_audited_and_masks_otherwise(
    handoff: HandoffService,
    session: AsyncSession,
    maryam: ChatUserInfo,
    agent_factory: AgentFactory,
) -> None:
    sara = await agent_factory("sara")
    queued = await escalate(handoff, maryam)
    assert isinstance(queued, Queued)
    cid = queued.conversation_id
    await handoff.take(sara, cid)
    await handoff.record_user_message(cid, text="شماره‌ام ۰۹۱۲۱۲۳۴۵۶۷ است")
    masked = await handoff.detail(sara, cid)
    assert masked.identity.national_id == "650*****26"
    assert masked.identity.mobile == "0912***4567"
    assert masked.messages[-1].text == "شماره‌ام 0912***4567 است"
    before = await session.scalar(
        select(func.count())
        .select_from(AuditLog)
        .where(AuditLog.action == "conversation.reveal_identity")
    )
    assert before == 0
    shown = await handoff.detail(sara, cid, reveal=True)
    assert shown.identity.national_id == "6508124226" and shown.identity.revealed
    assert shown.messages[-1].text == "شماره‌ام ۰۹۱۲۱۲۳۴۵۶۷ است"
    entry = await session.scalar(
        select(AuditLog).where(AuditLog.action == "conversation.reveal_identity")
    )
    assert entry is not None and entry.actor == "agent:sara"
    assert entry.subject == f"conversation:{cid}"


async def test_leave_while_pending_and_while_open(
    handoff: HandoffService, maryam: ChatUserInfo, agent_factory: AgentFactory
) -> None:
    sara = await agent_factory("sara")
    chat = maryam.platform_user_id
    assert await handoff.leave("telegram", chat) is None
    queued = await escalate(handoff, maryam)
    assert isinstance(queued, Queued)
    left = await handoff.leave("telegram", chat)
    assert left is not None and left.was is ConversationStatus.PENDING
    assert await handoff.queue() == []
    queued = await escalate(handoff, maryam)
    assert isinstance(queued, Queued) and queued.conversation_id != left.id
    await handoff.take(sara, queued.conversation_id)
    left = await handoff.leave("telegram", chat)
    assert left is not None and left.was is ConversationStatus.OPEN
    # A chat the user left cannot be rated.
    assert (
        await handoff.rate(platform="telegram", chat_id=chat, conversation_id=left.id, rating=5)
        is RateOutcome.NOT_FOUND
    )


async def test_one_active_conversation_per_chat_even_when_racing(
    session_factory: async_sessionmaker[AsyncSession],
    db_settings: Settings,
    clock: FixedClock,
    maryam: ChatUserInfo,
    agent_factory: AgentFactory,
) -> None:
    await agent_factory("sara")
    async with session_factory() as one, session_factory() as two:
        first = HandoffService(one, db_settings, clock)
        second = HandoffService(two, db_settings, clock)
        # Both see no active conversation before either inserts.
        assert await first.active("telegram", maryam.platform_user_id) is None
        a = await escalate(first, maryam)
        b = await escalate(second, maryam)
    assert isinstance(a, Queued) and isinstance(b, Queued)
    assert a.conversation_id == b.conversation_id


async def test_agent_picks_a_chat_from_a_ticket(
    handoff: HandoffService,
    session: AsyncSession,
    maryam: ChatUserInfo,
    agent_factory: AgentFactory,
    db_settings: Settings,
    clock: FixedClock,
) -> None:
    from services.enums import TicketCategory
    from services.handoff import TicketDesk
    from services.tickets import TicketService

    sara = await agent_factory("sara")
    info = await TicketService(session, db_settings, clock).create(
        maryam.id, TicketCategory.MEDICAL, "دفترچه"
    )
    desk = TicketDesk(session, db_settings, clock)
    cid = await desk.start_chat(sara, info.tracking_code)
    detail = await handoff.detail(sara, cid)
    assert detail.summary.status is ConversationStatus.OPEN
    assert detail.summary.reason is HandoffReason.AGENT_PICK
    assert detail.summary.ticket_code == info.tracking_code
    assert [a.kind for a in detail.answers] == ["ticket"]
    assert await outbox_kinds(session, maryam.platform_user_id) == ["handoff_taken"]
    # Starting again returns the same open conversation.
    assert await desk.start_chat(sara, info.tracking_code) == cid


async def test_ticket_desk_answer_reaches_the_outbox_and_close(
    session: AsyncSession,
    maryam: ChatUserInfo,
    agent_factory: AgentFactory,
    db_settings: Settings,
    clock: FixedClock,
) -> None:
    from services.enums import TicketCategory
    from services.handoff import DueClass, TicketDesk, TicketFilters
    from services.tickets import TicketService

    sara = await agent_factory("sara")
    tickets = TicketService(session, db_settings, clock)
    medical = await tickets.create(maryam.id, TicketCategory.MEDICAL, "کد ملی 6508124226")
    clock.advance(dt.timedelta(days=10))
    insurance = await tickets.create(maryam.id, TicketCategory.INSURANCE, "سابقه")
    desk = TicketDesk(session, db_settings, clock)
    rows = await desk.search(TicketFilters())
    assert [r.tracking_code for r in rows] == [medical.tracking_code, insurance.tracking_code]
    assert rows[0].due_class is DueClass.OVERDUE and rows[0].text == "کد ملی 650*****26"
    assert rows[1].due_class is DueClass.ON_TIME
    overdue = await desk.search(TicketFilters(due="overdue"))
    assert [r.tracking_code for r in overdue] == [medical.tracking_code]
    assert [
        r.tracking_code for r in await desk.search(TicketFilters(category=insurance.category))
    ] == [insurance.tracking_code]

    answered = await desk.answer(sara, medical.tracking_code, "مدارک را به شعبه ببرید.")
    assert answered.status is TicketStatus.ANSWERED
    payload = await session.scalar(
        select(Outbox.payload).where(Outbox.chat_id == maryam.platform_user_id)
    )
    assert payload == {
        "kind": "ticket_answer",
        "tracking_code": medical.tracking_code,
        "text": "مدارک را به شعبه ببرید.",
    }
    page = await desk.page(sara, medical.tracking_code)
    assert page.due_class is DueClass.DONE and page.identity.national_id == "650*****26"
    assert [status for _, status in page.deliveries] == ["pending"]
    closed = await desk.close(sara, medical.tracking_code)
    assert closed.status is TicketStatus.CLOSED
    assert [
        r.tracking_code for r in await desk.search(TicketFilters(status=TicketStatus.CLOSED))
    ] == [medical.tracking_code]


async def test_a_failed_ticket_answer_leaves_no_outbox_row(
    session: AsyncSession,
    maryam: ChatUserInfo,
    agent_factory: AgentFactory,
    db_settings: Settings,
    clock: FixedClock,
) -> None:
    from services.enums import TicketCategory
    from services.errors import InvalidTicketTransition
    from services.handoff import TicketDesk
    from services.tickets import TicketService

    sara = await agent_factory("sara")
    info = await TicketService(session, db_settings, clock).create(
        maryam.id, TicketCategory.OTHER, "x"
    )
    desk = TicketDesk(session, db_settings, clock)
    await desk.close(sara, info.tracking_code)
    with pytest.raises(InvalidTicketTransition):
        await desk.answer(sara, info.tracking_code, "too late")
    assert await session.scalar(select(func.count()).select_from(Outbox)) == 0


def test_mask_identifiers() -> None:
    assert mask_identifiers("کد ۶۵۰۸۱۲۴۲۲۶ و +98 912 123 4567") == "کد 650*****26 و 0912***4567"
    assert mask_identifiers("سال ۱۴۰۳") == "سال ۱۴۰۳"


async def test_transcript_texts_are_cleared_after_the_retention(
    handoff: HandoffService, session: AsyncSession, clock: FixedClock
) -> None:
    from services.db.handoff_models import IntentLogEntry

    await log_intent(
        session,
        clock,
        platform="telegram",
        chat_id=1,
        text="قدیمی",
        intent="greet",
        confidence=0.9,
        fallback=False,
    )
    clock.advance(dt.timedelta(hours=handoff.config.transcript_retention_hours, minutes=1))
    await log_intent(
        session,
        clock,
        platform="telegram",
        chat_id=1,
        text="تازه",
        intent="greet",
        confidence=0.9,
        fallback=False,
    )
    assert await handoff.prune_transcripts() == 1
    rows = (
        await session.execute(
            select(IntentLogEntry.text, IntentLogEntry.intent).order_by(IntentLogEntry.id)
        )
    ).all()
    assert [tuple(r) for r in rows] == [(None, "greet"), ("تازه", "greet")]
