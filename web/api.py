"""The JSON API behind the same sign-in: what the watchlist and customer pages show."""

from __future__ import annotations

from typing import Any

import anyio
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from connectors.contracts import MAX_AMOUNT
from web.app import App, SafeJSON
from web.cases import Refused
from web.filters import Filters
from web.pages import customer_id_of, page_of, requested_as_of
from web.params import decimal, whole_number


def routes(app: App) -> list[Route]:
    api = Api(app)
    return [
        Route("/api/watchlist", api.watchlist),
        Route("/api/customers/{customer_id:path}", api.customer),
        Route("/api/check", api.check, methods=["POST"]),
    ]


class Api:
    def __init__(self, app: App) -> None:
        self.app = app
        self.ws = app.workspace

    async def watchlist(self, request: Request) -> Response:
        """``{"total", "page", "size", "rows"}``: one page of the ranked watchlist."""
        session = self.app.session(request)
        page, size = page_of(request)
        filters = Filters(request.query_params)
        rows, total = self.ws.store.watchlist(filters,
                                              self.ws.view_tags(session.user, filters.desk),
                                              offset=(page - 1) * size, limit=size)
        return SafeJSON({"total": total, "page": page, "size": size, "rows": rows})

    async def check(self, request: Request) -> Response:
        """The pre-sale check (`creditradar check`) of a posted order: ``customer_id``,
        ``amount`` (above zero, at most `MAX_AMOUNT`, as ``check --amount`` takes it),
        optional ``terms`` (days), with the session's CSRF token; answered for a customer
        of the user's portfolio and recorded under the user's name."""
        from flows.check_cli import answer_order
        from web.pages import Pages

        session = self.app.session(request)
        values = await self.app.form(request, session)
        customer_id = values.get("customer_id", "")
        Pages(self.app).visible_customer(session, customer_id)
        amount = decimal(values.get("amount"))
        terms = whole_number(values["terms"]) if values.get("terms") else None
        if amount is None or (values.get("terms") and terms is None):
            raise Refused("bad_order", "amount must be a number and terms a whole number "
                          "of days", 400)
        if not 0 < amount <= MAX_AMOUNT:
            raise Refused("bad_order", f"amount must be above zero and at most "
                          f"{MAX_AMOUNT:.0e}", 400)
        answer, as_of = await anyio.to_thread.run_sync(
            answer_order, self.ws.out, self.ws.settings, customer_id, amount, terms,
            session.user.username)
        return SafeJSON({"customer_id": customer_id, "amount": amount, "terms_days": terms,
                         "as_of": as_of, "currency": self.ws.settings.reporting_currency,
                         "outcome": answer.outcome, "reasons": answer.reasons,
                         "figures": answer.figures})

    async def customer(self, request: Request) -> Response:
        """The customer, its month-end scores, warnings and cases; with ``as_of``, also
        the explanation `creditradar explain --as-of` gives."""
        from web.pages import Pages

        session = self.app.session(request)
        customer_id = customer_id_of(request)
        row = Pages(self.app).visible_customer(session, customer_id)
        store = self.ws.store
        doc: dict[str, Any] = {
            "customer": row, "scores": store.score_history(customer_id),
            "warnings": [w["body"] for w in store.customer_warnings(customer_id)],
            "cases": [{**case, "proposals": store.proposals_of(case["case_id"])}
                      for case in store.cases_of(customer_id)]}
        as_of = requested_as_of(request)
        if as_of is not None:
            doc["explain"] = await anyio.to_thread.run_sync(self.ws.explain, customer_id,
                                                            as_of)
        return SafeJSON(doc)
