"""Commands: /start, /menu, /help, /cancel (or the cancel button) and /logout.

They come before everything else, so a command always works, even in the middle of a flow.
"""

from __future__ import annotations

from aiogram import Bot, F, Router
from aiogram.filters import Command, CommandStart
from aiogram.fsm.context import FSMContext
from aiogram.types import BotCommand, Message, ReplyKeyboardMarkup

from bot import formatting as fmt
from bot import keyboards, texts
from bot.deps import Services
from bot.filters import inline
from bot.handlers.dependants import DependantForm, leave_documents
from bot.reply import Reply
from services.clock import Clock
from services.identity import ChatUserInfo


def bot_commands() -> list[BotCommand]:
    """The command list with Persian descriptions, for setMyCommands."""
    return [BotCommand(command=name, description=text) for name, text in texts.COMMANDS.items()]


async def set_commands(bot: Bot) -> None:
    """Publish the commands with their Persian descriptions (setMyCommands)."""
    await bot.set_my_commands(bot_commands())


def _name(chat_user: ChatUserInfo) -> str:
    return f" {chat_user.first_name}" if chat_user.first_name else ""


def is_locked(chat_user: ChatUserInfo, clock: Clock) -> bool:
    """Whether the user's verification is locked after wrong national IDs."""
    return (
        not chat_user.is_verified
        and chat_user.locked_until is not None
        and chat_user.locked_until > clock.now()
    )


def menu_for(chat_user: ChatUserInfo, clock: Clock) -> ReplyKeyboardMarkup:
    """The main menu; without the personal tasks while verification is locked."""
    return keyboards.main_menu(personal=not is_locked(chat_user, clock))


async def on_start(
    message: Message, state: FSMContext, chat_user: ChatUserInfo, clock: Clock, reply: Reply
) -> None:
    """Greet, say what the bot does, and show the contact button (or the menu)."""
    await state.clear()
    await reply(texts.WELCOME, name=_name(chat_user))
    if is_locked(chat_user, clock):
        assert chat_user.locked_until is not None
        await reply(
            texts.VERIFICATION_LOCKED,
            until=fmt.jalali_moment(chat_user.locked_until),
            keyboard=keyboards.main_menu(personal=False),
        )
    elif chat_user.is_verified:
        await reply(texts.WELCOME_VERIFIED, keyboard=keyboards.main_menu())
    else:
        await reply(
            texts.WELCOME_ASK_CONTACT,
            button=texts.BTN_SHARE_CONTACT,
            keyboard=keyboards.share_contact(),
        )


async def on_menu(message: Message, chat_user: ChatUserInfo, clock: Clock, reply: Reply) -> None:
    """Show the main menu."""
    await reply(texts.MENU_SHOWN, keyboard=menu_for(chat_user, clock))


async def on_help(message: Message, chat_user: ChatUserInfo, clock: Clock, reply: Reply) -> None:
    """Say what the bot can do."""
    await reply(texts.HELP, keyboard=menu_for(chat_user, clock))


async def on_cancel(
    message: Message,
    state: FSMContext,
    services: Services,
    chat_user: ChatUserInfo,
    clock: Clock,
    reply: Reply,
) -> None:
    """Leave whatever flow is in progress."""
    step = await state.get_state()
    if step == DependantForm.documents.state:
        # The request is recorded already: nothing is cancelled, the documents can come later.
        await leave_documents(state, services, reply)
        return
    in_flow = step is not None
    await state.clear()
    await reply(
        texts.CANCELLED if in_flow else texts.NOTHING_TO_CANCEL,
        keyboard=menu_for(chat_user, clock),
    )


async def on_logout(
    message: Message, state: FSMContext, services: Services, chat_user: ChatUserInfo, reply: Reply
) -> None:
    """Forget the user's verification (national ID and mobile)."""
    await state.clear()
    if not chat_user.is_verified and not chat_user.has_contact:
        await reply(texts.NOT_VERIFIED_LOGOUT, keyboard=keyboards.main_menu())
        return
    await services.identity.logout(chat_user.id)
    await reply(
        texts.LOGGED_OUT, button=texts.BTN_SHARE_CONTACT, keyboard=keyboards.share_contact()
    )


async def _command_or_cancel(message: Message) -> bool:
    """Whether a message can be one of this router's: a command or the cancel button."""
    text = message.text
    return text is not None and (text.startswith("/") or text == texts.BTN_CANCEL)


def build_router() -> Router:
    router = Router(name=__name__)
    # One cheap check for the whole router, rather than each handler's command parsing.
    router.message.filter(_command_or_cancel)
    router.message.register(on_start, CommandStart())
    router.message.register(on_menu, Command("menu"))
    router.message.register(on_help, Command("help"))
    router.message.register(on_cancel, Command("cancel"))
    router.message.register(on_cancel, inline(F.text == texts.BTN_CANCEL))
    router.message.register(on_logout, Command("logout"))
    return router
