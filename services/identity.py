"""Who is talking: chat users, their own shared contact, and verifying a national ID.

Verification (ARCHITECTURE.md § Identity): the user shares their own contact (a contact without
``user_id`` or with someone else's is refused), the mobile is normalised, the user types their
national ID in any digits, and the registry must hold that mobile for that national ID; a
mismatch gets the official instruction to register the mobile at a branch. Failed attempts are
counted per chat user and lock verification for ``identity.lockout_minutes`` once
``identity.max_failures`` happen within ``identity.failure_window_minutes``, so nobody can probe
which national ID goes with a mobile.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from persian import (
    InvalidMobile,
    InvalidNationalId,
    mask_mobile,
    mask_national_id,
    normalize_mobile,
    normalize_national_id,
)
from services.clock import TEHRAN, Clock
from services.common import ChatUserInfo, UserRef, audit, insert_unless_taken, load_chat_user
from services.db.models import ChatUser, VerificationAttempt
from services.errors import (
    ContactNotOwn,
    ContactRequired,
    DomainError,
    IdentityMismatch,
    InvalidMobileError,
    InvalidNationalIdError,
    MobileNotRegistered,
    NotVerified,
    PersonNotFound,
    VerificationLocked,
)
from services.metrics import metrics, snake
from services.registry import RegistryGateway, RegistryPerson, SqlRegistryGateway
from services.settings import Settings

__all__ = ["ChatUserInfo", "IdentityService", "UserRef", "VerifiedIdentity"]

logger = logging.getLogger(__name__)

# The stored first name is cut to the column's width; a longer one is not "changed" each time.
MAX_FIRST_NAME = 64


@dataclass(frozen=True, slots=True)
class VerifiedIdentity:
    """A verified chat user and the registry's record of them."""

    user: ChatUserInfo
    person: RegistryPerson


def _info(user: ChatUser) -> ChatUserInfo:
    return ChatUserInfo(
        id=user.id,
        platform=user.platform,
        platform_user_id=user.platform_user_id,
        first_name=user.first_name,
        mobile=user.mobile,
        national_id=user.national_id,
        verified_at=user.verified_at.astimezone(TEHRAN) if user.verified_at else None,
        locked_until=user.locked_until.astimezone(TEHRAN) if user.locked_until else None,
    )


class IdentityService:
    """Chat users, shared contacts, national-ID verification with lockout, logout."""

    def __init__(
        self,
        session: AsyncSession,
        settings: Settings,
        clock: Clock,
        registry: RegistryGateway | None = None,
    ) -> None:
        self._session = session
        self._config = settings.config.identity
        self._clock = clock
        self._registry = registry or SqlRegistryGateway(session)

    # --- chat users --------------------------------------------------------------------------

    async def find_user(self, platform: str, platform_user_id: int) -> ChatUserInfo | None:
        """Return the chat user of ``(platform, platform_user_id)``, if known."""
        user = await self._find(platform, platform_user_id)
        return None if user is None else _info(user)

    async def ensure_user(
        self, platform: str, platform_user_id: int, first_name: str | None = None
    ) -> ChatUserInfo:
        """Return the chat user of ``(platform, platform_user_id)``, creating it on first contact.

        Writes only when something changed (a new user, a changed first name).
        """
        user = await self._find(platform, platform_user_id)
        if user is not None:
            if first_name and user.first_name != first_name[:MAX_FIRST_NAME]:
                user.first_name = first_name[:MAX_FIRST_NAME]
                user.updated_at = self._clock.now()
                await self._session.flush()
            return _info(user)
        now = self._clock.now()
        values = {
            "platform": platform,
            "platform_user_id": platform_user_id,
            "first_name": first_name[:MAX_FIRST_NAME] if first_name else None,
            "created_at": now,
            "updated_at": now,
        }
        # Two updates of a brand-new user may race: the later one inserts nothing and finds
        # the row the other one wrote.
        await insert_unless_taken(self._session, ChatUser, values)
        user = await self._find(platform, platform_user_id)
        if user is None:
            raise AssertionError("a chat user row clashed and then vanished")
        return _info(user)

    async def get_user(self, who: UserRef) -> ChatUserInfo:
        """Return the chat user with this id (raises :class:`NotVerified` if unknown)."""
        return _info(await load_chat_user(self._session, who))

    async def _find(self, platform: str, platform_user_id: int) -> ChatUser | None:
        return await self._session.scalar(
            select(ChatUser).where(
                ChatUser.platform == platform, ChatUser.platform_user_id == platform_user_id
            )
        )

    # --- contact -----------------------------------------------------------------------------

    async def register_contact(
        self, who: UserRef, *, contact_user_id: int | None, phone_number: str
    ) -> ChatUserInfo:
        """Store the mobile of the user's own shared contact, normalised to ``09xxxxxxxxx``.

        Raises :class:`ContactNotOwn` when the contact has no ``user_id`` or another user's
        (anyone can share a contact card of someone else), :class:`InvalidMobileError` when the
        number is not an Iranian mobile. A new mobile ends an earlier verification, which was
        proven for the old one.
        """
        user = await load_chat_user(self._session, who)
        if contact_user_id is None or contact_user_id != user.platform_user_id:
            raise ContactNotOwn()
        try:
            mobile = normalize_mobile(phone_number)
        except InvalidMobile as exc:
            raise InvalidMobileError() from exc
        if user.mobile != mobile:
            if user.national_id is not None:
                audit(
                    self._session,
                    self._clock,
                    actor=f"chat_user:{user.id}",
                    action="identity.unverified_by_new_contact",
                    subject=f"chat_user:{user.id}",
                )
            user.mobile = mobile
            user.national_id = None
            user.verified_at = None
        user.updated_at = self._clock.now()
        await self._session.flush()
        logger.info("chat user %s shared contact %s", user.id, mask_mobile(mobile))
        return _info(user)

    # --- verification ------------------------------------------------------------------------

    async def lock_status(self, who: UserRef) -> dt.datetime | None:
        """Return when the current verification lock ends (Tehran time), or ``None``."""
        user = await load_chat_user(self._session, who)
        return self._active_lock(user)

    def _active_lock(self, user: ChatUser) -> dt.datetime | None:
        if user.locked_until is not None and user.locked_until > self._clock.now():
            return user.locked_until.astimezone(TEHRAN)
        return None

    async def verify(self, who: UserRef, national_id: str) -> VerifiedIdentity:
        """Verify the typed national ID (any digits and separators) against the shared mobile.

        Raises, in this order: :class:`VerificationLocked` while locked;
        :class:`InvalidNationalIdError` for a malformed ID (not counted: it probes nothing);
        :class:`ContactRequired` before a contact was shared; then, counted as failures,
        :class:`MobileNotRegistered` when the mobile is registered for nobody and
        :class:`IdentityMismatch` when it is not this national ID's — or
        :class:`VerificationLocked` when this failure reached the limit.
        """
        try:
            verified = await self._verify(who, national_id)
        except DomainError as error:
            # By the refusal's kind (identity_mismatch, verification_locked, …): a small set.
            metrics().verifications.labels(snake(type(error).__name__)).inc()
            raise
        metrics().verifications.labels("verified").inc()
        return verified

    async def _verify(self, who: UserRef, national_id: str) -> VerifiedIdentity:
        user = await load_chat_user(self._session, who)
        locked = self._active_lock(user)
        if locked is not None:
            raise VerificationLocked(locked)
        try:
            normalized = normalize_national_id(national_id)
        except InvalidNationalId as exc:
            raise InvalidNationalIdError(exc.problem) from exc
        if user.mobile is None:
            raise ContactRequired()

        now = self._clock.now()
        if await self._registry.mobile_matches(normalized, user.mobile):
            person = await self._registry.person(normalized)
            if person is None:  # an upstream that answers "match" must know the person
                raise PersonNotFound()
            user.national_id = normalized
            user.verified_at = now
            user.updated_at = now
            self._record_attempt(user, normalized, success=True, reason="verified")
            audit(
                self._session,
                self._clock,
                actor=f"chat_user:{user.id}",
                action="identity.verified",
                subject=f"chat_user:{user.id}",
                details={"national_id": mask_national_id(normalized)},
            )
            await self._session.flush()
            logger.info("chat user %s verified as %s", user.id, mask_national_id(normalized))
            return VerifiedIdentity(user=_info(user), person=person)

        registered = await self._registry.mobile_registered(user.mobile)
        reason = "mismatch" if registered else "mobile_not_registered"
        self._record_attempt(user, normalized, success=False, reason=reason)
        await self._session.flush()
        failures = await self._recent_failures(user, now)
        attempts_left = self._config.max_failures - failures
        if attempts_left <= 0:
            until = now + dt.timedelta(minutes=self._config.lockout_minutes)
            user.locked_until = until
            user.updated_at = now
            audit(
                self._session,
                self._clock,
                actor=f"chat_user:{user.id}",
                action="identity.locked",
                subject=f"chat_user:{user.id}",
                details={"failures": failures, "until": until.isoformat()},
            )
            await self._session.flush()
            logger.warning("chat user %s locked after %s failures", user.id, failures)
            raise VerificationLocked(until.astimezone(TEHRAN))
        await self._session.flush()
        logger.info(
            "chat user %s failed verification (%s), %s attempts left",
            user.id,
            reason,
            attempts_left,
        )
        if not registered:
            raise MobileNotRegistered(attempts_left)
        raise IdentityMismatch(attempts_left)

    def _record_attempt(
        self, user: ChatUser, national_id: str, *, success: bool, reason: str
    ) -> None:
        self._session.add(
            VerificationAttempt(
                chat_user_id=user.id,
                national_id_masked=mask_national_id(national_id),
                success=success,
                reason=reason,
                created_at=self._clock.now(),
            )
        )

    async def _recent_failures(self, user: ChatUser, now: dt.datetime) -> int:
        """Count failures inside the window, since the last success and the last lock's end."""
        since = now - dt.timedelta(minutes=self._config.failure_window_minutes)
        last_success = await self._session.scalar(
            select(func.max(VerificationAttempt.created_at)).where(
                VerificationAttempt.chat_user_id == user.id,
                VerificationAttempt.success.is_(True),
            )
        )
        for boundary in (last_success, user.locked_until):
            if boundary is not None and boundary > since:
                since = boundary
        count = await self._session.scalar(
            select(func.count()).where(
                VerificationAttempt.chat_user_id == user.id,
                VerificationAttempt.success.is_(False),
                VerificationAttempt.created_at >= since,
            )
        )
        return int(count or 0)

    async def verified_identity(self, who: UserRef) -> VerifiedIdentity:
        """Return the verified user with their registry record (raises :class:`NotVerified`)."""
        user = await load_chat_user(self._session, who)
        if user.national_id is None or user.verified_at is None:
            raise NotVerified()
        person = await self._registry.person(user.national_id)
        if person is None:
            raise PersonNotFound()
        return VerifiedIdentity(user=_info(user), person=person)

    async def logout(self, who: UserRef) -> ChatUserInfo:
        """Forget the verified national ID and the shared mobile of this chat user."""
        user = await load_chat_user(self._session, who)
        was_verified = user.national_id is not None
        user.national_id = None
        user.verified_at = None
        user.mobile = None
        user.updated_at = self._clock.now()
        audit(
            self._session,
            self._clock,
            actor=f"chat_user:{user.id}",
            action="identity.logout",
            subject=f"chat_user:{user.id}",
            details={"was_verified": was_verified},
        )
        await self._session.flush()
        return _info(user)
