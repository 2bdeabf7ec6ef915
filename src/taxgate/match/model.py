"""The Fellegi-Sunter model's shape: comparisons, their gamma levels and the blocking rules.

Parameters (m, u, prior) are not here: they are trained (`taxgate.match.train`) and frozen in
HOME/model.json. The level order is the contract of docs/matching.md ("Candidate pairs"):
Splink numbers levels from the bottom, else = 0, null = -1, so the highest level listed first
gets the highest gamma.
"""

from __future__ import annotations

from typing import Any

from splink import SettingsCreator, block_on
from splink import comparison_level_library as cll
from splink import comparison_library as cl
from splink.blocking_rule_library import CustomRule
from splink.internals.column_expression import ColumnExpression
from splink.internals.comparison_creator import ComparisonCreator

UNIQUE_ID = "unique_id"

# Jaro-Winkler thresholds of the name levels: 0.92 admits one typo or transposition in a name
# of six letters or more; 0.80 a looser likeness ranked below the phonetic key.
NAME_JW_CLOSE = 0.92
NAME_JW_LOOSE = 0.80
# Street names: the docs' fuzzy level (docs/matching.md), >= 0.9 on the standardised name.
STREET_JW = 0.90
# "One digit off or transposed" for TIN and date of birth: one Damerau-Levenshtein edit.
ONE_EDIT = 1
# TIN prefilter: digits 1-4 and 6-9 of the nine.
TIN_HALF, TIN_LAST = 4, 6
# Compound given names swapped, or given and middle name swapped: two tokens in common.
BOTH_TOKENS = 2

COMPARISONS = (
    "given", "family", "dob", "tin", "house_number", "street_name", "unit", "zip5", "city",
)  # fmt: skip

# Every column the model reads; both sides of a link are projected onto exactly these.
MODEL_COLUMNS = (
    "given", "given_canonical", "given_tokens", "given_phonetic",
    "family", "family_tokens", "family_phonetic", "name_tokens",
    "suffix", "dob", "tin", "house_number", "street_name", "unit", "zip5", "city",
)  # fmt: skip
# The blocking keys (a pair must agree on one rule's columns to be scored at all). A typo in
# any one field leaves a rule standing: a ZIP typo meets the house number and both phonetic
# keys, a family-name typo the ZIP and given key, the house number and ZIP or the birth date
# and given key, a ZIP and a city both off the house number, street and a name key, a ZIP, a
# street and a name all off the house number, city and the other name's key, and so on.
BLOCKING_KEYS: tuple[tuple[str, ...], ...] = (
    ("zip5", "family_phonetic"),
    ("tin",),
    ("zip5", "given_phonetic"),
    ("house_number", "zip5"),
    ("dob", "family_phonetic"),
    ("house_number", "family_phonetic", "given_phonetic"),
    ("dob", "given_phonetic"),
    ("city", "family_phonetic", "given_phonetic"),
    ("house_number", "street_name", "city"),
    ("house_number", "street_name", "family_phonetic"),
    ("house_number", "street_name", "given_phonetic"),
    ("house_number", "city", "given_phonetic"),
    ("house_number", "city", "family_phonetic"),
)
# Columns of the candidate-pairs table carried as <col>_l / <col>_r.
RETAINED = (
    "given", "given_tokens", "family", "suffix", "dob", "tin",
    "house_number", "street_name", "unit", "zip5", "city",
)  # fmt: skip


def _given() -> ComparisonCreator:
    return cl.CustomComparison(
        output_column_name="given",
        comparison_levels=[
            cll.NullLevel("given"),
            cll.ExactMatchLevel("given", term_frequency_adjustments=True),
            cll.ExactMatchLevel("given_canonical").configure(label_for_charts="nickname"),
            cll.ArrayIntersectLevel("given_tokens", BOTH_TOKENS).configure(
                label_for_charts="given names swapped"
            ),
            cll.JaroWinklerLevel("given", NAME_JW_CLOSE),
            cll.ExactMatchLevel("given_phonetic").configure(label_for_charts="phonetic"),
            cll.ArrayIntersectLevel("given_tokens", 1).configure(
                label_for_charts="a given name in common"
            ),
            cll.ArraySubsetLevel("name_tokens").configure(label_for_charts="name order reversed"),
            cll.JaroWinklerLevel("given", NAME_JW_LOOSE),
            cll.ElseLevel(),
        ],
    )


def _family() -> ComparisonCreator:
    return cl.CustomComparison(
        output_column_name="family",
        comparison_levels=[
            cll.NullLevel("family"),
            cll.ExactMatchLevel("family", term_frequency_adjustments=True),
            cll.ArrayIntersectLevel("family_tokens", BOTH_TOKENS).configure(
                label_for_charts="surnames moved"
            ),
            cll.ArraySubsetLevel("family_tokens").configure(label_for_charts="one surname dropped"),
            cll.JaroWinklerLevel("family", NAME_JW_CLOSE),
            cll.ExactMatchLevel("family_phonetic").configure(label_for_charts="phonetic"),
            cll.ArraySubsetLevel("name_tokens").configure(label_for_charts="name order reversed"),
            cll.ArrayIntersectLevel("family_tokens", 1).configure(
                label_for_charts="a surname in common"
            ),
            cll.JaroWinklerLevel("family", NAME_JW_LOOSE),
            cll.ElseLevel(),
        ],
    )


def _dob() -> ComparisonCreator:
    swapped = cll.CustomLevel(
        "month(dob_l) = day(dob_r) AND day(dob_l) = month(dob_r) AND year(dob_l) = year(dob_r)",
        base_dialect_str="duckdb",
    )
    # One edit of "YYYY-MM-DD" changes one of year, month and day: a cheap necessary condition
    # checked before the costly edit distance.
    two_parts_agree = cll.CustomLevel(
        "year(dob_l) = year(dob_r) OR (month(dob_l) = month(dob_r) AND day(dob_l) = day(dob_r))",
        base_dialect_str="duckdb",
    )
    one_off = cll.And(
        two_parts_agree,
        cll.DamerauLevenshteinLevel(ColumnExpression("dob").cast_to_string(), ONE_EDIT),
    )
    return cl.CustomComparison(
        output_column_name="dob",
        comparison_levels=[
            cll.NullLevel("dob"),
            cll.ExactMatchLevel("dob"),
            cll.Or(swapped, one_off).configure(label_for_charts="month/day swapped or one off"),
            cll.CustomLevel("year(dob_l) = year(dob_r)", "same year", base_dialect_str="duckdb"),
            cll.ElseLevel(),
        ],
    )


def _tin() -> ComparisonCreator:
    return cl.CustomComparison(
        output_column_name="tin",
        comparison_levels=[
            cll.NullLevel("tin"),
            cll.ExactMatchLevel("tin"),
            cll.And(
                # One substitution or adjacent swap in nine digits leaves the first four or the
                # last four intact: a cheap necessary condition before the edit distance.
                cll.Or(
                    cll.ExactMatchLevel(ColumnExpression("tin").substr(1, TIN_HALF)),
                    cll.ExactMatchLevel(ColumnExpression("tin").substr(TIN_LAST, TIN_HALF)),
                ),
                cll.DamerauLevenshteinLevel("tin", ONE_EDIT),
            ).configure(label_for_charts="one digit off or transposed"),
            cll.ElseLevel(),
        ],
    )


def _street() -> ComparisonCreator:
    return cl.CustomComparison(
        output_column_name="street_name",
        comparison_levels=[
            cll.NullLevel("street_name"),
            cll.ExactMatchLevel("street_name"),
            cll.JaroWinklerLevel("street_name", STREET_JW),
            cll.ElseLevel(),
        ],
    )


def comparisons() -> list[ComparisonCreator]:
    """The nine comparisons, in docs order; exact-only ones are plain ExactMatch."""
    exact = {c: cl.ExactMatch(c) for c in ("house_number", "unit", "zip5", "city")}
    built = {
        "given": _given(),
        "family": _family(),
        "dob": _dob(),
        "tin": _tin(),
        "street_name": _street(),
        **exact,
    }
    return [built[name] for name in COMPARISONS]


# A request with given and family names swapped ("Kumar Prisha" for Prisha Kumar) meets its
# taxpayer and that taxpayer's namesakes only when the sides' name columns are crossed.
REVERSED_NAME_RULE = "l.zip5 = r.zip5 AND l.given_phonetic = r.family_phonetic"
# The same, sent reversed with a ZIP typo: the city and both crossed phonetic keys; or with the
# ZIP and city both off: the house number and street and the crossed given key.
REVERSED_NAME_CITY_RULE = (
    "l.city = r.city AND l.given_phonetic = r.family_phonetic "
    "AND l.family_phonetic = r.given_phonetic"
)
REVERSED_NAME_STREET_RULE = (
    "l.house_number = r.house_number AND l.street_name = r.street_name "
    "AND l.given_phonetic = r.family_phonetic"
)
# A partial key: the ZIP's first three digits (its sectional centre) with both phonetic keys,
# for a ZIP mistyped in its last digits together with the house number.
ZIP3 = 3
PARTIAL_ZIP_RULE = (
    f"substr(l.zip5, 1, {ZIP3}) = substr(r.zip5, 1, {ZIP3}) "
    "AND l.family_phonetic = r.family_phonetic AND l.given_phonetic = r.given_phonetic"
)
CUSTOM_RULES = (
    REVERSED_NAME_RULE,
    REVERSED_NAME_CITY_RULE,
    REVERSED_NAME_STREET_RULE,
    PARTIAL_ZIP_RULE,
)


def blocking_rules() -> list[Any]:
    return [
        *(block_on(*keys) for keys in BLOCKING_KEYS),
        *(CustomRule(rule, sql_dialect="duckdb") for rule in CUSTOM_RULES),
    ]


def blocking_rule_labels() -> list[str]:
    return [*(" AND ".join(keys) for keys in BLOCKING_KEYS), *CUSTOM_RULES]


def settings(link_type: str = "link_only") -> SettingsCreator:
    """Settings of the model; training uses `dedupe_only` on filings, prediction `link_only`."""
    return SettingsCreator(
        link_type=link_type,
        unique_id_column_name=UNIQUE_ID,
        comparisons=comparisons(),
        blocking_rules_to_generate_predictions=blocking_rules(),
        retain_matching_columns=True,
        retain_intermediate_calculation_columns=True,
        additional_columns_to_retain=["suffix"],
    )
