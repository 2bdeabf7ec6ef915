"""Fold free text to a comparable form: upper case, no accents, punctuation as spaces.

Invisible characters are not content, in filings and requests alike: format characters
(Unicode Cf: zero-width joiner and non-joiner, word joiner, byte-order mark, soft hyphen, bidi
controls) are removed, the zero-width space separates words as a space does, and every other
space, line break or control character is a space. So "UN\\u00adKNOWN" folds to "UNKNOWN",
"N\\u200bA" to "N A", and "\\ufeffMaria\\u00a0" to "MARIA".
"""

from __future__ import annotations

import json
import re
import unicodedata
from functools import lru_cache
from importlib import resources

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

_NON_ALNUM = re.compile(r"[^A-Z0-9]+")
ZERO_WIDTH_SPACE = "\u200b"
_ASCII_CONTROL = r"[\x00-\x1f\x7f]"

# Letters that draw nothing: the Hangul fillers are Unicode default-ignorable code points
# although their category is Lo (letter), and the blank Braille pattern is a symbol that
# shows as a space. Without this list a field of U+3164 would count as holding a letter.
BLANK_LETTERS = frozenset("\u115f\u1160\u3164\uffa0")
BLANK_SYMBOLS = frozenset("\u2800")


def _invisible_replacement(char: str) -> str | None:
    """'' to remove a character, ' ' to make it a space, None to keep it. Separators (Z*:
    spaces, line and paragraph separators), controls and the zero-width space become a space;
    format, surrogate, private-use and unassigned characters (the rest of C*) are removed."""
    category = unicodedata.category(char)
    if char == ZERO_WIDTH_SPACE or char in BLANK_SYMBOLS or category[0] == "Z" or category == "Cc":
        return " "
    if category[0] == "C" or char in BLANK_LETTERS:
        return ""
    return None


@lru_cache(maxsize=1 << 16)
def visible(text: str | None) -> str | None:
    """The text as a reader sees it: format characters gone, every kind of space a plain space.

    '\\ufeff 2024-01-10\\u200b' -> ' 2024-01-10 '; None stays None. Letters, digits and
    punctuation are kept as sent, so a date, TIN or ZIP is then read by its own rule.
    """
    if text is None or (text.isascii() and text.isprintable()):
        return text
    out = []
    for char in text:
        replacement = _invisible_replacement(char)
        out.append(char if replacement is None else replacement)
    return "".join(out)


def visible_array(values: pa.Array | pa.ChunkedArray) -> pa.Array:
    """`visible` over a column: Arrow kernels for ASCII text, `visible` once per distinct value
    for the text beyond ASCII."""
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    values = values.cast(pa.string())
    if pc.any(pc.match_substring_regex(values, _ASCII_CONTROL)).as_py():
        values = pc.replace_substring_regex(values, _ASCII_CONTROL, " ")
    beyond = pc.fill_null(pc.invert(pc.string_is_ascii(values)), False)
    if not pc.any(beyond).as_py():
        return values
    # Python's Unicode tables decide what is invisible (an Arrow pattern's tables may be of
    # another Unicode version), once per distinct value.
    encoded = pc.dictionary_encode(pc.filter(values, beyond))
    cleaned = pa.array([visible(v) for v in encoded.dictionary.to_pylist()], pa.string())
    return pc.replace_with_mask(values, beyond, cleaned.take(encoded.indices))


@lru_cache(maxsize=1 << 16)
def fold(text: str | None) -> str:
    """'  José  Hernández-López ' -> 'JOSE HERNANDEZ LOPEZ'; None -> ''.

    Invisible characters are removed first (see the module docstring), then compatibility
    forms (full-width letters, ligatures) become their plain letters and every mark
    (accents, combining characters) is dropped.
    """
    if not text:
        return ""
    if text.isascii():
        return _NON_ALNUM.sub(" ", text.upper()).strip()
    decomposed = unicodedata.normalize("NFKD", visible(text) or "")
    plain = "".join(c for c in decomposed if not unicodedata.category(c).startswith("M"))
    return _NON_ALNUM.sub(" ", plain.upper()).strip()


def fold_array(values: pa.Array | pa.ChunkedArray) -> pa.Array:
    """`fold` over a whole column: Arrow kernels for ASCII text, `fold` itself for the rest."""
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    values = values.cast(pa.string())
    fast = pc.utf8_trim(pc.replace_substring_regex(pc.utf8_upper(values), r"[^A-Z0-9]+", " "), " ")
    fast = pc.fill_null(fast, "")
    non_ascii = np.flatnonzero(
        np.asarray(pc.fill_null(pc.invert(pc.string_is_ascii(values)), False))
    )
    if not len(non_ascii):
        return fast
    folded = fast.to_pylist()
    originals = values.take(pa.array(non_ascii)).to_pylist()
    for i, text in zip(non_ascii, originals, strict=True):
        folded[i] = fold(text)
    return pa.array(folded, pa.string())


@lru_cache(maxsize=1)
def _latin_lookalikes() -> dict[int, str]:
    """Each non-ASCII character that Unicode TR39 lists as confusable with an ASCII letter or
    digit -> that letter or digit (Cyrillic A -> 'A', Greek Omicron -> 'O'); letters first."""
    data = resources.files("confusable_homoglyphs").joinpath("confusables.json").read_text()
    table: dict[int, str] = {}
    for char, glyphs in json.loads(data).items():
        if len(char) != 1 or char.isascii():
            continue
        ascii_glyphs = [g["c"] for g in glyphs if len(g["c"]) == 1 and g["c"].isascii()]
        letters = [g for g in ascii_glyphs if g.isalpha()] or [
            g for g in ascii_glyphs if g.isdigit()
        ]
        if letters:
            table[ord(char)] = letters[0]
    return table


@lru_cache(maxsize=1 << 16)
def skeleton(text: str | None) -> str:
    """`fold` after replacing look-alike letters of other scripts by the Latin ones they imitate:
    'N/A' with a Cyrillic A -> 'N A', 'NONE' in Greek capitals -> 'NONE'. For comparing against
    word lists (placeholders), where a homoglyph must not pass for another word; not for
    matching, which keeps `fold`."""
    if not text:
        return ""
    if text.isascii():
        return fold(text)
    decomposed = unicodedata.normalize("NFKD", visible(text) or "")
    plain = "".join(c for c in decomposed if not unicodedata.category(c).startswith("M"))
    return fold(plain.translate(_latin_lookalikes()))


def skeleton_array(values: pa.Array | pa.ChunkedArray) -> pa.Array:
    """`skeleton` over a column; ASCII rows take `fold_array`'s Arrow path."""
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    values = values.cast(pa.string())
    folded = fold_array(values)
    non_ascii = np.flatnonzero(
        np.asarray(pc.fill_null(pc.invert(pc.string_is_ascii(values)), False))
    )
    if not len(non_ascii):
        return folded
    out = folded.to_pylist()
    for i, text in zip(non_ascii, values.take(pa.array(non_ascii)).to_pylist(), strict=True):
        out[i] = skeleton(text)
    return pa.array(out, pa.string())
