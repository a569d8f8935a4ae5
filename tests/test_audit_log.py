"""The audit log: chain round trip, resume, tamper detection and location, CLI, bytewax sink."""

from __future__ import annotations

import shutil
import tempfile
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace

import bytewax.operators as op
import pytest
from bytewax.dataflow import Dataflow
from bytewax.recovery import RecoveryConfig, init_db_dir
from bytewax.testing import TestingSource, run_main
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import SecretStr
from structlog.testing import capture_logs

from config.audit import AuditSettings
from config.errors import ConnectorError
from connectors.audit import (
    ANCHOR,
    GENESIS,
    AuditEntry,
    AuditRecord,
    AuditSink,
    AuditWriter,
    read_log,
    verify_log,
)
from connectors.audit.record import anchor_body
from flows.audit_cli import audit

KEY = "correct horse battery staple"
SETTINGS = AuditSettings(hmac_key=SecretStr(KEY), anchor_every=4)


def write_log(log: Path, count: int, config: AuditSettings = SETTINGS, partition: str = "0",
              close: bool = True) -> AuditWriter:
    """Write ``count`` input records; with anchor_every=4 and count=10, line = seq + 1 and
    seq 4 and 9 are periodic anchors, 12 the final one."""
    writer = AuditWriter(log, partition, config)
    for i in range(count):
        writer.append("input", f"ev-{i}", f"2024-01-{i % 28 + 1:02d}T00:00:00Z",
                      {"n": i, "note": "überfällig"})
    if close:
        writer.close()
    return writer


def segment(log: Path, index: int = 0, partition: str = "0") -> Path:
    return log / partition / f"segment-{index:06d}.jsonl"


def lines(log: Path) -> list[bytes]:
    return segment(log).read_bytes().splitlines(keepends=True)


def rewrite(log: Path, new_lines: list[bytes]) -> None:
    segment(log).write_bytes(b"".join(new_lines))


def located(log: Path, kind: str, line: int, seq: int | None, key: str | None = KEY) -> str:
    """Assert verification fails with ``kind`` at ``line``/``seq``; return the detail."""
    report = verify_log(log, None if key is None else key.encode())
    assert not report.ok
    problem = report.problem
    assert problem is not None
    assert (problem.kind, problem.partition, problem.line, problem.seq) == (kind, "0", line, seq), \
        str(problem)
    return problem.detail


def test_chain_round_trip_across_segments(tmp_path: Path) -> None:
    config = AuditSettings(hmac_key=SecretStr(KEY), anchor_every=7, segment_max_bytes=1500)
    write_log(tmp_path, 40, config)
    segments = sorted((tmp_path / "0").iterdir())
    assert len(segments) >= 4
    records = list(read_log(tmp_path))
    assert [r.seq for r in records] == list(range(len(records)))
    assert records[0].prev == GENESIS
    assert all(b.prev == a.hash for a, b in zip(records, records[1:], strict=False))
    inputs = [r for r in records if r.kind == "input"]
    assert [r.body["n"] for r in inputs] == list(range(40))
    assert records[-1].kind == ANCHOR and records[-1].body["final"] is True
    for path in segments:
        assert path.stat().st_size <= 1500
    report = verify_log(tmp_path, KEY.encode())
    assert report.ok and report.authenticated and report.records == len(records)


def test_each_record_is_one_canonical_line(tmp_path: Path) -> None:
    write_log(tmp_path, 2)
    first = lines(tmp_path)[0]
    record = AuditRecord.from_line(first.rstrip(b"\n"))
    assert record.to_line() == first
    assert "überfällig".encode() in first and b": " not in first
    assert record.hash == record.content_hash()


def test_resume_cuts_what_came_after_the_snapshot(tmp_path: Path) -> None:
    config = AuditSettings(hmac_key=SecretStr(KEY), anchor_every=4, segment_max_bytes=1200)
    writer = write_log(tmp_path, 5, config, close=False)
    position = writer.position()
    for i in range(12):  # the repeated epoch, long enough to spill into new segments
        writer.append("input", f"lost-{i}", "2024-02-01T00:00:00Z", {"n": i})
    writer.flush()
    crashed = tmp_path / "crashed"  # the disk as a crash would leave it: no final anchor
    shutil.copytree(tmp_path / "0", crashed / "0")
    writer.close()
    assert len(list((crashed / "0").iterdir())) > position.segment + 1

    resumed = AuditWriter.resume(crashed, "0", config, position)
    resumed.append("input", "after", "2024-02-02T00:00:00Z", {})
    resumed.close()
    ids = [r.id for r in read_log(crashed) if r.kind == "input"]
    assert ids == [f"ev-{i}" for i in range(5)] + ["after"]
    assert verify_log(crashed, KEY.encode()).ok


def test_resume_refuses_a_position_that_does_not_match(tmp_path: Path) -> None:
    writer = write_log(tmp_path, 3, close=False)
    position = writer.position()
    writer.close()
    wrong = type(position)(position.segment, position.offset, position.seq, "f" * 64, 0)
    with pytest.raises(ConnectorError, match="does not match"):
        AuditWriter.resume(tmp_path, "0", SETTINGS, wrong)
    assert verify_log(tmp_path, KEY.encode()).ok


def test_a_new_writer_continues_the_chain_and_refuses_a_torn_tail(tmp_path: Path) -> None:
    write_log(tmp_path, 3)
    write_log(tmp_path, 2)
    assert verify_log(tmp_path, KEY.encode()).ok
    segment(tmp_path).write_bytes(segment(tmp_path).read_bytes()[:-5])
    with pytest.raises(ConnectorError, match="torn"):
        AuditWriter(tmp_path, "0", SETTINGS)


def test_change_one_byte(tmp_path: Path) -> None:
    write_log(tmp_path, 10)
    content = lines(tmp_path)
    content[6] = content[6].replace(b'"n":5', b'"n":6')
    rewrite(tmp_path, content)
    located(tmp_path, "edited", 7, 6)


def test_delete_a_record(tmp_path: Path) -> None:
    write_log(tmp_path, 10)
    content = lines(tmp_path)
    del content[6]
    rewrite(tmp_path, content)
    assert "seq 6" in located(tmp_path, "deleted", 7, 7)


def test_insert_a_copy(tmp_path: Path) -> None:
    write_log(tmp_path, 10)
    content = lines(tmp_path)
    content.insert(8, content[2])
    rewrite(tmp_path, content)
    assert "copy" in located(tmp_path, "inserted", 9, 2)


def test_insert_a_record_crafted_to_fit(tmp_path: Path) -> None:
    write_log(tmp_path, 10)
    content = lines(tmp_path)
    before = AuditRecord.from_line(content[5].rstrip(b"\n"))
    crafted = AuditRecord.chained(6, "0", "input", "fake", "2024-01-07T00:00:00Z", {},
                                  before.hash)
    content.insert(6, crafted.to_line())
    rewrite(tmp_path, content)
    located(tmp_path, "inserted", 7, 6)


def test_insert_a_garbage_line(tmp_path: Path) -> None:
    write_log(tmp_path, 10)
    content = lines(tmp_path)
    content.insert(3, b'{"not": "a record"}\n')
    rewrite(tmp_path, content)
    located(tmp_path, "inserted", 4, None)


def test_swap_two_records(tmp_path: Path) -> None:
    write_log(tmp_path, 10)
    content = lines(tmp_path)
    content[6], content[7] = content[7], content[6]
    rewrite(tmp_path, content)
    located(tmp_path, "moved", 7, 7)


def test_truncate_the_tail(tmp_path: Path) -> None:
    write_log(tmp_path, 10)
    content = lines(tmp_path)
    rewrite(tmp_path, content[:-2])
    assert "last 1 records after the anchor at seq 9" in located(tmp_path, "truncated", 11, 10)
    rewrite(tmp_path, content[:-1])
    located(tmp_path, "truncated", 11, 10)
    rewrite(tmp_path, content[:-1] + [content[-1][:20]])
    located(tmp_path, "truncated", 13, None)
    rewrite(tmp_path, content[:10])  # cut exactly after the periodic anchor at seq 9
    located(tmp_path, "unclosed", 10, 9)


def test_deleted_segment_file(tmp_path: Path) -> None:
    config = AuditSettings(hmac_key=SecretStr(KEY), anchor_every=4, segment_max_bytes=1000)
    write_log(tmp_path, 20, config)
    segment(tmp_path, 1).unlink()
    report = verify_log(tmp_path, KEY.encode())
    assert report.problem is not None and report.problem.kind == "deleted"
    assert report.problem.segment == segment(tmp_path, 2).name


def forge(log: Path, key: bytes | None) -> None:
    """Edit seq 2 and re-hash the rest of the chain, re-signing anchors with ``key``."""
    records = [AuditRecord.from_line(line.rstrip(b"\n")) for line in lines(log)]
    head, out = GENESIS, []
    for r in records:
        body = {**r.body, "n": 99} if r.seq == 2 else r.body
        if r.kind == ANCHOR:
            body = anchor_body(r.partition, r.seq, head, r.body["final"], key)
        forged = AuditRecord.chained(r.seq, r.partition, r.kind, r.id, r.event_time, body, head)
        out.append(forged.to_line())
        head = forged.hash
    rewrite(log, out)


def test_forged_and_rehashed_chain_is_caught_by_the_anchor_signature(tmp_path: Path) -> None:
    write_log(tmp_path, 10)
    forge(tmp_path, b"a guessed key")
    assert "seq 0..3" in located(tmp_path, "bad_anchor", 5, 4)
    unauthenticated = verify_log(tmp_path, None)
    assert unauthenticated.ok and not unauthenticated.authenticated


def test_without_a_key_a_forger_who_rehashes_is_not_caught(tmp_path: Path) -> None:
    # The documented limit of unsigned anchors: they catch damage, not a forger.
    write_log(tmp_path, 10, AuditSettings(anchor_every=4))
    forge(tmp_path, None)
    assert verify_log(tmp_path, None).ok


def test_unsigned_anchors_fail_when_a_key_is_expected(tmp_path: Path) -> None:
    write_log(tmp_path, 10, AuditSettings(anchor_every=4))
    assert "unsigned" in located(tmp_path, "bad_anchor", 5, 4)


bodies = st.dictionaries(
    st.text(max_size=6),
    st.one_of(st.integers(), st.text(max_size=12), st.booleans(), st.none(),
              st.floats(allow_nan=False, allow_infinity=False)),
    max_size=3,
)


@settings(max_examples=60, deadline=None)
@given(records=st.lists(st.tuples(st.text(min_size=1, max_size=8), bodies), min_size=1,
                        max_size=12),
       anchor_every=st.integers(1, 5), where=st.floats(0, 1, exclude_max=True),
       flip=st.integers(1, 255))
def test_any_single_byte_change_is_detected(records: list[tuple[str, dict]], anchor_every: int,
                                            where: float, flip: int) -> None:
    config = AuditSettings(hmac_key=SecretStr(KEY), anchor_every=anchor_every)
    with tempfile.TemporaryDirectory() as tmp:
        log = Path(tmp)
        writer = AuditWriter(log, "0", config)
        for i, (id_, body) in enumerate(records):
            writer.append("warning", id_, f"2024-03-{i % 28 + 1:02d}", body)
        writer.close()
        assert verify_log(log, KEY.encode()).ok
        assert [r.body for r in read_log(log) if r.kind == "warning"] == [b for _, b in records]
        data = bytearray(segment(log).read_bytes())
        data[int(where * len(data))] ^= flip
        segment(log).write_bytes(bytes(data))
        assert not verify_log(log, KEY.encode()).ok


def run_cli(args: list[str], settings_obj: object = None, env: dict | None = None):
    return CliRunner().invoke(audit, args, obj={"settings": settings_obj}, env=env)


def test_cli_exit_codes(tmp_path: Path) -> None:
    write_log(tmp_path, 10)
    with_key = SimpleNamespace(audit=SETTINGS)
    result = run_cli(["verify", "--log", str(tmp_path)], with_key)
    assert result.exit_code == 0 and result.output.startswith("intact")
    assert "signatures checked" in result.output
    result = run_cli(["verify", "--log", str(tmp_path), "--key-env", "AUDIT_KEY"],
                     SimpleNamespace(audit=AuditSettings()), {"AUDIT_KEY": "wrong"})
    assert result.exit_code == 1 and "bad_anchor" in result.output
    result = run_cli(["verify", "--log", str(tmp_path), "--key-env", "AUDIT_KEY"],
                     None, {"AUDIT_KEY": KEY})
    assert result.exit_code == 0
    result = run_cli(["verify", "--log", str(tmp_path), "--key-env", "AUDIT_KEY"], None,
                     {"AUDIT_KEY": ""})
    assert result.exit_code == 1 and "not set" in result.output

    content = lines(tmp_path)
    del content[3]
    rewrite(tmp_path, content)
    result = run_cli(["verify", "--log", str(tmp_path)], with_key)
    assert result.exit_code == 1
    assert "first bad record: deleted: partition '0', segment-000000.jsonl line 4" \
        in result.output


def audit_flow(log: Path, items: list) -> Dataflow:
    flow = Dataflow("audit_test")
    stream = op.input("inp", flow, TestingSource(items))
    op.output("audit", stream, AuditSink(log, SETTINGS, ["a", "b"]))
    return flow


def entries(count: int) -> list[tuple[str, AuditEntry]]:
    return [("ab"[i % 2], AuditEntry("input", f"ev-{i}", f"2024-04-{i + 1:02d}", {"n": i}))
            for i in range(count)]


def test_sink_in_a_bytewax_flow(tmp_path: Path) -> None:
    run_main(audit_flow(tmp_path, entries(10)))
    assert verify_log(tmp_path, KEY.encode()).ok
    by_partition = {p: [r.id for r in read_log(tmp_path) if r.partition == p
                        and r.kind == "input"] for p in "ab"}
    assert by_partition == {"a": [f"ev-{i}" for i in range(0, 10, 2)],
                            "b": [f"ev-{i}" for i in range(1, 10, 2)]}


def _run_aborted_then_resumed(tmp_path: Path, epoch: timedelta) -> list[dict]:
    """Twelve entries through the audit sink, the run aborted after eight and resumed from
    its recovery directory; what the resumed run logged."""
    recovery = tmp_path / "recovery"
    recovery.mkdir()
    init_db_dir(recovery, 1)
    items: list = entries(12)
    items.insert(8, TestingSource.ABORT())
    flow = audit_flow(tmp_path / "log", items)
    run_main(flow, epoch_interval=epoch, recovery_config=RecoveryConfig(recovery))
    with capture_logs() as logs:
        run_main(flow, epoch_interval=epoch, recovery_config=RecoveryConfig(recovery))
    assert verify_log(tmp_path / "log", KEY.encode()).ok
    ids = [r.id for r in read_log(tmp_path / "log") if r.kind == "input"]
    assert sorted(ids) == sorted(f"ev-{i}" for i in range(12))
    return logs


def test_sink_resumed_by_bytewax_records_each_entry_once(tmp_path: Path) -> None:
    logs = _run_aborted_then_resumed(tmp_path, timedelta(0))
    assert any(e["event"] == "audit.resume_cut" and e["dropped_bytes"] > 0 for e in logs)


def test_sink_stopped_before_its_first_snapshot_records_each_entry_once(
        tmp_path: Path) -> None:
    """A run killed within its first epoch has no snapshot: the resumed run writes its first
    entries again, which a partition without a snapshot appended to the ones already there
    (one epoch for all: nothing is snapshotted before the abort)."""
    _run_aborted_then_resumed(tmp_path, timedelta(hours=1))
