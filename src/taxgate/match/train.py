"""Train the model on the master index alone: u by random sampling, m by EM, then freeze it.

Unsupervised scheme (no labelled pairs exist): the filings themselves hold true matches, the
same taxpayer filing in several tax years. Training links `filings_norm` against itself
(dedupe) and runs two EM sessions, each on pairs its blocking rule makes almost surely the
same person, each leaving out the comparisons its rule fixes:
  1. same `tin`            -> m of names, dob and every address part (movers included);
  2. same given, family, dob -> m of tin and, again, the address parts.
A master where no one filed twice (a single year, or a national file of first filers) holds
no such pairs: a session whose blocking rule makes fewer than MIN_EM_PAIRS pairs is skipped,
and sessions that need no repeat filer (FALLBACK_SESSIONS, e.g. same family name and ZIP) run
for the comparisons left without m. A comparison no session could estimate gets Splink's own
default m (DEFAULT_TOP_M on its top level). model.json records, under TRAINING_KEY, which
sessions ran with how many pairs and which were skipped and why; the model card shows it.
u comes from random pairs of filings (seeded). The filings show each person spelled one way,
so the variants requesters introduce (typos, nicknames, swapped names) are never observed
there; every level is floored at VARIANT_M_FLOOR so a variant weighs as weak evidence rather
than a veto. The prior (probability two random records match) is set, not learnt: see
PRIOR_FILED.

A master of more than `train_max_taxpayers` (TAXGATE_TRAIN_MAX_TAXPAYERS) taxpayers is
sampled: every filing of a seeded random sample of that many taxpayers, so a repeat filer's
filings stay together for EM, and training costs what it costs on a master of that size. The
sample's pairs estimate the same m and u (agreement rates within a person and between random
people do not depend on how many people there are); the prior and the term frequencies
still come from the whole master.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
from splink import Linker, block_on
from splink.backends.duckdb import DuckDBAPI
from splink.internals.exceptions import EMTrainingException  # not exported by splink 5

from taxgate.config import get_settings
from taxgate.errors import TaxgateError
from taxgate.home import private_home
from taxgate.match import model
from taxgate.match.card import write_card
from taxgate.match.master import TF_COLUMNS, master_path, scratch

MODEL_FILE = "model.json"
CARD_FILE = "model_card.html"
# Random pairs sampled for u; 1e7 pairs put every common level's u within a few percent and
# take seconds on a laptop.
U_MAX_PAIRS = 2e6
# EM sessions: each blocking rule's pairs are almost all the same person (see module doc).
EM_SESSIONS: tuple[tuple[str, ...], ...] = (("tin",), ("given", "family", "dob"))
# Sessions that need no repeat filer, run only when the sessions above left a comparison
# without m, in this order, each only if it estimates one still missing. Their pairs are mostly
# housemates and namesakes, not the same person, so they are a fallback, never mixed into a
# master that has repeat filers. (family, zip5) estimates all but family and zip5; the later
# ones estimate those two.
FALLBACK_SESSIONS: tuple[tuple[str, ...], ...] = (
    ("family", "zip5"),
    ("given", "dob"),
    ("house_number", "street_name"),
)
# Fewer pairs than this and EM's estimates are noise (Splink: "usually at least a few hundred"),
# so the session is skipped rather than trusted.
MIN_EM_PAIRS = 200
# m of a comparison no session could estimate: Splink's default (0.95 on the top level, the
# rest shared by the lower ones), so agreement counts for and disagreement against.
DEFAULT_TOP_M = 0.95
# The key of model.json that records how it was trained; Splink never sees it (`load_model`).
TRAINING_KEY = "taxgate_training"
# Lowest m of any level: about the share of requests carrying one such variant of a field
# (the 2025 batches and the world generator put name variants at a few percent each).
VARIANT_M_FLOOR = 0.02
# A level never seen among U_MAX_PAIRS random pairs has u below 1 / U_MAX_PAIRS; claim no less,
# so a level unseen by chance cannot become near-certain evidence.
U_FLOOR = 1 / U_MAX_PAIRS
# Prior odds that a requested person filed at all: the model knows nothing of the requesting
# agency's hit rate, so even odds; lambda = PRIOR_FILED / taxpayers.
PRIOR_FILED = 0.5
# Parameters are rounded to this many significant digits before freezing: far below any effect
# on a decision, far above the noise of DuckDB's parallel sums, so the same seed gives the same
# bytes.
SIGNIFICANT_DIGITS = 10
EM_MAX_ITERATIONS = 25

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ModelInfo:
    """Where the frozen model is and what it was trained on."""

    path: Path
    sha256: str
    card: Path
    seed: int
    filings: int  # trained on: every filing of `taxpayers_sampled` taxpayers
    taxpayers: int  # in the master
    taxpayers_sampled: int
    probability_two_random_records_match: float
    seconds: float
    training: dict[str, Any]


def model_path(home: Path) -> Path:
    return Path(home) / MODEL_FILE


def model_sha256(home: Path) -> str:
    """SHA-256 of HOME/model.json, recorded with every decision made with it."""
    path = model_path(home)
    if not path.is_file():
        raise TaxgateError(
            "no trained model in this home",
            "Train one first: taxgate model train --home DIR.",
            file=path,
        )
    return hashlib.sha256(path.read_bytes()).hexdigest()


def load_model(home: Path) -> dict[str, Any]:
    """The frozen Splink settings of HOME/model.json (without its training record)."""
    return splink_settings(_read_model(home))


def training_record(home: Path) -> dict[str, Any]:
    """What HOME/model.json records about its training: the EM sessions run and skipped."""
    return _read_model(home).get(TRAINING_KEY, {})


def _read_model(home: Path) -> dict[str, Any]:
    model_sha256(home)  # the same error when it is missing
    return json.loads(model_path(home).read_text(encoding="utf-8"))


def splink_settings(model_json: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in model_json.items() if k != TRAINING_KEY}


def _round(value: float) -> float:
    return float(f"{value:.{SIGNIFICANT_DIGITS}g}")


def _floor_and_normalise(levels: list[dict[str, Any]], key: str, floor: float) -> None:
    scored = [lv for lv in levels if not lv.get("is_null_level")]
    values = [max(float(lv.get(key) or 0.0), floor) for lv in scored]
    total = sum(values)
    for lv, value in zip(scored, values, strict=True):
        lv[key] = _round(value / total)


def _default_m(levels: list[dict[str, Any]]) -> None:
    """Splink's default m on a comparison no EM session estimated (see DEFAULT_TOP_M)."""
    scored = [lv for lv in levels if not lv.get("is_null_level")]
    if any(lv.get("m_probability") is not None for lv in scored):
        return
    rest = (1 - DEFAULT_TOP_M) / max(1, len(scored) - 1)
    for index, level in enumerate(scored):
        level["m_probability"] = DEFAULT_TOP_M if index == 0 else rest


def unestimated(trained: dict[str, Any]) -> list[str]:
    """Comparisons with no m on any level: no EM session estimated them."""
    return [
        c["output_column_name"]
        for c in trained["comparisons"]
        if all(
            lv.get("m_probability") is None
            for lv in c["comparison_levels"]
            if not lv.get("is_null_level")
        )
    ]


def freeze(trained: dict[str, Any], prior: float, u_floor: float = U_FLOOR) -> dict[str, Any]:
    """The trained dedupe settings as the link-only prediction model, floored and rounded."""
    frozen = dict(trained)
    frozen["link_type"] = "link_only"
    frozen["probability_two_random_records_match"] = _round(prior)
    for comparison in frozen["comparisons"]:
        levels = comparison["comparison_levels"]
        _default_m(levels)
        _floor_and_normalise(levels, "m_probability", VARIANT_M_FLOOR)
        _floor_and_normalise(levels, "u_probability", u_floor)
    return frozen


def training_connection(
    home: Path, seed: int = 0, max_taxpayers: int | None = None
) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB with the master attached read-only and the training inputs copied:
    the filings of every taxpayer, or of `max_taxpayers` of them drawn by `seed`."""
    path = master_path(home)
    if not path.is_file():
        raise TaxgateError(
            "no master index in this home",
            "Load the filings first: taxgate master load FILINGS --home DIR.",
            file=path,
        )
    private_home(home)  # model.json and its card are written here too
    con = scratch()
    con.execute(f"ATTACH '{path}' AS master (READ_ONLY)")
    columns = ", ".join(model.MODEL_COLUMNS)
    if max_taxpayers is None:
        max_taxpayers = get_settings().train_max_taxpayers
    taxpayers = con.execute("SELECT count(*) FROM master.last_known").fetchone()[0]
    sampled = ""
    if taxpayers > max_taxpayers:
        # md5, not DuckDB's hash(): the same seed draws the same taxpayers in any version.
        con.execute(
            "CREATE TABLE train_taxpayers AS SELECT tin FROM master.last_known "
            "ORDER BY md5(concat(tin, '|', ?)) LIMIT ?",
            [str(seed), max_taxpayers],
        )
        sampled = "WHERE tin IN (SELECT tin FROM train_taxpayers)"
    con.execute(f"""
        CREATE TABLE train_filings AS
        SELECT row_number() OVER (
                   ORDER BY tin, tax_year, filed_on, house_number, street_name, unit, zip5
               ) AS {model.UNIQUE_ID},
               {columns}
        FROM master.filings_norm {sampled}
        ORDER BY {model.UNIQUE_ID}
    """)
    for column in TF_COLUMNS:
        con.execute(f"CREATE TABLE tf_{column} AS SELECT * FROM master.tf_{column}")
    return con


def register_tf_tables(linker: Linker, db_api: Any) -> None:
    """The master's term frequencies (over all taxpayer addresses), never the batch's own."""
    for column in TF_COLUMNS:
        frame = db_api.register(f"tf_{column}", table_name=f"master_tf_{column}")
        linker.table_management.register_term_frequency_lookup(frame, column)


def pair_count(con: duckdb.DuckDBPyConnection, keys: tuple[str, ...]) -> int:
    """Pairs of filings `block_on(*keys)` makes in a dedupe (a pair once, nulls agree never)."""
    present = " AND ".join(f"{k} IS NOT NULL" for k in keys)
    return int(
        con.execute(f"""
            SELECT coalesce(sum(n * (n - 1) // 2), 0) FROM (
                SELECT count(*) AS n FROM train_filings WHERE {present} GROUP BY {", ".join(keys)}
            )
        """).fetchone()[0]
    )


def _too_few(keys: tuple[str, ...], pairs: int) -> str:
    if keys == ("tin",) and pairs == 0:
        return "the master has no repeat filers (no two filings share a TIN): TIN session skipped"
    return f"fewer pairs than the {MIN_EM_PAIRS:,} EM needs: session skipped"


def run_em_sessions(linker: Linker, con: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    """The EM sessions, the fallbacks where needed (module doc); one record per session."""
    missing = set(model.COMPARISONS)
    record: list[dict[str, Any]] = []
    for kind, sessions in (("repeat filers", EM_SESSIONS), ("fallback", FALLBACK_SESSIONS)):
        for keys in sessions:
            entry: dict[str, Any] = {"blocking": " AND ".join(keys), "kind": kind}
            estimates = [c for c in model.COMPARISONS if c not in keys]
            record.append(entry)
            if kind == "fallback" and not missing.difference(keys):
                entry["skipped"] = "not needed: no comparison it estimates lacks m"
                continue
            entry["pairs"] = pair_count(con, keys)
            if entry["pairs"] < MIN_EM_PAIRS:
                entry["skipped"] = _too_few(keys, entry["pairs"])
                continue
            try:
                linker.training.estimate_parameters_using_expectation_maximisation(
                    block_on(*keys), estimate_without_term_frequencies=True
                )
            except EMTrainingException as exc:
                entry["skipped"] = f"Splink refused it: {str(exc).splitlines()[0]}"
                continue
            entry["estimated"] = estimates
            missing.difference_update(estimates)
    return record


def train(
    home: Path, seed: int, *, u_max_pairs: float = U_MAX_PAIRS, max_taxpayers: int | None = None
) -> ModelInfo:
    """Train on HOME/master.duckdb and write HOME/model.json and the HTML model card.

    `u_max_pairs` trades u's precision for time (tests use fewer pairs); `max_taxpayers`
    bounds the sample trained on (default: the `train_max_taxpayers` setting).
    """
    started = time.perf_counter()
    home = Path(home)
    con = training_connection(home, seed, max_taxpayers)
    try:
        filings = con.execute("SELECT count(*) FROM train_filings").fetchone()[0]
        sampled = con.execute("SELECT count(DISTINCT tin) FROM train_filings").fetchone()[0]
        taxpayers = con.execute("SELECT count(*) FROM master.last_known").fetchone()[0]
        if filings == 0:
            raise TaxgateError("the master index holds no filings", "Load filings first.")
        db_api = DuckDBAPI(con)
        frame = db_api.register("train_filings", table_name="train_input")
        creator = model.settings("dedupe_only")
        creator.linker_uid = f"taxgate_{seed}"
        creator.max_iterations = EM_MAX_ITERATIONS
        linker = Linker(frame, creator, log_level=logging.ERROR)
        register_tf_tables(linker, db_api)
        linker.training.estimate_u_using_random_sampling(max_pairs=u_max_pairs, seed=seed)
        sessions = run_em_sessions(linker, con)
        trained = linker.misc.save_model_to_json()
        training = {
            "taxpayers_sampled": sampled,
            "em_sessions": sessions,
            "min_em_pairs": MIN_EM_PAIRS,
            "default_m": unestimated(trained),
        }
        for entry in sessions:
            logger.info("EM session %s: %s", entry["blocking"], entry.get("skipped", "ran"))
        frozen = freeze(trained, PRIOR_FILED / taxpayers, 1 / u_max_pairs)
        text = json.dumps({**frozen, TRAINING_KEY: training}, indent=2) + "\n"
        path = model_path(home)
        path.write_text(text, encoding="utf-8")
        card = write_card(frozen, home / CARD_FILE, training, text)
    finally:
        con.close()
    return ModelInfo(
        path=path,
        sha256=hashlib.sha256(text.encode("utf-8")).hexdigest(),
        card=card,
        seed=seed,
        filings=filings,
        taxpayers=taxpayers,
        taxpayers_sampled=sampled,
        probability_two_random_records_match=frozen["probability_two_random_records_match"],
        seconds=time.perf_counter() - started,
        training=training,
    )
