"""The two kinds of refusal the sandbox gives: Bot API errors (to the bot) and control errors.

Bot API errors carry Telegram's exact shape and, where known, Telegram's exact description, so
that aiogram raises the same exception class (TelegramBadRequest, TelegramForbiddenError,
TelegramRetryAfter …) as it would against the real server.
"""

from __future__ import annotations

from typing import Any

# Telegram's descriptions, word for word, for the refusals a bot meets most.
TEXT_EMPTY = "Bad Request: message text is empty"
TEXT_TOO_LONG = "Bad Request: message is too long"
CAPTION_TOO_LONG = "Bad Request: message caption is too long"
CHAT_NOT_FOUND = "Bad Request: chat not found"
BLOCKED = "Forbidden: bot was blocked by the user"
CANT_INITIATE = "Forbidden: bot can't initiate conversation with a user"
UNAUTHORIZED = "Unauthorized"
NOT_FOUND = "Not Found"
BUTTON_DATA_INVALID = "Bad Request: BUTTON_DATA_INVALID"
MESSAGE_TO_EDIT_NOT_FOUND = "Bad Request: message to edit not found"
MESSAGE_TO_DELETE_NOT_FOUND = "Bad Request: message to delete not found"
MESSAGE_CANT_BE_EDITED = "Bad Request: message can't be edited"
NO_TEXT_TO_EDIT = "Bad Request: there is no text in the message to edit"
NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup are "
    "exactly the same as a current content and reply markup of the message"
)
QUERY_TOO_OLD = "Bad Request: query is too old and response timeout expired or query ID is invalid"
REPLY_NOT_FOUND = "Bad Request: message to be replied not found"
WRONG_ACTION = "Bad Request: wrong parameter action in request"
WRONG_FILE_ID = "Bad Request: wrong file identifier/HTTP URL specified"
INVALID_FILE_ID = "Bad Request: invalid file_id"
FILE_TOO_BIG = "Bad Request: file is too big"
URL_CONTENT = "Bad Request: failed to get HTTP URL content"
IMAGE_PROCESS_FAILED = "Bad Request: IMAGE_PROCESS_FAILED"
CHAT_ID_EMPTY = "Bad Request: chat_id is empty"
MESSAGE_ID_MISSING = "Bad Request: message identifier is not specified"
WEBHOOK_ACTIVE = (
    "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete "
    "the webhook first"
)
POLL_TERMINATED = (
    "Conflict: terminated by other getUpdates request; make sure that only one bot instance is "
    "running"
)
MARKUP_JSON = "Bad Request: can't parse reply keyboard markup JSON object"
ENTITIES_JSON = "Bad Request: can't parse entities JSON object"
SECRET_TOKEN_CHARS = "Bad Request: secret token contains unallowed characters"
COMMAND_INVALID = "Bad Request: BOT_COMMAND_INVALID"
COMMAND_DESCRIPTION_INVALID = "Bad Request: BOT_COMMAND_DESCRIPTION_INVALID"
COMMANDS_TOO_MUCH = "Bad Request: BOT_COMMANDS_TOO_MUCH"


class BotApiError(Exception):
    """A Bot API refusal; :meth:`body` is the JSON Telegram would answer."""

    def __init__(
        self,
        error_code: int,
        description: str,
        parameters: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(description)
        self.error_code = error_code
        self.description = description
        self.parameters = parameters

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "ok": False,
            "error_code": self.error_code,
            "description": self.description,
        }
        if self.parameters:
            body["parameters"] = self.parameters
        return body


def bad_request(description: str) -> BotApiError:
    if not description.startswith("Bad Request: "):
        description = "Bad Request: " + description
    return BotApiError(400, description)


def retry_after(seconds: int) -> BotApiError:
    return BotApiError(429, f"Too Many Requests: retry after {seconds}", {"retry_after": seconds})


class ControlError(Exception):
    """A control-API request that cannot be done (no such user, no such button …)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
