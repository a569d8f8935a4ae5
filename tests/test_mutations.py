"""The bad-input generator (tests/mutations.py) itself: reproducible, every kind present,
every mutant breaking the rule it is listed for, no source line lost or changed, and a
hostile book that stays valid and resolvable.

Contract reasons are checked against today's parser (`connectors.contracts.parse_record`);
the engine's own rules (ids, customers, names, clocks) are checked here from the files.
"""

from __future__ import annotations

import gzip
import json
from collections import Counter
from pathlib import Path

import pytest
from mutations import (
    BOM,
    CONTRACT_REASONS,
    DAY,
    GZIP_NAME,
    HUGE_BYTES,
    KINDS,
    LAG_PROOF_LINES,
    MAX_RECORD_BYTES,
    Manifest,
    event_time_seconds,
    hostile_book,
    mutate_book,
)

from config.errors import ContractError
from connectors.contracts import parse_record
from connectors.simulator import simulate
from detectors.names import normalize_name

FEEDS = ("customers", "payments", "news", "registry")
SEED = 5


@pytest.fixture(scope="module")
def book(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("book")
    simulate(300, 24, seed=21, out=out)
    return out


@pytest.fixture(scope="module")
def mutated(book: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Manifest]:
    dst = tmp_path_factory.mktemp("mutated")
    return dst, mutate_book(book, dst, seed=SEED)


@pytest.fixture(scope="module")
def hostile(book: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    dst = tmp_path_factory.mktemp("hostile")
    hostile_book(book, dst, seed=SEED)
    return dst


def _feed(name: str) -> str:
    return name.split(".")[0].split("-")[0]


def _lines(path: Path) -> list[bytes]:
    """A feed file's lines as the monitor reads them: split on LF only (U+2028 is no line
    end), a leading BOM and trailing CRs dropped; a gzip file up to where it breaks."""
    if path.suffix == ".gz":
        lines = []
        with gzip.open(path, "rb") as handle, pytest.raises(EOFError):
            while line := handle.readline():
                lines.append(line.rstrip(b"\n"))
        return lines
    data = path.read_bytes().removeprefix(BOM)
    lines = data.split(b"\n")
    if lines[-1] == b"":
        lines.pop()
    return [line.rstrip(b"\r") for line in lines]


def _files(folder: Path) -> dict[str, list[bytes]]:
    return {p.name: _lines(p) for p in sorted(folder.iterdir()) if p.name != "outcomes.jsonl"}


def _customers(folder: Path) -> list[dict]:
    return [json.loads(line) for line in _lines(folder / "customers.jsonl")]


def _parse_problems(folder: Path, manifest: Manifest) -> list[str]:
    """Mutants that today's parser does not treat as their reason says: contract reasons
    rejected with that reason, every other reason (a rule of the engine) accepted."""
    problems = []
    for name, lines in _files(folder).items():
        for number, mutant in manifest.in_file(name).items():
            if mutant.reason == "unreadable_file":
                continue
            try:
                parse_record(_feed(name), lines[number - 1])
                got = "accepted"
            except ContractError as exc:
                got = exc.reason
            want = mutant.reason if mutant.reason in CONTRACT_REASONS else "accepted"
            if got != want:
                problems.append(f"{name}:{number} {mutant.kind}: want {want}, got {got}")
    return problems


def test_same_seed_gives_same_bytes_and_another_seed_does_not(
        book: Path, mutated: tuple[Path, Manifest], tmp_path: Path) -> None:
    dst, manifest = mutated
    again = mutate_book(book, tmp_path / "again", seed=SEED)
    other = mutate_book(book, tmp_path / "other", seed=SEED + 1)
    files = sorted(p.name for p in dst.iterdir())
    assert sorted(p.name for p in (tmp_path / "again").iterdir()) == files
    assert all((dst / f).read_bytes() == (tmp_path / "again" / f).read_bytes() for f in files)
    assert again == manifest
    assert (dst / "payments.jsonl").read_bytes() != (tmp_path / "other" / "payments.jsonl")\
        .read_bytes()
    assert other.mutants != manifest.mutants


def test_every_kind_is_there_a_few_dozen_times_and_the_totals_add_up(
        mutated: tuple[Path, Manifest]) -> None:
    _, manifest = mutated
    kinds = manifest.by_kind()
    assert set(kinds) == {*KINDS, "truncated_gzip"}
    assert {k: n for k, n in kinds.items() if n < 36} == {"huge_line": 12, "truncated_gzip": 1}
    assert manifest.added == 3000 == manifest.rejected + manifest.duplicates
    assert manifest.duplicates == kinds["exact_duplicate"] > 0
    assert len({(m.file, m.line) for m in manifest.mutants}) == manifest.added


def test_the_destination_keeps_every_source_line_unchanged_and_in_order(
        book: Path, mutated: tuple[Path, Manifest]) -> None:
    dst, manifest = mutated
    source = _files(book)
    for name, lines in _files(dst).items():
        inserted = manifest.in_file(name)
        kept = [line for n, line in enumerate(lines, 1) if n not in inserted]
        assert kept == source.get(name, []), name
        assert len(lines) == len(kept) + len(inserted) - (name == GZIP_NAME), name
        if name != GZIP_NAME:  # mutants never go last: a file still ends with a source line
            assert len(lines) not in inserted, name
    assert (dst / "outcomes.jsonl").read_bytes() == (book / "outcomes.jsonl").read_bytes()


def test_files_carry_the_framing_the_manifest_lists(mutated: tuple[Path, Manifest]) -> None:
    dst, manifest = mutated
    for name, framing in manifest.framing.items():
        data = (dst / name).read_bytes()
        assert data.startswith(BOM) == ("bom" in framing), name
        assert data.endswith(b"\n") != ("no_final_newline" in framing), name
        crlf = data.count(b"\r\n") == data.count(b"\n")
        assert crlf == ("crlf" in framing), name
    assert {f for names in manifest.framing.values() for f in names} == {
        "bom", "crlf", "no_final_newline"}


def test_contract_mutants_are_rejected_by_todays_parser_with_their_reason(
        mutated: tuple[Path, Manifest]) -> None:
    dst, manifest = mutated
    assert _parse_problems(dst, manifest) == []


def test_the_truncated_gzip_gives_its_lines_then_breaks(mutated: tuple[Path, Manifest]) -> None:
    dst, manifest = mutated
    lines = _lines(dst / GZIP_NAME)  # raises nothing but the EOFError it expects
    entries = manifest.in_file(GZIP_NAME)
    assert sorted(entries) == list(range(1, len(lines) + 2))
    assert entries[len(lines) + 1].kind == "truncated_gzip"
    assert entries[len(lines) + 1].reason == "unreadable_file"
    assert all(m.outcome == "rejected" for m in entries.values())


def test_huge_lines_are_over_the_limit_and_one_is_ten_megabytes(
        mutated: tuple[Path, Manifest]) -> None:
    dst, manifest = mutated
    files = _files(dst)
    huge = [len(files[m.file][m.line - 1]) for m in manifest.mutants if m.kind == "huge_line"]
    assert min(huge) > MAX_RECORD_BYTES + 50 and max(huge) == HUGE_BYTES
    others = [len(files[m.file][m.line - 1]) for m in manifest.mutants
              if m.kind != "huge_line" and m.reason != "unreadable_file"]
    assert max(others) < MAX_RECORD_BYTES


def _times(lines: list[bytes]) -> list[int]:
    return [event_time_seconds(json.loads(line)["event_time"]) for line in lines]


def test_engine_rule_mutants_break_their_rule_and_move_no_clock(
        book: Path, mutated: tuple[Path, Manifest]) -> None:
    dst, manifest = mutated
    known = {c["customer_id"] for c in _customers(book)}
    names = {normalize_name(n) for c in _customers(book) for n in (c["name"], *c.get(
        "aliases", ()))}
    seen_reasons: Counter[str] = Counter()
    for name, lines in _files(dst).items():
        inserted = manifest.in_file(name)
        reached = -(1 << 62)
        last = max((event_time_seconds(json.loads(line)["event_time"])
                    for number, line in enumerate(lines, 1) if number not in inserted),
                   default=reached)
        first: dict[str, bytes] = {}
        for number, line in enumerate(lines, 1):
            mutant = inserted.get(number)
            if mutant is None:
                record = json.loads(line)
                reached = max(reached, event_time_seconds(record["event_time"]))
                first.setdefault(record["event_id"], line)
                continue
            if mutant.reason in CONTRACT_REASONS:
                continue
            if mutant.reason == "unreadable_file":
                continue
            record = json.loads(line)
            when = event_time_seconds(record["event_time"])
            seen_reasons[mutant.reason] += 1
            where = f"{name}:{number} {mutant.kind}"
            match mutant.reason:
                case "duplicate":
                    assert first[record["event_id"]] == line, where
                case "duplicate_id":
                    assert first[record["event_id"]] != line, where
                case "unknown_customer":
                    assert record["customer_id"] not in known, where
                case "unknown_company":
                    assert "customer_id" not in record, where
                    assert normalize_name(record["company_name"]) not in names, where
                case "implausible_time" if mutant.kind == "after_the_book":
                    assert when > last + 31 * DAY, where  # after the file's end
                case "implausible_time":
                    assert when > reached + 3660 * DAY, where
                case "late":
                    assert when < reached - 7 * DAY, where
                case _:
                    raise AssertionError(f"{where}: unexpected reason {mutant.reason}")
            if mutant.reason not in ("implausible_time", "late") and name != GZIP_NAME:
                assert reached - 6 * DAY <= when <= reached, where
    assert set(seen_reasons) == {"duplicate", "duplicate_id", "unknown_customer",
                                 "unknown_company", "implausible_time", "late"}


def test_late_mutants_have_many_later_source_lines_before_them(
        mutated: tuple[Path, Manifest]) -> None:
    dst, manifest = mutated
    for name, lines in _files(dst).items():
        inserted = manifest.in_file(name)
        source_times = _times([line for n, line in enumerate(lines, 1) if n not in inserted])
        for number, mutant in inserted.items():
            if mutant.kind != "late":
                continue
            when = event_time_seconds(json.loads(lines[number - 1])["event_time"])
            before = sum(1 for n in range(1, number) if n not in inserted)
            passed = sum(1 for t in source_times[:before] if t > when + 8 * DAY)
            assert passed >= LAG_PROOF_LINES, f"{name}:{number}"


def test_hostile_book_stays_valid_and_keeps_news_names_resolvable(
        book: Path, hostile: Path) -> None:
    for feed in FEEDS:
        for line in _lines(hostile / f"{feed}.jsonl"):
            parse_record(feed, line)
    for name in ("payments.jsonl", "registry.jsonl", "outcomes.jsonl"):
        assert (hostile / name).read_bytes() == (book / name).read_bytes()
    assert _resolved(hostile) == _resolved(book)
    carried = {n for c in _customers(hostile) for n in (c["name"], *c.get("aliases", ()))}
    news = [json.loads(line) for line in _lines(hostile / "news.jsonl")]
    assert all(n["company_name"] in carried for n in news if "company_name" in n)


def _resolved(folder: Path) -> list[set[str]]:
    """For every news item naming a company, the customers carrying that name."""
    holders: dict[str, set[str]] = {}
    for c in _customers(folder):
        for name in (c["name"], *c.get("aliases", ())):
            holders.setdefault(normalize_name(name), set()).add(c["customer_id"])
    news = [json.loads(line) for line in _lines(folder / "news.jsonl")]
    return [holders.get(normalize_name(n["company_name"]), set())
            for n in news if "company_name" in n]


def test_hostile_book_carries_every_kind_of_hostile_text(book: Path, hostile: Path,
                                                          tmp_path: Path) -> None:
    text = "".join((hostile / f).read_text(encoding="utf-8")
                   for f in ("customers.jsonl", "news.jsonl"))
    for needle in ("\u202e", "\u200b", "\u2028", "\u2029", "\u0085", "\\u0000", "\\u001b[",
                   "<script>", "\ufeff", "\U0001f3ed"):
        assert needle in text, repr(needle)
    longest = max(len(line) for line in _lines(hostile / "customers.jsonl"))
    assert longest > 90_000
    hostile_book(book, tmp_path, seed=SEED)
    assert (tmp_path / "news.jsonl").read_bytes() == (hostile / "news.jsonl").read_bytes()
    assert len(_lines(hostile / "news.jsonl")) == len(_lines(book / "news.jsonl"))


def test_a_mutated_hostile_book_holds_to_the_same_rules(hostile: Path, tmp_path: Path) -> None:
    manifest = mutate_book(hostile, tmp_path, seed=SEED, count=1000)
    assert set(manifest.by_kind()) == {*KINDS, "truncated_gzip"}
    assert _parse_problems(tmp_path, manifest) == []


def test_too_small_a_count_is_refused(book: Path, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="count must be at least"):
        mutate_book(book, tmp_path, seed=1, count=50)
