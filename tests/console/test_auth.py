"""Sign-in, sessions, CSRF and security headers of the console."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.clock import FixedClock
from services.db.models import AuditLog
from services.settings import Settings
from tests.console.conftest import CSRF, AgentFactory, ConsoleFactory
from tests.handoff.conftest import PASSWORD


async def test_logged_out_requests_are_refused(
    console_factory: ConsoleFactory, queued: int
) -> None:
    console = await console_factory()
    for page in ("/queue", "/mine", f"/conversations/{queued}", "/tickets", "/dashboard"):
        response = await console.get(page)
        assert response.status_code == 303, page
        assert response.headers["location"].startswith("/login?next=")
    poll = await console.get(f"/conversations/{queued}/poll")
    assert poll.status_code == 401
    # A form with a valid token of an anonymous session is still refused: no agent.
    await console.get("/login")
    take = await console.post(f"/conversations/{queued}/take")
    assert take.status_code == 401


async def test_login_page_is_persian_rtl(console_factory: ConsoleFactory) -> None:
    console = await console_factory()
    page = await console.get("/login")
    assert page.status_code == 200
    assert '<html lang="fa" dir="rtl">' in page.text
    assert "ورود کارشناسان" in page.text


async def test_login_and_logout(
    console_factory: ConsoleFactory, agent_factory: AgentFactory, session: AsyncSession
) -> None:
    await agent_factory("sara", online=False)
    console = await console_factory()
    await console.get("/login?next=/tickets")
    response = await console.post(
        "/login", {"username": "sara", "password": "a-long-test-password", "next": "/tickets"}
    )
    assert response.status_code == 303 and response.headers["location"] == "/tickets"
    cookie = response.headers["set-cookie"]
    assert "httponly" in cookie.lower() and "samesite=strict" in cookie.lower()
    assert "secure" not in cookie.lower()  # local http console; see https_only
    page = await console.get("/queue")
    assert page.status_code == 200 and "کارشناس sara" in page.text
    out = await console.post("/logout")
    assert out.status_code == 303
    assert (await console.get("/queue")).status_code == 303
    actions = (await session.scalars(select(AuditLog.action))).all()
    assert "agent.login" in actions and "agent.logout" in actions


async def test_login_refuses_wrong_password_then_throttles(
    console_factory: ConsoleFactory, agent_factory: AgentFactory
) -> None:
    await agent_factory("sara", online=False)
    console = await console_factory()
    await console.get("/login")
    statuses = []
    for _ in range(5):
        response = await console.post("/login", {"username": "sara", "password": "nope-nope"})
        statuses.append(response.status_code)
    assert statuses == [401, 401, 401, 401, 429]
    assert "ورودهای ناموفق زیاد بود" in response.text
    right = await console.post("/login", {"username": "sara", "password": "a-long-test-password"})
    assert right.status_code == 429


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/x", "/\\evil"])
async def test_no_open_redirect_after_login(
    console_factory: ConsoleFactory, agent_factory: AgentFactory, target: str
) -> None:
    await agent_factory("sara", online=False)
    console = await console_factory()
    await console.get("/login")
    response = await console.post(
        "/login", {"username": "sara", "password": "a-long-test-password", "next": target}
    )
    assert response.headers["location"] == "/queue"


async def test_forms_without_csrf_token_are_refused(
    console_factory: ConsoleFactory, queued: int
) -> None:
    sara = await console_factory("sara")
    missing = await sara.post(f"/conversations/{queued}/take", csrf=False)
    assert missing.status_code == 403 and "منقضی" in missing.text
    wrong = await sara.post(f"/conversations/{queued}/take", {"csrf_token": "forged"}, csrf=False)
    assert wrong.status_code == 403
    # Another session's token does not work either.
    reza = await console_factory("reza")
    stolen = await sara.post(
        f"/conversations/{queued}/take", {"csrf_token": reza.csrf}, csrf=False
    )
    assert stolen.status_code == 403
    login = await (await console_factory()).post(
        "/login", {"username": "sara", "password": "x"}, csrf=False
    )
    assert login.status_code == 403
    logout = await sara.post("/logout", csrf=False)
    assert logout.status_code == 403
    # The header works as well as the field (for scripts).
    ok = await sara.http.post(f"/conversations/{queued}/take", headers={"x-csrf-token": sara.csrf})
    assert ok.status_code == 303


async def test_a_session_token_rotates_at_sign_in(
    console_factory: ConsoleFactory, agent_factory: AgentFactory
) -> None:
    await agent_factory("sara", online=False)
    console = await console_factory()
    await console.get("/login")
    before = console.csrf
    await console.login("sara")
    assert console.csrf and console.csrf != before


async def test_security_headers(console_factory: ConsoleFactory) -> None:
    page = await (await console_factory()).get("/login")
    csp = page.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert page.headers["x-content-type-options"] == "nosniff"
    assert page.headers["x-frame-options"] == "DENY"


async def test_https_only_marks_the_cookie_secure(
    db_settings: Settings,
    session_factory: async_sessionmaker[AsyncSession],
    clock: FixedClock,
    agent_factory: AgentFactory,
) -> None:
    import httpx

    from console.app import create_console_app
    from tests.conftest import with_config

    await agent_factory("sara", online=False)
    app = create_console_app(
        with_config(db_settings, "console", https_only=True), session_factory, clock
    )
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="https://testserver"
    ) as client:
        page = await client.get("/login")
        cookie = page.headers["set-cookie"]
        assert "secure" in cookie.lower()
        # Issue 17, finding 15: the __Host- prefix and HSTS when https_only.
        assert cookie.startswith("__Host-tamin_console=") and "path=/" in cookie.lower()
        assert "domain=" not in cookie.lower()
        hsts = page.headers["strict-transport-security"]
        assert hsts == "max-age=31536000; includeSubDomains"
        csrf = CSRF.search(page.text)
        assert csrf is not None
        signed_in = await client.post(
            "/login",
            data={"username": "sara", "password": PASSWORD, "csrf_token": csrf[1]},
        )
        assert signed_in.status_code == 303
        assert (await client.get("/queue")).status_code == 200


async def test_plain_http_console_sends_no_hsts(console_factory: ConsoleFactory) -> None:
    page = await (await console_factory()).get("/login")
    assert "strict-transport-security" not in page.headers
    assert page.headers["set-cookie"].startswith("tamin_console=")


async def test_availability_switch(
    console_factory: ConsoleFactory, agent_factory: AgentFactory
) -> None:
    await agent_factory("sara", online=False)
    sara = await console_factory("sara")
    response = await sara.post("/availability", {"available": "0", "back": "/tickets"})
    assert response.status_code == 303 and response.headers["location"] == "/tickets"
    page = await sara.get("/queue")
    assert "اعلام آمادگی" in page.text


async def test_signed_in_agent_skips_the_login_page(
    console_factory: ConsoleFactory, agent_factory: AgentFactory
) -> None:
    await agent_factory("sara", online=False)
    sara = await console_factory("sara")
    response = await sara.get("/login?next=/tickets")
    assert response.status_code == 303 and response.headers["location"] == "/tickets"
