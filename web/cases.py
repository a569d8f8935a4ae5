"""Cases and four-eyes approval: a warning opens a case, an analyst proposes an action, a
different person approves or rejects it, and an approved action goes to the ERP.

Every step is written to the workspace's audit trail with who did it, the wall time of the
step and the event time of the warning it concerns. A step that is not allowed raises
`Refused`, which the pages show and the trail records.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from connectors.channels.actions import ActionCommand
from connectors.contracts import MAX_AMOUNT
from web.auth import User
from web.db import Store
from web.erp import ACTIONS, ErpActions
from web.params import decimal
from web.trail import Trail, wall_time

MAX_COMMENT = 2000


class Refused(Exception):
    """A request that is not allowed; ``status`` is the HTTP status to answer with."""

    def __init__(self, reason: str, message: str, status: int = 403) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message
        self.status = status


@dataclass(frozen=True, slots=True)
class Cases:
    store: Store
    trail: Trail
    erp: ErpActions

    def open(self, user: User, warning: dict[str, Any]) -> dict[str, Any]:
        """The warning's case, opened now if it has none."""
        _may_change(user)
        found = self.store.case_for_warning(warning["warning_id"])
        if found is not None:
            return found
        case_id = "case-" + hashlib.sha256(warning["warning_id"].encode()).hexdigest()[:12]
        row = {"case_id": case_id, "warning_id": warning["warning_id"],
               "customer_id": warning["customer_id"], "status": "open",
               "opened_by": user.username, "opened_at": wall_time()}
        if self.store.add_case(row):
            self.trail.record("case_opened", case_id,
                              {"warning_id": warning["warning_id"],
                               "customer_id": warning["customer_id"]},
                              by=user.username, event_time=warning["event_time"])
        return self.store.case_for_warning(warning["warning_id"]) or row

    def propose(self, user: User, case: dict[str, Any], warning: dict[str, Any], action: str,
                amount: str | None, comment: str, currency: str | None) -> dict[str, Any]:
        """An analyst's proposal on an open case (one pending proposal at a time). A new
        limit is in ``currency``, the customer's own (the ERP keeps limits in it), which the
        proposal keeps; unknown, no new limit can be proposed."""
        _may_change(user)
        if action not in ACTIONS:
            raise Refused("bad_action", f"unknown action {action!r}", 400)
        value = _amount(action, amount)
        if value is not None and not currency:
            raise Refused("no_currency", "the customer's own currency is not known yet (the "
                          "run's log has not brought its master record): no new limit can "
                          "be proposed", 409)
        if any(p["decision"] is None for p in self.store.proposals_of(case["case_id"])):
            raise Refused("pending", "this case already has a proposal waiting for approval",
                          409)  # (its case's status says "proposed")
        if case["status"] != "open":
            raise Refused("case_finished", f"this case is {case['status']}: it takes no new "
                          "proposal", 409)
        number = len(self.store.proposals_of(case["case_id"])) + 1
        proposal_id = f"{case['case_id']}-p{number}"
        row = {"proposal_id": proposal_id, "case_id": case["case_id"], "action": action,
               "amount": value, "currency": currency if value is not None else None,
               "comment": comment[:MAX_COMMENT],
               "proposed_by": user.username, "proposed_at": wall_time(),
               "idempotency_key": f"creditradar-{proposal_id}"}
        self.store.add_proposal(row)
        self.trail.record("action_proposed", proposal_id,
                          {"case_id": case["case_id"], "warning_id": warning["warning_id"],
                           "customer_id": case["customer_id"], "action": action,
                           "amount": value, "currency": row["currency"],
                           "comment": row["comment"]},
                          by=user.username, event_time=warning["event_time"])
        return row

    def decide(self, user: User, proposal: dict[str, Any], warning: dict[str, Any],
               approve: bool, comment: str) -> dict[str, Any]:
        """Approve or reject a pending proposal: only an approver, never its proposer."""
        _may_change(user)
        if proposal["proposed_by"] == user.username:
            raise Refused("four_eyes", "you proposed this action: a different person must "
                          "approve or reject it")
        if not user.may_approve:
            raise Refused("not_approver", "only an approver or admin may approve or reject")
        if approve:
            _check_currency(proposal)
        decision = "approved" if approve else "rejected"
        at = wall_time()
        changes = {"decision": decision, "decided_by": user.username, "decided_at": at,
                   "decision_comment": comment[:MAX_COMMENT]}
        status = ("closed" if proposal["action"] == "no_action" else "approved") if approve \
            else "open"
        if not self.store.decide(proposal["proposal_id"], proposal["case_id"], changes, status):
            raise Refused("decided", "this proposal was already decided", 409)
        self.trail.record(f"action_{decision}", proposal["proposal_id"],
                          {"case_id": proposal["case_id"], "warning_id": warning["warning_id"],
                           "customer_id": warning["customer_id"],
                           "action": proposal["action"], "amount": proposal["amount"],
                           "proposed_by": proposal["proposed_by"],
                           "comment": changes["decision_comment"]},
                          by=user.username, event_time=warning["event_time"])
        if approve and proposal["action"] != "no_action":
            self.send({**proposal, **changes}, warning, user)
        return {**proposal, **changes}

    def send(self, proposal: dict[str, Any], warning: dict[str, Any], user: User) -> None:
        """Post an approved action to the ERP through the shared action channel (again, when
        it could not be posted before: the same idempotency key). A new limit goes in the
        currency it was proposed in."""
        _check_currency(proposal)
        limit = proposal["action"] == "reduce_limit"
        command = ActionCommand(
            kind=proposal["action"], customer_id=warning["customer_id"],
            warning_id=warning["warning_id"],
            suggested_limit=proposal["amount"] if limit else None,
            currency=proposal["currency"] if limit else None, reason=proposal["comment"],
            requested_by=proposal["proposed_by"], approved_by=proposal["decided_by"],
            event_time=warning["event_time"], idempotency_key=proposal["idempotency_key"])
        posted = self.erp.post(command)
        self.store.set_delivery(proposal["proposal_id"], posted.status, posted.detail)
        self.trail.record(f"action_{posted.status}", proposal["proposal_id"],
                          {"case_id": proposal["case_id"],
                           "command": command.model_dump(mode="json"),
                           "detail": posted.detail},
                          by=user.username, event_time=warning["event_time"])


def _check_currency(proposal: dict[str, Any]) -> None:
    """Refuse to send a new limit whose currency is unknown: a proposal made before the
    workspace kept the customer's currency with it (the amount might be in another)."""
    if proposal["action"] == "reduce_limit" and not proposal.get("currency"):
        raise Refused("no_currency", "this proposal does not say the currency of its new "
                      "limit (it was made by an earlier version): reject it and propose the "
                      "limit again", 409)


def _may_change(user: User) -> None:
    if user.reads_only:
        raise Refused("read_only", "the auditor role reads only: it cannot change anything")


def _amount(action: str, text: str | None) -> float | None:
    if action != "reduce_limit":
        return None
    value = decimal(text)
    if value is None:
        raise Refused("bad_amount", "reducing a limit needs the new limit as a number", 400)
    if not 0 <= value <= MAX_AMOUNT:
        raise Refused("bad_amount", f"the new limit must be from zero to {MAX_AMOUNT:.0e}", 400)
    return round(value, 2)
