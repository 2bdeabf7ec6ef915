"""RFC 9162 Merkle tree over leaf hashes kept in the ledger database: roots, proofs, checks.

Written here, not taken from PyPI: pymerkle 7 (the one maintained candidate) wants its tree
classes to own the leaves, emits proofs in its own format instead of RFC 9162 paths (4 hashes
for the 6-to-8 consistency proof where the RFC has 3), is GPL-3.0 and pins cachetools; merkle-py
is not RFC 6962 hashing at all. We need RFC proofs over leaf hashes read from our own tables.

Hashing is RFC 9162 section 2.1.1 (the same as RFC 6962): a leaf is SHA-256(0x00 || data), an
interior node SHA-256(0x01 || left || right), and the empty tree SHA-256(""). Without a cache
of interior nodes, a proof costs O(n) hashing (the subtrees beside the path), never O(n log n).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

HASH_SIZE = 32  # SHA-256 digest bytes
LEAF_PREFIX = b"\x00"  # RFC 9162 2.1.1 domain separation: leaves and nodes never collide
NODE_PREFIX = b"\x01"
EMPTY_ROOT = hashlib.sha256(b"").digest()

_NODE_BASE = hashlib.sha256(NODE_PREFIX)  # copied per node: cheaper than rehashing the prefix


def leaf_hash(data: bytes) -> bytes:
    """MTH of a one-entry list: the prefix keeps a leaf from posing as an interior node."""
    return hashlib.sha256(LEAF_PREFIX + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """Hash of an interior node from its two children."""
    h = _NODE_BASE.copy()
    h.update(left)
    h.update(right)
    return h.digest()


def _split(n: int) -> int:
    """Largest power of two strictly below n (n >= 2): where RFC 9162 splits a tree."""
    return 1 << ((n - 1).bit_length() - 1)


def _root(level: list[bytes]) -> bytes:
    """Level by level, promoting an odd last node unchanged; equals the RFC's recursive MTH."""
    if not level:
        return EMPTY_ROOT
    copy = _NODE_BASE.copy
    while len(level) > 1:
        parents: list[bytes] = []
        append = parents.append
        for left, right in zip(level[0::2], level[1::2], strict=False):
            h = copy()
            h.update(left)
            h.update(right)
            append(h.digest())
        if len(level) % 2:
            append(level[-1])
        level = parents
    return level[0]


def _checked(hashes: Sequence[bytes], size: int) -> list[bytes]:
    """The first `size` leaf hashes, refusing ones that are not SHA-256 digests."""
    if size > len(hashes):
        raise ValueError(f"tree size {size} exceeds the {len(hashes)} leaf hashes given")
    # _root never mutates its input, so a whole list is used as is: no 3-million-item copy.
    leaves = hashes if isinstance(hashes, list) and size == len(hashes) else list(hashes[:size])
    if leaves and set(map(len, leaves)) != {HASH_SIZE}:  # set(map()) runs at C speed
        raise ValueError(f"every leaf hash must be {HASH_SIZE} bytes (use leaf_hash())")
    return leaves


def root_from_leaf_hashes(hashes: Sequence[bytes]) -> bytes:
    """MTH(D[n]) of RFC 9162 2.1.1 from already hashed leaves."""
    return _root(_checked(hashes, len(hashes)))


def inclusion_proof(index: int, size: int, hashes: Sequence[bytes]) -> list[bytes]:
    """PATH(index, D[size]) of RFC 9162 2.1.3.1, ordered from the leaf up to the root."""
    if not 0 <= index < size:
        raise ValueError(f"leaf index {index} is outside a tree of size {size}")
    leaves = _checked(hashes, size)
    path: list[bytes] = []
    lo, hi = 0, size
    while hi - lo > 1:  # walk down from the root; each step records the other subtree
        mid = lo + _split(hi - lo)
        if index < mid:
            path.append(_root(leaves[mid:hi]))
            hi = mid
        else:
            path.append(_root(leaves[lo:mid]))
            lo = mid
    path.reverse()
    return path


def consistency_proof(old_size: int, new_size: int, hashes: Sequence[bytes]) -> list[bytes]:
    """PROOF(old_size, D[new_size]) of RFC 9162 2.1.4.1.

    The RFC defines proofs for 0 < old_size < new_size. We return an empty proof when the sizes
    are equal (nothing changed) and when old_size is 0 (the empty tree is a prefix of every
    tree); verify_consistency accepts those only with the matching roots.
    """
    if not 0 <= old_size <= new_size:
        raise ValueError(
            f"consistency needs 0 <= old size <= new size, got {old_size} and {new_size}"
        )
    leaves = _checked(hashes, new_size)
    if old_size in (0, new_size):
        return []
    proof: list[bytes] = []
    lo, hi = 0, new_size
    whole_old_tree = True  # SUBPROOF's flag: the old root is known to the verifier
    while old_size != hi:  # until the old tree is a whole subtree of the new one
        mid = lo + _split(hi - lo)
        if old_size <= mid:
            proof.append(_root(leaves[mid:hi]))
            hi = mid
        else:
            proof.append(_root(leaves[lo:mid]))
            lo = mid
            whole_old_tree = False
    if not whole_old_tree:
        proof.append(_root(leaves[lo:hi]))
    proof.reverse()
    return proof


def _all_hashes(*values: bytes) -> bool:
    return all(len(v) == HASH_SIZE for v in values)


def verify_inclusion(
    index: int, size: int, leaf_hash: bytes, proof: Sequence[bytes], root: bytes
) -> bool:
    """RFC 9162 2.1.3.2: does `proof` put `leaf_hash` at `index` in the tree with `root`?"""
    if not 0 <= index < size or not _all_hashes(leaf_hash, root, *proof):
        return False
    fn, sn = index, size - 1
    r = leaf_hash
    for p in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root


def verify_consistency(
    old_size: int, new_size: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]
) -> bool:
    """RFC 9162 2.1.4.2: is the tree (old_size, old_root) a prefix of (new_size, new_root)?

    Edge cases as consistency_proof makes them: equal sizes need equal roots and an empty
    proof; old_size 0 needs the empty-tree root and an empty proof.
    """
    if not 0 <= old_size <= new_size or not _all_hashes(old_root, new_root, *proof):
        return False
    if old_size == new_size:
        return not proof and old_root == new_root
    if old_size == 0:
        return not proof and old_root == EMPTY_ROOT
    if not proof:
        return False
    path = list(proof)
    if old_size & (old_size - 1) == 0:  # the old tree is a perfect subtree: its root starts
        path.insert(0, old_root)
    fn, sn = old_size - 1, new_size - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return fr == old_root and sr == new_root and sn == 0
