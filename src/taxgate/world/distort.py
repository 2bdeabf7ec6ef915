"""How the requester's copy of a person differs from the filing: each function is one distortion.

A request row is a dict of subject columns (strings or None). Every function returns a new
row and leaves the person (the truth) alone. Only a few per subject, so plain Python.
"""

from __future__ import annotations

import string
import unicodedata
from datetime import date, timedelta

import numpy as np

from taxgate.world.names import nickname_for
from taxgate.world.people import PersonRecord
from taxgate.world.places import Address
from taxgate.world.tins import MALFORMED_TIN_KINDS, malformed_tin

Row = dict[str, str | None]

PLACEHOLDERS = (
    "UNKNOWN ADDRESS", "FAILED TO PROVIDE", "N/A", "UNKNOWN", "NONE", "HOMELESS",
    "GENERAL DELIVERY",
)  # fmt: skip
MALFORMED_ORDER_DATES = ("13/45/2020", "2021-02-30", "2022-13-01", "2019-00-10", "2020-04-31")
MIN_TYPO_LENGTH = 5  # a typo in "Li" or "Le" makes another name, not a misspelling
MALFORMED_DOBS = ("1985-02-30", "31/12/1985", "1979-13-01", "1990-00-15", "19xx-01-01")


def drop_accents(text: str | None) -> str | None:
    if text is None:
        return None
    text = text.replace("Đ", "D").replace("đ", "d")
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))


def _letter_positions(text: str) -> list[int]:
    return [i for i, c in enumerate(text) if c.isalpha()]


def typo(text: str, rng: np.random.Generator) -> str:
    """One letter substituted, deleted or inserted (never the first letter)."""
    positions = _letter_positions(text)[1:] or [len(text) - 1]
    pos = positions[int(rng.integers(len(positions)))]
    kind = int(rng.integers(3))
    if kind == 0 and len(text) > 3:
        return text[:pos] + text[pos + 1 :]
    letter = string.ascii_lowercase[int(rng.integers(26))]
    if kind == 1:
        if text[pos].lower() == letter:
            letter = "x" if letter != "x" else "q"
        return text[:pos] + letter + text[pos + 1 :]
    return text[:pos] + letter + text[pos:]


def transpose(text: str, rng: np.random.Generator) -> str:
    """Two adjacent, different letters swapped; the text unchanged only if none exist."""
    pairs = [i for i in range(len(text) - 1) if text[i] != text[i + 1] and text[i + 1].isalpha()]
    pairs = [i for i in pairs if i > 0] or pairs
    if not pairs:
        return text
    i = pairs[int(rng.integers(len(pairs)))]
    return text[:i] + text[i + 1] + text[i] + text[i + 2 :]


def _name_field(row: Row, rng: np.random.Generator) -> str:
    """Given or family name at random, preferring one long enough to survive a typo."""
    fields = ["given_name", "family_name"]
    long_enough = [f for f in fields if len(row[f] or "") >= MIN_TYPO_LENGTH]
    fields = long_enough or fields
    return fields[int(rng.integers(len(fields)))]


def name_typo(row: Row, rng: np.random.Generator) -> Row:
    field = _name_field(row, rng)
    return {**row, field: typo(row[field] or "", rng)}


def name_transposition(row: Row, rng: np.random.Generator) -> Row:
    for field in (_name_field(row, rng), "given_name", "family_name"):
        changed = transpose(row[field] or "", rng)
        if changed != row[field]:
            return {**row, field: changed}
    return row


def accents_dropped(row: Row, rng: np.random.Generator) -> Row:
    return {k: drop_accents(row[k]) if k.endswith("_name") else v for k, v in row.items()}


def second_surname_dropped(row: Row, person: PersonRecord) -> Row:
    return {**row, "family_name": person.surnames[0]}


def surnames_moved(row: Row, person: PersonRecord, rng: np.random.Generator) -> Row:
    first, second = person.surnames
    if rng.random() < 0.5:
        return {**row, "family_name": f"{second} {first}"}
    return {**row, "family_name": first, "middle_name": second}


def given_names_swapped(row: Row, rng: np.random.Generator) -> Row:
    parts = (row["given_name"] or "").split(" ")
    if len(parts) >= 2 and (not row["middle_name"] or rng.random() < 0.5):
        return {**row, "given_name": " ".join(parts[1:] + parts[:1])}
    return {**row, "given_name": row["middle_name"], "middle_name": row["given_name"]}


def nickname(row: Row, person: PersonRecord) -> Row:
    return {**row, "given_name": nickname_for(person.given) or row["given_name"]}


def name_order_reversed(row: Row) -> Row:
    return {**row, "given_name": row["family_name"], "family_name": row["given_name"]}


def _messy(text: str | None, rng: np.random.Generator) -> str | None:
    if not text:
        return text
    words = text.upper().split(" ")
    out = words[0]
    for w in words[1:]:
        out += " " * int(rng.integers(1, 4)) + w
    if rng.random() < 0.5:
        out = " " + out + "  "
    return out


def unformatted(row: Row, rng: np.random.Generator) -> Row:
    """Upper case, extra spaces, and punctuation a careless export adds."""
    out = dict(row)
    for k in ("given_name", "middle_name", "family_name", "street", "unit", "city"):
        out[k] = _messy(row[k], rng)
    if out["street"] and rng.random() < 0.7:
        out["street"] = out["street"].rstrip() + "."
    if out["family_name"] and rng.random() < 0.5:
        out["family_name"] = out["family_name"].strip() + ","
    if out["middle_name"] and len(out["middle_name"].strip()) > 1 and rng.random() < 0.5:
        out["middle_name"] = out["middle_name"].strip()[0] + "."
    if out["state"]:
        out["state"] = out["state"].lower() if rng.random() < 0.5 else f" {out['state']} "
    return out


def with_address(row: Row, address: Address, *, spelled: bool | None = None) -> Row:
    return {
        **row,
        "street": address.street(spelled),
        "unit": address.unit,
        "city": address.city,
        "state": address.state,
        "zip": address.zip5,
    }


def street_format(row: Row, address: Address) -> Row:
    return with_address(row, address, spelled=not address.spelled)


def unit_dropped(row: Row) -> Row:
    return {**row, "unit": None}


def zip_plus4(row: Row, address: Address) -> Row:
    return {**row, "zip": address.zip_plus4}


# ---------------------------------------------------------------- one defect each


def _vary(text: str, rng: np.random.Generator) -> str:
    choice = int(rng.integers(4))
    if choice == 0:
        return text.title()
    if choice == 1:
        return text.lower()
    if choice == 2:
        return "  " + text + " "
    return text


def placeholder(row: Row, rng: np.random.Generator, text: str | None = None) -> Row:
    text = text or PLACEHOLDERS[int(rng.integers(len(PLACEHOLDERS)))]
    return {**row, "street": _vary(text, rng), "unit": None}


def zip_only(row: Row) -> Row:
    return {**row, "street": None, "unit": None, "city": None}


def city_only(row: Row) -> Row:
    return {**row, "street": None, "unit": None, "zip": None}


def name_incomplete(row: Row, rng: np.random.Generator) -> Row:
    return {**row, ("given_name" if rng.random() < 0.5 else "family_name"): None}


def order_days_before(row: Row, batch_date: date, days: int) -> Row:
    return {**row, "removal_order_date": (batch_date - timedelta(days=days)).isoformat()}


def order_malformed(row: Row, rng: np.random.Generator) -> Row:
    text = MALFORMED_ORDER_DATES[int(rng.integers(len(MALFORMED_ORDER_DATES)))]
    return {**row, "removal_order_date": text}


def tin_invalid(row: Row, k: int, rng: np.random.Generator) -> Row:
    return {**row, "tin": malformed_tin(MALFORMED_TIN_KINDS[k % len(MALFORMED_TIN_KINDS)], rng)}


def dob_malformed(row: Row, rng: np.random.Generator) -> Row:
    return {**row, "date_of_birth": MALFORMED_DOBS[int(rng.integers(len(MALFORMED_DOBS)))]}


def emptied(row: Row, field: str) -> Row:
    return {**row, field: None}
