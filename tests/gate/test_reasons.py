from __future__ import annotations

from pathlib import Path

from taxgate.formats.codes import ReasonCode
from taxgate.gate.reasons import BATCH_SENTENCES, SUBJECT_SENTENCES, BatchReason

DOC = (Path(__file__).resolve().parents[2] / "docs" / "reason-codes.md").read_text()


def test_every_code_has_a_sentence() -> None:
    assert set(SUBJECT_SENTENCES) == set(ReasonCode)
    assert set(BATCH_SENTENCES) == set(BatchReason)


def test_docs_list_every_code_with_its_sentence() -> None:
    for code, sentence in [*SUBJECT_SENTENCES.items(), *BATCH_SENTENCES.items()]:
        assert f"| `{code}` | {sentence} |" in DOC, code


def test_sentences_reveal_nothing_about_taxpayers() -> None:
    for sentence in [*SUBJECT_SENTENCES.values(), *BATCH_SENTENCES.values()]:
        assert "taxpayer" not in sentence.lower() and "filing" not in sentence.lower()
