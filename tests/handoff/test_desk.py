"""The agent desk in the service: state changes, permissions, notes, labels, canned replies,
reveal (the console tests drive the same through HTTP)."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.agents import AgentRole
from services.db.handoff_models import Conversation, ConversationMessage
from services.db.models import AuditLog, Outbox
from services.enums import (
    ConversationStatus,
    MessageKind,
    RateOutcome,
)
from services.errors import InvalidConversationState, InvalidText, NotAllowed
from services.handoff import Queued, WithAgent
from services.identity import ChatUserInfo
from tests.handoff.conftest import AgentFactory, Handoff
from tests.handoff.helpers import escalate, outbox_kinds


async def test_take_reply_resolve_rate(
    handoff: Handoff,
    session: AsyncSession,
    maryam: ChatUserInfo,
    agent_factory: AgentFactory,
) -> None:
    sara = await agent_factory("sara")
    queued = await escalate(handoff, maryam)
    assert isinstance(queued, Queued)
    cid = queued.conversation_id
    chat = maryam.platform_user_id

    summary = await handoff.desk.take(sara, cid)
    assert summary.status is ConversationStatus.OPEN and summary.agent_id == sara.id
    active = await handoff.escalation.active("telegram", chat)
    assert active is not None and active.status is ConversationStatus.OPEN
    assert isinstance(await escalate(handoff, maryam), WithAgent)

    await handoff.escalation.record_user_message(cid, text="سلام، پسرم ۲۰ ساله است")
    await handoff.escalation.record_user_message(
        cid, kind=MessageKind.PHOTO, file_id="f1", mime_type="image/jpeg", content=b"\xff\xd8jpg"
    )
    message_id = await handoff.desk.reply(sara, cid, "  سلام، بررسی می‌کنم.  ")
    detail = await handoff.views.detail(sara, cid)
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
    assert (await handoff.views.attachment(sara, cid, photo.id)).content == b"\xff\xd8jpg"
    assert [m.id for m in await handoff.views.messages_after(sara, cid, photo.id)] == [message_id]

    await handoff.desk.resolve(sara, cid)
    assert await handoff.escalation.active("telegram", chat) is None
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
    assert await handoff.escalation.rate(
        platform="telegram", chat_id=chat, conversation_id=cid, rating=4
    ) is (RateOutcome.THANKS)
    assert await handoff.escalation.rate(
        platform="telegram", chat_id=chat, conversation_id=cid, rating=1
    ) is (RateOutcome.ALREADY_RATED)
    # Someone else's chat cannot rate it.
    assert (
        await handoff.escalation.rate(
            platform="telegram", chat_id=chat + 1, conversation_id=cid, rating=5
        )
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
    handoff: Handoff, maryam: ChatUserInfo, agent_factory: AgentFactory
) -> None:
    sara = await agent_factory("sara")
    reza = await agent_factory("reza")
    queued = await escalate(handoff, maryam)
    assert isinstance(queued, Queued)
    cid = queued.conversation_id
    with pytest.raises(InvalidConversationState):
        await handoff.desk.reply(sara, cid, "not yet taken")
    with pytest.raises(InvalidConversationState):
        await handoff.desk.resolve(sara, cid)
    await handoff.desk.take(sara, cid)
    with pytest.raises(InvalidConversationState) as error:
        await handoff.desk.take(reza, cid)
    assert error.value.current == "open"
    with pytest.raises(InvalidText):
        await handoff.desk.reply(sara, cid, "   ")
    with pytest.raises(InvalidText):
        await handoff.desk.reply(sara, cid, "x" * (handoff.escalation.config.max_reply_chars + 1))
    await handoff.desk.resolve(sara, cid)
    with pytest.raises(InvalidConversationState):
        await handoff.desk.reply(sara, cid, "after the end")
    with pytest.raises(InvalidConversationState):
        await handoff.escalation.record_user_message(cid, text="late")


async def test_permissions(
    handoff: Handoff, maryam: ChatUserInfo, agent_factory: AgentFactory
) -> None:
    sara = await agent_factory("sara")
    reza = await agent_factory("reza")
    boss = await agent_factory("boss", AgentRole.SUPERVISOR)
    queued = await escalate(handoff, maryam)
    assert isinstance(queued, Queued)
    cid = queued.conversation_id
    # Pending: every agent may look before taking.
    assert (await handoff.views.detail(reza, cid)).can_act is False
    await handoff.desk.take(sara, cid)
    # Open with Sara: Reza may neither read nor act; the supervisor may do both.
    for call in (
        handoff.views.detail(reza, cid),
        handoff.views.messages_after(reza, cid, 0),
        handoff.desk.reply(reza, cid, "hi"),
        handoff.desk.add_note(reza, cid, "note"),
        handoff.desk.transfer(reza, cid, reza.id),
        handoff.desk.resolve(reza, cid),
    ):
        with pytest.raises(NotAllowed):
            await call
    with pytest.raises(NotAllowed):
        await handoff.views.all_conversations(reza)
    assert (await handoff.views.detail(boss, cid)).can_act
    await handoff.desk.add_note(boss, cid, "یادداشت سرپرست")
    assert [c.id for c in await handoff.views.all_conversations(boss)] == [cid]
    assert [c.id for c in await handoff.views.mine(sara)] == [cid]
    assert await handoff.views.mine(reza) == []


async def test_transfer_to_agent_and_back_to_queue(
    handoff: Handoff,
    session: AsyncSession,
    maryam: ChatUserInfo,
    agent_factory: AgentFactory,
) -> None:
    sara = await agent_factory("sara")
    reza = await agent_factory("reza")
    queued = await escalate(handoff, maryam)
    assert isinstance(queued, Queued)
    cid = queued.conversation_id
    await handoff.desk.take(sara, cid)
    await handoff.desk.transfer(sara, cid, reza.id)
    with pytest.raises(NotAllowed):
        await handoff.views.detail(sara, cid)
    assert (await handoff.views.detail(reza, cid)).summary.agent_id == reza.id
    await handoff.desk.transfer(reza, cid, None)
    assert [c.id for c in await handoff.views.queue()] == [cid]
    assert (await handoff.views.queue())[0].agent_id is None
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
    handoff: Handoff, maryam: ChatUserInfo, agent_factory: AgentFactory
) -> None:
    sara = await agent_factory("sara")
    boss = await agent_factory("boss", AgentRole.SUPERVISOR)
    label_id = await handoff.catalogue.create_label(boss, "  شکایت   درمانی ")
    assert [label.name for label in await handoff.catalogue.labels()] == ["شکایت درمانی"]
    with pytest.raises(NotAllowed):
        await handoff.catalogue.create_label(sara, "x")
    queued = await escalate(handoff, maryam)
    assert isinstance(queued, Queued)
    cid = queued.conversation_id
    await handoff.desk.take(sara, cid)
    await handoff.desk.add_note(sara, cid, "کاربر مدارک دانشگاه پسرش را دارد")
    await handoff.desk.set_label(sara, cid, label_id, True)
    await handoff.desk.set_label(sara, cid, label_id, True)  # twice is once
    detail = await handoff.views.detail(sara, cid)
    assert [n.text for n in detail.notes] == ["کاربر مدارک دانشگاه پسرش را دارد"]
    assert [label.name for label in detail.summary.labels] == ["شکایت درمانی"]
    assert [c.id for c in await handoff.views.all_conversations(boss, label_id=label_id)] == [cid]
    await handoff.desk.set_label(sara, cid, label_id, False)
    assert (await handoff.views.detail(sara, cid)).summary.labels == ()


async def test_canned_replies_are_for_supervisors_to_manage(
    handoff: Handoff, agent_factory: AgentFactory
) -> None:
    sara = await agent_factory("sara")
    boss = await agent_factory("boss", AgentRole.SUPERVISOR)
    with pytest.raises(NotAllowed):
        await handoff.catalogue.save_canned_reply(sara, short_code="hi", title="سلام", text="سلام")
    rid = await handoff.catalogue.save_canned_reply(
        boss, short_code="Greet", title="سلام", text="سلام، وقت شما بخیر."
    )
    await handoff.catalogue.save_canned_reply(
        boss, short_code="greet", title="سلام", text="سلام، در خدمتم.", reply_id=rid
    )
    [reply] = await handoff.catalogue.canned_replies()
    assert (reply.short_code, reply.text) == ("greet", "سلام، در خدمتم.")
    from services.errors import InvalidCannedReply

    with pytest.raises(InvalidCannedReply):
        await handoff.catalogue.save_canned_reply(boss, short_code="greet", title="x", text="y")
    await handoff.catalogue.delete_canned_reply(boss, rid)
    assert await handoff.catalogue.canned_replies() == []


async def test_reveal_is_audited_and_masks_otherwise(
    handoff: Handoff,
    session: AsyncSession,
    maryam: ChatUserInfo,
    agent_factory: AgentFactory,
) -> None:
    sara = await agent_factory("sara")
    queued = await escalate(handoff, maryam)
    assert isinstance(queued, Queued)
    cid = queued.conversation_id
    await handoff.desk.take(sara, cid)
    await handoff.escalation.record_user_message(cid, text="شماره‌ام ۰۹۱۲۱۲۳۴۵۶۷ است")
    masked = await handoff.views.detail(sara, cid)
    assert masked.identity.national_id == "650*****26"
    assert masked.identity.mobile == "0912***4567"
    assert masked.messages[-1].text == "شماره‌ام 0912***4567 است"
    before = await session.scalar(
        select(func.count())
        .select_from(AuditLog)
        .where(AuditLog.action == "conversation.reveal_identity")
    )
    assert before == 0
    shown = await handoff.views.detail(sara, cid, reveal=True)
    assert shown.identity.national_id == "6508124226" and shown.identity.revealed
    assert shown.messages[-1].text == "شماره‌ام ۰۹۱۲۱۲۳۴۵۶۷ است"
    entry = await session.scalar(
        select(AuditLog).where(AuditLog.action == "conversation.reveal_identity")
    )
    assert entry is not None and entry.actor == "agent:sara"
    assert entry.subject == f"conversation:{cid}"
