"""A small async client of the control API, for end-to-end tests and the benchmark.

Each method mirrors one endpoint of :mod:`sandbox.control` and returns its JSON. The
conversation helpers (:meth:`SandboxClient.say`, :meth:`tap`, :meth:`press`, :meth:`share_contact`)
act as the person, wait for the bot to settle and return what the bot did in answer.
"""

from __future__ import annotations

import asyncio
import base64
from types import TracebackType
from typing import Any

import httpx

_NO_ISOLATES = dict.fromkeys(range(0x2066, 0x206A))


class SandboxClientError(RuntimeError):
    """The control API refused a request; ``status`` and ``error`` say why."""

    def __init__(self, status: int, error: str) -> None:
        super().__init__(f"{status}: {error}")
        self.status = status
        self.error = error


class NotIdleError(SandboxClientError):
    """The bot did not settle in time (an update not taken, or a call still running)."""


class Reaction:
    """What the bot did after one user action: its messages, edits, actions and answers."""

    def __init__(self, events: list[dict[str, Any]], action: dict[str, Any]) -> None:
        self.events = events
        self.action = action

    @property
    def messages(self) -> list[dict[str, Any]]:
        """The bot's new messages, in order."""
        return [
            e["message"] for e in self.events if e["kind"] == "message" and e["sender"] == "bot"
        ]

    @property
    def texts(self) -> list[str]:
        """What the person reads in each new message (rendered text or caption).

        The invisible directional isolates around codes (U+2066 … U+2069) are left out: they
        decide the order in which a code is laid out, not its words.
        """
        return [(m["rendered_text"] or "").translate(_NO_ISOLATES) for m in self.messages]

    @property
    def text(self) -> str:
        """All new messages' text joined by blank lines."""
        return "\n\n".join(self.texts)

    @property
    def edits(self) -> list[dict[str, Any]]:
        return [e["message"] for e in self.events if e["kind"] == "edit" and e["sender"] == "bot"]

    @property
    def deletions(self) -> list[dict[str, Any]]:
        return [e["message"] for e in self.events if e["kind"] == "delete"]

    @property
    def chat_actions(self) -> list[str]:
        return [e["action"] for e in self.events if e["kind"] == "chat_action"]

    @property
    def callback_answers(self) -> list[dict[str, Any]]:
        return [e["callback"] for e in self.events if e["kind"] == "callback_answer"]

    @property
    def last(self) -> dict[str, Any]:
        messages = self.messages
        if not messages:
            raise AssertionError(f"the bot sent no message; events: {self.events}")
        return messages[-1]

    def buttons(self) -> list[str]:
        """Texts of the inline buttons of the last message, row by row flattened."""
        markup = self.last.get("reply_markup") or {}
        return [b["text"] for row in markup.get("inline_keyboard", []) for b in row]


class SandboxClient:
    """The control API at ``base_url`` (the sandbox's URL, without ``/sandbox/api``)."""

    def __init__(
        self,
        base_url: str,
        *,
        bot: str | int | None = None,
        http: httpx.AsyncClient | None = None,
        quiet_ms: float = 150,
        timeout_s: float = 10.0,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.bot = bot
        self.quiet_ms = quiet_ms
        self.timeout_s = timeout_s
        self._own_http = http is None
        self.http = http or httpx.AsyncClient(timeout=max(timeout_s * 2, 30.0), trust_env=False)

    async def close(self) -> None:
        if self._own_http:
            await self.http.aclose()

    async def __aenter__(self) -> SandboxClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def request(
        self, verb: str, path: str, json: dict[str, Any] | None = None, /, **params: Any
    ) -> dict[str, Any]:
        """One control-API call; ``params`` become the query string (None values dropped)."""
        query = {k: v for k, v in params.items() if v is not None}
        response = await self.http.request(
            verb, f"{self.base_url}/sandbox/api{path}", json=json, params=query
        )
        if response.headers.get("content-type", "").startswith("application/json"):
            data: dict[str, Any] = response.json()
        else:
            data = {"ok": response.is_success, "error": response.text}
        if not response.is_success or data.get("ok") is False:
            raise SandboxClientError(response.status_code, str(data.get("error", data)))
        return data

    def _with_bot(self, body: dict[str, Any], bot: str | int | None) -> dict[str, Any]:
        chosen = bot if bot is not None else self.bot
        clean = {k: v for k, v in body.items() if v is not None}
        if chosen is not None:
            clean["bot"] = chosen
        return clean

    # --------------------------------------------------------------------- endpoints

    async def info(self) -> dict[str, Any]:
        return await self.request("GET", "/info")

    async def add_bot(
        self, token: str, platform: str = "telegram", **fields: Any
    ) -> dict[str, Any]:
        data = await self.request(
            "POST", "/bots", {"token": token, "platform": platform, **fields}
        )
        return data["bot"]  # type: ignore[no-any-return]

    async def create_user(
        self,
        first_name: str = "کاربر آزمایشی",
        *,
        user_id: int | None = None,
        last_name: str | None = None,
        username: str | None = None,
        language_code: str | None = "fa",
        phone_number: str | None = None,
    ) -> dict[str, Any]:
        body = {
            "id": user_id,
            "first_name": first_name,
            "last_name": last_name,
            "username": username,
            "language_code": language_code,
            "phone_number": phone_number,
        }
        data = await self.request(
            "POST", "/users", {k: v for k, v in body.items() if v is not None}
        )
        return data["user"]  # type: ignore[no-any-return]

    async def send_text(
        self, user_id: int, text: str, *, bot: str | int | None = None, **extra: Any
    ) -> dict[str, Any]:
        return await self.request(
            "POST", f"/users/{user_id}/text", self._with_bot({"text": text, **extra}, bot)
        )

    async def send_command(
        self, user_id: int, command: str, args: str | None = None, *, bot: str | int | None = None
    ) -> dict[str, Any]:
        body = self._with_bot({"command": command, "args": args}, bot)
        return await self.request("POST", f"/users/{user_id}/command", body)

    async def send_contact(
        self,
        user_id: int,
        phone_number: str | None = None,
        *,
        own: bool = True,
        contact_user_id: int | None = None,
        first_name: str | None = None,
        forwarded_from: int | None = None,
        bot: str | int | None = None,
    ) -> dict[str, Any]:
        body = self._with_bot(
            {
                "phone_number": phone_number,
                "own": own,
                "contact_user_id": contact_user_id,
                "first_name": first_name,
                "forwarded_from": forwarded_from,
            },
            bot,
        )
        return await self.request("POST", f"/users/{user_id}/contact", body)

    async def press_reply_button(
        self,
        user_id: int,
        text: str,
        *,
        phone_number: str | None = None,
        bot: str | int | None = None,
    ) -> dict[str, Any]:
        body = self._with_bot({"text": text, "phone_number": phone_number}, bot)
        return await self.request("POST", f"/users/{user_id}/reply_button", body)

    async def press_inline_button(
        self,
        user_id: int,
        *,
        text: str | None = None,
        callback_data: str | None = None,
        message_id: int | None = None,
        bot: str | int | None = None,
    ) -> dict[str, Any]:
        body = self._with_bot(
            {"text": text, "callback_data": callback_data, "message_id": message_id}, bot
        )
        return await self.request("POST", f"/users/{user_id}/inline_button", body)

    async def send_photo(
        self,
        user_id: int,
        data: bytes | None = None,
        *,
        caption: str | None = None,
        bot: str | int | None = None,
    ) -> dict[str, Any]:
        body = self._with_bot(
            {
                "data_base64": base64.b64encode(data).decode() if data is not None else None,
                "caption": caption,
            },
            bot,
        )
        return await self.request("POST", f"/users/{user_id}/photo", body)

    async def send_document(
        self,
        user_id: int,
        data: bytes,
        file_name: str,
        *,
        mime_type: str | None = None,
        caption: str | None = None,
        bot: str | int | None = None,
    ) -> dict[str, Any]:
        body = self._with_bot(
            {
                "data_base64": base64.b64encode(data).decode(),
                "file_name": file_name,
                "mime_type": mime_type,
                "caption": caption,
            },
            bot,
        )
        return await self.request("POST", f"/users/{user_id}/document", body)

    async def send_media(
        self, user_id: int, kind: str, *, bot: str | int | None = None, **fields: Any
    ) -> dict[str, Any]:
        """A sticker, voice, video, audio, animation or video_note (generated when no data)."""
        return await self.request(
            "POST", f"/users/{user_id}/media/{kind}", self._with_bot(fields, bot)
        )

    async def send_location(
        self,
        user_id: int,
        latitude: float = 35.6892,
        longitude: float = 51.3890,
        *,
        bot: str | int | None = None,
    ) -> dict[str, Any]:
        body = self._with_bot({"latitude": latitude, "longitude": longitude}, bot)
        return await self.request("POST", f"/users/{user_id}/location", body)

    async def edit_message(
        self, user_id: int, message_id: int, text: str, *, bot: str | int | None = None
    ) -> dict[str, Any]:
        body = self._with_bot({"message_id": message_id, "text": text}, bot)
        return await self.request("POST", f"/users/{user_id}/edit", body)

    async def block(self, user_id: int, *, bot: str | int | None = None) -> dict[str, Any]:
        return await self.request("POST", f"/users/{user_id}/block", self._with_bot({}, bot))

    async def unblock(self, user_id: int, *, bot: str | int | None = None) -> dict[str, Any]:
        return await self.request("POST", f"/users/{user_id}/unblock", self._with_bot({}, bot))

    async def cursor(self) -> int:
        return int((await self.request("GET", "/cursor"))["cursor"])

    async def events(
        self, chat_id: int, since: int = 0, *, wait: float = 0, bot: str | int | None = None
    ) -> dict[str, Any]:
        chosen = bot if bot is not None else self.bot
        return await self.request(
            "GET", f"/chats/{chat_id}/events", since=since, wait=wait, bot=chosen
        )

    async def messages(
        self, chat_id: int, *, sender: str = "bot", bot: str | int | None = None, **params: Any
    ) -> list[dict[str, Any]]:
        chosen = bot if bot is not None else self.bot
        data = await self.request(
            "GET", f"/chats/{chat_id}/messages", sender=sender, bot=chosen, **params
        )
        return data["messages"]  # type: ignore[no-any-return]

    async def keyboard(
        self, chat_id: int, *, bot: str | int | None = None
    ) -> dict[str, Any] | None:
        chosen = bot if bot is not None else self.bot
        data = await self.request("GET", f"/chats/{chat_id}/keyboard", bot=chosen)
        return data["keyboard"]  # type: ignore[no-any-return]

    async def wait_idle(
        self,
        quiet_ms: float | None = None,
        timeout_s: float | None = None,
        *,
        bot: str | int | None = None,
    ) -> dict[str, Any]:
        """Wait for the bot to settle; raises :class:`NotIdleError` if it does not in time."""
        body = self._with_bot(
            {
                "quiet_ms": self.quiet_ms if quiet_ms is None else quiet_ms,
                "timeout_ms": 1000 * (self.timeout_s if timeout_s is None else timeout_s),
            },
            bot,
        )
        data = await self.request("POST", "/wait_idle", body)
        if not data.get("idle"):
            raise NotIdleError(408, f"the bot did not settle: {data}")
        return data

    async def callbacks(
        self, *, unanswered: bool = False, bot: str | int | None = None
    ) -> list[dict[str, Any]]:
        chosen = bot if bot is not None else self.bot
        data = await self.request(
            "GET", "/callbacks", unanswered=str(unanswered).lower(), bot=chosen
        )
        return data["callbacks"]  # type: ignore[no-any-return]

    async def calls(
        self, *, method: str | None = None, since: int = 0, bot: str | int | None = None
    ) -> list[dict[str, Any]]:
        chosen = bot if bot is not None else self.bot
        data = await self.request("GET", "/calls", method=method, since=since, bot=chosen)
        return data["calls"]  # type: ignore[no-any-return]

    async def add_fault(self, **fields: Any) -> dict[str, Any]:
        """Inject failures, e.g. ``add_fault(method="sendMessage", count=2, retry_after=1)``."""
        data = await self.request("POST", "/faults", fields)
        return data["fault"]  # type: ignore[no-any-return]

    async def faults(self) -> list[dict[str, Any]]:
        return (await self.request("GET", "/faults"))["faults"]  # type: ignore[no-any-return]

    async def clear_faults(self) -> None:
        await self.request("DELETE", "/faults")

    async def set_flood(self, **limits: Any) -> None:
        await self.request("PUT", "/flood", limits)

    async def clear_flood(self) -> None:
        await self.request("DELETE", "/flood")

    async def reset(self, *, bot_settings: bool = False) -> None:
        """Forget users, chats and updates (and the bots' webhooks and commands if asked)."""
        await self.request("POST", "/reset", {"bot_settings": bot_settings})

    async def stats(self) -> dict[str, Any]:
        return await self.request("GET", "/stats")

    # ------------------------------------------------------------- conversation helpers

    async def reaction(
        self,
        user_id: int,
        action: dict[str, Any],
        bot: str | int | None = None,
        *,
        expect_reply: bool = True,
    ) -> Reaction:
        """What the bot did after ``action`` (the answer of any user action), once it settled.

        A polling bot cannot be seen working between taking an update and answering, so with
        ``expect_reply`` (the bot answers everything) this first waits for the bot's first
        event in the chat, then for quiet; without it, only for quiet.
        """
        cursor = int(action["cursor"])
        if expect_reply:
            loop = asyncio.get_running_loop()
            deadline = loop.time() + self.timeout_s
            since = cursor
            while True:
                remaining = deadline - loop.time()
                if remaining <= 0:
                    raise NotIdleError(408, f"the bot did not answer within {self.timeout_s} s")
                data = await self.events(user_id, since=since, wait=remaining, bot=bot)
                if any(e.get("sender") == "bot" for e in data["events"]):
                    break
                since = int(data["cursor"])
        await self.wait_idle(bot=bot)
        data = await self.events(user_id, since=cursor, bot=bot)
        return Reaction(data["events"], action)

    async def say(
        self, user_id: int, text: str, *, bot: str | int | None = None, expect_reply: bool = True
    ) -> Reaction:
        """Send text, wait for the bot to settle, return what it did."""
        action = await self.send_text(user_id, text, bot=bot)
        return await self.reaction(user_id, action, bot, expect_reply=expect_reply)

    async def tap(
        self,
        user_id: int,
        text: str | None = None,
        *,
        callback_data: str | None = None,
        message_id: int | None = None,
        bot: str | int | None = None,
        expect_reply: bool = True,
    ) -> Reaction:
        """Press an inline button (on the latest message that has it) and return the reaction."""
        action = await self.press_inline_button(
            user_id, text=text, callback_data=callback_data, message_id=message_id, bot=bot
        )
        return await self.reaction(user_id, action, bot, expect_reply=expect_reply)

    async def press(
        self,
        user_id: int,
        text: str,
        *,
        phone_number: str | None = None,
        bot: str | int | None = None,
        expect_reply: bool = True,
    ) -> Reaction:
        """Press a reply-keyboard button and return the reaction."""
        action = await self.press_reply_button(user_id, text, phone_number=phone_number, bot=bot)
        return await self.reaction(user_id, action, bot, expect_reply=expect_reply)

    async def share_contact(
        self,
        user_id: int,
        phone_number: str,
        *,
        own: bool = True,
        contact_user_id: int | None = None,
        bot: str | int | None = None,
        expect_reply: bool = True,
    ) -> Reaction:
        """Share a contact (own, or someone else's) and return the reaction."""
        action = await self.send_contact(
            user_id, phone_number, own=own, contact_user_id=contact_user_id, bot=bot
        )
        return await self.reaction(user_id, action, bot, expect_reply=expect_reply)
