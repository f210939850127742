"""The supervisors' catalogue: canned replies and conversation labels (agents read them)."""

from __future__ import annotations

from sqlalchemy import delete, select

from services.agents import AgentPublic
from services.common import audit
from services.db.handoff_models import CannedReply, Label
from services.errors import InvalidCannedReply, InvalidLabel
from services.handoff.base import HandoffBase
from services.handoff.results import CannedReplyView, LabelView


class Catalogue(HandoffBase):
    """Canned replies and labels; changing them is for supervisors."""

    async def canned_replies(self) -> list[CannedReplyView]:
        rows = await self._session.scalars(select(CannedReply).order_by(CannedReply.short_code))
        return [CannedReplyView(r.id, r.short_code, r.title, r.text) for r in rows]

    async def save_canned_reply(
        self,
        agent: AgentPublic,
        *,
        short_code: str,
        title: str,
        text: str,
        reply_id: int | None = None,
    ) -> int:
        """Create or update a canned reply (supervisors only)."""
        self._require_supervisor(agent)
        code = short_code.strip().lower()
        if not code or len(code) > 32 or not all(c.isalnum() or c in "_-" for c in code):
            raise InvalidCannedReply("short_code")
        if not title.strip() or len(title.strip()) > 128:
            raise InvalidCannedReply("title")
        body = text.strip()
        if not body or len(body) > self.config.max_reply_chars:
            raise InvalidCannedReply("text")
        clash = await self._session.scalar(
            select(CannedReply.id).where(CannedReply.short_code == code)
        )
        if clash is not None and clash != reply_id:
            raise InvalidCannedReply("duplicate")
        if reply_id is None:
            row = CannedReply(short_code=code, title=title.strip(), text=body)
            self._session.add(row)
        else:
            found = await self._session.get(CannedReply, reply_id)
            if found is None:
                raise InvalidCannedReply("short_code")
            row = found
            row.short_code, row.title, row.text = code, title.strip(), body
        row.updated_by = agent.id
        row.updated_at = self._clock.now()
        await self._session.flush()
        audit(
            self._session,
            self._clock,
            actor=agent.actor,
            action="canned.save",
            subject=f"canned:{row.id}",
            details={"short_code": code},
        )
        await self._session.flush()
        return row.id

    async def delete_canned_reply(self, agent: AgentPublic, reply_id: int) -> None:
        self._require_supervisor(agent)
        await self._session.execute(delete(CannedReply).where(CannedReply.id == reply_id))
        audit(
            self._session,
            self._clock,
            actor=agent.actor,
            action="canned.delete",
            subject=f"canned:{reply_id}",
        )
        await self._session.flush()

    async def labels(self) -> list[LabelView]:
        rows = await self._session.scalars(select(Label).order_by(Label.name))
        return [LabelView(r.id, r.name) for r in rows]

    async def create_label(self, agent: AgentPublic, name: str) -> int:
        self._require_supervisor(agent)
        clean = " ".join(name.split())
        if not clean or len(clean) > 48:
            raise InvalidLabel(name)
        exists = await self._session.scalar(select(Label.id).where(Label.name == clean))
        if exists is not None:
            return exists
        label = Label(name=clean)
        self._session.add(label)
        await self._session.flush()
        audit(
            self._session,
            self._clock,
            actor=agent.actor,
            action="label.create",
            subject=f"label:{label.id}",
            details={"name": clean},
        )
        await self._session.flush()
        return label.id

    async def delete_label(self, agent: AgentPublic, label_id: int) -> None:
        self._require_supervisor(agent)
        await self._session.execute(delete(Label).where(Label.id == label_id))
        audit(
            self._session,
            self._clock,
            actor=agent.actor,
            action="label.delete",
            subject=f"label:{label_id}",
        )
        await self._session.flush()
