"""Nickname -> canonical given name: a curated Spanish table here, English from `nicknames`.

Why written here: the `nicknames` package is English only, and its relations are loose and
many-to-many ("BILL" -> ROBERT, WILL, WILLIAM, WILLIS; "HANNAH" -> SUSAN; "MARIA" -> MARIAH),
so it cannot be used as is. Resolution of one folded token, first rule that applies:

1. the curated Spanish table (`SPANISH`): the requesters' population is mostly Spanish-speaking,
   so where a nickname has a Spanish and an English reading (ALEX, TONY) the Spanish one comes
   first;
2. the curated English table (`ENGLISH`): common nicknames the package maps ambiguously;
3. a token that is itself a common US given name (in the frequency-weighted en_US first-name
   tables Faker ships, which come from US name statistics) is its own canonical, so HANNAH,
   MARIA and LAURA stay themselves;
4. the package's canonicals, most frequent first (same frequency table), ties alphabetically;
5. otherwise the token itself.

Ambiguity is kept, not hidden: `canonicals` returns every reading, preferred first, and
`canonical` the preferred one (deterministic: rule order, then frequency, then alphabet). So
"BETO" -> (ROBERTO, ALBERTO, ...): Roberto is the commoner name, and a filing as Alberto
still shares BETO's reading through `canonicals` for a matcher that compares sets.
"""

from __future__ import annotations

from functools import lru_cache

from faker.providers.person.en_US import Provider as _EnglishNames
from nicknames import NickNamer

from taxgate.normalize.text import fold

# Nickname -> canonicals, preferred first. Folded spelling: TONO is Toño.
SPANISH: dict[str, tuple[str, ...]] = {
    "LUPE": ("GUADALUPE",), "LUPITA": ("GUADALUPE",),
    "CHUY": ("JESUS",), "CHUCHO": ("JESUS",), "CHUS": ("JESUS",),
    "PEPE": ("JOSE",), "CHEPE": ("JOSE",), "PEPITO": ("JOSE",), "CHEMA": ("JOSE",),
    "PEPA": ("JOSEFA",), "FINA": ("JOSEFINA",),
    "PACO": ("FRANCISCO",), "PANCHO": ("FRANCISCO",), "CURRO": ("FRANCISCO",),
    "KIKO": ("FRANCISCO", "ENRIQUE"),
    "NACHO": ("IGNACIO",),
    "LALO": ("EDUARDO", "GERARDO"),
    "MEMO": ("GUILLERMO",), "GUILLE": ("GUILLERMO",),
    "QUIQUE": ("ENRIQUE",), "KIKE": ("ENRIQUE",),
    "TONO": ("ANTONIO",), "TONA": ("ANTONIA",),
    "BETO": ("ROBERTO", "ALBERTO", "HUMBERTO", "GILBERTO", "HERIBERTO", "NORBERTO"),
    "CHELA": ("GRACIELA",), "CHELO": ("CONSUELO",),
    "CONCHA": ("CONCEPCION",), "CONCHITA": ("CONCEPCION",), "CONCHI": ("CONCEPCION",),
    "MARU": ("MARIA",), "MARI": ("MARIA",),
    "LOLA": ("DOLORES",), "LOLITA": ("DOLORES",),
    "CHAYO": ("ROSARIO",), "CHARO": ("ROSARIO",),
    "MANOLO": ("MANUEL",), "MANE": ("MANUEL",),
    "CHAGO": ("SANTIAGO",), "MECHE": ("MERCEDES",),
    "CUCA": ("REFUGIO",), "CUCO": ("REFUGIO",),
    "LUCHO": ("LUIS",), "NANDO": ("FERNANDO",), "FER": ("FERNANDO", "FERNANDA"),
    "ALEX": ("ALEJANDRO", "ALEXANDER", "ALEJANDRA"), "ALE": ("ALEJANDRO", "ALEJANDRA"),
    "GOYO": ("GREGORIO",), "TERE": ("TERESA",), "PATY": ("PATRICIA",), "PATI": ("PATRICIA",),
    "LETY": ("LETICIA",), "LETI": ("LETICIA",), "CHABELA": ("ISABEL",), "CHAVELA": ("ISABEL",),
    "RAFA": ("RAFAEL",), "CHALO": ("GONZALO",), "CHENTE": ("VICENTE",), "LENCHO": ("LORENZO",),
    "POLO": ("LEOPOLDO", "HIPOLITO"), "CHECHO": ("SERGIO",), "LICHA": ("ALICIA",),
    "CHOLE": ("SOLEDAD",), "TACHO": ("ANASTASIO",), "RICHI": ("RICARDO",), "PILI": ("PILAR",),
}  # fmt: skip

ENGLISH: dict[str, tuple[str, ...]] = {
    "BILL": ("WILLIAM",), "BILLY": ("WILLIAM",), "WILL": ("WILLIAM",), "WILLIE": ("WILLIAM",),
    "BOB": ("ROBERT",), "BOBBY": ("ROBERT",), "ROB": ("ROBERT",), "ROBBIE": ("ROBERT",),
    "JIM": ("JAMES",), "JIMMY": ("JAMES",), "JACK": ("JOHN",), "JOHNNY": ("JOHN",),
    "MIKE": ("MICHAEL",), "MICKEY": ("MICHAEL",),
    "RICK": ("RICHARD",), "RICKY": ("RICHARD", "RICARDO"), "RICH": ("RICHARD",),
    "DICK": ("RICHARD",), "TOM": ("THOMAS",), "TOMMY": ("THOMAS",),
    "JOE": ("JOSEPH",), "JOEY": ("JOSEPH",),
    "CHRIS": ("CHRISTOPHER", "CHRISTINE", "CHRISTINA", "CHRISTIAN"),
    "DAN": ("DANIEL",), "DANNY": ("DANIEL",), "TONY": ("ANTHONY", "ANTONIO"),
    "CHARLIE": ("CHARLES",), "CHUCK": ("CHARLES",),
    "ED": ("EDWARD", "EDUARDO"), "EDDIE": ("EDWARD", "EDUARDO"), "TED": ("EDWARD", "THEODORE"),
    "PAT": ("PATRICIA", "PATRICK"), "JEN": ("JENNIFER",), "JENNY": ("JENNIFER",),
    "KATE": ("KATHERINE", "CATHERINE", "KATHLEEN"), "KATIE": ("KATHERINE", "CATHERINE"),
    "KATHY": ("KATHERINE", "CATHERINE", "KATHLEEN"), "CATHY": ("CATHERINE", "KATHERINE"),
    "PEGGY": ("MARGARET",), "MAGGIE": ("MARGARET",), "MEG": ("MARGARET",),
    "DAVE": ("DAVID",), "STEVE": ("STEVEN", "STEPHEN"), "MATT": ("MATTHEW",),
    "JESS": ("JESSICA", "JESSE"), "SUE": ("SUSAN",), "SUSIE": ("SUSAN",),
    "DEBBIE": ("DEBORAH", "DEBRA"), "DEB": ("DEBORAH", "DEBRA"), "BECKY": ("REBECCA",),
    "KIM": ("KIMBERLY",), "SAM": ("SAMUEL", "SAMANTHA"), "BEN": ("BENJAMIN",),
    "NICK": ("NICHOLAS",), "LIZ": ("ELIZABETH",), "BETH": ("ELIZABETH",),
    "BETTY": ("ELIZABETH",), "LIZZIE": ("ELIZABETH",), "GREG": ("GREGORY",),
    "JEFF": ("JEFFREY",), "LARRY": ("LAWRENCE",), "JERRY": ("GERALD", "JEROME"),
    "HANK": ("HENRY",), "ANDY": ("ANDREW",), "DREW": ("ANDREW",), "TIM": ("TIMOTHY",),
    "KEN": ("KENNETH",), "KENNY": ("KENNETH",), "RON": ("RONALD",), "RONNIE": ("RONALD",),
    "DON": ("DONALD",), "DONNIE": ("DONALD",), "JOSH": ("JOSHUA",), "MANDY": ("AMANDA",),
    "ABBY": ("ABIGAIL",),
}  # fmt: skip


@lru_cache(maxsize=1)
def _frequency() -> dict[str, float]:
    """Share of US births per given name, both sexes summed (each list sums to 1)."""
    shares: dict[str, float] = {}
    for table in (_EnglishNames.first_names_male, _EnglishNames.first_names_female):
        for name, share in table.items():
            key = fold(name)
            shares[key] = shares.get(key, 0.0) + share
    return shares


@lru_cache(maxsize=1)
def _package_canonicals() -> dict[str, tuple[str, ...]]:
    """The package's nickname -> canonicals, each list most frequent first, then alphabetical."""
    shares = _frequency()
    table: dict[str, tuple[str, ...]] = {}
    for nickname, names in NickNamer().canonical_lookup.items():
        folded = sorted({fold(n) for n in names} - {""})
        table[fold(nickname)] = tuple(sorted(folded, key=lambda n: (-shares.get(n, 0.0), n)))
    return table


@lru_cache(maxsize=1 << 16)
def canonicals(token: str) -> tuple[str, ...]:
    """Every canonical reading of one given-name token, preferred first; () for no letters."""
    folded = fold(token)
    if not folded:
        return ()
    for table in (SPANISH, ENGLISH):
        if folded in table:
            return table[folded]
    if folded in _frequency():
        return (folded,)
    return _package_canonicals().get(folded) or (folded,)


@lru_cache(maxsize=1 << 16)
def canonical(token: str) -> str:
    """'Lupe' -> 'GUADALUPE', 'Bill' -> 'WILLIAM', 'Toño' -> 'ANTONIO', 'Maria' -> 'MARIA'."""
    readings = canonicals(token)
    return readings[0] if readings else ""


@lru_cache(maxsize=1 << 18)
def readings(token: str) -> frozenset[str]:
    """Every name a token may stand for: its canonicals and the package's, itself included.

    Looser than `canonical` on purpose: "CINDY" is a common name of its own (so it is its own
    canonical) and also Cynthia's nickname. Only `related` uses it, to call two written
    forms one name; telling people apart is left to the other fields.
    """
    folded = fold(token)
    return frozenset({folded, *canonicals(folded), *_package_canonicals().get(folded, ())}) - {""}


def related(left: str, right: str) -> bool:
    """One given-name token is a reading of the other ("CINDY" and "CYNTHIA", "ROD" and
    "ROGER"); not merely two nicknames of a third name."""
    return right in readings(left) or left in readings(right)
