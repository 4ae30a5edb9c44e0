"""The audit page: server-rendered HTML (Jinja2), no JavaScript, read-only.

Routes: ``/`` (to the list), ``/submissions`` (filterable list), ``/submissions/{id}`` (the
verdict's reasons, the deployment and the event chain; a verdict's ``detailsUrl`` points here),
``/investigations/{id}`` (a stored investigation report), ``/login`` and ``/logout``.

A request that the read-access rule refuses gets a page with the reason and, when a token is
configured, a sign-in form: nothing from the store.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from belay.logs import get_logger
from belay.store import InvestigationRecord
from belay.web.access import COOKIE_NAME
from belay.web.deps import SECURITY_HEADERS, WebContext, read_ruling, web_context
from belay.web.views import (
    DEPLOYMENT_STATES,
    SubmissionFilter,
    list_submissions,
    submission_detail,
)

__all__ = ["guard", "page", "router"]

router = APIRouter(include_in_schema=False)
_log = get_logger("belay.web")

_SEVERITY_ORDER = {"critical": 0, "warning": 1, "info": 2}


def page(request: Request, name: str, context: dict[str, Any], status: int = 200) -> HTMLResponse:
    """Render a template with the security headers every page carries."""
    web = web_context(request)
    response = web.templates.TemplateResponse(
        request, name, {"access_mode": web.access.mode, **context}, status_code=status
    )
    response.headers.update(SECURITY_HEADERS)
    return response


def _denied(request: Request, status: int, reason: str) -> HTMLResponse:
    web = web_context(request)
    return page(
        request,
        "denied.html",
        {"reason": reason, "can_sign_in": web.access.uses_token, "next": request.url.path},
        status=status,
    )


def guard(request: Request) -> HTMLResponse | None:
    """The refusal page when the read-access rule refuses ``request``; ``None`` when allowed."""
    ruling = read_ruling(request)
    if ruling.allowed:
        return None
    return _denied(request, ruling.status, ruling.reason)


def _safe_next(target: str | None) -> str:
    """Only a local path is a valid place to return to after signing in."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/submissions"


@router.get("/")
async def index() -> RedirectResponse:
    return RedirectResponse("/submissions", status_code=303)


@router.get("/submissions", response_class=HTMLResponse)
async def submissions_page(
    request: Request,
    project: Annotated[str | None, Query(max_length=255)] = None,
    application: Annotated[str | None, Query(max_length=255)] = None,
    commit: Annotated[str | None, Query(max_length=64)] = None,
    state: Annotated[str | None, Query(max_length=32)] = None,
) -> Response:
    refused = guard(request)
    if refused is not None:
        return refused
    web: WebContext = web_context(request)
    filters = SubmissionFilter(
        project=project or None,
        application=application or None,
        commit=commit or None,
        state=state or None,
    )
    rows = await run_in_threadpool(list_submissions, web.services.store, filters)
    projects = sorted(p.name for p in web.services.settings.projects)
    applications = sorted(
        {p.argocd.application for p in web.services.settings.projects if p.argocd}
    )
    return page(
        request,
        "submissions.html",
        {
            "rows": rows,
            "filters": filters,
            "projects": projects,
            "applications": applications,
            "states": ["pass", "fail", *DEPLOYMENT_STATES, "none"],
        },
    )


@router.get("/submissions/{submission_id}", response_class=HTMLResponse)
async def submission_page(request: Request, submission_id: str) -> Response:
    refused = guard(request)
    if refused is not None:
        return refused
    web = web_context(request)
    detail = await run_in_threadpool(submission_detail, web.services.store, submission_id[:64])
    if detail is None:
        return page(
            request,
            "not_found.html",
            {"what": "submission", "ident": submission_id[:64]},
            status=404,
        )
    return page(request, "submission.html", {"d": detail})


@router.get("/investigations/{report_id}", response_class=HTMLResponse)
async def investigation_page(request: Request, report_id: str) -> Response:
    refused = guard(request)
    if refused is not None:
        return refused
    web = web_context(request)

    def load() -> tuple[dict[str, Any] | None, InvestigationRecord | None]:
        with web.services.store.unit_of_work() as uow:
            ident = report_id[:64]
            return uow.investigations.get(ident), uow.investigations.record(ident)

    report, record = await run_in_threadpool(load)
    if report is None:
        return page(
            request,
            "not_found.html",
            {"what": "investigation report", "ident": report_id[:64]},
            status=404,
        )
    findings = sorted(
        report.get("findings") or [],
        key=lambda f: _SEVERITY_ORDER.get(str(f.get("severity")), 9),
    )
    return page(
        request,
        "investigation.html",
        {"r": report, "report_id": report_id, "findings": findings, "record": record},
    )


@router.get("/login", response_class=HTMLResponse)
async def login_form(
    request: Request,
    token: Annotated[str | None, Query(max_length=4096)] = None,
    next: Annotated[str | None, Query(max_length=2048)] = None,
) -> Response:
    if token is not None:
        # A token in a URL ends up in proxy access logs and browser history: never accept it.
        return _denied(request, 400, "Send the read token with the sign-in form, not in the URL.")
    web = web_context(request)
    return page(
        request,
        "denied.html",
        {
            "reason": "Sign in with the read token."
            if web.access.uses_token
            else "No read token is configured; there is nothing to sign in to.",
            "can_sign_in": web.access.uses_token,
            "next": _safe_next(next),
        },
    )


@router.post("/login", response_class=HTMLResponse)
async def login_submit(
    request: Request,
    token: Annotated[str, Form(max_length=4096)] = "",
    next: Annotated[str, Form(max_length=2048)] = "",
) -> Response:
    return _sign_in(request, token, next)


def _sign_in(request: Request, token: str, target: str | None) -> Response:
    web = web_context(request)
    if not web.access.uses_token or not web.access.check_token(token.strip()):
        _log.warning("web.sign_in_refused", client=request.client.host if request.client else None)
        return _denied(request, 401, "That is not the read token.")
    cookie = web.access.cookie_value()
    assert cookie is not None
    response = RedirectResponse(_safe_next(target), status_code=303)
    response.set_cookie(
        COOKIE_NAME,
        cookie,
        httponly=True,
        samesite="strict",
        secure=web.services.settings.public_url.startswith("https://"),
        max_age=12 * 3600,
        path="/",
    )
    response.headers.update(SECURITY_HEADERS)
    return response


@router.get("/logout")
async def logout() -> RedirectResponse:
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(COOKIE_NAME, path="/")
    return response
