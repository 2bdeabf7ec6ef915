"""bench/scoring.py: the REVIEW band scored against the truth, and plain Splink's confirmations
held to the statute's address rule, on hand-made rows."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import duckdb
import pyarrow as pa
import pytest

from taxgate.policy import load_policy

BENCH = Path(__file__).resolve().parents[2] / "bench"


def _load_scoring():
    """bench/ is not a package: load the module by path (as the bench scripts import it)."""
    spec = importlib.util.spec_from_file_location("bench_scoring", BENCH / "scoring.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up here
    spec.loader.exec_module(module)
    return module


scoring = _load_scoring()

# One subject per line: (expected outcome, true tin, gate lets it proceed, decision, its tin).
SUBJECTS = [
    ("CONFIRMED", "T1", True, "CONFIRMED", "T1"),  # confirmed right automatically
    ("CONFIRMED", "T2", True, "REVIEW", "T2"),  # in review, an officer can confirm it
    ("CONFIRMED", "T3", True, "REVIEW", "T9"),  # in review with another taxpayer
    ("CONFIRMED", "T4", True, "NOT_CONFIRMED", None),  # missed, not in review
    ("NOT_CONFIRMED", "T5", True, "REVIEW", "T5"),  # the right person, but not confirmable
    ("NOT_CONFIRMED", None, True, "NOT_CONFIRMED", None),  # absent, rightly not confirmed
    ("CONFIRMED", "T7", False, None, None),  # refused by the gate: counts in recall only
    ("NOT_CONFIRMED", None, True, "CONFIRMED", "T8"),  # a wrongful automatic confirmation
]


def _tables(subjects: list[tuple]) -> tuple[pa.Table, pa.Table, pa.Table]:
    ids = [f"S-{i}" for i in range(len(subjects))]
    truth = pa.table(
        {
            "subject_id": ids,
            "tin": [s[1] for s in subjects],
            "expected_outcome": [s[0] for s in subjects],
        }
    )
    verdicts = pa.table(
        {"row": list(range(1, len(subjects) + 1)), "subject_id": ids,
         "proceed": [s[2] for s in subjects]}
    )  # fmt: skip
    decided = [(i + 1, s) for i, s in enumerate(subjects) if s[2]]
    decisions = pa.table(
        {
            "row": [r for r, _ in decided],
            "outcome": [s[3] for _, s in decided],
            "tin": pa.array([s[4] for _, s in decided], pa.string()),
        }
    )
    return truth, verdicts, decisions


def test_review_statistics_count_the_queue_against_the_truth() -> None:
    stats = scoring.review_statistics(*_tables(SUBJECTS))
    assert (stats.subjects, stats.proceeding, stats.review_queue) == (8, 7, 3)
    assert stats.confirmable == 5
    assert stats.confirmed_right == 1
    # T2, T3 and T4 proceeded, were confirmable and were not confirmed right automatically.
    assert stats.confirmable_not_confirmed == 3
    assert stats.review_confirmable == 1
    assert stats.review_confirmable_other_tin == 1
    assert stats.review_not_confirmable == 1
    assert stats.review_catch_share == round(1 / 3, 4)
    assert stats.review_share_of_proceeding == round(3 / 7, 4)
    assert stats.recall == round(1 / 5, 4)
    assert stats.recall_if_review_confirmed == round(2 / 5, 4)
    # The automatic wrongful one, plus the REVIEW with another tin and the unconfirmable one.
    assert stats.wrongful_if_review_confirmed == 3
    assert not stats.meets_target


def test_review_target_holds_for_a_small_queue_that_catches_the_misses() -> None:
    caught = [("CONFIRMED", "T1", True, "REVIEW", "T1")]
    quiet = [("NOT_CONFIRMED", None, True, "NOT_CONFIRMED", None)] * 99
    stats = scoring.review_statistics(*_tables(caught + quiet))
    assert stats.review_catch_share == 1.0
    assert stats.review_share_of_proceeding == 0.01
    assert stats.meets_target


def test_review_statistics_refuse_misaligned_rows() -> None:
    truth, verdicts, decisions = _tables(SUBJECTS)
    with pytest.raises(ValueError, match="rows"):
        scoring.review_statistics(truth.slice(1), verdicts, decisions)


def _master(path: Path) -> Path:
    con = duckdb.connect(str(path))
    con.execute(
        "CREATE TABLE taxpayer_addresses (tin VARCHAR, house_number VARCHAR, "
        "street_name VARCHAR, zip5 VARCHAR, city VARCHAR)"
    )
    con.executemany(
        "INSERT INTO taxpayer_addresses VALUES (?, ?, ?, ?, ?)",
        [
            ("T1", "12", "BENJAMIN WAY", "78701", "AUSTIN"),
            ("T2", "7", "MAIN ST", "78701", "AUSTIN"),
            ("T3", "40", "OAK AVE", "73301", "DALLAS"),
            ("T3", "9", "ELM ST", "78701", "AUSTIN"),  # a second address T3 filed from
            ("T4", "5", "PINE RD", "78701", "AUSTIN"),
        ],
    )
    con.close()
    return path


def test_address_checked_keeps_only_confirmations_the_address_corroborates(
    tmp_path: Path,
) -> None:
    subjects = pa.table(
        {
            "subject_id": ["a", "b", "c", "d", "e"],
            "given_name": ["Ann", "Bo", "Cy", "Di", "Ed"],
            "family_name": ["Lee", "Ng", "Ox", "Po", "Qi"],
            # a: a street typo and a directional added, ZIP differs but the city agrees;
            # b: another street type; c: T3's second address; d: another house number;
            # e: not confirmed by plain Splink at all.
            "street": ["12 N Benjami Way", "7 Main Ave", "9 Elm St", "6 Pine Rd", "1 Ash St"],
            "city": ["Austin", "Austin", "Austin", "Austin", "Austin"],
            "state": ["TX"] * 5,
            "zip": ["78702", "78701", "78701", "78701", "78701"],
        }
    )
    plain = pa.table(
        {
            "row": [1, 2, 3, 4, 5],
            "subject_id": ["a", "b", "c", "d", "e"],
            "outcome": ["CONFIRMED"] * 4 + ["NOT_CONFIRMED"],
            "tin": ["T1", "T2", "T3", "T4", None],
        }
    )
    checked = scoring.address_checked(
        plain, subjects, _master(tmp_path / "master.duckdb"), load_policy().decision
    )
    assert checked.column("outcome").to_pylist() == [
        "CONFIRMED",
        "NOT_CONFIRMED",
        "CONFIRMED",
        "NOT_CONFIRMED",
        "NOT_CONFIRMED",
    ]
    assert checked.column("tin").to_pylist() == ["T1", None, "T3", None, None]
    assert checked.column("subject_id").to_pylist() == ["a", "b", "c", "d", "e"]


def test_corroborates_needs_house_street_and_zip_or_city() -> None:
    def pair(house: str, street: str, zip5: str | None, city: str | None) -> dict:
        return {
            "house_number_l": "12", "street_name_l": "MAIN ST", "zip5_l": "78701",
            "city_l": "AUSTIN", "house_number_r": house, "street_name_r": street,
            "zip5_r": zip5, "city_r": city,
        }  # fmt: skip

    pairs = pa.Table.from_pylist(
        [
            pair("12", "MAIN ST", "78701", "AUSTIN"),
            pair("12", "MAIN ST", None, "AUSTIN"),  # the city alone places it
            pair("12", "MAIN ST", "73301", "DALLAS"),  # another place
            pair("13", "MAIN ST", "78701", "AUSTIN"),  # another house
            pair("12", "S MAIN ST", "78701", "AUSTIN"),  # a directional added
            pair("12", "MAIN AVE", "78701", "AUSTIN"),  # another street type
        ]
    )
    assert scoring.corroborates(pairs, load_policy().decision).tolist() == [
        True,
        True,
        False,
        False,
        True,
        False,
    ]


def test_address_checked_with_nothing_confirmed(tmp_path: Path) -> None:
    subjects = pa.table({"subject_id": ["a"], "street": ["1 Ash St"], "zip": ["78701"]})
    plain = pa.table(
        {"row": [1], "subject_id": ["a"], "outcome": ["NOT_CONFIRMED"],
         "tin": pa.array([None], pa.string())}
    )  # fmt: skip
    checked = scoring.address_checked(
        plain, subjects, _master(tmp_path / "master.duckdb"), load_policy().decision
    )
    assert checked.column("outcome").to_pylist() == ["NOT_CONFIRMED"]
    assert checked.column("tin").to_pylist() == [None]
