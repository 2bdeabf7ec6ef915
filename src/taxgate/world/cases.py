"""The case catalogue: every scenario a subject can come from, its expected answer and its share.

Three groups. INVALID cases carry exactly one defect the gate must reject (share of all
subjects). PRESENT cases are valid requests about a filer (share of the valid requests about
filers); ABSENT cases are valid requests about someone who never filed (share of the rest).
`needs` names the trait the filer must have (population.chunk_traits). The outcome here is the
nominal one; the builder recomputes every valid one honestly (see subjects.honest_outcome).
"""

from __future__ import annotations

from dataclasses import dataclass

from taxgate.formats.codes import Outcome, ReasonCode

INVALID, PRESENT, ABSENT = "invalid", "present", "absent"


@dataclass(frozen=True)
class Case:
    name: str
    group: str
    outcome: Outcome
    codes: tuple[ReasonCode, ...]
    share: float
    needs: str
    description: str


C, N, R = Outcome.CONFIRMED, Outcome.NOT_CONFIRMED, Outcome.REJECTED
RC = ReasonCode

CASES: tuple[Case, ...] = (
    # ---- invalid: share of all subjects; the person is a filer with probability
    # present_fraction (always, for placeholder_address_right_tin). Shares are an assumption
    # except the placeholder total (~5%), which is the share of disclosures the disclosing
    # agency itself conceded rested on incomplete addresses.
    Case("placeholder_address", INVALID, R, (RC.ADDRESS_PLACEHOLDER,), 0.045, "any",
         'Street is a placeholder ("UNKNOWN ADDRESS", "FAILED TO PROVIDE", "N/A"...).'),
    Case("placeholder_address_right_tin", INVALID, R, (RC.ADDRESS_PLACEHOLDER,), 0.008, "any",
         "A filer's correct name and TIN with street \"Failed to Provide\": the 2025 failure."),
    Case("zip_only", INVALID, R, (RC.ADDRESS_ZIP_ONLY,), 0.015, "any",
         "Street, unit and city empty; state and ZIP given."),
    Case("city_only", INVALID, R, (RC.ADDRESS_CITY_ONLY,), 0.010, "any",
         "Street, unit and ZIP empty; city and state given."),
    Case("name_incomplete", INVALID, R, (RC.NAME_INCOMPLETE,), 0.010, "any",
         "Given name or family name empty."),
    Case("order_too_recent", INVALID, R, (RC.ORDER_TOO_RECENT,), 0.010, "any",
         "Removal order 0-89 days before the batch date (day 0 and day 89 included)."),
    Case("order_date_future", INVALID, R, (RC.ORDER_DATE_INVALID,), 0.005, "any",
         "Removal order dated after the batch date."),
    Case("order_date_malformed", INVALID, R, (RC.ORDER_DATE_INVALID,), 0.005, "any",
         'Removal order date not a real ISO date ("13/45/2020", "2021-02-30").'),
    Case("investigation_missing", INVALID, R, (RC.INVESTIGATION_MISSING,), 0.005, "any",
         "No investigation id."),
    Case("taxable_periods_missing", INVALID, R, (RC.TAXABLE_PERIODS_MISSING,), 0.005, "any",
         "No taxable periods."),
    Case("relevance_missing", INVALID, R, (RC.RELEVANCE_MISSING,), 0.005, "any",
         "No statement of relevance."),
    Case("duplicate_subject_id", INVALID, R, (RC.DUPLICATE_SUBJECT,), 0.006, "any",
         "Two rows with one subject id (two different people): both rows are rejected."),
    Case("tin_invalid", INVALID, R, (RC.TIN_INVALID,), 0.006, "any",
         "TIN of 8 digits, with a letter, area 000 or 666, group 00 or serial 0000."),
    Case("dob_malformed", INVALID, R, (RC.FIELD_MALFORMED,), 0.005, "any",
         'Date of birth not a real ISO date ("1985-02-30", "31/12/1985").'),
    # ---- present: share of the valid requests about filers (sum 1)
    Case("exact", PRESENT, C, (), 0.17, "any",
         "Name and last known address exactly as filed."),
    Case("order_boundary_day_90", PRESENT, C, (), 0.02, "any",
         "As exact, with the removal order exactly 90 days old: valid."),
    Case("name_typo", PRESENT, C, (), 0.06, "any",
         "One character of the given or family name substituted, deleted or inserted."),
    Case("name_transposition", PRESENT, C, (), 0.04, "any",
         "Two adjacent letters of a name swapped."),
    Case("accents_dropped", PRESENT, C, (), 0.06, "accents",
         "Accents dropped (Jose for José, Nguyen for Nguyễn)."),
    Case("second_surname_dropped", PRESENT, C, (), 0.05, "two_surnames",
         "Only the first of two surnames sent."),
    Case("surnames_moved", PRESENT, C, (), 0.04, "two_surnames",
         "The two surnames swapped, or the second sent as a middle name."),
    Case("given_names_swapped", PRESENT, C, (), 0.03, "given_parts",
         "Compound given names swapped, or given and middle name swapped."),
    Case("nickname", PRESENT, C, (), 0.05, "nickname",
         "Given name sent as a nickname (Lupe, Chuy, Pepe, Paco, Bill, Bob, Liz...)."),
    Case("name_order_reversed", PRESENT, C, (), 0.04, "any",
         "Given and family name exchanged."),
    Case("unformatted", PRESENT, C, (), 0.06, "any",
         "Upper case, extra spaces and punctuation in names and address."),
    Case("stale_address", PRESENT, C, (), 0.08, "moved",
         "An earlier address the filer really filed from, not the last known one."),
    Case("street_format", PRESENT, C, (), 0.05, "any",
         "Street suffix and directional abbreviated or spelled out unlike the filing."),
    Case("unit_dropped", PRESENT, C, (), 0.03, "unit",
         "Apartment or unit left out."),
    Case("zip_plus4", PRESENT, C, (), 0.03, "any",
         "ZIP+4 written as 12345-6789."),
    Case("tin_right_address_never_filed", PRESENT, N, (), 0.04, "any",
         "Right name and TIN, but an address the filer never filed from."),
    Case("household_twin", PRESENT, C, (), 0.03, "twin",
         "One of twins (same birth date, family name and address): right given name."),
    Case("relative_same_name_with_dob", PRESENT, C, (), 0.03, "jr_sr_dob",
         "Father and son with one name at one address; the request's birth date is on file."),
    Case("relative_same_name_no_dob", PRESENT, N, (), 0.03, "jr_sr",
         "Father and son with one name at one address; no birth date, no TIN: ambiguous."),
    Case("namesake_same_zip_with_dob", PRESENT, C, (), 0.03, "namesake_dob",
         "Two filers with one common name in one ZIP; the request's birth date is on file."),
    Case("namesake_same_zip_no_dob", PRESENT, N, (), 0.03, "namesake",
         "Two filers with one common name in one ZIP; no birth date, no TIN: ambiguous."),
    # ---- absent: share of the valid requests about people who never filed (sum 1)
    Case("absent", ABSENT, N, (), 0.80, "",
         "Someone who never filed."),
    Case("absent_namesake", ABSENT, N, (), 0.10, "cluster",
         "Never filed; shares a common name with a filer in the same ZIP, other street."),
    Case("tin_of_someone_else", ABSENT, N, (), 0.10, "any",
         "Never filed; supplies a real filer's TIN with their own name and address."),
)  # fmt: skip

BY_NAME: dict[str, Case] = {c.name: c for c in CASES}
FALLBACK = {PRESENT: "exact", ABSENT: "absent"}
"""Used when a small world has too few filers with a trait (e.g. twins) for its quota."""


def group(name: str) -> list[Case]:
    return [c for c in CASES if c.group == name]


def allocate(total: int, shares: list[float]) -> list[int]:
    """Largest-remainder split of `total` by `shares` (exact, deterministic)."""
    if total <= 0 or not shares:
        return [0] * len(shares)
    weight = sum(shares)
    raw = [total * s / weight for s in shares]
    counts = [int(r) for r in raw]
    order = sorted(range(len(raw)), key=lambda i: (-(raw[i] - counts[i]), i))
    for i in order[: total - sum(counts)]:
        counts[i] += 1
    return counts


def case_counts(subjects: int, present_fraction: float) -> dict[str, int]:
    """How many subjects each case gets: invalid by share of all, then present/absent split."""
    invalid = group(INVALID)
    counts = allocate(subjects, [c.share for c in invalid] + [1 - sum(c.share for c in invalid)])
    out = {c.name: n for c, n in zip(invalid, counts, strict=False)}
    out["duplicate_subject_id"] -= out["duplicate_subject_id"] % 2  # rows come in pairs
    valid = subjects - sum(out.values())
    n_present = round(present_fraction * valid)
    for name, n in ((PRESENT, n_present), (ABSENT, valid - n_present)):
        cases = group(name)
        for c, k in zip(cases, allocate(n, [c.share for c in cases]), strict=True):
            out[c.name] = k
    return out
