"""The workspace's pages: sign-in, watchlist (live), customer, warning inbox, cases,
portfolio and the auditor's view. Each handler checks the session first, then the desk's
portfolio, then (for a change) the form's CSRF token and the role."""

from __future__ import annotations

import asyncio
import json
import os
from datetime import UTC, datetime
from typing import Any

import anyio
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response, StreamingResponse
from starlette.routing import Route

from config.errors import CreditRadarError
from connectors.channels import Notifier
from connectors.channels.store import Store as AlertStore
from connectors.channels.store import ts
from detectors.clock import parse_time, to_seconds, within_years
from web.app import LOGIN_COOKIE, SESSION_COOKIE, App, SafeJSON, customer_url, seg
from web.auth import (
    LOGIN_FORM_SECONDS,
    Session,
    User,
    check_password,
    login_token,
    login_token_age,
    same_token,
)
from web.cases import Refused
from web.charts import pd_history, term_structure
from web.erp import ACTIONS
from web.filters import Filters
from web.params import whole_number
from web.reports import evaluation, replay_reports
from web.tables import GRADES
from web.trail import wall_time

PAGE_SIZE, MAX_PAGE_SIZE = 50, 200
SSE_KEEPALIVE_SECONDS = 15.0
SSE_TICK_SECONDS = 0.25
"""How often an open event stream looks for a new version of the run's files."""
SSE_SESSION_CHECK_SECONDS = 1.0
"""How often an open event stream looks its session up again (it ends without one)."""


def routes(app: App) -> list[Route]:
    """Every page of the workspace, bound to ``app``."""
    pages = Pages(app)
    return [
        Route("/healthz", pages.healthz),
        Route("/login", pages.login_form, methods=["GET"]),
        Route("/login", pages.login, methods=["POST"]),
        Route("/logout", pages.logout, methods=["POST"]),
        Route("/", pages.home),
        Route("/watchlist", pages.watchlist),
        Route("/watchlist/rows", pages.watchlist_rows),
        Route("/events", pages.events),
        Route("/customers/{customer_id:path}", pages.customer),
        Route("/explain/{customer_id:path}", pages.explain),
        Route("/inbox", pages.inbox),
        Route("/warnings/{warning_id}", pages.warning),
        Route("/warnings/{warning_id}/{step}", pages.warning_step, methods=["POST"]),
        Route("/silences/{silence_id}/expire", pages.expire_silence, methods=["POST"]),
        Route("/cases", pages.cases),
        Route("/cases/{case_id}", pages.case),
        Route("/cases/{case_id}/propose", pages.propose, methods=["POST"]),
        Route("/proposals/{proposal_id}/{step}", pages.proposal_step, methods=["POST"]),
        Route("/portfolio", pages.portfolio),
        Route("/auditor", pages.auditor),
        Route("/auditor/export", pages.export),
        Route("/admin/users", pages.users),
    ]


def page_of(request: Request) -> tuple[int, int]:
    """The page number (from 1) and page size asked for, within bounds; one that is no
    whole number is refused (it used to reset both to the first page of the default size)."""
    page = whole_number(request.query_params.get("page", "1"))
    size = whole_number(request.query_params.get("size", str(PAGE_SIZE)))
    if page is None or size is None:
        raise Refused("bad_page", "page and size must be whole numbers", 400)
    return max(1, min(page, 100_000)), max(1, min(size, MAX_PAGE_SIZE))


def size_kept(size: int) -> dict[str, str]:
    """The page size as a query parameter for links that keep it (none for the default)."""
    return {} if size == PAGE_SIZE else {"size": str(size)}


def as_of_param(text: str | None) -> datetime | None:
    """An "as of" date or time from a query, or None when absent, not a time (a longer text,
    or one holding a control character, included), or outside the years the monitor's clock
    handles (`detectors.clock.within_years`)."""
    if not text or len(text) > 40 or not text.isprintable():
        return None
    try:
        moment = parse_time(text)
    except ValueError:
        return None
    return moment if within_years(to_seconds(moment)) else None


def requested_as_of(request: Request) -> datetime | None:
    """The ``as_of`` the query asks for (None: none asked); one that is no date or time the
    monitor's clock handles is refused, rather than answered as of another moment (the
    latest, or without the explanation)."""
    text = request.query_params.get("as_of")
    as_of = as_of_param(text)
    if text and as_of is None:
        raise Refused("bad_time", "as_of must be a date (2024-06-30) or a time "
                      "(2024-06-30T12:00:00Z) within the years the monitor handles", 400)
    return as_of


def customer_id_of(request: Request) -> str:
    """The customer a request names: the last segment of its path, or, where the path ends
    at ``/customers/`` (``/explain/``, ``/api/customers/``), the query's ``id``: how a link
    names a customer whose id a browser would resolve away (`web.app.customer_target`)."""
    return request.path_params["customer_id"] or request.query_params.get("id", "")


def safe_next(target: str | None) -> str:
    """Where to go after signing in: a path of this site only."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/watchlist"


class Pages:
    def __init__(self, app: App) -> None:
        self.app = app
        self.ws = app.workspace

    # -- sign-in ---------------------------------------------------------------------------

    async def healthz(self, request: Request) -> Response:
        """That the workspace answers, how often the run's files brought something new, and
        its process id, by which ``serve --background`` knows it is its own process that
        answers on the port (`web.background.start`)."""
        return SafeJSON({"status": "ok", "version": self.ws.version, "pid": os.getpid()})

    async def login_form(self, request: Request, error: str | None = None,
                         status: int = 200) -> Response:
        """The sign-in form, with a token of its own (`web.auth.login_token`) in a field
        and in a cookie that lasts as long as the server takes the token."""
        token = login_token(self.ws.login_key)
        response = self.app.render(request, "login.html", status=status, login_token=token,
                                   next=safe_next(request.query_params.get("next")),
                                   error=error)
        response.set_cookie(LOGIN_COOKIE, token, httponly=True, samesite="strict",
                            secure=self.ws.settings.workspace.secure_cookies, path="/login",
                            max_age=LOGIN_FORM_SECONDS)
        return response

    def check_login_token(self, values: dict[str, str], request: Request) -> None:
        """Refuse a sign-in whose form field and cookie differ, whose token this server did
        not issue, or issued more than `LOGIN_FORM_SECONDS` ago (`web.auth.login_token_age`):
        the form's token is short-lived, not any pair of values a client makes up."""
        cookie = request.cookies.get(LOGIN_COOKIE, "")
        age = login_token_age(self.ws.login_key, cookie)
        if age is None or not same_token(values.get("csrf"), cookie):
            raise Refused("csrf", "the sign-in form's security token is missing or wrong: "
                          "reload the page and sign in again")
        if age > LOGIN_FORM_SECONDS:
            raise Refused("login_expired", f"the sign-in form is older than "
                          f"{LOGIN_FORM_SECONDS // 60} minutes: reload the page and sign in "
                          "again")

    async def login(self, request: Request) -> Response:
        form = await request.form()
        values = {k: str(v) for k, v in form.items() if isinstance(v, str)}
        self.check_login_token(values, request)
        username = values.get("username", "").strip().lower()[:120]
        client = request.client.host if request.client else ""
        sessions = self.ws.sessions
        attempt = sessions.attempt(username, client)
        if attempt is None:
            raise Refused("rate_limited", "too many failed sign-ins for this account or from "
                          "this address: wait a few minutes and try again", 429)
        user = await anyio.to_thread.run_sync(check_password, self.ws.store, username,
                                              values.get("password", ""))
        if user is None:
            self.ws.trail.record("sign_in_failed", username or "-",
                                 {"username": username, "client": client}, by=None)
            return await self.login_form(request, "wrong user name or password", 401)
        sessions.succeeded(username, client, attempt)
        token, session = sessions.start(user)
        self.ws.trail.record("signed_in", user.username, {"client": client, "role": user.role},
                             by=user.username)
        response = RedirectResponse(safe_next(values.get("next")), status_code=303)
        response.set_cookie(SESSION_COOKIE, token, httponly=True, samesite="strict",
                            secure=self.ws.settings.workspace.secure_cookies, path="/",
                            max_age=int(self.ws.settings.workspace.session_hours * 3600))
        response.delete_cookie(LOGIN_COOKIE, path="/login")
        return response

    async def logout(self, request: Request) -> Response:
        session = self.app.session(request)
        await self.app.posted(request, session)  # any role signs out, auditors too
        self.ws.sessions.end(session)
        self.ws.trail.record("signed_out", session.user.username, {}, by=session.user.username)
        response = RedirectResponse("/login", status_code=303)
        response.delete_cookie(SESSION_COOKIE, path="/")
        return response

    # -- watchlist -------------------------------------------------------------------------

    async def home(self, request: Request) -> Response:
        self.app.session(request)
        return RedirectResponse("/watchlist", status_code=303)

    def _watchlist(self, request: Request, session: Session) -> dict[str, Any]:
        filters = Filters(request.query_params)
        page, size = page_of(request)
        rows, total = self.ws.store.watchlist(filters,
                                              self.ws.view_tags(session.user, filters.desk),
                                              offset=(page - 1) * size, limit=size)
        pages = max(1, -(-total // size))
        return {"rows": rows, "total": total, "page": page, "pages": pages, "size": size,
                "first": (page - 1) * size, "filters": filters,
                "kept": {**filters.as_dict(), **size_kept(size)}, "version": self.ws.version}

    async def watchlist(self, request: Request) -> Response:
        session = self.app.session(request)
        context = self._watchlist(request, session)
        return self.app.render(request, "watchlist.html", grades=GRADES,
                               choices=self.ws.store.choices(self.ws.tags_of(session.user)),
                               desks=sorted(self.ws.settings.alerts.receivers), **context)

    async def watchlist_rows(self, request: Request) -> Response:
        session = self.app.session(request)
        return self.app.render(request, "_rows.html", **self._watchlist(request, session))

    async def events(self, request: Request) -> Response:
        """Server-sent events: ``changed`` whenever the run's files brought something new.
        The session is looked up again every `SSE_SESSION_CHECK_SECONDS`: signed out,
        expired, or its account disabled or changed, the stream ends; so it does when the
        server is stopping (`Workspace.closing`)."""
        self.app.session(request)
        workspace = self.ws
        token = request.cookies.get(SESSION_COOKIE)
        checks = round(SSE_SESSION_CHECK_SECONDS / SSE_TICK_SECONDS)

        async def stream() -> Any:
            seen = workspace.version
            yield f"event: hello\ndata: {seen}\n\n"
            quiet, ticks = 0.0, 0
            while not workspace.closing:
                await asyncio.sleep(SSE_TICK_SECONDS)
                quiet += SSE_TICK_SECONDS
                ticks += 1
                if ticks % checks == 0 and await anyio.to_thread.run_sync(
                        workspace.sessions.find, token) is None:
                    return
                if workspace.version != seen:
                    seen = workspace.version
                    quiet = 0.0
                    yield f"event: changed\ndata: {seen}\n\n"
                elif quiet >= SSE_KEEPALIVE_SECONDS:
                    quiet = 0.0
                    yield ": keep-alive\n\n"

        return StreamingResponse(stream(), media_type="text/event-stream",
                                 headers={"x-accel-buffering": "no"})

    # -- customers -------------------------------------------------------------------------

    def visible_customer(self, session: Session, customer_id: str) -> dict[str, Any]:
        """The customer, if it exists and belongs to the user's portfolio; else a refusal."""
        row = self.ws.store.customer(customer_id)
        if row is None:
            raise Refused("not_found", "no such customer", 404)
        if not self.ws.may_see(session.user, customer_id):
            raise Refused("other_desk", "this customer belongs to another desk's portfolio: "
                          "your desk cannot open it")
        return row

    async def customer(self, request: Request) -> Response:
        session = self.app.session(request)
        customer_id = customer_id_of(request)
        row = self.visible_customer(session, customer_id)
        history = self.ws.store.score_history(customer_id)
        warnings = self.ws.store.customer_warnings(customer_id)
        as_of = requested_as_of(request)
        shown = as_of.strftime("%Y-%m-%dT%H:%M:%SZ") if as_of else (
            row["scored_at"] or (warnings[-1]["event_time"] if warnings else ""))
        latest = next((w for w in reversed(warnings) if w["body"].get("reasons")), None)
        horizon = int(latest["body"]["horizon_months"]) if latest else (
            self.ws.settings.horizon_months)
        exposure, limit, insured = row["exposure"], row["credit_limit"], row["insured_limit"]
        term, term_learned = term_structure(None if row["defaulted"] else row["pd"], horizon,
                                            row["pd_term"])
        return self.app.render(
            request, "customer.html", customer=row, history=history, warnings=warnings,
            chart=pd_history(history, warnings), term=term, term_learned=term_learned,
            horizon=horizon, latest=latest, cases=self.ws.store.cases_of(customer_id),
            as_of=shown, explain_src=customer_url(customer_id, "explain", as_of=shown),
            insured_share=(min(1.0, insured / exposure) if insured is not None and exposure
                           else row["insured_share"]), limit=limit)

    async def explain(self, request: Request) -> Response:
        session = self.app.session(request)
        customer_id = customer_id_of(request)
        row = self.visible_customer(session, customer_id)
        as_of = requested_as_of(request) or (
            parse_time(row["scored_at"]) if row["scored_at"] else datetime.now(UTC))
        doc = await anyio.to_thread.run_sync(self.ws.explain, customer_id, as_of)
        return self.app.render(request, "_explain.html", doc=doc, evidence=_evidence(doc))

    # -- inbox and warnings ----------------------------------------------------------------

    async def inbox(self, request: Request) -> Response:
        session = self.app.session(request)
        mine = request.query_params.get("mine") == "yes"
        snoozed = request.query_params.get("snoozed") == "yes"
        page, size = page_of(request)
        rows = self.ws.store.inbox(
            self.ws.tags_of(session.user), limit=size, offset=(page - 1) * size,
            assigned_to=session.user.username if mine else None, now=wall_time(),
            snoozed=snoozed)
        return self.app.render(request, "inbox.html", rows=rows, mine=mine, snoozed=snoozed,
                               page=page, kept=size_kept(size))

    def visible_warning(self, session: Session, warning_id: str) -> dict[str, Any]:
        warning = self.ws.store.warning(warning_id)
        if warning is None:
            raise Refused("not_found", "no such warning", 404)
        self.visible_customer(session, warning["customer_id"])
        return warning

    async def warning(self, request: Request) -> Response:
        session = self.app.session(request)
        warning = self.visible_warning(session, request.path_params["warning_id"])
        return self.app.render(
            request, "warning.html", warning=warning, body=warning["body"],
            model_choice=self.ws.model_choice(warning["body"]),
            notes=self.ws.store.notes_of(warning["warning_id"]),
            case=self.ws.store.case_for_warning(warning["warning_id"]),
            silences=self._silences(warning),
            users=[u["username"] for u in self.ws.store.all_users()
                   if self._why_not_assignee(u, warning) is None])

    def _why_not_assignee(self, account: dict[str, Any], warning: dict[str, Any]) -> str | None:
        """Why ``account`` cannot be given ``warning`` to work (None: it can): it must be
        able to sign in, to change things and to open the warning's customer."""
        user = User.of(account)
        if account["disabled"]:
            return f"{user.username}'s account is disabled"
        if user.reads_only:
            return f"{user.username} is an auditor, who reads only"
        if not self.ws.may_see(user, warning["customer_id"]):
            return (f"{user.username} works another desk, whose portfolio does not hold "
                    "this customer")
        return None

    def _assignee(self, username: str, warning: dict[str, Any]) -> str:
        """The user ``warning`` is assigned to; a refusal that says why for a name that is
        no account or one that cannot work it (`_why_not_assignee`)."""
        account = self.ws.store.user(username)
        if account is None:
            raise Refused("bad_assignee", "assign to an existing user", 400)
        why = self._why_not_assignee(account, warning)
        if why is not None:
            raise Refused("bad_assignee", f"{why}: assign the warning to someone who may "
                          "work it", 400)
        return username

    def _silences(self, warning: dict[str, Any]) -> list[dict[str, Any]]:
        store = AlertStore(self.ws.settings.state_dir)
        try:
            return [s for s in store.silences() if s["customer_id"] == warning["customer_id"]
                    or s["warning_id"] == warning["warning_id"]]
        finally:
            store.close()

    async def warning_step(self, request: Request) -> Response:
        session = self.app.session(request)
        form = await self.app.form(request, session)
        warning = self.visible_warning(session, request.path_params["warning_id"])
        step = request.path_params["step"]
        user = session.user.username
        at = wall_time()
        comment = form.get("comment", "")[:2000]
        if step == "case":
            case = self.ws.cases.open(session.user, warning)
            return RedirectResponse(f"/cases/{seg(case['case_id'])}", status_code=303)
        if step == "ack":
            self._notifier_ack(warning, user, comment)
            self.ws.store.update_warning(warning["warning_id"],
                                         {"kind": "acknowledged", "by": user, "at": at,
                                          "text": comment}, acked_by=user, acked_at=at)
            details: dict[str, Any] = {"comment": comment}
        elif step == "assign":
            assignee = self._assignee(form.get("assignee", ""), warning)
            self.ws.store.update_warning(warning["warning_id"],
                                         {"kind": "assigned", "by": user, "at": at,
                                          "text": assignee}, assigned_to=assignee)
            details = {"assignee": assignee}
        elif step == "snooze":
            until = as_of_param(form.get("until"))
            if until is None:
                raise Refused("bad_time", "snooze needs a date to snooze until", 400)
            text = until.strftime("%Y-%m-%dT%H:%M:%SZ")
            self.ws.store.update_warning(warning["warning_id"],
                                         {"kind": "snoozed", "by": user, "at": at,
                                          "text": f"until {text}: {comment}"},
                                         snoozed_until=text)
            details = {"until": text, "comment": comment}
        elif step == "comment":
            if not comment.strip():
                raise Refused("empty", "a comment needs some text", 400)
            self.ws.store.update_warning(warning["warning_id"],
                                         {"kind": "comment", "by": user, "at": at,
                                          "text": comment})
            details = {"comment": comment}
        elif step == "silence":
            details = self._silence(warning, form, user)
        else:
            raise Refused("not_found", "no such step", 404)
        self.ws.trail.record(f"warning_{step}", warning["warning_id"],
                             {"customer_id": warning["customer_id"], **details}, by=user,
                             event_time=warning["event_time"])
        return RedirectResponse(f"/warnings/{seg(warning['warning_id'])}", status_code=303)

    def _notifier_ack(self, warning: dict[str, Any], user: str, comment: str) -> None:
        """Acknowledge in the notifier too, when it knows the warning (no escalation)."""
        notifier = Notifier(self.ws.settings.alerts, self.ws.settings.state_dir,
                            audit=self.ws.settings.audit)
        try:
            notifier.ack(warning["warning_id"], by=user, comment=comment)
        except CreditRadarError:
            pass  # the run delivers no alerts: the workspace's own record is the ack
        finally:
            notifier.close()

    def _silence(self, warning: dict[str, Any], form: dict[str, str],
                 user: str) -> dict[str, Any]:
        until = as_of_param(form.get("until"))
        reason = form.get("comment", "").strip()[:500]
        if until is None or not reason:
            raise Refused("bad_silence", "a silence needs an end (event time) and a reason",
                          400)
        scope = form.get("scope", "customer")
        notifier = Notifier(self.ws.settings.alerts, self.ws.settings.state_dir,
                            audit=self.ws.settings.audit)
        try:
            silence_id = notifier.silence(
                until, by=user, comment=reason,
                customer_id=warning["customer_id"] if scope == "customer" else None,
                warning_id=warning["warning_id"] if scope != "customer" else None)
        finally:
            notifier.close()
        return {"silence_id": silence_id, "scope": scope, "until": ts(until), "reason": reason}

    async def expire_silence(self, request: Request) -> Response:
        session = self.app.session(request)
        form = await self.app.form(request, session)
        silence_id = request.path_params["silence_id"]
        reason = form.get("comment", "").strip()[:500]
        if not reason:
            raise Refused("bad_silence", "expiring a silence needs a reason", 400)
        store = AlertStore(self.ws.settings.state_dir)
        try:
            found = next((s for s in store.silences() if s["silence_id"] == silence_id), None)
            if found is None:
                raise Refused("not_found", "no such silence", 404)
            if found["customer_id"]:
                self.visible_customer(session, found["customer_id"])
            elif found["warning_id"]:
                self.visible_warning(session, found["warning_id"])
            latest = self.ws.store.latest_event_time()
            until = min(ts(parse_time(latest)) if latest else found["until"], found["until"])
            store.add_silence({**found, "until": until})
            store.event(ts(datetime.now(UTC)), "silence_expired", found["warning_id"], None,
                        f"{silence_id} by {session.user.username}: {reason}")
            store.db.commit()
        finally:
            store.close()
        self.ws.trail.record("silence_expired", silence_id,
                             {"customer_id": found["customer_id"],
                              "warning_id": found["warning_id"], "until": until,
                              "reason": reason}, by=session.user.username, event_time=latest)
        back = form.get("back", "/inbox")
        return RedirectResponse(safe_next(back), status_code=303)

    # -- cases -----------------------------------------------------------------------------

    async def cases(self, request: Request) -> Response:
        """The open cases of the user's portfolio, a page at a time, with how many there are."""
        session = self.app.session(request)
        page, size = page_of(request)
        rows, total = self.ws.store.open_cases(self.ws.tags_of(session.user),
                                               offset=(page - 1) * size, limit=size)
        return self.app.render(request, "cases.html", rows=rows, total=total, page=page,
                               pages=max(1, -(-total // size)), kept=size_kept(size))

    def visible_case(self, session: Session, case_id: str) -> dict[str, Any]:
        case = self.ws.store.get_case(case_id)
        if case is None:
            raise Refused("not_found", "no such case", 404)
        self.visible_customer(session, case["customer_id"])
        return case

    async def case(self, request: Request) -> Response:
        session = self.app.session(request)
        case = self.visible_case(session, request.path_params["case_id"])
        warning = self.ws.store.warning(case["warning_id"])
        proposals = self.ws.store.proposals_of(case["case_id"])
        pending = next((p for p in proposals if p["decision"] is None), None)
        deliveries = {p["proposal_id"]: self.ws.erp.status(p["idempotency_key"])
                      for p in proposals if p["delivery"] == "queued"}
        return self.app.render(request, "case.html", case=case, warning=warning,
                               body=warning["body"] if warning else {}, proposals=proposals,
                               pending=pending, actions=ACTIONS, deliveries=deliveries,
                               customer=self.ws.store.customer(case["customer_id"]))

    async def propose(self, request: Request) -> Response:
        session = self.app.session(request)
        form = await self.app.form(request, session)
        case = self.visible_case(session, request.path_params["case_id"])
        warning = self.ws.store.warning(case["warning_id"]) or {}
        customer = self.ws.store.customer(case["customer_id"]) or {}
        self.ws.cases.propose(session.user, case, warning, form.get("action", ""),
                              form.get("amount"), form.get("comment", ""),
                              customer.get("customer_currency"))
        return RedirectResponse(f"/cases/{seg(case['case_id'])}", status_code=303)

    async def proposal_step(self, request: Request) -> Response:
        session = self.app.session(request)
        form = await self.app.form(request, session)
        proposal = self.ws.store.proposal(request.path_params["proposal_id"])
        if proposal is None:
            raise Refused("not_found", "no such proposal", 404)
        case = self.visible_case(session, proposal["case_id"])
        warning = self.ws.store.warning(case["warning_id"]) or {}
        step = request.path_params["step"]
        if step in ("approve", "reject"):
            await anyio.to_thread.run_sync(
                lambda: self.ws.cases.decide(session.user, proposal, warning,
                                             step == "approve", form.get("comment", "")))
        elif step == "resend":
            if proposal["decision"] != "approved" or proposal["delivery"] != "not_sent":
                raise Refused("not_failed", "only an approved action that could not be "
                              "posted is posted again (the outbox retries queued ones)", 409)
            if not session.user.may_approve:
                raise Refused("not_approver", "only an approver or admin may send it again")
            await anyio.to_thread.run_sync(self.ws.cases.send, proposal, warning,
                                           session.user)
        else:
            raise Refused("not_found", "no such step", 404)
        return RedirectResponse(f"/cases/{seg(case['case_id'])}", status_code=303)

    # -- portfolio, auditor, users ---------------------------------------------------------

    async def portfolio(self, request: Request) -> Response:
        session = self.app.session(request)
        tags = self.ws.tags_of(session.user)
        store = self.ws.store
        tables = {by: store.portfolio(by, tags) for by in ("grade", "country", "industry")}
        return self.app.render(request, "portfolio.html", tables=tables,
                               migration=store.migration(
                                   tags, request.query_params.get("month")), grades=GRADES,
                               champions=self.ws.champions(),
                               evaluation=evaluation(self.ws.out))

    def _auditor(self, session: Session) -> None:
        if session.user.role not in ("auditor", "admin"):
            raise Refused("not_auditor", "the auditor's view is for auditors and admins")

    async def auditor(self, request: Request) -> Response:
        session = self.app.session(request)
        self._auditor(session)
        run_log = await anyio.to_thread.run_sync(self._verify_run_log)
        trail = self.ws.trail.verify()
        skipped = await anyio.to_thread.run_sync(self.ws.follower.skipped)
        return self.app.render(request, "auditor.html", run_log=run_log, trail=trail,
                               skipped=skipped, records=self.ws.trail.records(100),
                               replays=replay_reports(self.ws.out))

    def _verify_run_log(self) -> dict[str, Any]:
        from connectors.audit import verify_log

        if not self.ws.log.is_dir():
            return {"ok": False, "verdict": "no audit log in the run's folder"}
        try:
            report = verify_log(self.ws.log, self.ws.settings.audit.key_bytes())
        except CreditRadarError as exc:
            return {"ok": False, "verdict": str(exc)}
        verdict = report.verdict()
        if report.problem is not None:
            verdict += f" ({report.problem}; a run still writing is not closed yet)"
        return {"ok": report.ok, "verdict": verdict}

    async def export(self, request: Request) -> Response:
        from flows.explain import export_warning

        session = self.app.session(request)
        self._auditor(session)
        warning_id = request.query_params.get("warning_id", "").strip()[:200]
        try:
            doc = await anyio.to_thread.run_sync(export_warning, self.ws.log, warning_id,
                                                 self.ws.settings.audit.key_bytes(),
                                                 self.ws.settings)
        except KeyError:
            raise Refused("not_found", "the run's audit log holds no such warning",
                          404) from None
        self.ws.trail.record("warning_exported", warning_id, {}, by=session.user.username,
                             event_time=doc["warning"].get("event_time"))
        return Response(json.dumps(doc, indent=2, ensure_ascii=True) + "\n",
                        media_type="application/json",
                        headers={"content-disposition":
                                 f'attachment; filename="warning-{_file(warning_id)}.json"'})

    async def users(self, request: Request) -> Response:
        session = self.app.session(request)
        if session.user.role != "admin":
            raise Refused("not_admin", "the list of users is for admins")
        return self.app.render(request, "users.html", users=self.ws.store.all_users())


def _file(value: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in value)[:80]


def _evidence(doc: dict[str, Any]) -> list[dict[str, Any]]:
    """The explanation's evidence events with their raw record's fields, for a table."""
    out = []
    for entry in doc.get("evidence", []):
        fields: dict[str, Any] = {}
        if entry.get("found"):
            try:
                parsed = json.loads(entry.get("raw") or "{}")
                fields = parsed if isinstance(parsed, dict) else {"raw": entry.get("raw")}
            except ValueError:
                fields = {"raw": entry.get("raw")}
        out.append({**entry, "fields": fields})
    return out
