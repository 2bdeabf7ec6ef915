"""Offline proof bundles: they verify against the pinned key alone, and any changed byte fails."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine

from taxgate.errors import TaxgateError
from taxgate.formats.keys import load_keyring, new_key, write_key_pair
from taxgate.ledger.bundle import check_bundle, export_consistency, export_inclusion
from taxgate.ledger.database import open_ledger
from taxgate.ledger.events import append_events, time_text
from taxgate.ledger.log import make_checkpoint
from tests.ledger.test_events import AT, sample_events
from tests.support import BATCH_DATE

SIZES = (7, 19)  # checkpoints kept at these sizes
HEX = "0123456789abcdef"
B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"


@pytest.fixture(scope="module")
def bundles(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[dict, dict, object]]:
    """An inclusion bundle (event seq 5 against size 19), a consistency bundle 7 -> 19, the key."""
    folder = tmp_path_factory.mktemp("bundles")
    private, record = new_key("Disclosing Agency", "Dana Officer", "Disclosure Officer",
                              created_on=BATCH_DATE, seed=b"d")  # fmt: skip
    key_path, _ = write_key_pair(private, record, folder / "keys")
    engine: Engine = open_ledger(f"sqlite:///{folder / 'ledger.sqlite3'}")
    start = 0
    for n, size in enumerate(SIZES):
        with engine.begin() as conn:
            append_events(conn, sample_events(size - start, f"B-{n}"), AT)
        make_checkpoint(engine, key_path, now=AT)
        start = size
    with engine.connect() as conn:
        inclusion = export_inclusion(conn, 5)
        consistency = export_consistency(conn, SIZES[0])
    engine.dispose()
    yield inclusion, consistency, load_keyring(folder / "keys")[record.key_id]


def text(bundle: dict) -> str:
    return json.dumps(bundle, indent=2)


def test_an_inclusion_bundle_carries_the_time_its_leaf_hashes(bundles) -> None:
    """recorded_at is part of the leaf: the bundle's body holds it, and moving it fails."""
    inclusion, _, record = bundles
    body = json.loads(inclusion["body"])
    assert body["recorded_at"] == time_text(AT)
    moved = inclusion | {"body": inclusion["body"].replace(body["recorded_at"][:4], "1999", 1)}
    with pytest.raises(TaxgateError):
        check_bundle(text(moved), record)


def test_both_bundles_verify(bundles) -> None:
    inclusion, consistency, record = bundles
    checked = check_bundle(text(inclusion), record)
    assert (checked.kind, checked.seq, checked.checkpoint.size) == ("inclusion", 5, SIZES[1])
    grew = check_bundle(text(consistency), record)
    assert grew.old_checkpoint is not None
    assert (grew.old_checkpoint.size, grew.checkpoint.size) == SIZES


def test_a_wrong_key_fails(bundles) -> None:
    inclusion, consistency, _ = bundles
    _, stranger = new_key("Disclosing Agency", "X", "Y", created_on=date(2025, 1, 1), seed=b"x")
    for bundle in (inclusion, consistency):
        with pytest.raises(TaxgateError, match="not signed by the pinned key"):
            check_bundle(text(bundle), stranger)


def _replace(value: str, at: int, alphabet: str) -> str:
    at %= len(value)
    options = [c for c in alphabet if c != value[at]] or ["~"]
    return value[:at] + options[at % len(options)] + value[at + 1 :]


def _alphabet(field: str, value: str) -> str:
    if field in ("leaf_hash",) or field.startswith("proof"):
        return HEX
    if "checkpoint" in field:
        return B64 + " \n"
    return B64 + '{}":,'


def _fields(bundle: dict) -> list[str]:
    names = [k for k, v in bundle.items() if isinstance(v, str) and k != "format"]
    return names + [f"proof.{i}" for i in range(len(bundle["proof"]))]


@settings(
    max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(which=st.sampled_from(["inclusion", "consistency"]), pick=st.integers(0, 10**6),
       at=st.integers(0, 10**6))  # fmt: skip
def test_any_changed_character_of_event_proof_or_checkpoint_fails(bundles, which, pick, at) -> None:
    inclusion, consistency, record = bundles
    bundle = json.loads(json.dumps(inclusion if which == "inclusion" else consistency))
    fields = _fields(bundle)
    field = fields[pick % len(fields)]
    if field.startswith("proof."):
        index = int(field.split(".")[1])
        bundle["proof"][index] = _replace(bundle["proof"][index], at, HEX)
    else:
        bundle[field] = _replace(bundle[field], at, _alphabet(field, bundle[field]))
    with pytest.raises(TaxgateError):
        check_bundle(text(bundle), record)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("seq", 6),
        ("seq", 5.0),
        ("tree_size", 7),
        ("leaf_hash", None),  # upper-cased below
        ("proof", []),
        ("format", "taxgate-consistency-bundle/1"),
        ("extra", "x"),
    ],
)
def test_changed_numbers_and_shapes_fail(bundles, field: str, value) -> None:
    inclusion, _, record = bundles
    bundle = dict(inclusion)
    bundle[field] = inclusion["leaf_hash"].upper() if value is None else value
    with pytest.raises(TaxgateError):
        check_bundle(text(bundle), record)


def test_swapped_or_mixed_checkpoints_fail(bundles) -> None:
    inclusion, consistency, record = bundles
    swapped = consistency | {
        "old_checkpoint": consistency["new_checkpoint"],
        "new_checkpoint": consistency["old_checkpoint"],
    }
    with pytest.raises(TaxgateError):
        check_bundle(text(swapped), record)
    with pytest.raises(TaxgateError):
        check_bundle(text(inclusion | {"checkpoint": consistency["old_checkpoint"]}), record)


def test_not_json_or_a_duplicated_field_fails(bundles) -> None:
    inclusion, _, record = bundles
    with pytest.raises(TaxgateError, match="not JSON"):
        check_bundle("{", record)
    doubled = text(inclusion)[:-1] + ', "seq": 6}'
    with pytest.raises(TaxgateError, match="appears twice"):
        check_bundle(doubled, record)
