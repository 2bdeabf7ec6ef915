"""Keying errors on both sides, drawn whatever the case: typos, spaces, ZIP slips, initials."""

from __future__ import annotations

import bisect
import string
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from typing import Literal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from taxgate.world.names import normalize_name
from taxgate.world.people import name_zip_key, name_zip_key_one
from taxgate.world.places import zip_table
from taxgate.world.proportions import (
    FILING_NOISE_SHARE,
    NOISE_EDIT_FIELD_WEIGHTS,
    NOISE_EXTRA_ERROR_SHARE,
    NOISE_KIND_WEIGHTS,
    REQUEST_NOISE_SHARE,
)

Fields = dict[str, str | None]
NoiseLevel = Literal["none", "default"]
NOISE_LEVELS: tuple[str, ...] = ("none", "default")
NOISED_FIELDS = ("given_name", "family_name", "street", "city", "zip")
EDIT_OPS = ("substitution", "deletion", "insertion", "transposition")
SPACING_FIELDS = ("street", "given_name", "family_name")
CARDINALS = ("N", "S", "E", "W")  # what a careless writer adds; any directional is dropped
DIRECTIONAL_WORDS = frozenset(
    {"N", "S", "E", "W", "NE", "NW", "SE", "SW", "NORTH", "SOUTH", "EAST", "WEST",
     "NORTHEAST", "NORTHWEST", "SOUTHEAST", "SOUTHWEST"}
)  # fmt: skip
MIN_LETTERS_TO_DELETE = 3  # deleting from "Li" leaves an initial, from "A" nothing
MAX_ERRORS = 3  # more than three slips in one row is a different record, not a noisy one
ATTEMPTS = 4  # draws tried before a row is left clean (an error that would mislead is skipped)
ZIP5 = 5


@dataclass(frozen=True)
class NoiseSettings:
    """How much noise, of which kinds; recorded in the world's parameters."""

    level: str
    filing_share: float
    request_share: float
    extra_error_share: float = NOISE_EXTRA_ERROR_SHARE
    kind_weights: dict[str, float] = field(default_factory=lambda: dict(NOISE_KIND_WEIGHTS))
    edit_field_weights: dict[str, float] = field(
        default_factory=lambda: dict(NOISE_EDIT_FIELD_WEIGHTS)
    )

    @classmethod
    def of(cls, level: str) -> NoiseSettings:
        if level == "none":
            return cls("none", 0.0, 0.0)
        return cls("default", FILING_NOISE_SHARE, REQUEST_NOISE_SHARE)

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


# ---------------------------------------------------------------- one error each


@lru_cache(maxsize=16)
def _cumulative(weights: tuple[tuple[str, float], ...]) -> tuple[tuple[str, ...], list[float]]:
    total = sum(w for _, w in weights)
    cum, run = [], 0.0
    for _, w in weights:
        run += w / total
        cum.append(run)
    return tuple(k for k, _ in weights), cum


def _choice(rng: np.random.Generator, weights: dict[str, float]) -> str:
    keys, cum = _cumulative(tuple(weights.items()))
    return keys[min(bisect.bisect_right(cum, rng.random()), len(keys) - 1)]


def _letters(text: str) -> list[int]:
    return [i for i, c in enumerate(text) if c.isalpha()]


def _letter(rng: np.random.Generator, upper: bool, avoid: str = "") -> str:
    choices = [c for c in string.ascii_lowercase if c != avoid.lower()]
    letter = choices[int(rng.integers(len(choices)))]
    return letter.upper() if upper else letter


def char_edit(text: str, op: str, rng: np.random.Generator) -> str | None:
    """One letter substituted, deleted or inserted, or two adjacent letters swapped; None if
    the text has no room for it."""
    letters = _letters(text)
    if not letters:
        return None
    pos = letters[int(rng.integers(len(letters)))]
    if op == "deletion":
        if len(letters) < MIN_LETTERS_TO_DELETE:
            return None
        return text[:pos] + text[pos + 1 :]
    if op == "substitution":
        return text[:pos] + _letter(rng, text[pos].isupper(), text[pos]) + text[pos + 1 :]
    if op == "insertion":
        return text[:pos] + _letter(rng, text[pos].isupper()) + text[pos:]
    pairs = [i for i in letters if i + 1 < len(text) and text[i + 1].isalpha()]
    pairs = [i for i in pairs if text[i].lower() != text[i + 1].lower()]
    if not pairs:
        return None
    i = pairs[int(rng.integers(len(pairs)))]
    return text[:i] + text[i + 1] + text[i] + text[i + 2 :]


def spacing(text: str, rng: np.random.Generator) -> tuple[str, str] | None:
    """A stray space inside a word, or one space between two words removed."""
    gaps = [i for i in range(1, len(text)) if text[i] == " " and text[i - 1] != " "]
    gaps = [i for i in gaps if i + 1 < len(text) and text[i + 1] != " "]
    if gaps and rng.random() < 0.5:
        i = gaps[int(rng.integers(len(gaps)))]
        return text[:i] + text[i + 1 :], "removed"
    inner = [i for i in range(1, len(text)) if text[i - 1].isalpha() and text[i].isalpha()]
    if not inner:
        return None
    i = inner[int(rng.integers(len(inner)))]
    return text[:i] + " " + text[i:], "inserted"


@lru_cache(maxsize=1)
def _zips_of_state() -> dict[str, frozenset[str]]:
    """State code -> every ZIP issued in it, from the gate's own directory of issued ZIPs."""
    from taxgate.gate.address import zip_directory

    out: dict[str, set[str]] = {}
    for zip5, states in zip_directory().states.items():
        for code in states:
            out.setdefault(code, set()).add(zip5)
    return {k: frozenset(v) for k, v in out.items()}


def zip_typo(zip_text: str, state: str | None, rng: np.random.Generator) -> tuple[str, str] | None:
    """One digit of the ZIP5 substituted or two adjacent digits swapped, giving a ZIP the Postal
    Service issued in the same state (so the gate still accepts it); None if there is none."""
    from taxgate.normalize.address import state_code

    text = zip_text.strip()
    if len(text) < ZIP5 or not text[:ZIP5].isdigit():
        return None
    zip5, rest = text[:ZIP5], text[ZIP5:]
    options = _zip_slips(zip5, state_code(state))
    if not options:
        return None
    new, op = options[int(rng.integers(len(options)))]
    return new + rest, op


@lru_cache(maxsize=1 << 16)
def _zip_slips(zip5: str, code: str | None) -> list[tuple[str, str]]:
    """Every one-digit substitution or adjacent transposition of `zip5` issued in state `code`."""
    issued = _zips_of_state().get(code or "", frozenset())
    options: list[tuple[str, str]] = []
    for i in range(ZIP5):
        for d in "0123456789":
            if d != zip5[i]:
                options.append((zip5[:i] + d + zip5[i + 1 :], "substitution"))
    for i in range(ZIP5 - 1):
        if zip5[i] != zip5[i + 1]:
            options.append((zip5[:i] + zip5[i + 1] + zip5[i] + zip5[i + 2 :], "transposition"))
    return [(z, op) for z, op in options if z in issued]


def directional(street: str, rng: np.random.Generator) -> tuple[str, str] | None:
    """The directional after the house number dropped, or N, S, E or W added there."""
    words = street.split()
    if len(words) < 2 or not words[0][:1].isdigit():
        return None
    if words[1].upper().rstrip(".") in DIRECTIONAL_WORDS and len(words) > 2:
        return " ".join(words[:1] + words[2:]), "dropped"
    cardinal = CARDINALS[int(rng.integers(len(CARDINALS)))]
    return " ".join([words[0], cardinal, *words[1:]]), "added"


def initial(given: str) -> str | None:
    letters = [c for c in given if c.isalpha()]
    if len(letters) < 2:
        return None
    return letters[0].upper()


# ---------------------------------------------------------------- a row's errors

Replacement = Callable[[np.random.Generator], str | None]


def one_error(
    fields: Fields, kind: str, rng: np.random.Generator, settings: NoiseSettings,
    replacement: Replacement,
) -> tuple[Fields, str] | None:  # fmt: skip
    """Fields with one error of `kind` and its label ("char_edit:deletion:street"), or None
    when the row has no room for it."""
    if kind == "char_edit":
        name = _choice(rng, settings.edit_field_weights)
        op = EDIT_OPS[int(rng.integers(len(EDIT_OPS)))]
        value = fields.get(name)
        new = char_edit(value, op, rng) if value else None
        return ({**fields, name: new}, f"char_edit:{op}:{name}") if new else None
    if kind == "spacing":
        name = SPACING_FIELDS[int(rng.integers(len(SPACING_FIELDS)))]
        value = fields.get(name)
        got = spacing(value, rng) if value else None
        return ({**fields, name: got[0]}, f"spacing:{got[1]}:{name}") if got else None
    if kind == "zip_typo":
        value = fields.get("zip")
        got = zip_typo(value, fields.get("state"), rng) if value else None
        return ({**fields, "zip": got[0]}, f"zip_typo:{got[1]}") if got else None
    if kind == "directional":
        value = fields.get("street")
        got = directional(value, rng) if value else None
        return ({**fields, "street": got[0]}, f"directional:{got[1]}") if got else None
    if kind == "initial":
        value = fields.get("given_name")
        new = initial(value) if value else None
        return ({**fields, "given_name": new}, "initial") if new else None
    if kind == "given_replaced":
        new = replacement(rng)
        written = (fields.get("given_name") or "").strip()
        if not new or normalize_name(new) == normalize_name(written):
            return None
        return {**fields, "given_name": new.upper() if written.isupper() else new}, "given_replaced"
    raise ValueError(f"unknown noise kind {kind!r}")


def draw_errors(
    fields: Fields, rng: np.random.Generator, settings: NoiseSettings, replacement: Replacement
) -> tuple[Fields, list[str]]:
    """One to MAX_ERRORS errors of kinds drawn by weight; those the row has no room for are
    skipped, so the list may be empty."""
    count = 1
    while count < MAX_ERRORS and rng.random() < settings.extra_error_share:
        count += 1
    labels = []
    for _ in range(count):
        got = one_error(fields, _choice(rng, settings.kind_weights), rng, settings, replacement)
        if got:
            fields, label = got
            labels.append(label)
    return fields, labels


# ---------------------------------------------------------------- who a name could be taken for


def _given_readings(a: int, b: int) -> list[tuple[int, int]]:
    """A given name as written, or one of two given names alone ("JUAN" for "JUAN LUIS")."""
    return [(a, b), (a, -1), (b, -1)] if b >= 0 else [(a, b)]


def _family_readings(a: int, b: int) -> list[tuple[int, int]]:
    """Family names as written, in the other order, or one of two alone: how a reader (and
    taxgate's rules) takes "TORRES JIMENEZ" for "JIMENEZ TORRES" or "LOZANO" for "LOZANO
    HURTADO"."""
    return [(a, b), (b, a), (a, -1), (b, -1)] if b >= 0 else [(a, b)]


def name_readings(
    g_a: np.ndarray, g_b: np.ndarray, f_a: np.ndarray, f_b: np.ndarray, zip_idx: np.ndarray
) -> np.ndarray:
    """Keys of every reading of each filer's name in its ZIP (`_given_readings` x
    `_family_readings`), vectorised: what a request's name must not come to read as."""
    g_a, g_b, f_a, f_b = (np.asarray(c, np.int64) for c in (g_a, g_b, f_a, f_b))
    none = np.full(len(g_a), -1, np.int64)
    two_given, two_family = g_b >= 0, f_b >= 0
    every = np.ones(len(g_a), bool)
    givens = [(g_a, g_b, every), (g_a, none, two_given), (g_b, none, two_given)]
    families = [
        (f_a, f_b, every),
        (f_b, f_a, two_family),
        (f_a, none, two_family),
        (f_b, none, two_family),
    ]
    out = [
        name_zip_key(ga[m], gb[m], fa[m], fb[m], np.asarray(zip_idx)[m])
        for ga, gb, given_kept in givens
        for fa, fb, family_kept in families
        for m in [given_kept & family_kept]
    ]
    return np.concatenate(out)


@dataclass
class NameIndex:
    """Sorted 64-bit keys of every (normalised name, ZIP) and (initial, family, ZIP) filed from,
    and of every reading of those names (`name_readings`): an error must not make a row read
    as another filer's name in its ZIP (the truth, which uses the clean names, would call the
    disclosure wrongful), nor an initial that another filer of the family in that ZIP shares.
    A reading counts both ways: the row's name within a filer's ("JUAN LOZANO" within "JUAN
    LUIS LOZANO HURTADO") and a filer's within the row's, family names in either order."""

    exact: np.ndarray
    initials: np.ndarray
    norm_vocab: dict[str, int]
    readings: np.ndarray
    # Also refuse a row that reads as a filer in the ZIP it was filed from when its ZIP
    # changed, or whose changed name is one edit from a filer's there (`_near_misleads`).
    # The requests' index reads so; the filings' does not (yet), so their noise is unchanged.
    near: bool = False

    @staticmethod
    def _count(keys: np.ndarray, key: int) -> int:
        k = np.uint64(key)
        return int(np.searchsorted(keys, k, "right") - np.searchsorted(keys, k, "left"))

    def _parses(self, text: str | None) -> list[tuple[int, int]]:
        """Every reading of a written name as one or two vocabulary names (normalised ids)."""
        words = _normalized(text).split()
        out = []
        whole = self.norm_vocab.get(" ".join(words))
        if whole is not None:
            out.append((whole, -1))
        for i in range(1, len(words)):
            a = self.norm_vocab.get(" ".join(words[:i]))
            b = self.norm_vocab.get(" ".join(words[i:]))
            if a is not None and b is not None:
                out.append((a, b))
        return out

    def keys(self, fields: Fields) -> set[int]:
        return self._read(fields)[0]

    def written(self, fields: Fields) -> tuple[set[int], set[int]]:
        """Keys of the row's name as written and of every reading of it, in its ZIP: what the
        row adds to the names filed there (an index's `exact` and `readings`)."""
        zip_idx = world_zip_index(fields.get("zip"))
        if zip_idx is None:
            return set(), set()
        exact, readings = set(), set()
        for g in self._parses(fields.get("given_name")):
            for f in self._parses(fields.get("family_name")):
                exact.add(name_zip_key_one(*g, *f, zip_idx))
                readings |= {
                    name_zip_key_one(*given, *family, zip_idx)
                    for given in _given_readings(*g)
                    for family in _family_readings(*f)
                }
        return exact, readings

    def _read(self, fields: Fields) -> tuple[set[int], set[int], set[int]]:
        """(keys of the name as written, of it with its family names in either order, of every
        other reading of it) in its ZIP."""
        zip_idx = world_zip_index(fields.get("zip"))
        if zip_idx is None:
            return set(), set(), set()
        written, whole, parts = set(), set(), set()
        for g in self._parses(fields.get("given_name")):
            for f in self._parses(fields.get("family_name")):
                written.add(name_zip_key_one(*g, *f, zip_idx))
                for given in _given_readings(*g):
                    for family in _family_readings(*f):
                        key = name_zip_key_one(*given, *family, zip_idx)
                        full = given == g and sorted(family) == sorted(f)
                        (whole if full else parts).add(key)
        return written, whole, parts

    def initial_count(self, fields: Fields) -> int:
        zip_idx = world_zip_index(fields.get("zip"))
        letter = _normalized(fields.get("given_name"))[:1]
        if zip_idx is None or not letter:
            return 0
        total = 0
        for f in set(self._parses(fields.get("family_name"))):
            key = name_zip_key_one(ord(letter), -1, *f, zip_idx)
            total += self._count(self.initials, key)
        return total

    def misleads(self, before: Fields, after: Fields) -> bool:
        """True if the errors make the row read as a filer it did not read as before."""
        if all(before.get(k) == after.get(k) for k in ("given_name", "family_name", "zip")):
            return False  # only the street or city changed: no name reads differently
        had = set().union(*self._read(before))
        if self._reads_as_another(after, had):
            return True
        if self.near and self._near_misleads(before, after, had):
            return True
        given = _normalized(after.get("given_name"))
        if len(given) == 1 and len(_normalized(before.get("given_name"))) > 1:
            moved = {**before, "zip": after.get("zip"), "family_name": after.get("family_name")}
            same_name = sum(self._count(self.exact, k) for k in self.keys(moved))
            return self.initial_count(after) > same_name
        return False

    def _reads_as_another(self, row: Fields, had: set[int]) -> bool:
        """The row's whole name within a filer's (its name as written among them: `readings`
        holds every filer's `exact` key), or a part of it that is a filer's whole name, other
        than the names in `had`."""
        _, whole, parts = self._read(row)
        return any(self._count(self.readings, k) for k in whole - had) or any(
            self._count(self.exact, k) for k in parts - had
        )

    def _near_misleads(self, before: Fields, after: Fields, had: set[int]) -> bool:
        """A reader matches a request by its address as much as by its ZIP, and forgives a
        typo: the new name must read as no filer in the ZIP the row was filed from either
        ("MARIA" for the subject "YENI" with the ZIP mistyped, while a housemate MARIA files
        at the address), and a changed given or family name must not be one edit from a name
        that reads as a filer's there ("JUN" for "YONG", whose twin is "JUAN"; "JAUN" for
        "CRISTOBAL", whose twin is "JUAN LUIS"; 20M people, seed 29).

        `had` holds the keys of what the row read as before its errors, in its own ZIP."""
        zips = [after.get("zip")]
        if before.get("zip") != after.get("zip"):
            zips.append(before.get("zip"))
            if self._reads_as_another({**after, "zip": before.get("zip")}, had):
                return True
        return any(
            self._reads_as_another({**after, part: variant, "zip": zip_text}, had)
            for part in ("given_name", "family_name")
            if _normalized(after.get(part)) != _normalized(before.get(part))
            for variant in _one_edit(_normalized(after.get(part)))
            if self._parses(variant)
            for zip_text in zips
        )


_LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ "  # a space too: "MAYORGAGARCIA"


def _one_edit(text: str) -> set[str]:
    """Every string one deletion, insertion, substitution or swap of neighbours from `text`."""
    splits = [(text[:i], text[i:]) for i in range(len(text) + 1)]
    out = {a + b[1:] for a, b in splits if b}
    out |= {a + b[1] + b[0] + b[2:] for a, b in splits if len(b) > 1}
    out |= {a + c + b[1:] for a, b in splits if b for c in _LETTERS}
    out |= {a + c + b for a, b in splits for c in _LETTERS}
    out.discard(text)
    return out


@lru_cache(maxsize=1 << 16)
def _normalized(text: str | None) -> str:
    return normalize_name(text)


@lru_cache(maxsize=1)
def _zip_positions() -> dict[str, int]:
    return {z: i for i, z in enumerate(zip_table().zip5)}


def world_zip_index(zip_text: str | None) -> int | None:
    """Index of a written ZIP in the world's ZIP table; None if no filer can live there."""
    text = (zip_text or "").strip()[:ZIP5]
    return _zip_positions().get(text)


def initial_keys(
    initial: np.ndarray, f_a: np.ndarray, f_b: np.ndarray, zip_idx: np.ndarray
) -> np.ndarray:
    """Keys of (initial letter of the given name, family names, ZIP), as NameIndex reads them."""
    return name_zip_key(initial, np.full(len(initial), -1), f_a, f_b, zip_idx)


def noisy_fields(
    fields: Fields, rng: np.random.Generator, settings: NoiseSettings, replacement: Replacement,
    index: NameIndex,
) -> tuple[Fields, list[str]] | None:  # fmt: skip
    """The row with its errors, or None if ATTEMPTS draws all failed or misled."""
    for _ in range(ATTEMPTS):
        after, labels = draw_errors(fields, rng, settings, replacement)
        if labels and after != fields and not index.misleads(fields, after):
            return after, labels
    return None


# ---------------------------------------------------------------- filings, a chunk at a time


@dataclass(frozen=True)
class NoisedFilings:
    """The filings after noise; which rows carry errors, their labels, and which of those no
    longer read as the name in the ZIP they read as before (`hides_name`)."""

    table: pa.Table
    rows: np.ndarray
    labels: list[list[str]]
    hidden: np.ndarray  # per noised row
    # Keys of the noised rows' names as written, and of their readings (NameIndex.written):
    # a request must not come to read as a name only a mistyped return shows.
    written_exact: np.ndarray
    written_readings: np.ndarray


def hides_name(index: NameIndex, before: Fields, after: Fields) -> bool:
    """True if the row, as written after its errors, reads as none of the names (in its ZIP)
    it read as before: a typo in a name or the ZIP, or another given name. Such a row no
    longer shows its filer under that name there, to the truth as to any reader."""
    if all(before.get(k) == after.get(k) for k in ("given_name", "family_name", "zip")):
        return False
    was = index.keys(before)
    return bool(was) and not (was & index.keys(after))


def noise_filings(
    filings: pa.Table,
    rng: np.random.Generator,
    settings: NoiseSettings,
    replacement_for: Callable[[int], Replacement],
    index: NameIndex,
) -> NoisedFilings:
    """The filings with a share of rows noised (independent draws per row). Only the noised
    rows' values go through Python.

    `replacement_for(row)` draws another given name fit for that row's filer.
    """
    n = filings.num_rows
    chosen = np.flatnonzero(rng.random(n) < settings.filing_share)
    if not len(chosen):
        none = np.zeros(0, np.uint64)
        return NoisedFilings(filings, chosen, [], np.zeros(0, bool), none, none)
    take = pa.array(chosen)
    cols = ("given_name", "family_name", "street", "city", "state", "zip")
    values = {c: filings.column(c).take(take).to_pylist() for c in cols}
    new: dict[str, list[str | None]] = {c: list(values[c]) for c in NOISED_FIELDS}
    kept = np.zeros(len(chosen), bool)
    hidden = np.zeros(len(chosen), bool)
    labels: list[list[str]] = []
    exact: set[int] = set()
    readings: set[int] = set()
    for j, row in enumerate(chosen):
        fields = {c: values[c][j] for c in cols}
        got = noisy_fields(fields, rng, settings, replacement_for(int(row)), index)
        if got is None:
            continue
        kept[j] = True
        hidden[j] = hides_name(index, fields, got[0])
        if any(fields.get(k) != got[0].get(k) for k in ("given_name", "family_name", "zip")):
            now_exact, now_readings = index.written(got[0])
            exact |= now_exact
            readings |= now_readings
        labels.append(got[1])
        for c in NOISED_FIELDS:
            new[c][j] = got[0][c]
    rows = chosen[kept]
    mask = np.zeros(n, bool)
    mask[rows] = True
    mask_arr = pa.array(mask)
    table = filings
    for c in NOISED_FIELDS:
        col = table.column(c).combine_chunks()
        replaced = pa.array([v for v, k in zip(new[c], kept, strict=True) if k], col.type)
        i = table.schema.get_field_index(c)
        table = table.set_column(
            i, table.schema.field(i), pc.replace_with_mask(col, mask_arr, replaced)
        )
    return NoisedFilings(
        table, rows, labels, hidden[kept], _keys_array(exact), _keys_array(readings)
    )


def _keys_array(keys: set[int]) -> np.ndarray:
    return np.array(sorted(keys), np.uint64)
