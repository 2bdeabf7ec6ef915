"""The names are judged only at the pairs the rules read (`Sharing.names_read`): judging them
at every pair must not change a single decision."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from taxgate.decide import households
from taxgate.decide.rules import decide
from taxgate.match.predict import candidates
from taxgate.policy import load_policy

MODEL = "0" * 64


def test_judging_names_everywhere_decides_the_same(
    subjects_norm: pa.Table, trained_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pairs = candidates(subjects_norm, trained_home)
    policy = load_policy()
    read = []
    original = households.Sharing.names_read

    def spy(self: households.Sharing, taxpayers, margin: float) -> np.ndarray:
        read.append(original(self, taxpayers, margin).size)
        return original(self, taxpayers, margin)

    monkeypatch.setattr(households.Sharing, "names_read", spy)
    restricted = decide(pairs, subjects_norm, policy, MODEL)
    assert 0 < read[0] < pairs.num_rows  # the restriction is real here, not everything
    monkeypatch.setattr(
        households.Sharing, "names_read", lambda self, taxpayers, margin: np.arange(len(self.other))
    )
    everywhere = decide(pairs, subjects_norm, policy, MODEL)
    assert restricted.equals(everywhere)
