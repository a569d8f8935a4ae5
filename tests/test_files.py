"""The file reader: line framing and the size limit, counted on the record without its line end."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from connectors.contracts import MAX_RECORD_BYTES
from connectors.files import FileInput, damage


def _read_all(path: Path) -> list[tuple[int, str | None]]:
    reader = FileInput("payments", path)
    lines = []
    while (line := reader.read()) is not None:
        lines.append((len(line.raw), None if line.problem is None else line.problem.reason))
    return lines


@pytest.mark.parametrize("end", [b"\n", b"\r\n", b""])
def test_a_record_of_the_largest_size_is_read_whole_with_any_line_end(
        tmp_path: Path, end: bytes) -> None:
    path = tmp_path / "payments.jsonl"
    path.write_bytes(b"x" * MAX_RECORD_BYTES + end + (b"y\n" if end else b""))
    expected = [(MAX_RECORD_BYTES, None)] + ([(1, None)] if end else [])
    assert _read_all(path) == expected


@pytest.mark.parametrize("size", [MAX_RECORD_BYTES + 1, 3 * MAX_RECORD_BYTES])
@pytest.mark.parametrize("end", [b"\n", b"\r\n"])
def test_a_longer_record_is_one_too_large_line_and_the_next_line_still_reads(
        tmp_path: Path, size: int, end: bytes) -> None:
    path = tmp_path / "payments.jsonl"
    path.write_bytes(b"x" * size + end + b"y" + end)
    (kept, reason), following = _read_all(path)
    assert reason == "too_large" and kept < size
    assert following == (1, None)


def test_a_byte_order_mark_does_not_count_towards_the_size(tmp_path: Path) -> None:
    path = tmp_path / "payments.jsonl"
    path.write_bytes(b"\xef\xbb\xbf" + b"x" * MAX_RECORD_BYTES + b"\n")
    assert _read_all(path) == [(MAX_RECORD_BYTES, None)]


def test_a_file_that_cannot_be_opened_is_one_unreadable_file_dead_letter(tmp_path: Path) -> None:
    reader = FileInput("payments", tmp_path / "payments.jsonl")  # it went before it was read
    assert not reader.ended
    assert _read_all(tmp_path / "payments.jsonl") == [(0, "unreadable_file")]
    line = reader.read()
    assert line is not None and line.problem is not None and "FileNotFoundError" in (
        line.problem.detail)
    assert reader.read() is None and reader.ended


def test_damage_names_where_a_gzip_file_breaks_as_a_run_would(tmp_path: Path) -> None:
    lines = b"".join(b'{"n": %d, "pad": "%s"}\n' % (n, b"x" * (n % 40)) for n in range(20_000))
    whole, cut = tmp_path / "payments.jsonl.gz", tmp_path / "payments-cut.jsonl.gz"
    whole.write_bytes(gzip.compress(lines))
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])
    assert damage("payments", whole) is None

    problem = damage("payments", cut)
    read = _read_all(cut)
    assert problem is not None and problem.reason == "unreadable_file"
    assert problem.origin is not None and problem.origin.position == len(read)
    assert read[-1] == (0, "unreadable_file") and 1_000 < len(read) < 20_000
    assert "Compressed file ended" in problem.detail


def test_damage_opens_a_plain_file_and_names_one_that_cannot_be(tmp_path: Path) -> None:
    plain = tmp_path / "payments.jsonl"
    plain.write_bytes(b"not json\n" * 3)
    assert damage("payments", plain) is None  # a bad record is a record's problem
    gone = damage("payments", tmp_path / "news.jsonl")
    assert gone is not None and "FileNotFoundError" in gone.detail


@pytest.mark.parametrize(("content", "expected"), [
    (b"", []), (b"\xef\xbb\xbf", []), (b"\xef\xbb\xbf{}\n", [(2, None)]),
    (b"\xef\xbb\xbf\n", [(0, None)])])  # a blank line is a record, which the contract refuses
def test_a_file_of_a_byte_order_mark_alone_is_empty(
        tmp_path: Path, content: bytes, expected: list[tuple[int, str | None]]) -> None:
    path = tmp_path / "payments.jsonl"
    path.write_bytes(content)
    assert _read_all(path) == expected
