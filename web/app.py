"""The workspace's web application (Starlette, Jinja2 templates with autoescape, a few lines
of script for live updates over server-sent events).

`build_app` wires the routes of `web.pages` and `web.api` with the security headers, the
server-time header, the refusal handler (every refusal is answered plainly, and recorded in
the trail as `App.recorded` says) and the follower, which reads the run's new output lines in
the background.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import anyio
import structlog
from jinja2 import Environment, PackageLoader, select_autoescape
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from detectors.features import label
from flows.choices import describe
from web.auth import Session
from web.cases import Refused
from web.erp import LABELS
from web.text import plain
from web.trail import OncePerWindow
from web.workspace import BUSY, Workspace

log = structlog.get_logger(__name__)

MAX_NEXT_QUERY = 2000
"""The longest query string carried through sign-in back to the page asked for."""
SESSION_COOKIE = "creditradar_session"
LOGIN_COOKIE = "creditradar_login"
STATIC = Path(__file__).parent / "static"
SECURITY_HEADERS = [
    (b"content-security-policy",
     b"default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
     b"connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; "
     b"object-src 'none'"),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"cache-control", b"no-store"),
]
HSTS = (b"strict-transport-security", b"max-age=31536000")
"""Sent when the workspace serves HTTPS itself: browsers then refuse plain HTTP to it for a
year (a proxy that ends TLS in front of it sends its own)."""


class SafeJSON(JSONResponse):
    """JSON with every non-ASCII character escaped (no raw U+2028 or bidi override)."""

    def render(self, content: Any) -> bytes:
        return json.dumps(content, ensure_ascii=True, allow_nan=False,
                          separators=(",", ":")).encode("ascii")


class Headers:
    """ASGI middleware: security headers on every response (`HSTS` too over HTTPS), and
    ``Server-Timing`` with the time the application took to start answering (what the
    benchmark reads)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()

        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start":
                took = (time.perf_counter() - started) * 1000
                headers = list(message.get("headers", []))
                headers += SECURITY_HEADERS
                if scope.get("scheme") == "https":
                    headers.append(HSTS)
                headers.append((b"server-timing", f"app;dur={took:.2f}".encode()))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, sending)


def dot_segment(value: str) -> bool:
    """Whether ``value`` is a path segment that a URL resolves as the folder itself or the
    one above (``.``, ``..``): a browser does so even when the dots are percent-encoded."""
    return value in (".", "..")


def seg(value: Any) -> str:
    """``value`` as one path segment of a link: percent-encoded whole (``/`` too); a segment
    of dots alone with each dot as ``%2E``, which the clients that resolve only literal dots
    (curl, httpx) send as it is and the routes read back as dots. A browser resolves even
    ``%2E%2E``: links to a customer go through `customer_url`."""
    text = str(value)
    return "%2E" * len(text) if dot_segment(text) else quote(text, safe="")


def customer_target(customer_id: str, page: str = "customers") -> tuple[str, dict[str, str]]:
    """Where a customer's ``page`` (``customers``, ``explain``) is: the path, and the query
    fields that go with it. The id is the path's last segment (`seg`), except an id that is a
    dot segment (`dot_segment`), which a browser would resolve to another page: it goes in
    the query as ``id``, under ``/customers/`` (no customer's id is empty, so that path
    names no other customer; `web.pages.customer_id_of` reads both). So does an id holding a
    line feed, which the routes' paths do not match."""
    if dot_segment(customer_id) or "\n" in customer_id:
        return f"/{page}/", {"id": customer_id}
    return f"/{page}/{seg(customer_id)}", {}


def customer_url(customer_id: str, page: str = "customers", **query: str) -> str:
    """The link to a customer's ``page`` with ``query`` (`customer_target`)."""
    path, fields = customer_target(customer_id, page)
    fields.update(query)
    return path + ("?" + urlencode(fields) if fields else "")


def templates() -> Environment:
    env = Environment(loader=PackageLoader("web", "templates"),
                      autoescape=select_autoescape(default=True, default_for_string=True),
                      trim_blocks=True, lstrip_blocks=True)
    env.filters["plain"] = plain
    env.filters["label"] = label
    env.filters["in_words"] = describe
    env.filters["pct"] = lambda v, d=1: "" if v is None else f"{float(v):.{d}%}"
    env.filters["money"] = lambda v: "" if v is None else f"{float(v):,.0f}"
    env.filters["number"] = lambda v: "" if v is None else f"{float(v):,g}"
    env.filters["seg"] = seg
    env.filters["customer_url"] = customer_url
    env.globals["customer_target"] = customer_target
    env.globals["ACTION_LABELS"] = LABELS
    env.globals["query"] = lambda **kw: urlencode({k: v for k, v in kw.items() if v})
    return env


class App:
    """Request helpers shared by the pages and the API."""

    def __init__(self, workspace: Workspace) -> None:
        self.workspace = workspace
        self.env = templates()
        self.anonymous = OncePerWindow(workspace.settings.workspace.login_window_minutes * 60)

    def render(self, request: Request, name: str, status: int = 200,
               **context: Any) -> HTMLResponse:
        session = getattr(request.state, "session", None)
        html = self.env.get_template(name).render(request=request, session=session,
                                                  user=session.user if session else None,
                                                  **context)
        return HTMLResponse(html, status_code=status)

    def session(self, request: Request) -> Session:
        """The signed-in session, or a refusal for a request without one (not recorded:
        `App.recorded`)."""
        session = self.workspace.sessions.find(request.cookies.get(SESSION_COOKIE))
        if session is None:
            raise Refused("no_session", "sign in first: this page needs a signed-in session",
                          401)
        request.state.session = session
        return session

    async def posted(self, request: Request, session: Session) -> dict[str, str]:
        """The posted form, after its CSRF token (the ``csrf`` field, or the
        ``X-CSRF-Token`` header a script sends) was checked against the session's."""
        from web.auth import same_token

        form = await request.form()
        values = {k: str(v) for k, v in form.items() if isinstance(v, str)}
        token = values.get("csrf") or request.headers.get("x-csrf-token")
        if not same_token(token, session.csrf):
            raise Refused("csrf", "the form's security token is missing or wrong: reload the "
                          "page and try again")
        return values

    async def form(self, request: Request, session: Session) -> dict[str, str]:
        """The posted form of a change: its CSRF token checked (`posted`), and refused to a
        role that reads only."""
        values = await self.posted(request, session)
        if session.user.reads_only:
            raise Refused("read_only", "the auditor role reads only: it cannot change anything")
        return values

    def refusal(self, request: Request, exc: Exception) -> Response:
        """Answer a refusal plainly, and record it in the trail with who, what and where
        (when `recorded`)."""
        assert isinstance(exc, Refused)
        session = getattr(request.state, "session", None)
        by = session.user.username if session else None
        client = request.client.host if request.client else ""
        recorded = self.recorded(exc, by, client)
        if recorded:
            self.workspace.trail.record(
                "refused", exc.reason,
                {"reason": exc.reason, "message": exc.message, "method": request.method,
                 "path": request.url.path[:500], "client": client}, by=by)
        (log.info if recorded else log.debug)("workspace.refused", reason=exc.reason, by=by,
                                              path=request.url.path[:200])
        if request.url.path.startswith("/api/") or request.url.path == "/events":
            return SafeJSON({"error": exc.reason, "message": exc.message},
                            status_code=exc.status)
        if exc.reason == "no_session" and request.method == "GET":
            target = "/login?" + urlencode({"next": asked_for(request)})
            return Response(status_code=303, headers={"location": target})
        return self.render(request, "refused.html", status=exc.status, refusal=exc)

    def recorded(self, exc: Refused, by: str | None, client: str) -> bool:
        """Whether a refusal goes to the trail: every one of a signed-in user (``by``).
        Requests without a session anyone who reaches the port can send, as often as they
        like: a missing session is not recorded (it is the way to the sign-in form, not a
        step anyone took), and of the others (a sign-in form's token wrong or expired, too
        many failed sign-ins) only the first of each reason from each address in each window
        of ``workspace.login_window_minutes``, so that they can neither fill the disk nor push
        the real steps out of the auditor's latest ones."""
        if exc.reason == BUSY:  # (the server's state, not a step anyone took)
            return False
        if by is not None:
            return True
        return exc.reason != "no_session" and self.anonymous.first((client, exc.reason))


def asked_for(request: Request) -> str:
    """The page asked for, path and query, to come back to after signing in (the sign-in
    takes it only as a path of this site: `web.pages.safe_next`); a query too long to carry
    is left off."""
    query = request.url.query
    return request.url.path + (f"?{query}" if query and len(query) <= MAX_NEXT_QUERY else "")


async def follow(workspace: Workspace, stop: asyncio.Event) -> None:
    """Read the run's new lines every ``poll_seconds``; bump the version when some came."""
    every = workspace.settings.workspace.poll_seconds
    while not stop.is_set():
        try:
            taken = await anyio.to_thread.run_sync(workspace.follower.poll)
        except Exception as exc:  # a half-written or foreign file: report it, keep following
            log.warning("workspace.follow_failed", error=str(exc)[:300])
            taken = 0
        if taken:
            workspace.version += 1
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=every if not taken else 0.05)


def build_app(workspace: Workspace, *, follow_run: bool = True,
              deliver: bool = True) -> ASGIApp:
    """The ASGI application of ``workspace``: it follows the run's files (``follow_run``)
    and, with ERP endpoints configured and ``deliver``, runs a delivery worker that sends
    the approved actions (and whatever else waits in the notifier's outbox)."""
    from connectors.channels.worker import DeliveryWorker
    from web import api, pages

    app = App(workspace)
    settings = workspace.settings

    @contextlib.asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        stop = asyncio.Event()
        task = asyncio.create_task(follow(workspace, stop)) if follow_run else None
        worker = None
        if deliver and workspace.erp.endpoints:
            worker = DeliveryWorker(settings.alerts, settings.state_dir,
                                    audit=settings.audit).start()
        try:
            yield
        finally:
            stop.set()
            if task is not None:
                await task
            if worker is not None:
                await anyio.to_thread.run_sync(worker.stop)

    routes: list[Route | Mount] = [
        *pages.routes(app), *api.routes(app),
        Mount("/static", StaticFiles(directory=STATIC), name="static"),
    ]
    starlette = Starlette(routes=routes, lifespan=lifespan,
                          exception_handlers={Refused: app.refusal})
    starlette.state.app = app
    return Headers(starlette)
