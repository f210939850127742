"""What a bot does in the sandbox, seen from the world: the messages it sends, its edits,
deletions and chat actions, and the policing of its calls (injected faults, Telegram-like
flood control, the call log, waiting until it is idle). The Bot API (:mod:`sandbox.botapi`)
calls these after checking each request.
"""

from __future__ import annotations

import math
import time
from typing import Any

from sandbox.config import FloodLimits
from sandbox.errors import (
    BLOCKED,
    BotApiError,
    ControlError,
    retry_after,
)
from sandbox.formatting import Formatted, render_bale
from sandbox.keyboards import markup_kind
from sandbox.models import (
    CallbackRecord,
    ChatState,
    Fault,
    StoredFile,
    StoredMessage,
)
from sandbox.state import BotState, FloodBucket, WorldState


class BotSide(WorldState):
    """The bot's side of the sandbox, driven by the Bot API."""

    def store_bot_message(
        self,
        bot: BotState,
        chat: ChatState,
        *,
        kind: str,
        text: str | None = None,
        entities: list[dict[str, Any]] | None = None,
        caption: str | None = None,
        caption_entities: list[dict[str, Any]] | None = None,
        source_text: str | None = None,
        parse_mode: str | None = None,
        rendered: Formatted | None = None,
        media_fields: dict[str, Any] | None = None,
        file: StoredFile | None = None,
        reply_markup: dict[str, Any] | None = None,
        reply_to: StoredMessage | None = None,
        forward_origin: dict[str, Any] | None = None,
    ) -> StoredMessage:
        message = StoredMessage(
            chat=chat,
            message_id=chat.allocate_message_id(),
            sender="bot",
            from_api=bot.user_api(),
            date=int(time.time()),
            kind=kind,
            text=text,
            entities=entities or [],
            caption=caption,
            caption_entities=caption_entities or [],
            source_text=source_text,
            parse_mode=parse_mode,
            rendered=rendered,
            media=media_fields or {},
            file=file,
            reply_markup=reply_markup,
            reply_to=reply_to,
            forward_origin=forward_origin,
        )
        chat.messages[message.message_id] = message
        kind_of_markup = markup_kind(reply_markup)
        if kind_of_markup == "reply":
            chat.reply_keyboard = reply_markup
            chat.keyboard_collapsed = False
        elif kind_of_markup == "remove":
            chat.reply_keyboard = None
        bot.stats["messages_sent"] += 1
        self._event(chat, "message", sender="bot", message=message)
        return message

    def note_edit(self, chat: ChatState, message: StoredMessage) -> None:
        self._event(chat, "edit", sender="bot", message=message)

    def note_delete(self, chat: ChatState, message: StoredMessage) -> None:
        self._event(chat, "delete", sender="bot", message=message)

    def note_chat_action(self, chat: ChatState, action: str) -> None:
        self._event(chat, "chat_action", sender="bot", action=action)

    def note_callback_answer(self, bot: BotState, record: CallbackRecord) -> None:
        chat = bot.chats.get(record.chat_id)
        if chat is not None:
            self._event(
                chat,
                "callback_answer",
                sender="bot",
                callback={
                    "id": record.id,
                    "message_id": record.message_id,
                    "data": record.data,
                    **(record.answer or {}),
                },
            )

    def rendered_for(self, bot: BotState, shown: str, parsed: Formatted) -> Formatted:
        """What the person reads: Telegram shows the parsed text, Bale renders its Markdown."""
        return render_bale(shown) if bot.is_bale else parsed

    # ----------------------------------------------------------- faults, floods, activity

    def add_fault(
        self,
        *,
        bot: str | int | None = None,
        method: str | None = None,
        chat_id: int | None = None,
        count: int | None = 1,
        probability: float = 1.0,
        error_code: int = 429,
        retry_after: int | None = 1,
        description: str | None = None,
    ) -> Fault:
        bot_id = self.resolve_bot(bot).id if bot not in (None, "") else None
        if not 0 < probability <= 1:
            raise ControlError(422, "probability is in (0, 1]")
        if count is not None and count < 1:
            raise ControlError(422, "count is at least 1 (or null for no limit)")
        if error_code == 429:
            seconds = retry_after if retry_after is not None else 1
            text = description or f"Too Many Requests: retry after {seconds}"
            retry_after = seconds
        else:
            text = description or {
                400: "Bad Request: injected failure",
                403: BLOCKED,
                500: "Internal Server Error",
                502: "Bad Gateway",
            }.get(error_code, "Injected failure")
            retry_after = None
        fault = Fault(
            id=self._next_fault_id,
            bot_id=bot_id,
            method=method,
            chat_id=chat_id,
            count=count,
            probability=probability,
            error_code=error_code,
            description=text,
            retry_after=retry_after,
        )
        self._next_fault_id += 1
        self.faults.append(fault)
        return fault

    def clear_faults(self, fault_id: int | None = None) -> int:
        before = len(self.faults)
        self.faults = [f for f in self.faults if fault_id is not None and f.id != fault_id]
        return before - len(self.faults)

    def check_faults(self, bot: BotState, method: str, chat_id: Any) -> None:
        for fault in self.faults:
            if not fault.matches(bot.id, method, chat_id):
                continue
            if fault.probability < 1 and self._rng.random() >= fault.probability:
                continue
            fault.fired += 1
            bot.stats["faults_fired"] += 1
            parameters = {"retry_after": fault.retry_after} if fault.retry_after else None
            raise BotApiError(fault.error_code, fault.description, parameters)

    def check_flood(self, bot: BotState, chat_id: Any) -> None:
        """Telegram-like flood control, when switched on: token buckets per chat and overall."""
        limits = self.flood
        if limits is None:
            return
        now = time.monotonic()
        keys = [
            ((bot.id, f"chat:{chat_id}"), limits.per_chat_rate, limits.per_chat_burst),
            ((bot.id, "all"), limits.global_rate, limits.global_burst),
        ]
        waits: list[float] = []
        buckets: list[FloodBucket] = []
        for key, rate, burst in keys:
            bucket = self._buckets.get(key)
            if bucket is None:
                bucket = self._buckets[key] = FloodBucket(float(burst), now)
            bucket.tokens = min(float(burst), bucket.tokens + (now - bucket.stamp) * rate)
            bucket.stamp = now
            buckets.append(bucket)
            if bucket.tokens < 1:
                waits.append((1 - bucket.tokens) / rate)
        if waits:
            bot.stats["flood_refused"] += 1
            raise retry_after(max(1, math.ceil(max(waits))))
        for bucket in buckets:
            bucket.tokens -= 1

    def set_flood(self, limits: FloodLimits | None) -> None:
        self.flood = limits
        self._buckets.clear()

    def log_call(
        self,
        bot: BotState,
        method: str,
        params: dict[str, Any],
        body: dict[str, Any],
        started: float,
    ) -> None:
        self._call_seq += 1
        bot.stats[f"calls:{method}"] += 1
        if not body.get("ok"):
            bot.stats[f"errors:{body.get('error_code')}"] += 1
        self.calls.append(
            {
                "seq": self._call_seq,
                "at": time.time(),
                "bot_id": bot.id,
                "method": method,
                "params": params,
                "ok": bool(body.get("ok")),
                "error_code": body.get("error_code"),
                "description": body.get("description"),
                "duration_ms": round((time.monotonic() - started) * 1000, 3),
            }
        )

    async def wait_idle(
        self, quiet_s: float = 0.1, timeout_s: float = 10.0, bot: str | int | None = None
    ) -> dict[str, Any]:
        """Wait until every update was taken and no bot call was made for ``quiet_s`` seconds."""
        bots = [self.resolve_bot(bot)] if bot not in (None, "") else list(self.bots.values())
        started = time.monotonic()
        deadline = started + timeout_s
        while True:
            now = time.monotonic()
            pending = sum(b.undelivered() for b in bots)
            quiet_for = now - self.last_activity
            if pending == 0 and self.in_flight == 0 and quiet_for >= quiet_s:
                return {"idle": True, "waited_ms": round((now - started) * 1000, 1)}
            if now >= deadline or self.closing:
                return {
                    "idle": False,
                    "waited_ms": round((now - started) * 1000, 1),
                    "pending_updates": pending,
                    "in_flight": self.in_flight,
                }
            if pending == 0 and self.in_flight == 0:
                wait = min(quiet_s - quiet_for, deadline - now)
            else:
                wait = deadline - now
            await self.changed.wait(max(wait, 0.001))
