"""The file reader: line framing and the size limit, counted on the record without its line end."""

from __future__ import annotations

from pathlib import Path

import pytest

from connectors.contracts import MAX_RECORD_BYTES
from connectors.files import FileInput


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
