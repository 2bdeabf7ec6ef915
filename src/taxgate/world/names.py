"""Name pools per naming tradition, built once per seed, so people are drawn by index, not by Faker.

Faker is sampled a few thousand times per locale and the distinct names are ranked by how often
they came out (Faker's en_US lists carry real frequencies); a curated head of very common names
is put first where Faker's lists are unweighted. Names are then drawn with numpy using Zipf-like
weights over that rank, so common names are common.

Two traditions need more than Faker gives:
- hi_IN returns Devanagari script; US filings are in Latin script, so the en_IN provider (Indian
  names in Latin script) stands for the Hindi naming tradition.
- Faker's ar_* providers return Arabic script and no standard romanisation exists (Mohammed,
  Muhammad and Mohamed are all common), so Arabic names come from a short curated list of
  romanised names, spelling variants included on purpose.
- There is no ht_HT locale: Haitian given names come from fr_FR plus a few Creole-era
  favourites, and surnames from a curated list of common Haitian surnames.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import numpy as np
import pyarrow as pa
from faker import Faker

from taxgate.world.proportions import COMMON_NAME_RANKS, SPANISH_LOCALES, ZIPF_EXPONENT

LOCALES: tuple[str, ...] = (
    "en_US",
    "es_MX",
    "es_CO",
    "pt_BR",
    "zh_CN",
    "vi_VN",
    "en_IN",
    "ht",
    "ar",
)
FAKER_LOCALE = {"ht": "fr_FR", "ar": None}
SAMPLES_PER_LIST = 3000
MALE, FEMALE = 0, 1

# Very common names put at the head of the rank where Faker's lists are unweighted.
COMMON_FAMILY: dict[str, list[str]] = {
    "es_MX": ["García", "Hernández", "Martínez", "López", "González", "Rodríguez", "Pérez"],
    "es_CO": ["Rodríguez", "Gómez", "González", "Martínez", "García", "López", "Hernández"],
    "pt_BR": ["da Silva", "dos Santos", "Oliveira", "Souza", "Pereira"],
    "zh_CN": ["Wang", "Li", "Zhang", "Liu", "Chen"],
    "vi_VN": ["Nguyễn", "Trần", "Lê", "Phạm", "Hoàng"],
    "en_IN": ["Patel", "Singh", "Kumar", "Shah", "Sharma"],
}
COMMON_GIVEN: dict[tuple[str, int], list[str]] = {
    ("es_MX", MALE): ["José", "Juan", "Luis", "Jesús", "Miguel", "Francisco"],
    ("es_MX", FEMALE): ["María", "Guadalupe", "Juana", "Rosa", "Ana"],
    ("es_CO", MALE): ["Juan", "José", "Carlos", "Luis", "Jorge"],
    ("es_CO", FEMALE): ["María", "Luz", "Ana", "Carmen", "Sandra"],
    ("vi_VN", MALE): ["Minh", "Tuấn", "Hùng", "Dũng", "Nam"],
    ("vi_VN", FEMALE): ["Linh", "Lan", "Hương", "Mai", "Thảo"],
}
SPANISH_PARTICLE_SURNAMES = ["de la Cruz", "del Río", "de León", "de la Rosa", "de los Santos"]
SPANISH_COMPOUND_FIRST = {MALE: ["José", "Juan", "Luis", "Jesús"], FEMALE: ["María", "Ana"]}
SPANISH_COMPOUND_SECOND = {
    MALE: ["Luis", "Manuel", "Antonio", "Carlos", "Miguel", "Ángel", "Francisco", "Alberto"],
    FEMALE: ["Guadalupe", "del Carmen", "Isabel", "Elena", "Fernanda", "Teresa", "de Jesús"],
}
HAITIAN_FAMILY = [
    "Jean", "Pierre", "Joseph", "Louis", "Charles", "Baptiste", "Jean-Baptiste", "François",
    "Augustin", "Désir", "Saint-Fleur", "Étienne", "Michel", "Alexis", "Dorvil", "Cadet",
    "Célestin", "Toussaint", "Exantus", "Noël", "Julien", "Paul", "Valcourt", "Dorcé",
    "Saint-Louis", "Pierre-Louis", "Dieudonné", "Fleurimond", "Jeune", "Lafleur",
]  # fmt: skip
HAITIAN_GIVEN = {
    MALE: ["Jean", "Jean-Pierre", "Mackenson", "Wilner", "Fritz", "Jocelyn", "Frantz", "Wesner"],
    FEMALE: ["Marie", "Widline", "Guerline", "Rosemène", "Nadège", "Fabiola", "Mirlande"],
}
ARABIC_GIVEN = {
    MALE: [
        "Mohammed", "Muhammad", "Mohamed", "Ahmed", "Ahmad", "Ali", "Omar", "Youssef", "Yusuf",
        "Mahmoud", "Khaled", "Hassan", "Hussein", "Ibrahim", "Mustafa", "Abdullah", "Karim",
        "Tariq", "Samir", "Nabil", "Walid", "Adel", "Fadi", "Rami", "Bilal", "Hamza", "Said",
        "Jamal", "Amir", "Faisal", "Nasser", "Ziad", "Majid", "Salim",
    ],
    FEMALE: [
        "Fatima", "Fatma", "Aisha", "Mariam", "Maryam", "Layla", "Leila", "Nour", "Huda",
        "Amira", "Rania", "Salma", "Yasmin", "Zainab", "Hana", "Dina", "Rana", "Samira",
        "Noura", "Lina", "Reem", "Sara", "Maha",
    ],
}  # fmt: skip
ARABIC_FAMILY = [
    "Al-Sayed", "Haddad", "Khalil", "Hassan", "Ibrahim", "Mansour", "Nasser", "Saleh",
    "Abdullah", "Farah", "Hamdan", "Khoury", "Aziz", "Rahman", "Saad", "Osman", "Othman",
    "Yousef", "Darwish", "Qasim", "Hamid", "Mahmoud", "Suleiman", "Shaheen", "Nasr", "Awad",
    "Bakr", "Habib", "Jaber", "Karam", "Zaki", "El-Amin", "Abdel-Rahman",
]  # fmt: skip

# Nicknames the requesting agency's records may carry instead of the given name.
SPANISH_NICKNAMES = {
    "guadalupe": "Lupe", "jesus": "Chuy", "jose": "Pepe", "francisco": "Paco",
    "ignacio": "Nacho", "roberto": "Beto", "alberto": "Beto", "guillermo": "Memo",
    "enrique": "Kike", "eduardo": "Lalo", "dolores": "Lola", "rosario": "Chayo",
    "manuel": "Manolo", "santiago": "Chago", "consuelo": "Chelo", "mercedes": "Meche",
    "concepcion": "Concha", "alejandro": "Alex", "refugio": "Cuca", "luis": "Lucho",
    "antonio": "Toño", "gerardo": "Lalo", "maria": "Mari", "fernando": "Nando",
}  # fmt: skip
ENGLISH_NICKNAMES = {
    "william": "Bill", "robert": "Bob", "elizabeth": "Liz", "james": "Jim", "john": "Jack",
    "michael": "Mike", "richard": "Rick", "thomas": "Tom", "joseph": "Joe",
    "christopher": "Chris", "daniel": "Dan", "anthony": "Tony", "charles": "Charlie",
    "edward": "Ed", "patricia": "Pat", "jennifer": "Jen", "katherine": "Kate",
    "margaret": "Peggy", "david": "Dave", "steven": "Steve", "matthew": "Matt",
    "jessica": "Jess", "susan": "Sue", "deborah": "Debbie", "rebecca": "Becky",
    "kimberly": "Kim", "samuel": "Sam", "benjamin": "Ben", "nicholas": "Nick",
}  # fmt: skip


def normalize_name(text: str | None) -> str:
    """Accents dropped, upper case, punctuation as spaces, spaces collapsed: the key namesakes
    share (so "José" and "JOSE", "Hernández-López" and "HERNANDEZ LOPEZ" are the same)."""
    if not text:
        return ""
    text = text.replace("Đ", "D").replace("đ", "d")
    decomposed = unicodedata.normalize("NFKD", text)
    bare = "".join(c for c in decomposed if not unicodedata.combining(c))
    cleaned = "".join(c if c.isalnum() else " " for c in bare.upper())
    return " ".join(cleaned.split())


@dataclass
class Pool:
    """Names of one list (e.g. es_MX female given names) as vocabulary ids, most common first."""

    ids: np.ndarray
    probabilities: np.ndarray

    def draw(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return self.ids[rng.choice(len(self.ids), size=n, p=self.probabilities)]

    def common(self) -> np.ndarray:
        return self.ids[:COMMON_NAME_RANKS]


def zipf_probabilities(n: int) -> np.ndarray:
    weights = 1.0 / np.arange(1, n + 1, dtype=np.float64) ** ZIPF_EXPONENT
    return weights / weights.sum()


@dataclass
class NamePools:
    """The vocabulary of display names, their normalised ids, and the pools that draw them."""

    vocab: list[str] = field(default_factory=list)
    norm_ids: list[int] = field(default_factory=list)
    norm_vocab: dict[str, int] = field(default_factory=dict)
    given: dict[tuple[str, int], Pool] = field(default_factory=dict)
    family: dict[str, Pool] = field(default_factory=dict)
    middle: dict[tuple[str, int], Pool] = field(default_factory=dict)
    compound_first: dict[int, Pool] = field(default_factory=dict)
    compound_second: dict[int, Pool] = field(default_factory=dict)
    _index: dict[str, int] = field(default_factory=dict)

    def id_of(self, name: str) -> int:
        if name not in self._index:
            self._index[name] = len(self.vocab)
            self.vocab.append(name)
            norm = normalize_name(name)
            self.norm_ids.append(self.norm_vocab.setdefault(norm, len(self.norm_vocab)))
        return self._index[name]

    def pool(self, ranked: list[str]) -> Pool:
        ids = np.array([self.id_of(n) for n in ranked], dtype=np.int32)
        return Pool(ids, zipf_probabilities(len(ids)))

    def arrow_vocab(self) -> pa.Array:
        return pa.array(self.vocab, pa.string())

    def norm_array(self) -> np.ndarray:
        return np.asarray(self.norm_ids, dtype=np.int64)

    def initial_array(self) -> np.ndarray:
        """Per normalised id, the code point of its first letter (for initial keys)."""
        out = np.zeros(len(self.norm_vocab), dtype=np.int64)
        for norm, i in self.norm_vocab.items():
            out[i] = ord(norm[:1] or " ")
        return out


def _ranked(samples: list[str], head: list[str] | None = None) -> list[str]:
    """Distinct names by falling sample count (ties by name), curated head first."""
    counts: dict[str, int] = {}
    for name in samples:
        counts[name] = counts.get(name, 0) + 1
    order = sorted(counts, key=lambda n: (-counts[n], n))
    head = head or []
    return head + [n for n in order if n not in head]


def _faker(locale: str, seed: int) -> Faker:
    fake = Faker(locale)
    fake.seed_instance(seed)
    return fake


def _sample(fn: Callable[[], str], n: int = SAMPLES_PER_LIST) -> list[str]:
    return [fn() for _ in range(n)]


def build_pools(seed: int) -> NamePools:
    """Sample Faker once per list for this seed and rank the results; deterministic per seed."""
    pools = NamePools()
    for locale in LOCALES:
        faker_locale = FAKER_LOCALE.get(locale, locale)
        fake = _faker(faker_locale, seed) if faker_locale else None
        for sex in (MALE, FEMALE):
            if locale == "ar":
                ranked = list(ARABIC_GIVEN[sex])
            elif locale == "zh_CN":
                ranked = _ranked(_sample(fake.first_romanized_name))
            else:
                fn = fake.first_name_male if sex == MALE else fake.first_name_female
                head = COMMON_GIVEN.get((locale, sex))
                if locale == "ht":
                    head = HAITIAN_GIVEN[sex]
                ranked = _ranked(_sample(fn), head)
            pools.given[(locale, sex)] = pools.pool(ranked)
            if locale == "vi_VN":
                mids = ["Văn", "Đức", "Hữu", "Quang"] if sex == MALE else ["Thị", "Ngọc", "Thu"]
                pools.middle[(locale, sex)] = pools.pool(mids)
            elif locale in ("en_US", "en_IN", "ht", "pt_BR"):
                pools.middle[(locale, sex)] = pools.given[(locale, sex)]
        if locale == "ar":
            family = list(ARABIC_FAMILY)
        elif locale == "ht":
            family = list(HAITIAN_FAMILY)
        elif locale == "zh_CN":
            family = _ranked(_sample(fake.last_romanized_name), COMMON_FAMILY["zh_CN"])
        else:
            family = _ranked(_sample(fake.last_name), COMMON_FAMILY.get(locale))
            if locale in SPANISH_LOCALES:
                family += [n for n in SPANISH_PARTICLE_SURNAMES if n not in family]
        pools.family[locale] = pools.pool(family)
    for sex in (MALE, FEMALE):
        pools.compound_first[sex] = pools.pool(SPANISH_COMPOUND_FIRST[sex])
        pools.compound_second[sex] = pools.pool(SPANISH_COMPOUND_SECOND[sex])
    return pools


@lru_cache(maxsize=1)
def _nick_namer() -> Any:  # the optional `nicknames` package: English nickname data set
    try:
        from nicknames import NickNamer
    except ImportError:
        return None
    return NickNamer()


@lru_cache(maxsize=4096)
def nickname_for(given: str) -> str | None:
    """A nickname the requester's records might use for this given name (first part), if any.

    Curated Spanish and English tables first; otherwise the shortest nickname from the
    `nicknames` data set that starts with the same letter (so "Christine" gives "Chris").
    """
    first = normalize_name(given).split(" ")[0].lower() if given else ""
    if not first:
        return None
    if first in SPANISH_NICKNAMES:
        return SPANISH_NICKNAMES[first]
    if first in ENGLISH_NICKNAMES:
        return ENGLISH_NICKNAMES[first]
    namer = _nick_namer()
    if namer is None:
        return None
    options = [
        n for n in namer.nicknames_of(first) if n[:1] == first[:1] and 2 < len(n) < len(first)
    ]
    return min(options, key=lambda n: (len(n), n)).capitalize() if options else None


def has_nickname(given: str) -> bool:
    return nickname_for(given) is not None
