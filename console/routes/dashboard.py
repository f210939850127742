"""The supervisors' dashboard with its charts (inline SVG drawn on the server)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from console.charts import intent_bars, messages_chart
from console.deps import ConsoleConfigDep, DashboardDep, Supervisor
from console.rendering import render

router = APIRouter()


@router.get("/dashboard")
async def dashboard_page(
    request: Request, agent: Supervisor, dashboard: DashboardDep, config: ConsoleConfigDep
) -> Response:
    data = await dashboard.overview(days=config.dashboard_days)
    return render(
        request,
        "dashboard.html",
        {
            "d": data,
            "days": config.dashboard_days,
            "chart": messages_chart(data.days),
            "bars": intent_bars(data.intent_totals),
        },
    )
