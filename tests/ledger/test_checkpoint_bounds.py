"""The bounds of a checkpoint's fields: the previous size in [0, size), the largest tree size."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from taxgate.errors import FormatError
from taxgate.ledger.checkpoint import MAX_TREE_SIZE, Checkpoint, _parse_size

ROOT = bytes(32)
AT = datetime(2025, 8, 1, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(("previous", "valid"), [(0, True), (4, True), (5, False), (-1, False)])
def test_the_previous_size_lies_below_the_tree_size(previous: int, valid: bool) -> None:
    if valid:
        assert Checkpoint("example.org/log", 5, ROOT, AT, previous).previous == previous
    else:
        with pytest.raises(ValueError, match="previous size"):
            Checkpoint("example.org/log", 5, ROOT, AT, previous)


def test_the_largest_tree_size_parses_and_one_more_does_not() -> None:
    assert _parse_size(str(MAX_TREE_SIZE)) == MAX_TREE_SIZE
    with pytest.raises(FormatError):
        _parse_size(str(MAX_TREE_SIZE + 1))
