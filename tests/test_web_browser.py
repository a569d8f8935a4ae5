"""The workspace in a real headless Chromium (Debian's package, driven by Playwright) while
a run streams a hostile book: sign in, watch a warning arrive without reloading, open the
customer, propose an action, fail to approve it as its proposer, approve it as an approver,
see the ERP endpoint receive it and the audit log verify. The screenshots it takes are the
README's."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from web_support import (
    CHROMIUM,
    CHROMIUM_ARGS,
    SECRETS,
    ErpReceiver,
    ServedWorkspace,
    add_people,
    ensure_package,
    password_of,
    web_settings,
)

from connectors.audit import verify_log
from web.app import build_app
from web.workspace import Workspace

pytestmark = pytest.mark.browser
REPO = Path(__file__).resolve().parents[1]
SHOTS = REPO / "docs" / "img"
TIMEOUT_MS = 90_000


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """One headless Chromium for the module (installed from Debian's packages if missing)."""
    from playwright.sync_api import sync_playwright

    executable = ensure_package(CHROMIUM, "chromium")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


class Desk:
    """A served workspace on an empty output folder that a run is about to fill."""

    def __init__(self, root: Path) -> None:
        self.out = root / "out"
        self.erp = ErpReceiver()
        self.settings = web_settings(root / "state", self.erp.port, data_dir=root / "ws")
        self.workspace = Workspace.create(self.settings, self.out)
        add_people(self.workspace.store)
        self.server = ServedWorkspace(build_app(self.workspace))

    def stop(self) -> None:
        self.server.stop()
        self.erp.stop()
        self.workspace.store.close()


@pytest.fixture(scope="module")
def desk(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Desk]:
    served = Desk(tmp_path_factory.mktemp("ws-browser"))
    yield served
    served.stop()


def start_run(feeds: Path, out: Path) -> subprocess.Popen[bytes]:
    """``creditradar run`` in its own process, with the tests' audit key."""
    env = {**os.environ, "CREDITRADAR_AUDIT__HMAC_KEY": SECRETS["hmac"]}
    return subprocess.Popen(
        [sys.executable, "-c", "from flows.cli import main; main()", "--log-level", "error",
         "run", "--feeds", str(feeds), "--out", str(out), "--scores", "--top", "0"],
        env=env, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def sign_in(page: Any, base: str, username: str) -> None:
    page.goto(f"{base}/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password_of(username))
    page.click("form[action='/login'] button[type=submit]")
    page.wait_for_selector("#watchlist", timeout=TIMEOUT_MS)


def test_work_the_watchlist_while_a_run_streams_and_approve_an_action(
        browser: Any, desk: Desk, web_feeds: Path) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    base = desk.server.url
    context = browser.new_context(viewport={"width": 1280, "height": 860})
    page = context.new_page()
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    page.set_default_timeout(TIMEOUT_MS)

    page.goto(f"{base}/watchlist")
    assert "/login" in page.url  # no session: sent to sign in
    sign_in(page, base, "alice")
    assert "No customer matches yet" in page.inner_text("#watchlist")
    page.evaluate("window.stayed = true")  # gone if the page reloads

    run = start_run(web_feeds, desk.out)
    try:
        page.wait_for_selector("#watchlist tbody a[href^='/warnings/']")
        streaming = run.poll() is None
        assert page.evaluate("window.stayed === true"), "the page was reloaded"
        assert streaming, "the run had ended before the first warning showed"
        _, errors = run.communicate(timeout=300)
        assert run.returncode == 0, errors.decode()[-2000:]
    finally:
        if run.poll() is None:
            run.kill()
    final = desk.workspace.store.watchlist(_no_filter(), frozenset({"sme"}), offset=0,
                                           limit=1)[1]
    page.wait_for_function(
        "total => document.querySelector('#count').textContent.startsWith("
        "total.toLocaleString('en-US') + ' customers')", arg=final)
    assert page.evaluate("window.stayed === true")
    page.screenshot(path=str(SHOTS / "workspace-watchlist.png"))

    page.click("#watchlist tbody tr:first-child td:nth-child(2) a")
    page.wait_for_selector("#explained")
    assert "the same answer as" in page.inner_text("#explained")
    page.screenshot(path=str(SHOTS / "workspace-customer.png"), full_page=True)

    page.click("a[href^='/warnings/'] >> nth=0")
    page.click("#open-case")
    page.wait_for_selector("#propose")
    case_url = page.url
    page.select_option("#action", "reduce_limit")
    page.fill("#amount", "5000")
    page.fill("#comment", "halve the limit until the overdue invoices are paid")
    page.click("#propose")
    page.click("#approve")
    refusal = page.inner_text("main")
    assert "a different person must approve" in refusal
    assert desk.erp.received == []

    page.click("header form button")  # sign out
    sign_in(page, base, "bob")
    page.goto(case_url)
    page.fill("form.decide input[name=comment]", "agreed: four eyes")
    page.click("#approve")
    assert "approved by bob" in page.inner_text("#proposals")
    for _ in range(100):  # the delivery worker posts it in the background
        if page.query_selector(".delivery.d-sent"):
            break
        page.wait_for_timeout(200)
        page.reload()
    assert page.query_selector(".delivery.d-sent")
    page.screenshot(path=str(SHOTS / "workspace-case.png"), full_page=True)

    [action] = desk.erp.received
    command = action["body"]["data"]
    assert command["kind"] == "reduce_limit" and command["suggested_limit"] == 5000.0
    assert command["requested_by"] == "alice" and command["approved_by"] == "bob"
    assert action["headers"]["webhook-id"] == command["idempotency_key"]
    report = verify_log(desk.workspace.trail.directory, SECRETS["hmac"].encode())
    assert report.ok, report.verdict()
    kinds = [(r.kind, r.body.get("reason"), r.body["by"])
             for r in reversed(desk.workspace.trail.records(1000))]
    assert ("refused", "four_eyes", "alice") in kinds
    assert [k for k, _, _ in kinds if k.startswith(("case_", "action_"))] == [
        "case_opened", "action_proposed", "action_approved", "action_queued"]

    page.click("header form button")
    page.goto(f"{base}/login")
    page.fill("input[name=username]", "audrey")
    page.fill("input[name=password]", password_of("audrey"))
    page.click("form[action='/login'] button[type=submit]")
    page.goto(f"{base}/auditor")
    verdicts = page.inner_text("#verify")
    assert verdicts.count("intact") == 2 and "anchor signatures checked" in verdicts
    assert dialogs == [], dialogs  # no hostile name ever ran as script

    metrics = evaluate_next_to(desk.out, web_feeds, desk.settings)
    page.goto(f"{base}/portfolio")
    shapes = len(metrics["shape_tradeoff"])
    assert page.locator("svg.tradeoff polyline").count() == 1 + shapes
    assert page.locator("svg.tradeoff polyline.other").count() == shapes
    assert page.locator("svg.tradeoff circle.ring").count() == 1
    assert page.locator("svg.tradeoff rect.rule").count() == len(metrics["at_rule_false_warnings"])
    lines = metrics["budget_tradeoff"]
    assert page.locator("#tradeoff tbody tr").count() == len(lines)
    configured = next(line for line in lines if line["configured"])
    bold = page.inner_text("#tradeoff tr.configured")
    assert f"{configured['budget_per_1000']:g} per 1,000 a month" in bold
    assert f"{configured['defaulters_warned_6m']:.1%}" in bold
    assert page.locator("#shapes tbody tr").count() == shapes
    settled = metrics["calibration_after_first_year"]
    assert page.locator("#calibration tbody tr").count() == len(settled["table"])
    assert page.locator("#calibration tr.off").count() == len(settled["bands_off"])
    assert f"{settled['error']:.4f}" in page.inner_text("main")
    runs = metrics["champions"]
    assert page.locator("#champions tbody tr").count() == len(runs) >= 1
    assert "Prior scorecard" in page.inner_text("#champions tbody tr >> nth=0")
    held = page.locator("#champions-of-run li")  # from models.jsonl, not the evaluation
    assert held.count() == len(runs)
    assert held.nth(0).inner_text().startswith("Prior scorecard, scores from the start")
    page.locator("#evaluation").screenshot(path=str(SHOTS / "workspace-evaluation.png"))
    context.close()


def evaluate_next_to(out: Path, feeds: Path, settings: Any) -> dict[str, Any]:
    """``creditradar evaluate``'s metrics of the finished run in ``out``, written beside it
    as the workspace finds them."""
    from flows.evaluate import METRICS, evaluate_run, metrics_json
    from flows.outcomes import load_defaults

    metrics = metrics_json(evaluate_run(settings, out, load_defaults(feeds / "outcomes.jsonl")),
                           settings)
    (out / METRICS).write_text(json.dumps(metrics), encoding="utf-8")
    return metrics


def _no_filter() -> Any:
    from web.filters import Filters

    return Filters({})
