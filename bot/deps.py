"""The services one update may use, all on the update's database session.

The factory is long-lived (workflow data); a ``Services`` is made per update by the unit-of-work
middleware, and each service object is built only when a handler first asks for it. The intent
log writer and the eligibility store are the process-wide objects among them: they batch
rows across updates (the store's callers still wait for their own row's commit).
"""

from __future__ import annotations

from functools import cached_property

from sqlalchemy.ext.asyncio import AsyncSession

from services.chat import ChatLookup
from services.clock import Clock
from services.contributions import ContributionsService
from services.dependants import DependantsService
from services.eligibility import EligibilityService
from services.eligibility_store import InquiryStore
from services.handoff import EscalationService
from services.identity import IdentityService
from services.info import InfoService
from services.intent_log import IntentLogWriter
from services.knowledge.service import KnowledgeService
from services.knowledge.store import KnowledgeStore
from services.notices import NoticePreferences
from services.pension import PensionService
from services.requests import RequestsService
from services.settings import Settings
from services.tickets import TicketService
from services.voluntary import VoluntaryService


class Services:
    """Lazily built services bound to one session."""

    def __init__(
        self,
        session: AsyncSession,
        settings: Settings,
        clock: Clock,
        intent_log: IntentLogWriter,
        inquiries: InquiryStore | None = None,
        knowledge_store: KnowledgeStore | None = None,
    ) -> None:
        self.session = session
        self.settings = settings
        self.clock = clock
        self.intent_log = intent_log
        self.inquiries = inquiries
        self.knowledge_store = knowledge_store

    @cached_property
    def chat(self) -> ChatLookup:
        return ChatLookup(self.session, self.settings, self.clock)

    @cached_property
    def identity(self) -> IdentityService:
        return IdentityService(self.session, self.settings, self.clock)

    @cached_property
    def eligibility(self) -> EligibilityService:
        return EligibilityService(self.session, self.settings, self.clock, store=self.inquiries)

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
    def notices(self) -> NoticePreferences:
        return NoticePreferences(self.session, self.clock)

    @cached_property
    def requests(self) -> RequestsService:
        return RequestsService(self.session, self.tickets)

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
    def handoff(self) -> EscalationService:
        return EscalationService(self.session, self.settings, self.clock)

    @cached_property
    def knowledge(self) -> KnowledgeService:
        if self.knowledge_store is None:
            raise RuntimeError("the dispatcher was built without the knowledge base")
        return KnowledgeService(self.session, self.knowledge_store, self.clock)


class ServicesFactory:
    """Makes the ``Services`` of one update."""

    def __init__(
        self,
        settings: Settings,
        clock: Clock,
        intent_log: IntentLogWriter,
        inquiries: InquiryStore | None = None,
        knowledge_store: KnowledgeStore | None = None,
    ) -> None:
        self.settings = settings
        self.clock = clock
        self.intent_log = intent_log
        self.inquiries = inquiries
        self.knowledge_store = knowledge_store

    def __call__(self, session: AsyncSession) -> Services:
        return Services(
            session,
            self.settings,
            self.clock,
            self.intent_log,
            self.inquiries,
            self.knowledge_store,
        )
