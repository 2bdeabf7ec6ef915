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
# The blocking keys (a pair must agree on one rule's columns to be scored at all). Every rule but
# the namesake rules below (requests without a birth date only) is anchored on the TIN, an
# address field or the birth date, so its pairs grow with the people at one address or born on
# one day, not with the people in a ZIP: a ZIP and a name key alone made 479 pairs a subject
# against 20M people (bench/README.md, "Blocking that scales"). Two fields
# mistyped at once still leave a rule over the rest: a street and a family name off meet the
# house number, ZIP and given key; a ZIP and a city off the house number, street and a name key;
# a house number and a given name off the ZIP, street and family key; and so on.
BLOCKING_KEYS: tuple[tuple[str, ...], ...] = (
    ("tin",),
    ("house_number", "street_name", "city"),
    ("house_number", "street_name", "family_phonetic"),
    ("house_number", "street_name", "given_phonetic"),
    ("house_number", "city", "family_phonetic"),
    ("house_number", "city", "given_phonetic"),
    ("zip5", "street_name", "family_phonetic"),
    ("zip5", "street_name", "given_phonetic"),
    ("house_number", "zip5", "given_phonetic"),
    ("dob", "zip5"),
    ("dob", "house_number"),
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


# Keys a keying error rarely reaches: the street's last word (its Pub 28 type, "ST" of "S MAIN
# ST", so a typo or a directional in the name leaves it) and a name's first letter (a phonetic
# key changes with one letter or a stray space: "KHA LIL"). Both dialects read these the same.
STREET_TYPE_SQL = "regexp_extract({side}.street_name, '([^ ]+)$', 1)"
INITIAL_SQL = "substr({side}.{column}, 1, 1)"


def _same(sql: str, **keys: str) -> str:
    return f"{sql.format(side='l', **keys)} = {sql.format(side='r', **keys)}"


# House number and ZIP with the street's type: the street name, both names or all three off.
HOUSE_ZIP_STREET_TYPE_RULE = (
    f"l.house_number = r.house_number AND l.zip5 = r.zip5 AND {_same(STREET_TYPE_SQL)}"
)
# House number and ZIP with the family name's first letter: the street and the given name off.
HOUSE_ZIP_FAMILY_INITIAL_RULE = (
    f"l.house_number = r.house_number AND l.zip5 = r.zip5 AND {_same(INITIAL_SQL, column='family')}"
)
# The birth date with one phonetic key and the other name's first letter: the whole address off.
DOB_FAMILY_RULE = (
    f"l.dob = r.dob AND l.family_phonetic = r.family_phonetic "
    f"AND {_same(INITIAL_SQL, column='given')}"
)
DOB_GIVEN_RULE = (
    f"l.dob = r.dob AND l.given_phonetic = r.given_phonetic "
    f"AND {_same(INITIAL_SQL, column='family')}"
)
# A request with given and family names swapped ("Kumar Prisha" for Prisha Kumar) meets its
# taxpayer only when the sides' name columns are crossed: with the city and both keys crossed
# (a ZIP typo too), or the house number and street with the given key against the family key.
REVERSED_NAME_CITY_RULE = (
    "l.city = r.city AND l.given_phonetic = r.family_phonetic "
    "AND l.family_phonetic = r.given_phonetic"
)
REVERSED_NAME_STREET_RULE = (
    "l.house_number = r.house_number AND l.street_name = r.street_name "
    "AND l.given_phonetic = r.family_phonetic"
)
# A filing whose street line was not a street (no house number) can only be met by its ZIP and
# a name key; only such records are paired this way, so the pairs stay few.
NO_STREET_FAMILY_RULE = (
    "r.house_number IS NULL AND l.zip5 = r.zip5 AND l.family_phonetic = r.family_phonetic"
)
NO_STREET_GIVEN_RULE = (
    "r.house_number IS NULL AND l.zip5 = r.zip5 AND l.given_phonetic = r.given_phonetic"
)


# For a request without a birth date only, the namesakes in its ZIP: everyone of its family name
# whose given name is alike, and everyone of its given key whose family name begins with the
# same letter and is alike. The decision must tell each of them apart from the subject's own
# record, and can only weigh the ones it is shown: a namesake's filing may carry a typo
# ("QARIA LOPEZ GONZALEZ") the count of exact namesakes (`namesakes_r`) cannot see. Another
# given or family name altogether tells them apart by itself and is not paired.
def _alike(column: str) -> str:
    return f"jaro_winkler_similarity(l.{column}, r.{column}) >= {NAME_JW_LOOSE}"


NAMESAKE_FAMILY_RULE = (
    f"l.dob IS NULL AND l.zip5 = r.zip5 AND l.family = r.family AND {_alike('given')}"
)
NAMESAKE_GIVEN_RULE = (
    "l.dob IS NULL AND l.zip5 = r.zip5 AND l.given_phonetic = r.given_phonetic "
    f"AND {_same(INITIAL_SQL, column='family')} AND {_alike('family')}"
)
CUSTOM_RULES = (
    HOUSE_ZIP_STREET_TYPE_RULE,
    HOUSE_ZIP_FAMILY_INITIAL_RULE,
    DOB_FAMILY_RULE,
    DOB_GIVEN_RULE,
    REVERSED_NAME_CITY_RULE,
    REVERSED_NAME_STREET_RULE,
    NO_STREET_FAMILY_RULE,
    NO_STREET_GIVEN_RULE,
    NAMESAKE_FAMILY_RULE,
    NAMESAKE_GIVEN_RULE,
)


# The one function the custom rules call that the dialects name differently (Splink's Spark
# backend registers Jaro-Winkler as `jaro_winkler`); sqlglot does not translate it.
JARO_WINKLER = {"duckdb": "jaro_winkler_similarity", "spark": "jaro_winkler"}


def blocking_rules(dialect: str = "duckdb") -> list[Any]:
    """The rules in `dialect`: the custom rules are written for DuckDB; every function they call
    but Jaro-Winkler has the same name and arguments in Spark SQL."""
    ours = JARO_WINKLER["duckdb"] + "("
    return [
        *(block_on(*keys) for keys in BLOCKING_KEYS),
        *(
            CustomRule(rule.replace(ours, JARO_WINKLER[dialect] + "("), sql_dialect=dialect)
            for rule in CUSTOM_RULES
        ),
    ]


def blocking_rule_labels() -> list[str]:
    return [*(" AND ".join(keys) for keys in BLOCKING_KEYS), *CUSTOM_RULES]


def settings(link_type: str = "link_only", dialect: str = "duckdb") -> SettingsCreator:
    """Settings of the model; training uses `dedupe_only` on filings, prediction `link_only`."""
    return SettingsCreator(
        link_type=link_type,
        unique_id_column_name=UNIQUE_ID,
        comparisons=comparisons(),
        blocking_rules_to_generate_predictions=blocking_rules(dialect),
        retain_matching_columns=True,
        retain_intermediate_calculation_columns=True,
        additional_columns_to_retain=["suffix"],
    )
