"""The services one update may use, all on the update's database session.

The factory is long-lived (workflow data); a ``Services`` is made per update by the unit-of-work
middleware, and each service object is built only when a handler first asks for it.
"""

from __future__ import annotations

from functools import cached_property

from sqlalchemy.ext.asyncio import AsyncSession

from services.clock import Clock
from services.contributions import ContributionsService
from services.dependants import DependantsService
from services.eligibility import EligibilityService
from services.handoff import HandoffService
from services.identity import IdentityService
from services.info import InfoService
from services.pension import PensionService
from services.settings import Settings
from services.tickets import TicketService
from services.voluntary import VoluntaryService


class Services:
    """Lazily built services bound to one session."""

    def __init__(self, session: AsyncSession, settings: Settings, clock: Clock) -> None:
        self.session = session
        self.settings = settings
        self.clock = clock

    @cached_property
    def identity(self) -> IdentityService:
        return IdentityService(self.session, self.settings, self.clock)

    @cached_property
    def eligibility(self) -> EligibilityService:
        return EligibilityService(self.session, self.settings, self.clock)

    @cached_property
    def contributions(self) -> ContributionsService:
        return ContributionsService(self.session, self.settings, self.clock)

    @cached_property
    def dependants(self) -> DependantsService:
        return DependantsService(self.session, self.settings, self.clock)

    @cached_property
    def tickets(self) -> TicketService:
        return TicketService(self.session, self.settings, self.clock)

    @cached_property
    def voluntary(self) -> VoluntaryService:
        return VoluntaryService(self.session, self.settings, self.clock)

    @cached_property
    def pension(self) -> PensionService:
        return PensionService(self.session, self.settings, self.clock)

    @cached_property
    def info(self) -> InfoService:
        return InfoService(self.settings, self.clock)

    @cached_property
    def handoff(self) -> HandoffService:
        return HandoffService(self.session, self.settings, self.clock)


class ServicesFactory:
    """Makes the ``Services`` of one update."""

    def __init__(self, settings: Settings, clock: Clock) -> None:
        self.settings = settings
        self.clock = clock

    def __call__(self, session: AsyncSession) -> Services:
        return Services(session, self.settings, self.clock)
