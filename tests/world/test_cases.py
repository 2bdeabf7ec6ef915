"""Case counts follow the catalogue's shares; the present fraction is honoured."""

from __future__ import annotations

from collections import Counter

from taxgate.world.cases import ABSENT, CASES, INVALID, PRESENT, case_counts


def test_catalogue_shares_sum_to_one_per_group() -> None:
    for group in (PRESENT, ABSENT):
        assert abs(sum(c.share for c in CASES if c.group == group) - 1) < 1e-9
    assert 0.10 <= sum(c.share for c in CASES if c.group == INVALID) <= 0.15


def test_case_counts_match_the_shares(big_world) -> None:
    counts = Counter(t["case"] for t in big_world.truth)
    m = big_world.config.subjects
    planned = case_counts(m, big_world.config.present_fraction)
    assert big_world.summary.fallbacks == 0
    present = sum(counts[c.name] for c in CASES if c.group == PRESENT)
    absent = sum(counts[c.name] for c in CASES if c.group == ABSENT)
    for case in CASES:
        base = {INVALID: m, PRESENT: present, ABSENT: absent}[case.group]
        assert abs(counts[case.name] / base - case.share) < 0.01, case.name
        assert counts[case.name] == planned[case.name]


def test_present_fraction_of_valid_requests(big_world) -> None:
    valid = [t for t in big_world.truth if t["expected_outcome"] != "REJECTED"]
    about_filers = [t for t in valid if t["case"] in {c.name for c in CASES if c.group == PRESENT}]
    assert abs(len(about_filers) / len(valid) - big_world.config.present_fraction) < 0.01
    with_tin = sum(bool(t["tin"]) for t in valid)
    assert with_tin == len(about_filers)  # absent people have no true TIN


def test_summary_counts_equal_the_truth_file(world) -> None:
    counts = Counter((t["case"], t["expected_outcome"]) for t in world.truth)
    summary = {
        (case, o): n for case, cell in world.summary.by_case.items() for o, n in cell.items()
    }
    assert summary == dict(counts)
    assert sum(world.summary.by_outcome.values()) == len(world.truth) == world.config.subjects


def test_subjects_are_mostly_spanish_naming(world) -> None:
    rows = [s for s, t in world.rows() if t["expected_outcome"] != "REJECTED"]
    two_surnames = sum(" " in (r["family_name"] or "").strip() for r in rows)
    assert two_surnames / len(rows) > 0.4
