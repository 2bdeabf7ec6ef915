"""The Merkle tree against published RFC 6962 vectors, a recursive reference, and mutations."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from taxgate.ledger.merkle import (
    EMPTY_ROOT,
    HASH_SIZE,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    node_hash,
    root_from_leaf_hashes,
    verify_consistency,
    verify_inclusion,
)

# Known-answer vectors, copied verbatim (hex) from the published test suites:
#   google/certificate-transparency  cpp/merkletree/merkle_tree_test.cc
#     (kSHA256EmptyTreeHash, kInputs, kSHA256Roots, kSHA256Paths, kSHA256Proofs)
#   transparency-dev/merkle  proof/verify_test.go
#     (the same values, plus the consistency proof 6 -> 7)
# Leaf numbers in both files count from one; the tests subtract one.
EMPTY_TREE_HASH = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
INPUTS = [
    "",
    "00",
    "10",
    "2021",
    "3031",
    "40414243",
    "5051525354555657",
    "606162636465666768696a6b6c6d6e6f",
]
ROOTS = [  # ROOTS[i] is the root of the first i + 1 inputs
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]
INCLUSION = [  # (leaf number from one, tree size, audit path)
    (1, 1, []),
    (
        1,
        8,
        [
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ],
    ),
    (
        6,
        8,
        [
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
    (3, 3, ["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"]),
    (
        2,
        5,
        [
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        ],
    ),
]
CONSISTENCY = [  # (old size, new size, proof)
    (1, 1, []),
    (
        1,
        8,
        [
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ],
    ),
    (
        6,
        8,
        [
            "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
    (
        2,
        5,
        [
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        ],
    ),
    (
        6,
        7,
        [
            "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
]
VECTOR_LEAVES = [leaf_hash(bytes.fromhex(x)) for x in INPUTS]
REFERENCE_LIMIT = 70  # sizes 0..70 cover every split shape up to 64 + 6
PROPERTY_MAX_SIZE = 200
PROPERTY_EXAMPLES = 30  # each example hashes O(size^2) nodes; keeps the suite to seconds


def hx(values: list[str]) -> list[bytes]:
    return [bytes.fromhex(v) for v in values]


def leaves_of(size: int) -> list[bytes]:
    """Distinct leaves, one per index, as the CT suite builds its reference trees."""
    return [leaf_hash(i.to_bytes(4, "big")) for i in range(size)]


def flip(value: bytes, at: int) -> bytes:
    """`value` with one byte changed."""
    at %= len(value)
    return value[:at] + bytes([value[at] ^ 0x01]) + value[at + 1 :]


# Reference: RFC 9162 MTH, PATH and PROOF exactly as the recursive definitions read.
def ref_split(n: int) -> int:
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def ref_mth(leaves: list[bytes]) -> bytes:
    if not leaves:
        return hashlib.sha256(b"").digest()
    if len(leaves) == 1:
        return leaves[0]
    k = ref_split(len(leaves))
    return node_hash(ref_mth(leaves[:k]), ref_mth(leaves[k:]))


def ref_path(m: int, leaves: list[bytes]) -> list[bytes]:
    if len(leaves) == 1:
        return []
    k = ref_split(len(leaves))
    if m < k:
        return [*ref_path(m, leaves[:k]), ref_mth(leaves[k:])]
    return [*ref_path(m - k, leaves[k:]), ref_mth(leaves[:k])]


def ref_subproof(m: int, leaves: list[bytes], whole: bool) -> list[bytes]:
    n = len(leaves)
    if m == n:
        return [] if whole else [ref_mth(leaves)]
    k = ref_split(n)
    if m <= k:
        return [*ref_subproof(m, leaves[:k], whole), ref_mth(leaves[k:])]
    return [*ref_subproof(m - k, leaves[k:], False), ref_mth(leaves[:k])]


# --- published vectors ---


def test_empty_tree_root_is_the_published_hash_of_nothing() -> None:
    assert root_from_leaf_hashes([]) == EMPTY_ROOT == bytes.fromhex(EMPTY_TREE_HASH)


@pytest.mark.parametrize("size", range(1, len(ROOTS) + 1))
def test_roots_match_published_vectors(size: int) -> None:
    assert root_from_leaf_hashes(VECTOR_LEAVES[:size]) == bytes.fromhex(ROOTS[size - 1])


@pytest.mark.parametrize(("leaf", "size", "path"), INCLUSION)
def test_inclusion_proofs_match_published_vectors(leaf: int, size: int, path: list[str]) -> None:
    proof = inclusion_proof(leaf - 1, size, VECTOR_LEAVES)
    assert proof == hx(path)
    root = bytes.fromhex(ROOTS[size - 1])
    assert verify_inclusion(leaf - 1, size, VECTOR_LEAVES[leaf - 1], proof, root)


@pytest.mark.parametrize(("old", "new", "path"), CONSISTENCY)
def test_consistency_proofs_match_published_vectors(old: int, new: int, path: list[str]) -> None:
    proof = consistency_proof(old, new, VECTOR_LEAVES)
    assert proof == hx(path)
    old_root, new_root = bytes.fromhex(ROOTS[old - 1]), bytes.fromhex(ROOTS[new - 1])
    assert verify_consistency(old, new, old_root, new_root, proof)


@pytest.mark.parametrize(("leaf", "size", "path"), [v for v in INCLUSION if v[2]])
def test_published_inclusion_proofs_reject_the_go_suite_corruptions(
    leaf: int, size: int, path: list[str]
) -> None:
    index, proof, root = leaf - 1, hx(path), bytes.fromhex(ROOTS[size - 1])
    good = VECTOR_LEAVES[index]
    some_hash = bytes.fromhex(ROOTS[0])
    probes = [
        (index - 1, size, good, proof, root),
        (index + 1, size, good, proof, root),
        (index ^ 2, size, good, proof, root),
        (index, size * 2, good, proof, root),
        (index, size // 2, good, proof, root),
        (index, size, leaf_hash(b"WrongLeaf"), proof, root),
        (index, size, good, proof, EMPTY_ROOT),
        (index, size, good, [*proof, b""], root),
        (index, size, good, [*proof, root], root),
        (index, size, good, [b"", *proof], root),
        (index, size, good, [root, *proof], root),
        (index, size, good, proof[:-1], root),
        (index, size, good, [proof[0], some_hash, *proof[1:]], root),
    ]
    probes += [
        (index, size, good, [*proof[:i], flip(proof[i], 0), *proof[i + 1 :]], root)
        for i in range(len(proof))
    ]
    assert [p for p in probes if verify_inclusion(*p)] == []


@pytest.mark.parametrize(("old", "new", "path"), [v for v in CONSISTENCY if v[2]])
def test_published_consistency_proofs_reject_the_go_suite_corruptions(
    old: int, new: int, path: list[str]
) -> None:
    proof = hx(path)
    r1, r2 = bytes.fromhex(ROOTS[old - 1]), bytes.fromhex(ROOTS[new - 1])
    wrong_root = leaf_hash(b"WrongRoot")
    probes = [
        (old - 1, new, r1, r2, proof),
        (old + 1, new, r1, r2, proof),
        (old ^ 2, new, r1, r2, proof),
        (old, new * 2, r1, r2, proof),
        (old, new // 2, r1, r2, proof),
        (old, new, wrong_root, r2, proof),
        (old, new, r1, wrong_root, proof),
        (old, new, r2, r1, proof),
        (old, new, r1, r2, []),
        (old, new, r1, r2, [*proof, b""]),
        (old, new, r1, r2, [*proof, r1]),
        (old, new, r1, r2, [*proof, r2]),
        (old, new, r1, r2, [b"", *proof]),
        (old, new, r1, r2, [r1, *proof]),
        (old, new, r1, r2, [r2, *proof]),
        (old, new, r1, r2, [proof[0], *proof]),
        (old, new, r1, r2, proof[:-1]),
    ]
    probes += [
        (old, new, r1, r2, [*proof[:i], flip(proof[i], 0), *proof[i + 1 :]])
        for i in range(len(proof))
    ]
    assert [p for p in probes if verify_consistency(*p)] == []


# --- the fast implementation against the recursive definitions ---


@pytest.mark.parametrize("size", range(REFERENCE_LIMIT + 1))
def test_level_by_level_root_equals_recursive_mth(size: int) -> None:
    leaves = leaves_of(size)
    assert root_from_leaf_hashes(leaves) == ref_mth(leaves)


@pytest.mark.parametrize("size", range(1, REFERENCE_LIMIT + 1))
def test_proofs_equal_recursive_path_and_proof(size: int) -> None:
    leaves = leaves_of(size)
    for index in range(size):
        assert inclusion_proof(index, size, leaves) == ref_path(index, leaves)
    for old in range(1, size + 1):
        assert consistency_proof(old, size, leaves) == ref_subproof(old, leaves, True)


def test_proofs_use_only_the_first_size_hashes() -> None:
    leaves = leaves_of(20)
    assert inclusion_proof(3, 9, leaves) == inclusion_proof(3, 9, leaves[:9])
    assert consistency_proof(4, 9, leaves) == consistency_proof(4, 9, leaves[:9])


# --- properties ---

sizes = st.integers(min_value=1, max_value=PROPERTY_MAX_SIZE)


@settings(max_examples=PROPERTY_EXAMPLES, deadline=None)
@given(size=sizes)
def test_every_inclusion_proof_verifies(size: int) -> None:
    leaves = leaves_of(size)
    root = root_from_leaf_hashes(leaves)
    for index in range(size):
        proof = inclusion_proof(index, size, leaves)
        assert verify_inclusion(index, size, leaves[index], proof, root)


@settings(max_examples=PROPERTY_EXAMPLES, deadline=None)
@given(size=sizes)
def test_every_consistency_proof_verifies(size: int) -> None:
    leaves = leaves_of(size)
    new_root = root_from_leaf_hashes(leaves)
    for old in range(size + 1):
        proof = consistency_proof(old, size, leaves)
        old_root = root_from_leaf_hashes(leaves[:old])
        assert verify_consistency(old, size, old_root, new_root, proof)


@given(data=st.data(), size=sizes)
def test_any_change_breaks_an_inclusion_proof(data: st.DataObject, size: int) -> None:
    index = data.draw(st.integers(0, size - 1), label="index")
    leaves = leaves_of(size)
    root = root_from_leaf_hashes(leaves)
    leaf, proof = leaves[index], inclusion_proof(index, size, leaves)
    assert verify_inclusion(index, size, leaf, proof, root)
    at = data.draw(st.integers(0, HASH_SIZE - 1), label="byte")

    assert not verify_inclusion(index, size, flip(leaf, at), proof, root)
    assert not verify_inclusion(index, size, leaf, proof, flip(root, at))
    if proof:
        i = data.draw(st.integers(0, len(proof) - 1), label="proof element")
        bad = [*proof[:i], flip(proof[i], at), *proof[i + 1 :]]
        assert not verify_inclusion(index, size, leaf, bad, root)
    other = data.draw(st.integers(0, size * 2), label="other index")
    if other != index:
        assert not verify_inclusion(other, size, leaf, proof, root)
    for wrong_size in (size * 2, size // 2, index):
        assert not verify_inclusion(index, wrong_size, leaf, proof, root)


@given(data=st.data(), size=st.integers(min_value=2, max_value=PROPERTY_MAX_SIZE))
def test_any_change_breaks_a_consistency_proof(data: st.DataObject, size: int) -> None:
    old = data.draw(st.integers(1, size - 1), label="old size")
    leaves = leaves_of(size)
    r1, r2 = root_from_leaf_hashes(leaves[:old]), root_from_leaf_hashes(leaves)
    proof = consistency_proof(old, size, leaves)
    assert verify_consistency(old, size, r1, r2, proof)
    at = data.draw(st.integers(0, HASH_SIZE - 1), label="byte")
    i = data.draw(st.integers(0, len(proof) - 1), label="proof element")

    assert not verify_consistency(old, size, flip(r1, at), r2, proof)
    assert not verify_consistency(old, size, r1, flip(r2, at), proof)
    bad = [*proof[:i], flip(proof[i], at), *proof[i + 1 :]]
    assert not verify_consistency(old, size, r1, r2, bad)
    for wrong_old in {old - 1, old + 1, old ^ 2} - {old}:
        assert not verify_consistency(wrong_old, size, r1, r2, proof)
    for wrong_new in (size * 2, size // 2):
        assert not verify_consistency(old, wrong_new, r1, r2, proof)


# --- edges ---


def test_single_leaf_tree_has_empty_proof_and_its_leaf_as_root() -> None:
    leaf = leaf_hash(b"data")
    assert root_from_leaf_hashes([leaf]) == leaf
    assert inclusion_proof(0, 1, [leaf]) == []
    assert verify_inclusion(0, 1, leaf, [], leaf)
    assert not verify_inclusion(0, 1, leaf, [], b"")
    assert not verify_inclusion(0, 1, b"", [], b"")


def test_consistency_edge_cases_follow_the_documented_choice() -> None:
    leaves = leaves_of(5)
    root = root_from_leaf_hashes(leaves)
    assert consistency_proof(0, 5, leaves) == []
    assert consistency_proof(5, 5, leaves) == []
    assert verify_consistency(0, 5, EMPTY_ROOT, root, [])
    assert verify_consistency(0, 0, EMPTY_ROOT, EMPTY_ROOT, [])
    assert verify_consistency(5, 5, root, root, [])
    assert not verify_consistency(0, 5, root, root, [])  # size 0 has only one root
    assert not verify_consistency(0, 5, EMPTY_ROOT, root, [EMPTY_ROOT])
    assert not verify_consistency(5, 5, root, EMPTY_ROOT, [])
    assert not verify_consistency(5, 5, root, root, [root])
    assert not verify_consistency(2, 1, root, root, [])
    assert not verify_consistency(1, 2, root, root, [])


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda h: inclusion_proof(5, 5, h), "outside a tree of size 5"),
        (lambda h: inclusion_proof(-1, 5, h), "outside a tree of size 5"),
        (lambda h: inclusion_proof(0, 0, h), "outside a tree of size 0"),
        (lambda h: inclusion_proof(0, 6, h), "exceeds the 5 leaf hashes"),
        (lambda h: consistency_proof(3, 2, h), "0 <= old size <= new size"),
        (lambda h: consistency_proof(-1, 2, h), "0 <= old size <= new size"),
        (lambda h: consistency_proof(2, 6, h), "exceeds the 5 leaf hashes"),
        (lambda h: root_from_leaf_hashes([*h, b"short"]), "must be 32 bytes"),
    ],
)
def test_out_of_range_requests_raise_value_error(call, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        call(leaves_of(5))


def test_verification_rejects_out_of_range_without_raising() -> None:
    leaf = leaf_hash(b"x")
    assert not verify_inclusion(1, 1, leaf, [], leaf)
    assert not verify_inclusion(-1, 1, leaf, [], leaf)
    assert not verify_inclusion(0, 0, leaf, [], leaf)
    assert not verify_consistency(-1, 1, leaf, leaf, [])
