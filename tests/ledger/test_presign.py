"""The audit a checkpoint runs before signing: its tree of stored leaf hashes, block by block."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from taxgate.ledger import merkle
from taxgate.ledger.audit import _Tree


def leaves(n: int) -> list[bytes]:
    return [hashlib.sha256(i.to_bytes(4, "big")).digest() for i in range(n)]


@settings(max_examples=60, deadline=None)
@given(
    sizes=st.lists(st.integers(0, 70), min_size=1, max_size=4),
    wanted=st.sets(st.integers(1, 200), max_size=5),
    block=st.sampled_from([2, 4, 16]),
)
def test_block_appends_give_the_rfc_roots_at_every_wanted_size(sizes, wanted, block) -> None:
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("taxgate.ledger.audit.BLOCK", block)
        everything = leaves(sum(sizes))
        tree, roots, at = _Tree(keep_leaves=True), {}, 0
        for n in sizes:  # several flushes, each starting wherever the last one ended
            tree.extend(everything[at : at + n], wanted, roots)
            at += n
    assert tree.size == len(everything) and tree.leaves == everything
    assert tree.root() == merkle.root_from_leaf_hashes(everything)
    reached = {w for w in wanted if w <= len(everything)}
    assert set(roots) == reached
    for size in reached:
        assert roots[size] == merkle.root_from_leaf_hashes(everything[:size])
