"""Routing, grouping, inhibition, silences, quiet hours, digests, escalation and redaction,
decided by event time and checked through recording channels (no network)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from conftest import SMTP_LOGIN

from config.alerts import AlertsSettings, parse_alerts, resolve_routes
from config.errors import ConfigError
from connectors.channels import Notifier, RecordingChannel, redact_url, scrub
from connectors.channels.delivery import backoff_delay
from detectors.records import Reason, Warning

# apprise imports the deprecated imghdr module while loading its plugins

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # a Monday
SECRET = SMTP_LOGIN[1]  # the password of the loopback SMTP server
TOKEN = "tok3nQWERTY987"


def warning(n: int, **over: Any) -> Warning:
    """A valid warning; ``n`` makes the id and the default customer distinct."""
    data: dict[str, Any] = {
        "warning_id": f"w{n}", "kind": "early_warning", "category": "payment_delay",
        "customer_id": f"C{n}", "customer_name": f"Customer {n}", "event_time": T0,
        "severity": "warning", "grade": "C", "previous_grade": "B", "pd": 0.1, "rank": n,
        "horizon_months": 8, "portfolio_size": 500, "action": "Review the limit",
        "reasons": [Reason(code="DSO", label="DSO days", value=71.0, contribution=0.8)],
        "evidence": [], "exposure": 100_000.0, "insured_share": 0.5, "currency": "EUR",
        "country": "DE", "industry": "retail",
    }
    data.update(over)
    if isinstance(data["event_time"], datetime):
        data["event_time"] = data["event_time"].isoformat()
    return Warning.model_validate(data)


def settings(**over: Any) -> AlertsSettings:
    """Channels "a" and "b" on desks "credit" and "escalation"; send at once by default."""
    data: dict[str, Any] = {
        "channels": {"a": "json://127.0.0.1:1/a", "b": "json://127.0.0.1:1/b"},
        "receivers": {"credit": ["a"], "escalation": ["b"]},
        "route": {"receiver": "credit", "group_wait": "0s", "group_interval": "0s"},
    }
    data.update(over)
    return AlertsSettings.model_validate(data)


class Harness:
    """A notifier whose channels are recording doubles."""

    def __init__(self, config: AlertsSettings, state_dir: Path) -> None:
        self.channels = {name: RecordingChannel() for name in config.channels}
        self.notifier = Notifier(config, state_dir, channels=self.channels)

    def sent(self, channel: str) -> list[tuple[str, str, str]]:
        self.notifier.deliver()
        return self.channels[channel].sent


def test_empty_configuration_is_valid_and_sends_nothing(tmp_path: Path) -> None:
    notifier = Notifier(AlertsSettings(), tmp_path)
    assert notifier.submit(warning(1)) == ["root: no receiver"]
    assert notifier.deliver().sent == 0


def test_invalid_configuration_names_the_problem_without_the_url() -> None:
    raw = {"channels": {"a": f"mailto://desk:{SECRET}@mail.example.com"},
           "receivers": {"credit": ["a"]},
           "route": {"receiver": "credit", "routes": [{"receiver": "nobody"}]}}
    with pytest.raises(ConfigError, match="unknown receiver 'nobody'") as info:
        parse_alerts(raw)
    assert SECRET not in str(info.value) and SECRET not in repr(info.value.__cause__)


def test_children_inherit_parent_options_and_override_their_own() -> None:
    config = settings(route={"receiver": "credit", "group_wait": "2m", "repeat_interval": "1d",
                             "routes": [{"receiver": "escalation", "group_wait": "10s",
                                         "routes": [{"match": {"grade": ["E"]}}]}]})
    root, child, grandchild = resolve_routes(config.route)
    assert (child.receiver, child.group_wait, child.repeat_interval) == (
        "escalation", timedelta(seconds=10), timedelta(days=1))
    assert (grandchild.path, grandchild.receiver, grandchild.group_wait) == (
        "root/0/0", "escalation", timedelta(seconds=10))
    assert root.group_wait == timedelta(minutes=2)


def test_first_matching_child_wins_unless_continue(tmp_path: Path) -> None:
    config = settings(route={"receiver": "credit", "group_wait": "0s", "group_interval": "0s",
                             "routes": [
        {"match": {"min_severity": "critical"}, "receiver": "escalation", "continue": True},
        {"match": {"country": ["DE"]}, "receiver": "credit"},
        {"match": {"country": ["DE"]}, "receiver": "escalation"},
    ]})
    h = Harness(config, tmp_path)
    critical = h.notifier.submit(warning(1, severity="critical"))
    plain = h.notifier.submit(warning(2))
    assert [d.split(":")[0] for d in critical] == ["root/0", "root/1"]
    assert [d.split(":")[0] for d in plain] == ["root/1"]
    assert len(h.sent("a")) == 2 and len(h.channels["b"].sent) == 1
    assert "Customer 1" in h.channels["b"].sent[0][0]


def test_matchers_on_tags_customers_and_exposure(tmp_path: Path) -> None:
    config = settings(route={"group_wait": "0s", "routes": [
        {"match": {"tags": ["key-account"], "min_exposure": 500_000}, "receiver": "escalation"},
        {"match": {"customers": ["C7"]}, "receiver": "credit"},
    ]})
    h = Harness(config, tmp_path)
    assert h.notifier.submit(warning(1, tags=["key-account"], exposure=600_000))[0].startswith(
        "root/0")
    assert h.notifier.submit(warning(2, tags=["key-account"], exposure=10))[0] == (
        "root: no receiver")
    assert h.notifier.submit(warning(7))[0].startswith("root/1")


def test_group_wait_bundles_a_group_and_group_by_splits_grades(tmp_path: Path) -> None:
    config = settings(route={"receiver": "credit", "group_by": ["grade"], "group_wait": "5m",
                             "group_interval": "1h"})
    h = Harness(config, tmp_path)
    h.notifier.submit(warning(1, grade="C"))
    h.notifier.submit(warning(2, grade="C", event_time=T0 + timedelta(minutes=2)))
    h.notifier.submit(warning(3, grade="D", event_time=T0 + timedelta(minutes=3)))
    h.notifier.advance(T0 + timedelta(minutes=4, seconds=59))
    assert h.sent("a") == []
    h.notifier.advance(T0 + timedelta(minutes=5))
    titles = [title for title, _body, _fmt in h.sent("a")]
    assert titles == ["Credit warning: 2 customers for credit"]
    h.notifier.advance(T0 + timedelta(minutes=8))
    assert len(h.sent("a")) == 2 and "Customer 3" in h.channels["a"].sent[1][0]
    # a later warning in a group that has flushed waits for group_interval
    h.notifier.submit(warning(4, grade="C", event_time=T0 + timedelta(minutes=10)))
    h.notifier.advance(T0 + timedelta(minutes=64))
    assert len(h.sent("a")) == 2
    h.notifier.advance(T0 + timedelta(minutes=65))
    assert len(h.sent("a")) == 3


def test_resubmitted_warning_is_not_sent_twice(tmp_path: Path) -> None:
    h = Harness(settings(), tmp_path)
    h.notifier.submit(warning(1))
    assert h.notifier.submit(warning(1)) == ["duplicate: already submitted"]
    assert len(h.sent("a")) == 1


def test_repeat_interval_suppresses_the_same_customer_and_grade(tmp_path: Path) -> None:
    config = settings(route={"receiver": "credit", "group_wait": "0s", "group_interval": "0s",
                             "repeat_interval": "1d"})
    h = Harness(config, tmp_path)
    h.notifier.submit(warning(1, customer_id="C1"))
    h.notifier.submit(warning(2, customer_id="C1", event_time=T0 + timedelta(hours=2)))
    h.notifier.submit(warning(3, customer_id="C1", event_time=T0 + timedelta(days=2)))
    assert len(h.sent("a")) == 2
    assert h.notifier.history("w2")[0]["kind"] == "repeat_suppressed"


INHIBIT = [{"source_match": {"category": ["insolvency"]},
            "target_match": {"category": ["payment_delay"]}, "equal": ["customer_id"]}]


def test_insolvency_inhibits_payment_delay_of_the_same_customer_only(tmp_path: Path) -> None:
    h = Harness(settings(inhibit_rules=INHIBIT), tmp_path)
    h.notifier.submit(warning(1, customer_id="C1", category="insolvency", severity="critical"))
    later = T0 + timedelta(days=1)
    assert h.notifier.submit(warning(2, customer_id="C1", event_time=later)) == [
        "inhibited by w1"]
    assert h.notifier.submit(warning(3, customer_id="C9", event_time=later))[0].startswith(
        "root")
    assert [t for t, _b, _f in h.sent("a")] == [
        "[critical] Credit warning: Customer 1 (C1) grade B → C",
        "[warning] Credit warning: Customer 3 (C9) grade B → C"]


def test_inhibition_also_mutes_a_target_still_waiting_in_its_group(tmp_path: Path) -> None:
    config = settings(inhibit_rules=INHIBIT,
                      route={"receiver": "credit", "group_by": ["category"], "group_wait": "5m"})
    h = Harness(config, tmp_path)
    h.notifier.submit(warning(1, customer_id="C1"))
    h.notifier.submit(warning(2, customer_id="C1", category="insolvency",
                              event_time=T0 + timedelta(minutes=1)))
    h.notifier.advance(T0 + timedelta(minutes=10))
    assert [t for t, _b, _f in h.sent("a")] == [
        "[warning] Credit warning: Customer 2 (C1) grade B → C"]


def test_resolution_ends_an_inhibition(tmp_path: Path) -> None:
    h = Harness(settings(inhibit_rules=INHIBIT), tmp_path)
    h.notifier.submit(warning(1, customer_id="C1", category="insolvency"))
    h.notifier.submit(warning(2, customer_id="C1", kind="resolved",
                              event_time=T0 + timedelta(days=1)))
    decision = h.notifier.submit(warning(3, customer_id="C1", event_time=T0 + timedelta(days=2)))
    assert decision[0].startswith("root: group")


def test_silence_holds_until_it_expires_in_event_time(tmp_path: Path) -> None:
    h = Harness(settings(), tmp_path)
    silence_id = h.notifier.silence(T0 + timedelta(days=3), by="anna", customer_id="C1")
    assert h.notifier.submit(warning(1, customer_id="C1")) == [f"silenced by {silence_id}"]
    assert h.notifier.submit(warning(2, customer_id="C2"))[0].startswith("root")
    h.notifier.submit(warning(3, customer_id="C1", event_time=T0 + timedelta(days=3)))
    assert [t.split(": ")[1] for t, _b, _f in h.sent("a")] == [
        "Customer 2 (C2) grade B → C", "Customer 3 (C1) grade B → C"]


def test_configured_silence_with_matchers(tmp_path: Path) -> None:
    config = settings(silences=[{"id": "retail-freeze", "match": {"industry": ["retail"]},
                                 "until": (T0 + timedelta(days=1)).isoformat()}])
    h = Harness(config, tmp_path)
    assert h.notifier.submit(warning(1)) == ["silenced by retail-freeze"]
    assert h.notifier.submit(warning(2, industry="energy"))[0].startswith("root")


def test_quiet_hours_hold_messages_until_morning_but_not_critical(tmp_path: Path) -> None:
    quiet = {"start": "20:00", "end": "07:00", "timezone": "Europe/Berlin"}
    config = settings(route={"receiver": "credit", "group_wait": "0s", "quiet_hours": quiet,
                             "group_by": ["customer_id"]})
    h = Harness(config, tmp_path)
    night = datetime(2026, 3, 2, 22, 0, tzinfo=UTC)  # 23:00 in Berlin
    h.notifier.submit(warning(1, event_time=night))
    h.notifier.submit(warning(2, event_time=night, severity="critical"))
    assert len(h.sent("a")) == 1 and "critical" in h.channels["a"].sent[0][0]
    h.notifier.advance(datetime(2026, 3, 3, 5, 59, tzinfo=UTC))
    assert len(h.sent("a")) == 1
    h.notifier.advance(datetime(2026, 3, 3, 6, 0, tzinfo=UTC))  # 07:00 in Berlin
    assert len(h.sent("a")) == 2


def test_daily_digest_is_a_ranked_watchlist_at_local_time(tmp_path: Path) -> None:
    digest = {"every": "daily", "at": "08:00", "timezone": "Europe/Berlin", "top": 2}
    config = settings(route={"receiver": "credit", "mode": "digest", "digest": digest})
    h = Harness(config, tmp_path)
    h.notifier.submit(warning(1, customer_id="C1", pd=0.05))
    h.notifier.submit(warning(2, customer_id="C2", pd=0.30))
    h.notifier.submit(warning(3, customer_id="C3", pd=0.20))
    # C1's later, riskier warning replaces its earlier one in the watchlist
    h.notifier.submit(warning(4, customer_id="C1", pd=0.25, event_time=T0 + timedelta(hours=3)))
    h.notifier.advance(datetime(2026, 3, 3, 6, 59, tzinfo=UTC))
    assert h.sent("a") == []
    h.notifier.advance(datetime(2026, 3, 3, 7, 0, tzinfo=UTC))  # 08:00 in Berlin
    [(title, body, fmt)] = h.sent("a")
    assert title == "Watchlist for credit (2026-03-03T07:00:00.000000Z): 2 customers"
    assert fmt == "markdown"
    rows = [line for line in body.splitlines() if line.startswith("| 1") or
            line.startswith("| 2")]
    assert ["Customer 2" in rows[0], "Customer 4" in rows[1]] == [True, True]
    assert "Customer 3" not in body and "Customer 1 " not in body
    h.notifier.advance(datetime(2026, 3, 4, 7, 0, tzinfo=UTC))
    assert len(h.sent("a")) == 1  # nothing new: the next day sends no empty digest


def test_a_customer_resolved_before_the_digest_is_left_out_of_it(tmp_path: Path) -> None:
    """A resolution never reached the digest's items: the customer it resolved was still
    listed, first, even after a "Resolved" message."""
    digest = {"every": "daily", "at": "08:00", "timezone": "UTC"}
    h = Harness(settings(route={"receiver": "credit", "mode": "digest", "digest": digest}),
                tmp_path)
    h.notifier.submit(warning(1, customer_id="C1", pd=0.5))
    h.notifier.submit(warning(2, customer_id="C2", pd=0.2))
    h.notifier.submit(warning(3, customer_id="C1", kind="resolved",
                              event_time=T0 + timedelta(hours=1)))
    h.notifier.advance(datetime(2026, 3, 3, 8, 0, tzinfo=UTC))
    [(title, body, _)] = h.sent("a")
    assert "1 customer" in title and "Customer 2" in body and "Customer 1 " not in body


def test_a_resolution_on_a_digest_route_without_a_receiver_is_no_digest(
        tmp_path: Path) -> None:
    """A digest root whose receivers are on its child routes: a resolution that fell to the
    root was put in a digest with nobody to send it to, and every later advance failed."""
    digest = {"every": "daily", "at": "08:00", "timezone": "UTC"}
    h = Harness(settings(route={"mode": "digest", "digest": digest, "routes": [
        {"match": {"country": ["DE"]}, "receiver": "credit"}]}), tmp_path)
    h.notifier.submit(warning(1, customer_id="C1", kind="resolved", country="FR"))
    h.notifier.advance(datetime(2026, 3, 3, 8, 0, tzinfo=UTC))
    h.notifier.advance(datetime(2026, 3, 4, 8, 0, tzinfo=UTC))
    assert h.sent("a") == []


def test_weekly_digest_waits_for_its_weekday(tmp_path: Path) -> None:
    digest = {"every": "weekly", "weekday": "fri", "at": "16:00", "timezone": "UTC"}
    h = Harness(settings(route={"receiver": "credit", "mode": "digest", "digest": digest}),
                tmp_path)
    h.notifier.submit(warning(1))
    h.notifier.advance(datetime(2026, 3, 6, 15, 59, tzinfo=UTC))
    assert h.sent("a") == []
    h.notifier.advance(datetime(2026, 3, 6, 16, 0, tzinfo=UTC))
    assert len(h.sent("a")) == 1


ESCALATING = {"receiver": "credit", "group_wait": "0s", "escalate_after": "2d",
              "escalate_to": "escalation", "group_by": ["customer_id"]}


def test_unacknowledged_warning_escalates_and_an_acknowledged_one_does_not(
        tmp_path: Path) -> None:
    h = Harness(settings(route=ESCALATING), tmp_path)
    h.notifier.submit(warning(1))
    h.notifier.submit(warning(2))
    h.notifier.ack("w2", by="anna", comment="called the customer")
    h.notifier.advance(T0 + timedelta(days=2) - timedelta(seconds=1))
    assert h.sent("b") == []
    h.notifier.advance(T0 + timedelta(days=2))
    [(title, _body, _fmt)] = h.sent("b")
    assert title == "[warning] ESCALATION: Customer 1 (C1) grade B → C"
    kinds = [e["kind"] for e in h.notifier.history("w2")]
    assert "acknowledged" in kinds and "escalated" not in kinds


def test_a_grade_rise_goes_to_the_escalation_route_at_once(tmp_path: Path) -> None:
    h = Harness(settings(route=ESCALATING), tmp_path)
    decisions = h.notifier.submit(warning(1, kind="escalation", grade="D", previous_grade="C"))
    assert decisions[-1] == "root: escalated to escalation"
    assert len(h.sent("b")) == 1 and len(h.channels["a"].sent) == 1


def test_resolution_is_sent_only_when_the_route_asks(tmp_path: Path) -> None:
    config = settings(route={"receiver": "credit", "group_wait": "0s", "group_interval": "0s",
                             "routes": [
        {"match": {"country": ["FR"]}, "notify_resolved": True}]})
    h = Harness(config, tmp_path)
    assert h.notifier.submit(warning(1, kind="resolved")) == [
        "root: resolution not requested"]
    h.notifier.submit(warning(2, kind="resolved", country="FR"))
    [(title, _b, _f)] = h.sent("a")
    assert title.startswith("[warning] Resolved: Customer 2")


def test_a_replay_decides_and_renders_the_same(tmp_path: Path) -> None:
    config = settings(inhibit_rules=INHIBIT, route={**ESCALATING, "group_wait": "1h"})
    stream = [warning(i, customer_id=f"C{i % 3}", category=("insolvency" if i == 4 else
              "payment_delay"), event_time=T0 + timedelta(hours=i)) for i in range(8)]

    def run(state: Path) -> tuple[list[list[str]], list[tuple[str, str, str]]]:
        h = Harness(config, state)
        decisions = [h.notifier.submit(w) for w in stream]
        h.notifier.advance(T0 + timedelta(days=5))
        return decisions, h.sent("a") + h.sent("b")

    assert run(tmp_path / "one") == run(tmp_path / "two")


def test_messages_carry_what_a_desk_acts_on_in_every_format(tmp_path: Path) -> None:
    config = settings(channels={"a": {"url": "json://127.0.0.1:1/a", "body_format": "html"},
                                "b": {"url": "json://127.0.0.1:1/b", "body_format": "text"}},
                      receivers={"credit": ["a", "b"], "escalation": ["b"]})
    h = Harness(config, tmp_path)
    h.notifier.submit(warning(1, rank=3, pd_term=[{"months": 3, "pd": 0.04},
                                                 {"months": 12, "pd": 0.146}]))
    [(_t, html, fmt)] = h.sent("a")
    [(_t, text, _f)] = h.channels["b"].sent
    assert fmt == "html" and '<a href="https://creditradar.local/warnings/w1">' in html
    for expected in ("B → C", "10.0% within 8 months", "14.6% within 12 months",
                     "3 of 500", "DSO days = 71.0",
                     "100,000 EUR, 50% insured", "Review the limit",
                     "https://creditradar.local/warnings/w1"):
        assert expected in text


@pytest.mark.parametrize(("url", "secrets"), [
    (f"mailto://desk:{SECRET}@mail.example.com:587?to=risk@example.com", [SECRET, "desk"]),
    (f"slack://{TOKEN}/B0KENB/C0KENC/#credit", [TOKEN, "B0KENB"]),
    (f"tgram://123456:{TOKEN}/987654", [TOKEN]),
    (f"https://hooks.example.com/services/{TOKEN}?apikey=k3y-{SECRET}", [TOKEN, SECRET]),
    (f"json://127.0.0.1:8080/hooks/credit?token={TOKEN}&format=markdown", [TOKEN]),
])
def test_redact_url_masks_credentials_tokens_and_query_secrets(
        url: str, secrets: list[str]) -> None:
    shown = redact_url(url)
    assert all(secret not in shown for secret in secrets)
    assert shown.split("://")[0] == url.split("://")[0]
    assert all(secret not in scrub(f"failed to reach {url} as {secrets[0]}", url)
               for secret in secrets)


def test_backoff_grows_with_jitter_and_is_reproducible() -> None:
    cfg = settings(channels={"a": {"url": "json://h/a", "backoff_seconds": 1.0}},
                   receivers={}, route={}).channels["a"]
    delays = [backoff_delay(cfg, "m1", "a", attempt) for attempt in range(1, 6)]
    assert delays == [backoff_delay(cfg, "m1", "a", attempt) for attempt in range(1, 6)]
    assert all(0.5 * 2 ** i <= d < 1.5 * 2 ** i for i, d in enumerate(delays))
    assert backoff_delay(cfg, "m2", "a", 1) != delays[0]


def test_a_tier_matches_and_a_warning_without_a_reporting_amount_matches_no_exposure_bound(
) -> None:
    from config.alerts import Match

    routine = warning(1, tier="routine")
    assert Match(tier=["routine"]).matches(routine)
    assert not Match(tier=["key"]).matches(routine)
    unknown = warning(2, exposure=None, fx_missing=True)
    assert not Match(min_exposure=1.0).matches(unknown)
    assert not Match(max_exposure=1e12).matches(unknown)
    assert Match(country=["DE"]).matches(unknown)
