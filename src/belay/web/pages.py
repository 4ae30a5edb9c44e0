"""The audit page: server-rendered HTML (Jinja2), no JavaScript, read-only.

Routes: ``/`` (to the list), ``/submissions`` (filterable list), ``/submissions/{id}`` (the
verdict's reasons, the deployment and the event chain; a verdict's ``detailsUrl`` points here),
``/investigations/{id}`` (a stored investigation report), ``/login`` and ``/logout``.

A request that the read-access rule refuses gets a page with the reason and, when a token is
configured, a sign-in form: nothing from the store. Signing in (``POST /login``) is throttled
per client (:mod:`belay.web.throttle`), needs a same-origin post with the form's CSRF token, and
makes a server-side session (:mod:`belay.web.sessions`); signing out (``POST /logout``, from
the button on every page) deletes it.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from belay.logs import get_logger
from belay.store import InvestigationRecord
from belay.web.csrf import CSRF_COOKIE
from belay.web.deps import (
    CsrfChecked,
    PageNotCrossSite,
    PageReadAllowed,
    Web,
    client_address,
    web_context,
)
from belay.web.sessions import SESSION_COOKIE
from belay.web.views import (
    DEPLOYMENT_STATES,
    FINDING_SORTS,
    SubmissionFilter,
    list_submissions,
    recent_unapproved,
    submission_detail,
)

__all__ = ["denied_page", "page", "router"]

router = APIRouter(include_in_schema=False)
_log = get_logger("belay.web")

_NOTHING_TO_SIGN_IN_TO = "No read token is configured; there is nothing to sign in to."
_SEVERITY_ORDER = {"critical": 0, "warning": 1, "info": 2}


def page(
    request: Request,
    name: str,
    context: dict[str, Any],
    status: int = 200,
    headers: dict[str, str] | None = None,
) -> HTMLResponse:
    """Render a page; every page carries a CSRF token for its forms (and sets its cookie)."""
    web = web_context(request)
    nonce = request.cookies.get(CSRF_COOKIE) or ""
    fresh = not nonce or len(nonce) > 128
    if fresh:
        nonce = web.csrf.new_nonce()
    response = web.templates.TemplateResponse(
        request,
        name,
        {
            "access_mode": web.access.mode,
            "csrf_token": web.csrf.token(nonce),
            "signed_in": bool(request.cookies.get(SESSION_COOKIE)) and web.sessions is not None,
            **context,
        },
        status_code=status,
        headers=headers,
    )
    if fresh:
        response.set_cookie(
            CSRF_COOKIE,
            nonce,
            httponly=True,
            samesite="strict",
            secure=web.secure_cookies,
            path="/",
        )
    return response


def denied_page(
    request: Request, status: int, reason: str, headers: dict[str, str] | None = None
) -> HTMLResponse:
    """The refusal page: the reason and, with a read token configured, the sign-in form."""
    web = web_context(request)
    return page(
        request,
        "denied.html",
        {"reason": reason, "can_sign_in": web.access.uses_token, "next": request.url.path},
        status=status,
        headers=headers,
    )


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
    web: Web,
    _access: PageReadAllowed,
    project: Annotated[str | None, Query(max_length=255)] = None,
    application: Annotated[str | None, Query(max_length=255)] = None,
    commit: Annotated[str | None, Query(max_length=64)] = None,
    state: Annotated[str | None, Query(max_length=32)] = None,
) -> Response:
    filters = SubmissionFilter(
        project=project or None,
        application=application or None,
        commit=commit or None,
        state=state or None,
    )
    rows = await run_in_threadpool(list_submissions, web.services.store, filters)
    unapproved = await run_in_threadpool(recent_unapproved, web.services.store)
    projects = sorted(p.name for p in web.services.settings.projects)
    applications = sorted(
        {p.argocd.application for p in web.services.settings.projects if p.argocd}
    )
    return page(
        request,
        "submissions.html",
        {
            "rows": rows,
            "unapproved": unapproved,
            "filters": filters,
            "projects": projects,
            "applications": applications,
            "states": ["pass", "fail", *DEPLOYMENT_STATES, "none"],
        },
    )


@router.get("/submissions/{submission_id}", response_class=HTMLResponse)
async def submission_page(
    request: Request,
    web: Web,
    _access: PageReadAllowed,
    submission_id: str,
    sort: Annotated[str | None, Query(max_length=16)] = None,
) -> Response:
    order = sort if sort in FINDING_SORTS else None
    resolution = web.services.clients.resolution
    argocd_urls = {i.name: i.base_url for i in resolution.instances}
    detail = await run_in_threadpool(
        lambda: submission_detail(
            web.services.store, submission_id[:64], sort=order, argocd_urls=argocd_urls
        )
    )
    if detail is None:
        return page(
            request,
            "not_found.html",
            {"what": "submission", "ident": submission_id[:64]},
            status=404,
        )
    return page(request, "submission.html", {"d": detail, "sort": order, "sorts": FINDING_SORTS})


@router.get("/investigations/{report_id}", response_class=HTMLResponse)
async def investigation_page(
    request: Request, web: Web, _access: PageReadAllowed, report_id: str
) -> Response:

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
    web: Web,
    token: Annotated[str | None, Query(max_length=4096)] = None,
    next: Annotated[str | None, Query(max_length=2048)] = None,
) -> Response:
    if token is not None:
        # A token in a URL ends up in proxy access logs and browser history: never accept it.
        return denied_page(
            request, 400, "Send the read token with the sign-in form, not in the URL."
        )
    return page(
        request,
        "denied.html",
        {
            "reason": "Sign in with the read token."
            if web.access.uses_token
            else _NOTHING_TO_SIGN_IN_TO,
            "can_sign_in": web.access.uses_token,
            "next": _safe_next(next),
        },
    )


@router.post("/login", response_class=HTMLResponse)
async def login_submit(
    request: Request,
    web: Web,
    _same_site: PageNotCrossSite,
    _csrf: CsrfChecked,
    token: Annotated[str, Form(max_length=4096)] = "",
    next: Annotated[str, Form(max_length=2048)] = "",
) -> Response:
    """Sign in with the read token: throttled per client, then a new server-side session."""
    client = client_address(request)
    if web.sessions is None:
        return denied_page(request, 400, _NOTHING_TO_SIGN_IN_TO)
    locked = await web.sign_in.locked(client)
    if locked is not None:
        return _locked(request, locked)
    # The digest comparison is constant-time (hmac.compare_digest over SHA-256 digests), and
    # the right and the wrong token take the same path up to here.
    if not web.access.check_token(token.strip()):
        outcome = await web.sign_in.failed(client, "wrong read token")
        _log.warning("web.sign_in_refused", client=client, failures=outcome.failures)
        if outcome.locked:
            return _locked(request, outcome.retry_after)
        return denied_page(request, 401, "That is not the read token.")
    web.sign_in.succeeded(client)
    session_id = await run_in_threadpool(web.sessions.create, client=client)
    response = RedirectResponse(_safe_next(next), status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        session_id,
        httponly=True,
        samesite="strict",
        secure=web.secure_cookies,
        max_age=int(web.sessions.policy.absolute.total_seconds()),
        path="/",
    )
    return response


def _locked(request: Request, seconds: int) -> HTMLResponse:
    return denied_page(
        request,
        429,
        f"Too many wrong tokens from your address: try again in {seconds} seconds.",
        headers={"Retry-After": str(seconds)},
    )


@router.get("/logout", response_class=HTMLResponse)
async def logout_form(request: Request) -> Response:
    """A page with the sign-out button (signing out is a form post)."""
    return page(request, "signout.html", {})


@router.post("/logout")
async def logout(
    request: Request, web: Web, _same_site: PageNotCrossSite, _csrf: CsrfChecked
) -> RedirectResponse:
    """Sign out: the session is deleted in the store, then the cookie in the browser."""
    session_id = request.cookies.get(SESSION_COOKIE, "")
    if session_id and web.sessions is not None:
        await run_in_threadpool(web.sessions.end, session_id)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(
        SESSION_COOKIE, path="/", httponly=True, samesite="strict", secure=web.secure_cookies
    )
    return response
