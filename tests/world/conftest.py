"""Small worlds built once per test session (a few seconds each)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from taxgate.formats.tables import read_table
from taxgate.world import WorldConfig, WorldSummary, build_world

SMALL = {"people": 5000, "subjects": 1000, "present_fraction": 0.3, "seed": 11, "chunk_size": 1000}


@dataclass
class World:
    config: WorldConfig
    summary: WorldSummary
    out: Path

    @property
    def filings(self) -> pa.Table:
        return pq.read_table(self.summary.paths.filings)

    @property
    def subjects(self) -> list[dict]:
        return read_table(self.summary.paths.subjects, "subjects").to_pylist()

    @property
    def truth(self) -> list[dict]:
        return read_table(self.summary.paths.truth, "truth").to_pylist()

    def rows(self) -> list[tuple[dict, dict]]:
        """(subject row, truth row) pairs in file order."""
        return list(zip(self.subjects, self.truth, strict=True))


def make_world(tmp: Path, **changes) -> World:
    config = WorldConfig(**{**SMALL, **changes})
    summary = build_world(config, tmp)
    return World(config, summary, tmp)


@pytest.fixture(scope="session")
def world(tmp_path_factory: pytest.TempPathFactory) -> World:
    return make_world(tmp_path_factory.mktemp("world"))


@pytest.fixture(scope="session")
def clean_world(tmp_path_factory: pytest.TempPathFactory) -> World:
    """The same world without keying errors: what the noise is measured against, and where the
    truth's reasoning can be checked on the literal strings."""
    return make_world(tmp_path_factory.mktemp("clean"), noise="none")


@pytest.fixture(scope="session")
def big_world(tmp_path_factory: pytest.TempPathFactory) -> World:
    """More subjects, so every case has enough rows to measure shares."""
    return make_world(
        tmp_path_factory.mktemp("big"), people=30_000, subjects=5000, present_fraction=0.5,
        chunk_size=10_000, seed=5,
    )  # fmt: skip


# Seed 5's small world has a namesake whose every return in the ZIP the noise mistyped.
HIDDEN_NAMESAKE_SEED = 5


@pytest.fixture(scope="session")
def hiding_worlds(tmp_path_factory: pytest.TempPathFactory) -> tuple[World, World]:
    """(noisy, clean) worlds of a seed where the filing noise hides a namesake."""
    tmp = tmp_path_factory.mktemp("hiding")
    return (
        make_world(tmp / "noisy", seed=HIDDEN_NAMESAKE_SEED),
        make_world(tmp / "clean", seed=HIDDEN_NAMESAKE_SEED, noise="none"),
    )
