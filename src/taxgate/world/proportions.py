"""Every proportion the world uses, in one place, each with its source or marked as an assumption.

Figures are deliberately round: the world must look like the United States in its broad shape
(who files, how names and households look, how often people move), not reproduce any real count.
"""

from __future__ import annotations

# ---------------------------------------------------------------- naming traditions of filers

LOCALE_MIX: dict[str, float] = {
    # Assumption shaped on Census ACS "language spoken at home" and ancestry tables: about 62%
    # speak only English at home, ~13% Spanish, ~1% each Chinese, Vietnamese, Hindi-Urdu family,
    # Arabic, French/Haitian Creole, Portuguese. The non-English shares are rounded up so that
    # every tradition is well represented in small test worlds.
    "en_US": 0.68,
    "es_MX": 0.13,
    "es_CO": 0.04,
    "pt_BR": 0.02,
    "zh_CN": 0.03,
    "vi_VN": 0.025,
    "en_IN": 0.03,
    "ht": 0.02,
    "ar": 0.025,
}

ABSENT_LOCALE_MIX: dict[str, float] = {
    # People asked about who never filed. Assumption: DHS statistics on final orders of removal
    # are dominated by nationals of Mexico and Central/South America, so the mix is
    # Spanish-heavy, with the other traditions present.
    "en_US": 0.04,
    "es_MX": 0.52,
    "es_CO": 0.22,
    "pt_BR": 0.05,
    "zh_CN": 0.04,
    "vi_VN": 0.03,
    "en_IN": 0.04,
    "ht": 0.04,
    "ar": 0.02,
}

SUBJECT_SELECTION_WEIGHT: dict[str, float] = {
    # Relative odds that a filer of each tradition is the one asked about (same assumption as
    # ABSENT_LOCALE_MIX): Spanish-naming filers are asked about ~15x more often than en_US ones.
    "en_US": 0.1,
    "es_MX": 1.5,
    "es_CO": 1.5,
    "pt_BR": 0.8,
    "zh_CN": 0.5,
    "vi_VN": 0.5,
    "en_IN": 0.4,
    "ht": 0.8,
    "ar": 0.4,
}

SPANISH_LOCALES: tuple[str, ...] = ("es_MX", "es_CO")

ZIPF_EXPONENT = 1.0
"""Name frequency falls as 1/rank^s. s=1 is the classic Zipf fit to US surname counts (Census
2010 surname file: the top 1% of surnames cover about half the population); an approximation."""

FEMALE_SHARE = 0.5  # Assumption: filers are half women.

# ---------------------------------------------------------------- name shapes

SPANISH_COMPOUND_GIVEN_SHARE = 0.25
"""Spanish-naming people whose given name is compound ("Maria Guadalupe", "Jose Luis").
Assumption; compound given names are very common in Mexico (INEGI name counts)."""

SPANISH_SINGLE_SURNAME_ON_FILING_SHARE = 0.12
"""Spanish-naming filers who file with their paternal surname only (US forms have one
surname box). Assumption."""

SPANISH_HYPHENATED_SURNAMES_SHARE = 0.10
"""Two surnames joined with a hyphen ("Hernandez-Lopez") rather than a space. Assumption."""

MIDDLE_NAME_SHARE: dict[str, float] = {
    # Middle name written on the return. Assumption; Vietnamese names nearly always carry a
    # middle name (Van, Thi...), US filers often give one; the others rarely use the field.
    "en_US": 0.35,
    "vi_VN": 0.85,
    "en_IN": 0.10,
    "ht": 0.20,
    "pt_BR": 0.05,
}

# ---------------------------------------------------------------- households

HOUSEHOLD_SIZE_SHARES: dict[int, float] = {
    # Filers per address (not persons per household: most children do not file). Assumption
    # derived from Census CPS household sizes (1: 28%, 2: 35%, 3: 15%, 4: 13%, 5+: 9%) shifted
    # down because minors rarely file.
    1: 0.40,
    2: 0.38,
    3: 0.12,
    4: 0.07,
    5: 0.03,
}

SPOUSE_SHARE = 0.80
"""Households of two or more filers whose second member is the head's spouse (others are
adult children, siblings or housemates sharing the head's surname). Assumption."""

SPOUSE_TAKES_SURNAME_SHARE = 0.70
"""Non-Spanish spouses who file under the head's surname (surveys put the share of US women
taking the husband's name near 70-80%). Spanish-naming spouses keep their own surnames."""

JR_SR_SHARE = 0.15
"""en_US households with an adult child where that son carries his father's given and family
name, filed with JR/II. Assumption (about 3% of US men are "Jr")."""

JR_SUFFIX_II_SHARE = 0.25  # Assumption: of those, share written "II" rather than "JR".
SR_SUFFIX_SHARE = 0.5  # Assumption: fathers who write "SR" on their own return.

TWIN_SHARE = 0.10
"""Households with two or more adult children in which two are twins. The US twin birth rate
is ~3% of births; raised here (assumption) so small worlds hold enough twins for the trap."""

CLUSTER_HOUSEHOLD_SHARE = 0.03
"""Extra households given a very common name and placed in a handful of "cluster" ZIP codes,
as common surnames concentrate geographically (e.g. Garcia and Hernandez in South Texas and
Los Angeles; Nguyen in Orange County, CA). Assumption."""

CLUSTER_ZIP_COUNT = 12  # Assumption: how many cluster ZIP codes a world has.

NAMESAKE_PAIR_SHARE = 0.01
"""Pairs of different households whose heads have the same common full name in the same
ZIP code (beyond those that arise by chance). Assumption, sized for the namesake traps."""

COMMON_NAME_RANKS = 5
"""How many top-ranked given and family names count as "very common" for clusters."""

# ---------------------------------------------------------------- ages

ADULT_MIN_AGE = 18
ADULT_MAX_AGE = 85
PARENT_GAP_YEARS = (20, 40)  # Assumption: parent's age minus child's age.
SPOUSE_AGE_SPREAD_YEARS = 6  # Assumption: spouse's age = head's age +/- up to this.

# ---------------------------------------------------------------- TINs

ITIN_SHARE: dict[str, float] = {
    # Filers who hold an ITIN instead of an SSN. IRS data: roughly 4-5 million ITIN returns a
    # year among ~160 million individual returns (~3%), concentrated among immigrant filers.
    # Per-tradition figures are an assumption with that overall weight.
    "en_US": 0.005,
    "es_MX": 0.22,
    "es_CO": 0.15,
    "pt_BR": 0.12,
    "zh_CN": 0.06,
    "vi_VN": 0.04,
    "en_IN": 0.05,
    "ht": 0.12,
    "ar": 0.08,
}

# ---------------------------------------------------------------- filing behaviour

FILES_IN_YEAR_SHARE = 0.90
"""Probability that a taxpayer files in a given tax year (everyone files at least once).
Assumption: most filers file every year; some skip one."""

MOVER_RATE_PER_YEAR = 0.09
"""Households that move between two consecutive tax years. Census CPS ASEC: 8-9% of people
moved in 2022 and 2023."""

DOB_ON_FILE_SHARE = 0.70
"""Taxpayers whose date of birth is on file with the disclosing agency. Assumption (the agency
has it for SSN holders via SSA, less often for others)."""

ZIP4_ON_FILING_SHARE = 0.30  # Assumption: returns that write the ZIP+4.

# ---------------------------------------------------------------- addresses

UNIT_SHARE = 0.25
"""Addresses with an apartment or unit. Census ACS: about a quarter of US housing units are in
buildings of two or more units."""

DIRECTIONAL_SHARE = 0.15  # Assumption: streets with a directional (N, SW...).
SPELLED_OUT_SHARE = 0.15  # Assumption: filed addresses that spell out "Street", "North".

STATE_POPULATION_MILLIONS: dict[str, float] = {
    # 2020 Census resident population, millions, rounded; ZIP codes are weighted by their
    # state's population shared evenly among the state's standard ZIP codes.
    "CA": 39.54, "TX": 29.15, "FL": 21.54, "NY": 20.20, "PA": 13.00, "IL": 12.81,
    "OH": 11.80, "GA": 10.71, "NC": 10.44, "MI": 10.08, "NJ": 9.29, "VA": 8.63,
    "WA": 7.71, "AZ": 7.15, "MA": 7.03, "TN": 6.91, "IN": 6.79, "MD": 6.18,
    "MO": 6.15, "WI": 5.89, "CO": 5.77, "MN": 5.71, "SC": 5.12, "AL": 5.02,
    "LA": 4.66, "KY": 4.51, "OR": 4.24, "OK": 3.96, "CT": 3.61, "UT": 3.27,
    "IA": 3.19, "NV": 3.10, "AR": 3.01, "MS": 2.96, "KS": 2.94, "NM": 2.12,
    "NE": 1.96, "ID": 1.84, "WV": 1.79, "HI": 1.46, "NH": 1.38, "ME": 1.36,
    "RI": 1.10, "MT": 1.08, "DE": 0.99, "SD": 0.89, "ND": 0.78, "AK": 0.73,
    "DC": 0.69, "VT": 0.64, "WY": 0.58,
}  # fmt: skip

# ---------------------------------------------------------------- what the requester sends

SUBJECT_DOB_SUPPLIED_SHARE = 0.60
"""Requests that carry a date of birth. Assumption (the 2025 records "mention" dates of birth)."""

SUBJECT_TIN_SUPPLIED_SHARE = 0.35
"""Requests that carry a TIN. Assumption (a TIN path existed and matched most disclosures)."""

ORDER_AGE_DAYS = (90, 3650)
"""Valid removal orders are 90 days to ~10 years old at the batch date (8 U.S.C. 1253(a)(1)
counts from 90 days after the final order; older orders are plausible)."""

# ---------------------------------------------------------------- noise on both sides

FILING_NOISE_SHARE = 0.05
"""Filing rows that carry at least one keying error (a typo, a stray space, a ZIP slip, a
dropped directional, an initial, another given name). Assumption in the range reported for
keyed administrative records, a few percent of records with an error in a name or address
field (Christen, "Data Matching", 2012, ch. 9). Drawn per row: one return of a person may
carry an error the others do not."""

REQUEST_NOISE_SHARE = 0.15
"""Valid requests that carry at least one such error, whatever their case. Assumption: the
requester's copy comes from field records and forms keyed by hand, noisier than returns the
filer wrote; the inspector general found "slight differences in names and addresses" common."""

NOISE_EXTRA_ERROR_SHARE = 0.2
"""A noised row carries a second error with this probability, a third with its square.
Assumption (errors cluster in poorly keyed records)."""

NOISE_KIND_WEIGHTS: dict[str, float] = {
    # Relative frequency of each kind of error. Assumption shaped on studies of keying errors
    # (Damerau 1964: ~80% of misspellings are one substitution, deletion, insertion or adjacent
    # transposition), with the address and name-form slips the inspector general's sample
    # showed: stray or missing spaces, ZIP digit typos, directionals, initials, other names.
    "char_edit": 0.40,
    "spacing": 0.12,
    "zip_typo": 0.12,
    "directional": 0.10,
    "initial": 0.13,
    "given_replaced": 0.13,
}

NOISE_EDIT_FIELD_WEIGHTS: dict[str, float] = {
    # Which field a character edit falls in. Assumption: names and street about equally, the
    # city (shorter, often picked from a list) less.
    "given_name": 0.3,
    "family_name": 0.3,
    "street": 0.3,
    "city": 0.1,
}
