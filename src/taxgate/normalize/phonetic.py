"""A Spanish-aware phonetic key for names: spelling variants of one spoken name share a key.

Written here because no maintained package fits: Metaphone, Double Metaphone and NYSIIS follow
English spelling (J as in "John", silent-H rules for English, Z as Z), so Jimenez/Ximenez,
Hernandez/Ernandez or Vasquez/Basquez get different keys; Soundex drops too much.

Rules, applied left to right on the folded (upper-case ASCII) word:
- H is silent (initial Hernandez = Ernandez, inside Alhambra) except in CH and SH;
- J, G before E/I, and X as the first letter (Ximena, Xavier) are one sound: J;
  GU before E/I is a hard G (Guillermo, Rodriguez); MEX reads MEJ (Mexia = Mejia);
  X elsewhere is KS;
- Z, S and C before E/I are one sound: S; C elsewhere, K, Q and QU are K; CH is its own sound;
- V and B are one sound: B; N before B (after V -> B) is M (Zambrano = Sanbrano);
- LL and Y before a vowel are one sound: Y; Y elsewhere is the vowel I; PH is F; N with
  tilde is N (folding already did it);
- a letter repeated is one letter (RR, LL after mapping, SS from SC, doubled vowels).

Vowels are kept after the first letter: Spanish writes vowels as spoken, so spelling variants
of one name differ in consonants, and dropping vowels would merge names that are plainly
different (Garcia/Garza both GRS). Only the letter class of an initial vowel is kept (any
initial vowel is A), since initial H loss and Y/I spelling (Ybarra/Ibarra) move it.
"""

from __future__ import annotations

from functools import lru_cache

from taxgate.normalize.text import fold

VOWELS = frozenset("AEIOU")
FRONT_VOWELS = frozenset("EI")
LABIALS = frozenset("VB")
INITIAL_VOWEL = "A"
CACHE_SIZE = 1 << 17


def _sounds(word: str) -> list[str]:
    """One code per sound, before doubles are collapsed."""
    out: list[str] = []
    n = len(word)
    i = 0
    while i < n:
        ch = word[i]
        nxt = word[i + 1] if i + 1 < n else ""
        after = word[i + 2] if i + 2 < n else ""
        step = 1
        if ch == "H":
            code = ""
        elif ch == "C" and nxt == "H":
            code, step = "C", 2
        elif ch == "S" and nxt == "H":
            code, step = "X", 2
        elif ch == "P" and nxt == "H":
            code, step = "F", 2
        elif ch == "C":
            code = "S" if nxt in FRONT_VOWELS else "K"
        elif ch == "Q":
            code, step = "K", 2 if nxt == "U" else 1
        elif ch == "G" and nxt == "U" and after in FRONT_VOWELS:
            code, step = "G", 2
        elif ch == "G":
            code = "J" if nxt in FRONT_VOWELS else "G"
        elif ch == "X":
            code = "J" if i == 0 or word[: i + 1] == "MEX" else "KS"
        elif ch == "Z":
            code = "S"
        elif ch in LABIALS:
            code = "B"
        elif ch == "L" and nxt == "L":
            code, step = "Y", 2
        elif ch == "Y":
            code = "Y" if nxt in VOWELS else "I"
        elif ch == "N" and nxt in LABIALS:
            code = "M"
        else:
            code = ch
        out.append(code)
        i += step
    return out


@lru_cache(maxsize=CACHE_SIZE)
def word_key(word: str) -> str:
    """The key of one folded word: 'HERNANDEZ' -> 'ERNANDES', 'XIMENEZ' -> 'JIMENES'."""
    codes = "".join(_sounds(word))
    collapsed: list[str] = []
    for ch in codes:
        if not collapsed or collapsed[-1] != ch:
            collapsed.append(ch)
    if collapsed and collapsed[0] in VOWELS:
        collapsed[0] = INITIAL_VOWEL
    return "".join(collapsed)


@lru_cache(maxsize=CACHE_SIZE)
def phonetic_key(text: str | None) -> str:
    """Key of a name (any spelling, accents, case); words keyed one by one, '' for no letters."""
    words = [w for w in fold(text).split(" ") if w and not w.isdigit()]
    return " ".join(k for k in (word_key(w) for w in words) if k)
