"""The workspace over HTTP, served by uvicorn on loopback, on a finished run of a hostile
book: sign-in, sessions, CSRF, rate limiting, desks, four-eyes approval with a real ERP
endpoint, the inbox and silences, escaping of feed text and secrets kept off every page."""

from __future__ import annotations

import json
import re
import shutil
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import pytest
from click.testing import CliRunner
from standardwebhooks.webhooks import Webhook
from web_support import (
    ISSUE_HOSTILE,
    PEOPLE,
    POSING_TAG,
    SECRETS,
    Client,
    ErpReceiver,
    ServedWorkspace,
    add_people,
    csrf_of,
    password_of,
    web_settings,
)

from config.settings import Settings
from connectors.audit import verify_log
from detectors.clock import parse_time
from flows.cli import cli
from flows.explain import explain
from flows.run import read_jsonl
from web.app import build_app
from web.trail import PARTITION
from web.workspace import Workspace


class Served:
    def __init__(self, workspace: Workspace, server: ServedWorkspace, erp: ErpReceiver,
                 out: Path) -> None:
        self.workspace, self.server, self.erp, self.out = workspace, server, erp, out
        self.clients: list[Client] = []

    def client(self, username: str | None = None) -> Client:
        client = Client(self.server.url)
        self.clients.append(client)
        if username is not None:
            assert client.sign_in(username, password_of(username)).status_code == 303
        return client

    def trail(self, kind: str | None = None) -> list[Any]:
        return [r for r in self.workspace.trail.records(10_000)
                if kind is None or r.kind == kind]


@pytest.fixture(scope="module")
def served(web_run: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    erp = ErpReceiver()
    data = tmp_path_factory.mktemp("ws-http")
    settings = web_settings(data / "state", erp.port, data_dir=data)
    workspace = Workspace.create(settings, web_run)
    while workspace.follower.poll():
        pass
    add_people(workspace.store)
    server = ServedWorkspace(build_app(workspace))
    result = Served(workspace, server, erp, web_run)
    yield result
    for client in result.clients:
        client.close()
    server.stop()
    erp.stop()
    workspace.store.close()


def wait_for(probe: Callable[[], Any], seconds: float = 30.0) -> Any:
    """The first truthy answer of ``probe``, asked every 0.1 s (the delivery worker sends
    approved actions in the background)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = probe()
        if found:
            return found
        time.sleep(0.1)
    raise AssertionError(f"nothing after {seconds} s")


def page_with(client: Client, path: str, marker: str) -> str | None:
    """The page at ``path`` once it shows ``marker``, else None."""
    text = client.get(path).text
    return text if marker in text else None


def _customers(served: Served, desk_tag: str) -> list[dict[str, Any]]:
    rows, _ = served.workspace.store.watchlist(
        _filters(include_defaulted="yes"), frozenset({desk_tag}), offset=0, limit=1000)
    return rows


def _filters(**values: str) -> Any:
    from web.filters import Filters

    return Filters(values)


def _warned(served: Served, desk_tag: str) -> dict[str, Any]:
    """An early warning of a customer of the desk with ``desk_tag`` (the riskiest one)."""
    for row in _customers(served, desk_tag):
        for warning in served.workspace.store.customer_warnings(row["customer_id"]):
            if warning["kind"] == "early_warning" and not served.workspace.store.\
                    case_for_warning(warning["warning_id"]):
                return warning
    raise AssertionError(f"no early warning on the {desk_tag} desk")


def test_an_expired_silence_is_recorded_with_the_end_it_keeps(served: Served) -> None:
    """A silence that ended before the run's latest event keeps its end when expired; the
    audit record said it ended at the latest event."""
    from connectors.channels.store import Store as AlertStore

    alice = served.client("alice")
    wid = _warned(served, "sme")["warning_id"]
    token = alice.csrf()
    assert alice.post(f"/warnings/{wid}/silence",
                      data={"csrf": token, "scope": "warning", "until": "2021-03-01",
                            "comment": "early"}).status_code == 303
    silence_id = re.search(r"(sil-[0-9a-f]{12})", alice.get(f"/warnings/{wid}").text).group(1)
    assert alice.post(f"/silences/{silence_id}/expire",
                      data={"csrf": token, "comment": "expired"}).status_code == 303
    alerts = AlertStore(served.workspace.settings.state_dir)
    try:
        [silence] = [s for s in alerts.silences() if s["silence_id"] == silence_id]
    finally:
        alerts.close()
    [recorded] = [r for r in served.trail("silence_expired") if r.id == silence_id]
    assert silence["until"].startswith("2021-03-01")
    assert recorded.body["until"] == silence["until"]


def test_a_request_without_a_session_is_refused_and_not_recorded(served: Served) -> None:
    """A request without a session is sent to sign in (401 from the API and a form's
    post): the way to the sign-in form, not a step anyone took, so the audit log, which
    anyone who reaches the port could otherwise fill, records none of them."""
    anonymous = served.client()
    api = anonymous.get("/api/watchlist")
    assert api.status_code == 401 and api.json()["error"] == "no_session"
    page = anonymous.get("/customers/C000001")
    assert page.status_code == 303 and page.headers["location"].startswith("/login?next=")
    post = anonymous.post("/cases/case-x/propose", data={"action": "hold_orders"})
    assert post.status_code == 401 and "sign in first" in post.text
    assert [r for r in served.trail("refused") if r.body["reason"] == "no_session"] == []


def test_sign_in_uses_argon2_and_a_secure_session_cookie(served: Served) -> None:
    stored = served.workspace.store.user("alice")
    assert stored is not None and stored["password_hash"].startswith("$argon2id$")
    assert password_of("alice") not in stored["password_hash"]
    client = served.client()
    wrong = client.sign_in("alice", "not-the-password")
    assert wrong.status_code == 401 and "wrong user name or password" in wrong.text
    assert served.trail("sign_in_failed")
    right = client.sign_in("alice", password_of("alice"))
    assert right.status_code == 303 and right.headers["location"] == "/watchlist"
    cookie = next(h for h in client.set_cookie_headers if h.startswith("creditradar_session="))
    flags = {part.strip().lower() for part in cookie.split(";")}
    assert {"httponly", "secure", "samesite=strict", "path=/"} <= flags
    assert client.get("/watchlist").status_code == 200
    assert served.trail("signed_in")[0].body["by"] == "alice"


def test_sign_in_is_rate_limited_per_account(served: Served) -> None:
    client = served.client()
    allowed = served.workspace.settings.workspace.login_failures_allowed
    served.workspace.store.clear_failures("client:127.0.0.1")
    try:
        for _ in range(allowed):
            assert client.sign_in("dave", "guess-guess-guess").status_code == 401
        blocked = client.sign_in("dave", password_of("dave"))  # even the right password
        assert blocked.status_code == 429 and "too many failed sign-ins" in blocked.text
        assert any(r.body["reason"] == "rate_limited" for r in served.trail("refused"))
    finally:
        served.workspace.store.clear_failures("user:dave")
        served.workspace.store.clear_failures("client:127.0.0.1")
    assert client.sign_in("dave", password_of("dave")).status_code == 303


def test_sign_ins_sent_at_once_are_limited_too(served: Served) -> None:
    """Checking a password takes a while, and a failure was counted only after it: 30
    attempts sent at once were all checked, and the right password among them signed in."""
    import threading

    allowed = served.workspace.settings.workspace.login_failures_allowed
    attempts = allowed * 3
    clients = [served.client() for _ in range(attempts)]
    tokens = [csrf_of(client.get("/login").text) for client in clients]
    together = threading.Barrier(attempts)
    answers: list[int] = []

    def sign_in(index: int) -> None:
        password = password_of("dave") if index == attempts - 1 else f"guess-{index}-guess"
        together.wait()
        answers.append(clients[index].post("/login", data={
            "csrf": tokens[index], "username": "dave", "password": password}).status_code)

    for key in ("user:dave", "client:127.0.0.1"):
        served.workspace.store.clear_failures(key)
    threads = [threading.Thread(target=sign_in, args=(i,)) for i in range(attempts)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
    finally:
        for key in ("user:dave", "client:127.0.0.1"):
            served.workspace.store.clear_failures(key)
        for client in clients:
            client.close()
    assert len(answers) == attempts
    checked = [code for code in answers if code != 429]
    assert len(checked) <= allowed, answers


def test_a_successful_sign_in_does_not_count_against_its_address(served: Served) -> None:
    """An office signs in from one address: only failures count against it."""
    allowed = served.workspace.settings.workspace.login_failures_allowed
    served.workspace.store.clear_failures("client:127.0.0.1")
    client = served.client()
    try:
        for _ in range(allowed * 4 + 2):
            assert client.sign_in("dave", password_of("dave")).status_code == 303
    finally:
        served.workspace.store.clear_failures("client:127.0.0.1")


def test_a_desk_sees_only_its_portfolio(served: Served) -> None:
    alice = served.client("alice")
    rows = alice.get("/api/watchlist?size=200&include_defaulted=yes").json()["rows"]
    assert rows and all("sme" in row["tags"] for row in rows)
    other = _customers(served, "corporate")[0]["customer_id"]
    for path in (f"/customers/{quote(other)}", f"/api/customers/{quote(other)}",
                 f"/explain/{quote(other)}"):
        answer = alice.get(path)
        assert answer.status_code == 403, path
        assert "another desk" in answer.text
    refused = [r for r in served.trail("refused") if r.body["reason"] == "other_desk"]
    assert any(r.body["by"] == "alice" and other in r.body["path"] for r in refused)
    corporate_warning = _warned(served, "corporate")
    assert alice.get(f"/warnings/{corporate_warning['warning_id']}").status_code == 403
    carol = served.client("carol")
    assert carol.get(f"/customers/{quote(other)}").status_code == 200
    everyone = served.client("audrey").get("/api/watchlist?size=1").json()["total"]
    assert everyone > len(rows) - 1 and everyone == served.workspace.store.watchlist(
        _filters(), None, offset=0, limit=1)[1]


def _linked(html: str, kind: str) -> set[str]:
    """The ids of the ``kind`` ("customers", "warnings") a page links to."""
    from urllib.parse import unquote

    return {unquote(found) for found in re.findall(rf'href="/{kind}/([^"?]+)"', html)}


def _by_grade_customers(html: str) -> int:
    """How many customers the portfolio page's table by grade counts."""
    table = html.split("<h2>By grade</h2>")[1].split("</table>")[0]
    return sum(int(n.replace(",", "")) for n in re.findall(
        r'<td>[^<]*</td><td class="num">([\d,]+)</td>', table))


def test_a_tag_holding_another_desks_tag_in_its_text_is_not_that_tag(served: Served) -> None:
    """Customers of the sme desk tagged ``x", "corporate`` (stored in the JSON list of tags
    as ``"x\\", \\"corporate"``) are not the corporate desk's: its watchlist, API, inbox
    and portfolio leave them out, as opening them is refused."""
    from web.trail import wall_time

    store = served.workspace.store
    everyone, _ = store.watchlist(_filters(include_defaulted="yes"), None, offset=0,
                                  limit=10_000)
    posing = {r["customer_id"] for r in everyone if POSING_TAG in r["tags"]}
    corporate = {r["customer_id"] for r in everyone if "corporate" in r["tags"]}
    assert posing and corporate and not posing & corporate
    carol = served.client("carol")
    listed = carol.get("/api/watchlist?size=200&include_defaulted=yes").json()["rows"]
    assert {r["customer_id"] for r in listed} == corporate
    page = carol.get("/watchlist?size=200&include_defaulted=yes").text
    assert _linked(page, "customers") == corporate
    waiting = store.inbox(None, limit=100_000, now=wall_time())
    assert any(w["customer_id"] in posing for w in waiting)
    assert _linked(carol.get("/inbox?size=200").text, "warnings") == {
        w["warning_id"] for w in waiting if w["customer_id"] in corporate}
    trading = [r for r in everyone if r["customer_id"] in corporate and not r["defaulted"]]
    assert _by_grade_customers(carol.get("/portfolio").text) == len(trading)
    one = sorted(posing)[0]
    assert carol.get(f"/customers/{quote(one)}").status_code == 403
    assert served.client("alice").get(f"/customers/{quote(one)}").status_code == 200


def test_a_forged_csrf_token_is_refused_and_recorded(served: Served) -> None:
    alice = served.client("alice")
    warning = _warned(served, "sme")
    path = f"/warnings/{warning['warning_id']}/comment"
    for token in ("forged-token", ""):
        answer = alice.post(path, data={"csrf": token, "comment": "hello"})
        assert answer.status_code == 403 and "security token" in answer.text
    assert sum(r.body["reason"] == "csrf" and r.body["path"] == path
               for r in served.trail("refused")) == 2
    assert served.workspace.store.notes_of(warning["warning_id"]) == []
    ok = alice.post(path, data={"csrf": alice.csrf(), "comment": "looked at it"})
    assert ok.status_code == 303
    assert [n["text"] for n in served.workspace.store.notes_of(warning["warning_id"])] == [
        "looked at it"]


def test_four_eyes_approval_sends_the_action_to_the_erp_once(served: Served) -> None:
    warning = _warned(served, "sme")
    alice, bob = served.client("alice"), served.client("bob")
    opened = alice.post(f"/warnings/{warning['warning_id']}/case", data={"csrf": alice.csrf()})
    assert opened.status_code == 303
    case_path = opened.headers["location"]
    case_id = case_path.rsplit("/", 1)[1]
    proposed = alice.post(f"{case_path}/propose",
                          data={"csrf": alice.csrf(), "action": "reduce_limit",
                                "amount": "5000", "comment": "halve the exposure"})
    assert proposed.status_code == 303
    again = alice.post(f"{case_path}/propose", data={"csrf": alice.csrf(case_path),
                                                     "action": "hold_orders"})
    assert again.status_code == 409 and "already has a proposal waiting" in again.text
    proposal = served.workspace.store.proposals_of(case_id)[0]
    decide = f"/proposals/{proposal['proposal_id']}/approve"
    own = alice.post(decide, data={"csrf": alice.csrf(case_path)})
    assert own.status_code == 403 and "a different person must approve" in own.text
    dave = served.client("dave")  # an analyst of the same desk, not an approver
    assert dave.post(decide, data={"csrf": dave.csrf(case_path)}).status_code == 403
    audrey = served.client("audrey")
    assert audrey.post(decide, data={"csrf": audrey.csrf(case_path)}).status_code == 403
    assert served.erp.received == []
    approved = bob.post(decide, data={"csrf": bob.csrf(case_path), "comment": "agreed"})
    assert approved.status_code == 303
    again = bob.post(decide, data={"csrf": bob.csrf(case_path)})
    assert again.status_code == 409
    [post] = wait_for(lambda: [p for p in served.erp.received
                               if p["body"]["data"]["warning_id"] == warning["warning_id"]])
    command = post["body"]["data"]
    Webhook(SECRETS["signing"]).verify(post["raw"], post["headers"])  # raises unless signed
    assert post["headers"]["webhook-id"] == command["idempotency_key"] == (
        f"creditradar-{proposal['proposal_id']}")
    assert command["kind"] == "reduce_limit" and command["suggested_limit"] == 5000.0
    assert command["customer_id"] == warning["customer_id"] and command["approved_by"] == "bob"
    assert command["requested_by"] == "alice" and command["reason"] == "halve the exposure"
    case_page = wait_for(lambda: page_with(bob, case_path, "d-sent"))
    assert "approved by bob" in case_page
    reasons = {r.body["reason"] for r in served.trail("refused") if case_id in r.body["path"]
               or proposal["proposal_id"] in r.body["path"]}
    assert {"four_eyes", "not_approver", "read_only", "decided"} <= reasons
    steps = [r for r in served.trail() if r.id.startswith(case_id)]
    kinds = [r.kind for r in reversed(steps)]
    assert kinds == ["case_opened", "action_proposed", "action_approved", "action_queued"]
    for step in steps:  # event time of the data, wall time of the human step
        assert step.event_time == warning["event_time"] and step.body["at"] > "2020"
    report = verify_log(served.workspace.trail.directory, SECRETS["hmac"].encode())
    assert report.ok and report.partitions == (PARTITION,)


def test_a_new_limit_is_proposed_shown_and_sent_in_the_customers_own_currency(
        served: Served) -> None:
    """For a customer whose own currency is not the reporting currency, the case page asks
    for the new limit in the customer's currency (the run's watchlist names it) and shows
    the proposal in it, and the ERP gets the limit in it."""
    store, reporting = served.workspace.store, served.workspace.settings.reporting_currency
    own = {r["customer_id"]: r["customer_currency"]
           for r in read_jsonl(served.out / "watchlist.jsonl")}
    warning = next(w for row in _customers(served, "sme")
                   if own[row["customer_id"]] != reporting
                   for w in store.customer_warnings(row["customer_id"])
                   if not store.case_for_warning(w["warning_id"]))
    currency = own[warning["customer_id"]]
    alice, bob = served.client("alice"), served.client("bob")
    case_path = alice.post(f"/warnings/{warning['warning_id']}/case",
                           data={"csrf": alice.csrf()}).headers["location"]
    assert f"in {currency}, the customer's currency" in alice.get(case_path).text
    assert alice.post(f"{case_path}/propose",
                      data={"csrf": alice.csrf(), "action": "reduce_limit", "amount": "7000",
                            "comment": "in their money"}).status_code == 303
    assert f"to 7,000 {currency}</td>" in bob.get(case_path).text
    proposal = store.proposals_of(case_path.rsplit("/", 1)[1])[0]
    assert bob.post(f"/proposals/{proposal['proposal_id']}/approve",
                    data={"csrf": bob.csrf()}).status_code == 303
    [post] = wait_for(lambda: [p for p in served.erp.received
                               if p["body"]["data"]["warning_id"] == warning["warning_id"]])
    command = post["body"]["data"]
    assert (command["suggested_limit"], command["currency"]) == (7000.0, currency)
    customer_page = alice.get(f"/customers/{quote(warning['customer_id'])}").text
    assert f"{currency}, the customer's currency)" in customer_page


def test_an_erp_outage_is_shown_without_secrets_and_retried_with_the_same_key(
        served: Served) -> None:
    warning = _warned(served, "sme")
    alice, bob = served.client("alice"), served.client("bob")
    case_path = alice.post(f"/warnings/{warning['warning_id']}/case",
                           data={"csrf": alice.csrf()}).headers["location"]
    alice.post(f"{case_path}/propose", data={"csrf": alice.csrf(), "action": "hold_orders",
                                             "comment": "stop shipping"})
    proposal = served.workspace.store.proposals_of(case_path.rsplit("/", 1)[1])[0]
    served.erp.status = 503
    try:
        bob.post(f"/proposals/{proposal['proposal_id']}/approve", data={"csrf": bob.csrf()})
        page = wait_for(lambda: page_with(bob, case_path, "answered HTTP 503"))
    finally:
        served.erp.status = 200
    assert "d-pending" in page and SECRETS["erp"] not in page
    wait_for(lambda: page_with(bob, case_path, "d-sent"))
    keys = {p["headers"]["webhook-id"] for p in served.erp.received
            if p["body"]["data"]["warning_id"] == warning["warning_id"]}
    assert keys == {f"creditradar-{proposal['proposal_id']}"}
    assert sum(p["body"]["data"]["warning_id"] == warning["warning_id"]
               for p in served.erp.received) >= 2
    repost = bob.post(f"/proposals/{proposal['proposal_id']}/resend",
                      data={"csrf": bob.csrf(case_path)})
    assert repost.status_code == 409  # queued commands are retried by the outbox


def test_inbox_steps_and_silences_are_recorded(served: Served) -> None:
    warning = _warned(served, "sme")
    wid = warning["warning_id"]
    alice = served.client("alice")
    token = alice.csrf()
    assert alice.post(f"/warnings/{wid}/assign",
                      data={"csrf": token, "assignee": "dave"}).status_code == 303
    link = f"/warnings/{wid}"
    assert link in alice.get("/inbox?size=200").text
    assert link not in alice.get("/inbox?snoozed=yes&size=200").text
    assert alice.post(f"/warnings/{wid}/snooze",
                      data={"csrf": token, "until": "2030-01-01",
                            "comment": "waiting for accounts"}).status_code == 303
    assert link not in alice.get("/inbox?size=200").text  # asleep until 2030
    assert link in alice.get("/inbox?snoozed=yes&size=200").text
    assert alice.post(f"/warnings/{wid}/silence",
                      data={"csrf": token, "scope": "customer", "until": "2030-01-01",
                            "comment": "in talks with the customer"}).status_code == 303
    assert alice.post(f"/warnings/{wid}/ack",
                      data={"csrf": token, "comment": "seen"}).status_code == 303
    stored = served.workspace.store.warning(wid)
    assert stored["acked_by"] == "alice" and stored["assigned_to"] == "dave"
    assert stored["snoozed_until"] == "2030-01-01T00:00:00Z"
    customer = served.workspace.store.customer(warning["customer_id"])
    if customer["warning_id"] == wid:
        assert customer["acknowledged"]
    page = alice.get(f"/warnings/{wid}").text
    silence_id = re.search(r"(sil-[0-9a-f]{12})", page).group(1)
    assert "in talks with the customer" in page
    assert "the model's baseline" in page and "12m " in page  # reasons add up; by horizon
    expired = alice.post(f"/silences/{silence_id}/expire",
                         data={"csrf": token, "comment": "talks failed",
                               "back": f"/warnings/{wid}"})
    assert expired.status_code == 303
    from connectors.channels.store import Store as AlertStore

    alerts = AlertStore(served.workspace.settings.state_dir)
    try:
        [silence] = [s for s in alerts.silences() if s["silence_id"] == silence_id]
        history = alerts.history()
    finally:
        alerts.close()
    assert silence["by"] == "alice" and silence["until"] < "2030"
    assert {"silenced", "silence_expired"} <= {h["kind"] for h in history}
    kinds = {r.kind for r in served.trail() if r.id in (wid, silence_id)}
    assert {"warning_assign", "warning_snooze", "warning_silence", "warning_ack",
            "silence_expired"} <= kinds
    unacked = alice.get("/api/watchlist?acknowledged=no&size=200").json()["rows"]
    assert warning["customer_id"] not in {r["customer_id"] for r in unacked} or (
        customer["warning_id"] != wid)


def test_the_api_explains_a_customer_exactly_as_explain_does(served: Served) -> None:
    warning = _warned(served, "sme")
    as_of = warning["event_time"]
    doc = served.client("alice").get(
        f"/api/customers/{quote(warning['customer_id'])}?as_of={as_of}").json()
    expected = explain(warning["customer_id"], parse_time(as_of), served.out / "audit",
                       served.workspace.settings)
    assert doc["explain"] == json.loads(json.dumps(expected))
    assert doc["explain"]["known"] and doc["explain"]["evidence"]
    assert warning["warning_id"] in {w["warning_id"] for w in doc["warnings"]}
    assert [s["at"] for s in doc["scores"]] == sorted(s["at"] for s in doc["scores"])


def test_a_customer_page_shows_the_term_structure_the_run_published(served: Served) -> None:
    alice = served.client("alice")
    latest = {s["customer_id"]: s for s in read_jsonl(served.out / "scores.jsonl")}
    rows = alice.get("/api/watchlist?size=200").json()["rows"]
    customer_id = next(r["customer_id"] for r in rows if r["customer_id"] in latest)
    doc = alice.get(f"/api/customers/{quote(customer_id)}").json()
    assert doc["customer"]["pd_term"] == latest[customer_id]["pd_term"]
    page = alice.get(f"/customers/{quote(customer_id)}").text
    assert "as the run published it" in page and "constant monthly hazard" not in page


def test_a_warning_and_its_explanation_name_the_model_that_scored(served: Served) -> None:
    """The warning page and the explanation beside it say which model made the score, as
    the warning's ``model_version`` names it, and that the run's record agrees; a warning
    an event raised (a default, a hard event) names none."""
    warning = _warned(served, "sme")
    model = warning["body"]["model_version"].rpartition("-")[0]
    words = {"prior": "Prior scorecard", "calibrated": "Prior scorecard, calibrated",
             "online": "Online logistic regression", "boosted": "Boosted trees"}[model]
    alice = served.client("alice")
    page = alice.get(f"/warnings/{warning['warning_id']}").text
    fact = page.split('<div class="model-choice">')[1].split("</div>")[0]
    assert f'<span class="k">Model</span> {words}' in fact and "does not name" not in fact
    explained = alice.get(f"/explain/{quote(warning['customer_id'], safe='')}"
                          f"?as_of={warning['event_time']}").text
    assert f'<p class="model-choice">Scored by {words}' in explained
    assert "does not name" not in explained
    raised = next(w for w in read_jsonl(served.out / "warnings.jsonl")
                  if w["kind"] in ("default", "hard_event") and not w["model_version"])
    page = served.client("root").get(f"/warnings/{raised['warning_id']}").text
    assert "none: an event raised this warning, not a model's score" in page


def test_the_auditor_page_shows_each_replay_and_its_choices_of_model(served: Served) -> None:
    """A replay of the run's log next to it shows on the auditor's page with its verdict and
    how its choices of model compare with the run's; a report naming month ends that differ
    shows them, escaped. The replays are removed afterwards: the run is shared."""
    from flows.replay import REPORT, replay

    replayed, edited = served.out / "replay", served.out / "replay-edited"
    try:
        report = replay(served.out / "audit", replayed, served.workspace.settings)
        assert report.ok and report.choices_compared == len(
            (served.out / "models.jsonl").read_text().splitlines()) > 0
        differing = {**report.to_json(),
                     "choices_differing": ["2022-06-01T00:00:00Z", "<script>"]}
        edited.mkdir(exist_ok=True)
        (edited / REPORT).write_text(json.dumps(differing), encoding="utf-8")
        page = served.client("audrey").get("/auditor").text
    finally:
        shutil.rmtree(replayed, ignore_errors=True)
        shutil.rmtree(edited, ignore_errors=True)
    assert (f"choices of model at {report.choices_compared} month ends: the same"
            in page.split("replay/replay-report.json")[1].split("</p>")[0])
    shown = page.split("replay-edited/replay-report.json")[1].split("</p>")[0]
    assert "2 DIFFERENT</strong> (2022-06-01T00:00:00Z, &lt;script&gt;)" in shown


def _pages(served: Served, client: Client) -> dict[str, str]:
    """Every kind of page, for customers and warnings of the desk (hostile names all)."""
    warning = _warned(served, "sme")
    paths = ["/watchlist?size=200&include_defaulted=yes", "/watchlist/rows?size=200",
             "/inbox", "/cases", "/portfolio", "/login"]
    for row in _customers(served, "sme")[:12]:
        cid = quote(row["customer_id"], safe="")
        paths += [f"/customers/{cid}"]
    paths += [f"/explain/{quote(warning['customer_id'], safe='')}?as_of={warning['event_time']}",
              f"/warnings/{warning['warning_id']}"]
    cases, _ = served.workspace.store.open_cases(None, offset=0, limit=10_000)
    for case in cases:
        paths.append(f"/cases/{case['case_id']}")
    return {path: client.get(path).text for path in paths}


UNSAFE = ("<script>", "<svg onload", "<img src=x", "</title><script",
          '<a href="javascript', "\u202e", "\u2028", "\u2029", "\u001b", "\u0000", "\u200b",
          "\ufeff")
"""The hostile payloads as they would stand if a page let them through unescaped (the
pages' own markup has none of them: their one script is an external file)."""


def test_hostile_feed_text_is_escaped_on_every_page(served: Served) -> None:
    alice = served.client("alice")
    pages = _pages(served, alice)
    auditor = served.client("audrey")
    pages["/auditor"] = auditor.get("/auditor").text
    names = [row["name"] for row in _customers(served, "sme")]
    assert any(h in name for name in names for h in ISSUE_HOSTILE)  # the book is hostile
    for path, html in pages.items():
        for unsafe in UNSAFE:
            assert unsafe not in html, (path, unsafe)
        for link in re.findall(r'(?:href|src|action)="([^"]*)"', html):
            assert link.startswith("/"), (path, link)
    shown = pages["/watchlist?size=200&include_defaulted=yes"]  # shown escaped, not dropped
    assert "&lt;svg onload=alert(1)&gt;" in shown and "\ufffdevil" in shown
    api = alice.get("/api/watchlist?size=200&include_defaulted=yes")
    assert api.content.isascii() and api.headers["content-type"].startswith(
        "application/json")
    assert {row["name"] for row in api.json()["rows"]} == set(names)  # data kept intact


def test_no_secret_of_the_configuration_reaches_a_page(served: Served) -> None:
    pages = _pages(served, served.client("root"))
    root = served.client("root")
    for path in ("/auditor", "/admin/users", "/healthz", "/api/watchlist"):
        pages[path] = root.get(path).text
    for path, html in pages.items():
        for secret in SECRETS.values():
            assert secret not in html, (path, secret)
        assert "$argon2" not in html, path


def test_every_response_carries_the_security_headers(served: Served) -> None:
    answer = served.client().get("/login")
    policy = answer.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "frame-ancestors 'none'" in policy
    assert answer.headers["x-content-type-options"] == "nosniff"
    assert answer.headers["server-timing"].startswith("app;dur=")
    assert "strict-transport-security" not in answer.headers  # (plain HTTP: it would not hold)
    assert served.client().get("/healthz").json()["status"] == "ok"
    assert "unsafe-inline" not in policy


def test_an_auditor_reads_verifies_and_exports_but_changes_nothing(served: Served) -> None:
    audrey = served.client("audrey")
    page = audrey.get("/auditor").text
    assert "intact" in page and "anchor signatures checked" in page
    assert 'id="skipped">every line read</td>' in page
    warning = _warned(served, "corporate")
    export = audrey.get(f"/auditor/export?warning_id={warning['warning_id']}")
    assert export.status_code == 200
    doc = export.json()
    assert doc["warning"]["warning_id"] == warning["warning_id"] and doc["evidence"]
    denied = audrey.post(f"/warnings/{warning['warning_id']}/comment",
                         data={"csrf": csrf_of(audrey.get("/watchlist").text),
                               "comment": "auditors do not comment"})
    assert denied.status_code == 403 and "reads only" in denied.text
    assert served.client("alice").get("/auditor").status_code == 403


def test_the_watchlist_narrows_to_a_desk_and_a_desk_never_widens_it(served: Served) -> None:
    def listed(client: Client, query: str) -> list[dict[str, Any]]:
        answer = client.get(f"/api/watchlist?size=200&include_defaulted=yes{query}")
        assert answer.status_code == 200, answer.text
        return answer.json()["rows"]

    root, alice = served.client("root"), served.client("alice")
    everyone = listed(root, "")
    sme = listed(root, "&desk=sme-desk")
    assert sme and all("sme" in row["tags"] for row in sme)
    assert len(sme) < len(everyone)
    assert {r["customer_id"] for r in sme} == {
        r["customer_id"] for r in everyone if "sme" in r["tags"]}
    assert {r["customer_id"] for r in listed(alice, "&desk=sme-desk")} == {
        r["customer_id"] for r in sme}
    assert [r for r in listed(alice, "&desk=corporate-desk")
            if "sme" not in r["tags"]] == []  # alice's desk is sme: never widened
    assert root.get("/api/watchlist?desk=nowhere").status_code == 400
    assert 'name="desk"' in root.get("/watchlist").text


def test_users_command_adds_accounts_and_refuses_bad_ones(served: Served,
                                                          tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text('[alerts.channels]\nm = "json://127.0.0.1:9/x"\n'
                      '[alerts.receivers]\nsme-desk = ["m"]\n')
    runner = CliRunner()
    base = ["--config", str(config), "users", "add"]
    done = runner.invoke(cli, [*base, "erin", "--role", "approver", "--desk", "sme-desk",
                               "--out", str(tmp_path), "--password-stdin"],
                         input="a-long-password\n")
    assert done.exit_code == 0, done.output
    for args, text, message in (
            (["frank", "--role", "boss"], "a-long-password\n", "Invalid value for '--role'"),
            (["frank", "--role", "analyst"], "short\n", "at least 10 characters"),
            (["frank", "--role", "analyst", "--desk", "nope"], "a-long-password\n",
             "not a receiver")):
        failed = runner.invoke(cli, [*base, *args, "--out", str(tmp_path), "--password-stdin"],
                               input=text)
        assert failed.exit_code != 0 and message in failed.output, failed.output
    listed = runner.invoke(cli, ["users", "list", "--out", str(tmp_path)])
    assert "erin" in listed.output and "sme-desk" in listed.output
    assert "frank" not in listed.output and "$argon2" not in listed.output
    assert set(PEOPLE) <= {u["username"] for u in served.workspace.store.all_users()}


def test_a_damaged_workspace_database_is_one_line_naming_it(tmp_path: Path) -> None:
    """A database whose pages were overwritten (its header kept) opened, then failed the
    first query: `users list` and `serve` printed SQLAlchemy's traceback."""
    from web.workspace import DB_FILE, data_dir

    runner = CliRunner()
    out = ["--out", str(tmp_path)]
    for number in range(40):  # pages enough to damage
        done = runner.invoke(cli, ["users", "add", f"user{number:02d}", "--role", "analyst",
                                   *out, "--password-stdin"], input="a-long-password\n")
        assert done.exit_code == 0, done.output
    database = data_dir(Settings(), tmp_path) / DB_FILE
    content = bytearray(database.read_bytes())
    for page in range(3, len(content) // 4096, 3):
        content[page * 4096 + 8:page * 4096 + 4000] = b"\xaa" * 3992
    database.write_bytes(bytes(content))
    listed = runner.invoke(cli, ["users", "list", *out])
    assert listed.exit_code == 1 and isinstance(listed.exception, SystemExit), listed.output
    assert listed.output.startswith(f"Error: cannot open the workspace database {database} (")
    assert len(listed.output.splitlines()) == 1


def test_an_account_can_be_disabled_and_every_change_is_audited(tmp_path: Path) -> None:
    from connectors.audit import read_log
    from web.auth import check_password
    from web.workspace import TRAIL, data_dir, open_store

    runner = CliRunner()
    out = ["--out", str(tmp_path)]
    for args in (["add", "gina", "--role", "analyst"], ["add", "gina", "--role", "approver"]):
        done = runner.invoke(cli, ["users", *args, *out, "--password-stdin"],
                             input="a-long-password\n")
        assert done.exit_code == 0, done.output
    assert runner.invoke(cli, ["users", "disable", "gina", *out]).exit_code == 0
    store = open_store(Settings(), tmp_path)
    try:
        assert check_password(store, "gina", "a-long-password") is None
        assert "(disabled)" in runner.invoke(cli, ["users", "list", *out]).output
        assert runner.invoke(cli, ["users", "enable", "gina", *out]).exit_code == 0
        assert check_password(store, "gina", "a-long-password") is not None
    finally:
        store.close()
    missing = runner.invoke(cli, ["users", "disable", "nobody", *out])
    assert missing.exit_code != 0 and "no account 'nobody'" in missing.output
    trail = data_dir(Settings(), tmp_path) / TRAIL
    steps = [(r.kind, r.id) for r in read_log(trail) if r.kind != "anchor"]
    assert steps == [("account_added", "gina"), ("account_changed", "gina"),
                     ("account_disabled", "gina"), ("account_enabled", "gina")]
    logged = (trail / "workspace").read_bytes() if (trail / "workspace").is_file() else b"".join(
        p.read_bytes() for p in (trail / "workspace").rglob("*") if p.is_file())
    assert b"a-long-password" not in logged and b"argon2" not in logged
    assert verify_log(trail, None).ok


@pytest.mark.parametrize("command", [["list"], ["disable", "gina"], ["enable", "gina"]])
def test_account_commands_refuse_a_folder_without_a_workspace_and_create_nothing(
        tmp_path: Path, command: list[str]) -> None:
    """A mistyped --out is refused in one line that names it; no database is left behind,
    and `users add` still makes the workspace the others then find."""
    runner = CliRunner()
    typo = tmp_path / "typo_dir"
    refused = runner.invoke(cli, ["users", *command, "--out", str(typo)])
    assert refused.exit_code == 1 and isinstance(refused.exception, SystemExit), refused.output
    assert refused.output.count("\n") == 1 and refused.output.startswith(
        f"Error: no workspace in {typo} yet"), refused.output
    assert "users add" in refused.output
    assert not typo.exists()
    added = runner.invoke(cli, ["users", "add", "gina", "--role", "analyst", "--out",
                                str(typo), "--password-stdin"], input="a-long-password\n")
    assert added.exit_code == 0, added.output
    done = runner.invoke(cli, ["users", *command, "--out", str(typo)])
    assert done.exit_code == 0 and "gina" in done.output, done.output


def test_the_pre_sale_check_over_http_answers_for_the_desk_and_records_who_asked(
        served: Served) -> None:
    from connectors.audit import read_log
    from flows.check_cli import CHECKS, answer_order

    alice = served.client("alice")
    mine = _customers(served, "sme")[0]["customer_id"]
    order = {"customer_id": mine, "amount": "5000", "terms": "45"}
    answer = alice.post("/api/check", data={**order, "csrf": alice.csrf()})
    assert answer.status_code == 200
    body = answer.json()
    expected, as_of = answer_order(served.out, served.workspace.settings, mine, 5000.0, 45,
                                   by="cli")  # the command's answer on the same run
    assert (body["outcome"], body["reasons"], body["as_of"]) == (
        expected.outcome, expected.reasons, as_of)
    asked = [r for r in read_log(served.out / CHECKS) if r.kind == "presale_check"]
    assert [(r.id, r.body["by"]) for r in asked[-2:]] == [(mine, "alice"), (mine, "cli")]
    assert alice.post("/api/check", data={**order, "csrf": "forged"}).status_code == 403
    other = _customers(served, "corporate")[0]["customer_id"]
    assert alice.post("/api/check", data={**order, "customer_id": other,
                                          "csrf": alice.csrf()}).status_code == 403
    assert alice.post("/api/check", data={**order, "amount": "-1",
                                          "csrf": alice.csrf()}).status_code == 400
    audrey = served.client("audrey")
    assert audrey.post("/api/check", data={**order, "csrf": audrey.csrf()}).status_code == 403


def test_a_finished_case_takes_no_new_proposal(served: Served) -> None:
    warning = _warned(served, "sme")
    alice, bob = served.client("alice"), served.client("bob")
    case_path = alice.post(f"/warnings/{warning['warning_id']}/case",
                           data={"csrf": alice.csrf()}).headers["location"]
    alice.post(f"{case_path}/propose", data={"csrf": alice.csrf(), "action": "no_action",
                                             "comment": "pays late but pays"})
    proposal = served.workspace.store.proposals_of(case_path.rsplit("/", 1)[1])[0]
    assert bob.post(f"/proposals/{proposal['proposal_id']}/approve",
                    data={"csrf": bob.csrf()}).status_code == 303
    again = alice.post(f"{case_path}/propose", data={"csrf": alice.csrf(),
                                                     "action": "hold_orders", "comment": "x"})
    assert again.status_code == 409 and "closed" in again.text
    assert any(r.body["reason"] == "case_finished" and r.body["by"] == "alice"
               for r in served.trail("refused"))


def test_an_as_of_outside_the_clocks_years_is_no_as_of() -> None:
    from web.pages import as_of_param

    assert as_of_param("2024-06-30") is not None and as_of_param("9998-12-31") is not None
    assert as_of_param("9999-12-31") is None and as_of_param("0001-01-01") is None


@pytest.mark.parametrize("amount", ["inf", "-inf", "nan", "1e16", "1e999", "1_000", "5000\x00"])
def test_the_pre_sale_check_refuses_an_amount_that_is_no_plain_decimal(served: Served,
                                                                   amount: str) -> None:
    """An amount that is not finite, not written as digits with an optional decimal point,
    or above the bound ``creditradar check --amount`` takes
    (`connectors.contracts.MAX_AMOUNT`), is refused as a bad order, not a failure."""
    alice = served.client("alice")
    mine = _customers(served, "sme")[0]["customer_id"]
    answer = alice.post("/api/check", data={"customer_id": mine, "amount": amount,
                                            "csrf": alice.csrf()})
    assert answer.status_code == 400 and answer.json()["error"] == "bad_order"


def test_an_as_of_that_is_no_time_is_refused_by_the_api_and_the_pages(served: Served) -> None:
    """A page shown as of another moment than the one asked (the latest) would mislead an
    auditor asking what the monitor knew then."""
    alice = served.client("alice")
    mine = quote(_customers(served, "sme")[0]["customer_id"])
    for as_of in ("zzz", "9999-12-31", "2022-06-30%00", "2022-06-30" + "%20" * 40):
        answer = alice.get(f"/api/customers/{mine}?as_of={as_of}")
        assert answer.status_code == 400 and answer.json()["error"] == "bad_time", as_of
        for page in ("customers", "explain"):
            shown = alice.get(f"/{page}/{mine}?as_of={as_of}")
            assert shown.status_code == 400 and "as_of must be a date" in shown.text, page
    for page in ("customers", "explain"):
        assert alice.get(f"/{page}/{mine}?as_of=2022-06-30").status_code == 200
    assert "explain" in alice.get(f"/api/customers/{mine}?as_of=2022-06-30").json()
    assert "explain" not in alice.get(f"/api/customers/{mine}").json()


def test_explanations_beyond_the_ones_at_once_are_refused_as_busy(served: Served) -> None:
    """Each explanation as of a new moment replays the log: requests for many moments took
    every core from the other pages."""
    from web.workspace import EXPLAINING_AT_ONCE

    alice = served.client("alice")
    mine = quote(_customers(served, "sme")[0]["customer_id"])
    workspace = served.workspace
    slots, workspace.explain_wait_seconds = workspace._explaining, 0.5
    for _ in range(EXPLAINING_AT_ONCE):
        assert slots.acquire(blocking=False)
    try:
        busy = alice.get(f"/api/customers/{mine}?as_of=2022-05-17")
        assert busy.status_code == 503 and busy.json()["error"] == "busy", busy.text
        assert alice.get("/api/watchlist?size=1").status_code == 200
    finally:
        for _ in range(EXPLAINING_AT_ONCE):
            slots.release()
    assert not [r for r in served.trail("refused") if r.body["reason"] == "busy"], \
        "a busy server is no step anyone took"
    assert "explain" in alice.get(f"/api/customers/{mine}?as_of=2022-05-17").json()


def test_a_page_or_size_that_is_no_whole_number_is_refused(served: Served) -> None:
    """``page=abc`` reset the page size too, and ``size=1_000`` read as 1000."""
    alice = served.client("alice")
    for query in ("page=abc&size=20", "size=1_000", "page=2%00", "size=-5"):
        answer = alice.get(f"/api/watchlist?{query}")
        assert answer.status_code == 400 and answer.json()["error"] == "bad_page", query
        assert alice.get(f"/watchlist?{query}").status_code == 400, query
    assert alice.get("/api/watchlist?page=2&size=20").json()["size"] == 20


def test_the_pagers_keep_the_page_size(served: Served) -> None:
    alice = served.client("alice")
    first = alice.get("/watchlist?size=20&include_defaulted=yes").text
    [following] = re.findall(r'href="(/watchlist\?[^"]*)">next', first)
    following = following.replace("&amp;", "&")
    assert "size=20" in following and "page=2" in following
    second = alice.get(following).text
    ranks = [int(n) for n in re.findall(r'<tr class="grade-[A-E]">\s*<td class="num">(\d+)<',
                                        second)]
    assert ranks == list(range(21, 41))
    assert 'name="size" value="20"' in first  # the filters keep it too
    inbox = alice.get("/inbox?size=5").text
    [later] = re.findall(r'href="(/inbox\?[^"]*)">next', inbox)
    assert "size=5" in later


def test_sign_in_returns_to_the_page_asked_for_with_its_query(served: Served) -> None:
    mine = quote(_customers(served, "sme")[0]["customer_id"], safe="")
    asked = f"/customers/{mine}?as_of=2022-06-30"
    anonymous = served.client()
    sent = anonymous.get(asked)
    assert sent.status_code == 303
    login = sent.headers["location"]
    assert login == "/login?" + urlencode({"next": asked})
    assert f'name="next" value="{asked}"' in anonymous.get(login).text
    for target, lands in ((asked, asked), ("//evil.example/?a=b", "/watchlist")):
        token = csrf_of(anonymous.get("/login").text)
        back = anonymous.post("/login", data={"csrf": token, "username": "alice",
                                              "password": password_of("alice"),
                                              "next": target})
        assert back.status_code == 303 and back.headers["location"] == lands


def test_sign_out_takes_the_csrf_header_as_every_post_does(served: Served) -> None:
    alice = served.client("alice")
    token = alice.csrf()
    assert alice.post("/logout", headers={"x-csrf-token": "forged"}).status_code == 403
    out = alice.post("/logout", headers={"x-csrf-token": token})
    assert out.status_code == 303 and out.headers["location"] == "/login"
    assert alice.get("/api/watchlist").status_code == 401


def _stream_ends(client: Client, end: Callable[[], Any]) -> float:
    """Open ``/events`` with ``client``'s session, wait for its hello, call ``end`` and
    return how many seconds later the server ended the stream (a read waits 10 s at most:
    less than a keep-alive's 15)."""
    cookie = "; ".join(f"{k}={v}" for k, v in client.cookies.items())
    with client.http.stream("GET", "/events", headers={"cookie": cookie},
                            timeout=10) as response:
        assert response.status_code == 200
        lines = response.iter_lines()
        assert next(lines).startswith("event: hello")
        end()
        ended = time.monotonic()
        for _ in lines:
            pass
        return time.monotonic() - ended


def test_the_event_stream_ends_with_its_session(served: Served) -> None:
    """Signing out ends the live watchlist's event stream, and so does disabling the
    account, within a second or two (the stream would otherwise stand for hours)."""
    from web.auth import set_disabled

    alice = served.client("alice")
    token = alice.csrf()
    assert _stream_ends(alice, lambda: alice.post(
        "/logout", data={"csrf": token})) < 5
    dave = served.client("dave")
    try:
        assert _stream_ends(dave, lambda: set_disabled(served.workspace.store, "dave",
                                                       True)) < 5
    finally:
        set_disabled(served.workspace.store, "dave", False)


def test_expiring_a_silence_needs_a_reason(served: Served) -> None:
    from connectors.channels.store import Store as AlertStore

    warning = _warned(served, "sme")
    alice = served.client("alice")
    token = alice.csrf()
    assert alice.post(f"/warnings/{warning['warning_id']}/silence",
                      data={"csrf": token, "scope": "warning", "until": "2031-01-01",
                            "comment": "waiting for the insurer"}).status_code == 303
    page = alice.get(f"/warnings/{warning['warning_id']}").text
    silence_id = re.search(r"(sil-[0-9a-f]{12})", page).group(1)
    for reason in ("", "   "):
        refused = alice.post(f"/silences/{silence_id}/expire",
                             data={"csrf": token, "comment": reason})
        assert refused.status_code == 400 and "needs a reason" in refused.text
    alerts = AlertStore(served.workspace.settings.state_dir)
    try:
        [silence] = [s for s in alerts.silences() if s["silence_id"] == silence_id]
    finally:
        alerts.close()
    assert silence["until"] >= "2031"
    assert alice.post(f"/silences/{silence_id}/expire",
                      data={"csrf": token, "comment": "insurer answered"}).status_code == 303


def _trail_bytes(served: Served) -> int:
    """The size of the workspace's audit log on disk."""
    return sum(path.stat().st_size for path in served.workspace.trail.directory.rglob("*")
               if path.is_file())


def test_requests_without_a_session_cannot_fill_the_audit_log(served: Served) -> None:
    """Anyone who reaches the port can send requests without a session, and sign-in forms
    with a forged token: the audit log records the first of each refusal from an address
    in each window, not every one (the sweep saw 900 bytes a request, and the auditor's
    latest 100 steps pushed out). Failed sign-ins are recorded each, within the address's
    allowance."""
    anonymous = served.client()
    store = served.workspace.store
    for key in ("user:mallory", "client:127.0.0.1"):
        store.clear_failures(key)
    before, records = _trail_bytes(served), len(served.trail())
    for _ in range(40):
        assert anonymous.get("/api/watchlist").status_code == 401
        assert anonymous.get("/watchlist").status_code == 303
        forged = anonymous.post("/login", data={"csrf": "forged", "username": "mallory",
                                                "password": "not-the-password"})
        assert forged.status_code == 403
    allowed = served.workspace.settings.workspace.login_failures_allowed
    try:
        for attempt in range(allowed + 20):
            answer = anonymous.sign_in("mallory", "not-the-password")
            assert answer.status_code == (401 if attempt < allowed else 429)
    finally:
        for key in ("user:mallory", "client:127.0.0.1"):
            store.clear_failures(key)
    new = served.trail()[:len(served.trail()) - records]
    assert sum(r.kind == "sign_in_failed" for r in new) == allowed
    refused = [r.body["reason"] for r in new if r.kind == "refused"]
    assert sorted(refused) in (["csrf", "rate_limited"], ["csrf"], ["rate_limited"], [])
    assert len(new) <= allowed + 2
    assert _trail_bytes(served) - before < 2000 * (allowed + 2)


def _choices_of(html: str, name: str) -> set[str]:
    """The values a watchlist filter offers (the "any" choice left out)."""
    import html as markup

    select = re.search(rf'<select name="{name}">(.*?)</select>', html, re.S)
    assert select is not None, name
    return {markup.unescape(v) for v in re.findall(r'value="([^"]*)"', select.group(1)) if v}


def test_the_filter_choices_are_the_desks_own(served: Served) -> None:
    """A desk's watchlist offers the countries, industries and kinds of warning of its own
    customers, not of the whole book (which would tell it the other desks')."""
    from sqlalchemy import select

    from web.tables import customers

    with served.workspace.store.engine.connect() as connection:
        book = [dict(r._mapping) for r in connection.execute(select(customers))]
    page = served.client("carol").get("/watchlist").text
    whole = served.client("root").get("/watchlist").text
    for name, column in (("country", "country"), ("industry", "industry"),
                         ("kind", "warning_kind")):
        desks = {r[column] for r in book if r[column] and "corporate" in json.loads(r["tags"])}
        assert _choices_of(page, name) == desks, name
        assert _choices_of(whole, name) == {r[column] for r in book if r[column]}, name
    assert _choices_of(page, "country") < _choices_of(whole, "country")


def _assignees(html: str) -> set[str]:
    """The users a warning page offers to assign it to."""
    return set(re.findall(r"<option>([^<]+)</option>", html))


def test_a_warning_is_assigned_only_to_someone_who_may_work_it(served: Served) -> None:
    """Assigning refuses a disabled account, an analyst of another desk and an auditor,
    saying why, and the page offers none of them."""
    from web.auth import set_disabled

    store = served.workspace.store
    warning = _warned(served, "sme")
    path = f"/warnings/{warning['warning_id']}"
    alice = served.client("alice")
    token = alice.csrf()
    assigned = store.warning(warning["warning_id"])["assigned_to"]
    set_disabled(store, "dave", True)
    try:
        assert _assignees(alice.get(path).text) == {"alice", "bob", "root"}
        for assignee, why in (("dave", "disabled"), ("carol", "another desk"),
                              ("audrey", "reads only"), ("nobody", "existing user")):
            answer = alice.post(f"{path}/assign", data={"csrf": token, "assignee": assignee})
            assert answer.status_code == 400 and why in answer.text, (assignee, answer.text)
        assert store.warning(warning["warning_id"])["assigned_to"] == assigned
    finally:
        set_disabled(store, "dave", False)
    assert "dave" in _assignees(alice.get(path).text)
    assert alice.post(f"{path}/assign", data={"csrf": token, "assignee": "bob"}
                      ).status_code == 303
    assert store.warning(warning["warning_id"])["assigned_to"] == "bob"


def as_a_browser_resolves(href: str) -> str:
    """A link of a page (a path of the site, maybe with a query) as a browser resolves it:
    the URL standard takes ``.`` and ``..``, and their percent-encoded spellings, as this
    folder and the one above."""
    import html as markup

    path, mark, query = markup.unescape(href).partition("?")
    parts = path.split("/")[1:]
    out: list[str] = []
    for number, part in enumerate(parts):
        dots = part.lower().replace("%2e", ".")
        if dots not in (".", ".."):
            out.append(part)
            continue
        if dots == ".." and out:
            out.pop()
        if number == len(parts) - 1:
            out.append("")
    return "/" + "/".join(out) + mark + query


def test_links_resolve_as_a_browser_resolves_them() -> None:
    assert as_a_browser_resolves("/customers/..") == "/"
    assert as_a_browser_resolves("/customers/%2E%2E?as_of=x") == "/?as_of=x"
    assert as_a_browser_resolves("/customers/C1?a=1&amp;b=2") == "/customers/C1?a=1&b=2"
    assert as_a_browser_resolves("/customers/?id=..") == "/customers/?id=.."


DOT_CUSTOMERS = (("..", "Dots Two Ltd"), (".", "Dot One Ltd"))


def _dot_customers(served: Served,
                   added_customers: tuple[tuple[str, str], ...] = DOT_CUSTOMERS) -> list[str]:
    """Add customers of the sme desk (by default two whose ids are ``..`` and ``.``), each
    with an escalation (copies of a customer of the desk and of a warning); their warning
    ids."""
    from sqlalchemy import select

    from web.tables import customers, warnings

    store = served.workspace.store
    warned = _warned(served, "sme")
    with store.engine.connect() as connection:
        row = dict(connection.execute(select(customers).where(
            customers.c.customer_id == warned["customer_id"])).first()._mapping)
    added = []
    for number, (customer_id, name) in enumerate(added_customers):
        warning_id = f"w-dots-{number}"
        body = {**warned["body"], "customer_id": customer_id, "kind": "escalation",
                "warning_id": warning_id, "customer_name": name}
        with store.begin() as connection:
            store.upsert(connection, customers, [{**row, "customer_id": customer_id,
                                                  "name": name, "warning_id": warning_id}])
            store.upsert(connection, warnings, [{**warned, "warning_id": warning_id,
                                                 "customer_id": customer_id,
                                                 "kind": "escalation",
                                                 "body": json.dumps(body)}])
        added.append(warning_id)
    return added


def _drop_dot_customers(served: Served,
                        added_customers: tuple[tuple[str, str], ...] = DOT_CUSTOMERS) -> None:
    from web.tables import cases, customers, warnings

    store = served.workspace.store
    ids = [customer_id for customer_id, _ in added_customers]
    with store.begin() as connection:
        for table in (cases, warnings, customers):
            connection.execute(table.delete().where(table.c.customer_id.in_(ids)))


def test_a_customer_whose_id_holds_a_line_feed_is_linked_where_it_opens(
        served: Served) -> None:
    """The contract takes any text for an id; the routes' paths match no line feed, so the
    watchlist's link to such a customer gave 404."""
    added = (("line1\nline2", "Line Feed Ltd"),)
    alice = served.client("alice")
    _dot_customers(served, added)
    try:
        listing = alice.get("/watchlist?size=200&include_defaulted=yes").text
        link = _href(listing, "Line Feed Ltd").replace("&amp;", "&")
        page = alice.get(link)
        assert page.status_code == 200 and "<bdi>Line Feed Ltd</bdi>" in page.text, link
        explain_src = re.search(r'data-src="([^"]*)"', page.text).group(1)
        assert alice.get(explain_src.replace("&amp;", "&")).status_code == 200
        answer = alice.get("/api/customers/?id=line1%0Aline2")
        assert answer.json()["customer"]["customer_id"] == "line1\nline2"
    finally:
        _drop_dot_customers(served, added)


def _href(html: str, before: str) -> str:
    """The link of the anchor whose text starts with ``before``."""
    found = re.search(rf'href="([^"]*)">(?:<bdi>)?{re.escape(before)}', html)
    assert found is not None, before
    return found.group(1)


def test_a_customer_whose_id_is_dots_is_linked_where_a_browser_finds_it(
        served: Served) -> None:
    """A customer whose id is ``..`` or ``.`` is linked from the watchlist, its warning,
    its case and the open cases so that a browser, which resolves dot segments even
    percent-encoded, opens that customer (not the site's root); its explanation loads and
    its "as of" form keeps it; the API takes the id as ``%2E%2E`` and as ``?id=``."""
    alice = served.client("alice")
    warning_ids = _dot_customers(served)
    try:
        listing = alice.get("/watchlist?size=200&include_defaulted=yes").text
        for name, customer_id in (("Dots Two Ltd", ".."), ("Dot One Ltd", ".")):
            page = alice.get(as_a_browser_resolves(_href(listing, name)))
            assert page.status_code == 200 and f"<bdi>{name}</bdi>" in page.text, name
            assert f'<span class="muted">{customer_id}</span></h1>' in page.text
        customer = alice.get(as_a_browser_resolves(_href(listing, "Dots Two Ltd"))).text
        explain_src = re.search(r'data-src="([^"]*)"', customer).group(1)
        explained = alice.get(as_a_browser_resolves(explain_src))
        assert explained.status_code == 200 and "Dots Two Ltd" not in explained.text
        form = re.search(r'<form class="asof" method="get" action="([^"]*)">(.*?)</form>',
                         customer, re.S)
        fields = dict(re.findall(r'type="hidden" name="([^"]+)" value="([^"]*)"', form.group(2)))
        as_of = alice.get(as_a_browser_resolves(form.group(1)),
                          params={**fields, "as_of": "2022-06-30"})
        assert as_of.status_code == 200 and "<bdi>Dots Two Ltd</bdi>" in as_of.text
        for path in ("/api/customers/%2E%2E", "/api/customers/?id=.."):
            answer = alice.get(path)
            assert answer.status_code == 200 and answer.json()["customer"]["customer_id"] == ".."
        warning_page = alice.get(f"/warnings/{warning_ids[0]}").text
        assert alice.get(as_a_browser_resolves(_href(warning_page, "Dots Two Ltd"))
                         ).status_code == 200
        case_path = alice.post(f"/warnings/{warning_ids[0]}/case",
                               data={"csrf": alice.csrf()}).headers["location"]
        case_page = alice.get(case_path).text
        assert "<bdi>Dots Two Ltd</bdi>" in alice.get(
            as_a_browser_resolves(_href(case_page, "Dots Two Ltd"))).text
        open_cases = alice.get("/cases?size=200").text
        assert "<bdi>Dots Two Ltd</bdi>" in alice.get(
            as_a_browser_resolves(_href(open_cases, ".."))).text
    finally:
        _drop_dot_customers(served)


def test_the_open_cases_are_paged_and_the_pager_keeps_the_size(served: Served) -> None:
    """The open cases come a page at a time (``size`` up to 200), with how many there are;
    every page together lists each open case of the desk once."""
    alice = served.client("alice")
    for _ in range(3):
        warning = _warned(served, "sme")
        assert alice.post(f"/warnings/{warning['warning_id']}/case",
                          data={"csrf": alice.csrf()}).status_code == 303
    everything = alice.get("/cases?size=200").text
    listed = re.findall(r'href="/cases/([^"]+)"', everything)
    assert len(listed) >= 3 and len(set(listed)) == len(listed)
    assert f"{len(listed)} open cases" in everything
    seen, path = [], "/cases?size=2"
    while path:
        page = alice.get(path).text
        shown = re.findall(r'href="/cases/([^"]+)"', page)
        assert 1 <= len(shown) <= 2 and f"{len(listed)} open cases" in page
        seen += shown
        following = re.findall(r'href="(/cases\?[^"]*)">next', page)
        path = following[0].replace("&amp;", "&") if following else ""
        assert not path or "size=2" in path
    assert seen == listed


def test_the_sign_in_forms_token_is_the_servers_own_and_short_lived(served: Served) -> None:
    """The sign-in form's cookie lasts ten minutes (Max-Age), and a sign-in is taken only
    with a token the server issued less than ten minutes ago: not with a pair of cookie and
    field made up by anyone, nor with an old one, nor with one whose time was changed."""
    from web.auth import LOGIN_FORM_SECONDS, login_token

    client = served.client()
    client.get("/login")
    cookie = next(h for h in client.set_cookie_headers if h.startswith("creditradar_login="))
    assert f"max-age={LOGIN_FORM_SECONDS}" in cookie.lower() and LOGIN_FORM_SECONDS == 600
    key = served.workspace.login_key
    old = login_token(key, time.time() - LOGIN_FORM_SECONDS - 5)
    issued, nonce, signature = old.split(".")
    moved = f"{int(time.time())}.{nonce}.{signature}"
    for token, why in (("made-up", "missing or wrong"), (old, "older than 10 minutes"),
                       (moved, "missing or wrong")):
        client.cookies["creditradar_login"] = token
        answer = client.post("/login", data={"csrf": token, "username": "alice",
                                             "password": password_of("alice")})
        assert answer.status_code == 403 and why in answer.text, token
        assert "creditradar_session" not in client.cookies
    fresh = login_token(key, time.time() - LOGIN_FORM_SECONDS + 60)
    client.cookies["creditradar_login"] = fresh
    assert client.post("/login", data={"csrf": fresh, "username": "alice",
                                       "password": password_of("alice")}).status_code == 303
