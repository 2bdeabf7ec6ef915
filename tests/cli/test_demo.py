from __future__ import annotations

import re

from typer.testing import CliRunner

from taxgate.cli.main import app


def test_demo_runs_every_stage_and_scores_it(tmp_path) -> None:
    result = CliRunner().invoke(
        app,
        ["demo", "--people", "3000", "--subjects", "400", "--seed", "3", "--home", str(tmp_path)],
        env={"COLUMNS": "120"},
    )
    assert result.exit_code == 0, result.output
    assert "signature valid" in result.output
    assert "proceed to matching" in result.output
    # The gate agrees with the ground truth on every subject of the demo world.
    all_row = re.search(r"│ all\s+│\s+│\s+([\d,]+) │\s+([\d,]+) │\s+(\d+) │\s+(\d+) │\s+(\d+) │",
                        result.output)  # fmt: skip
    assert all_row, result.output
    subjects, right, *errors = all_row.groups()
    assert subjects == right == "400" and errors == ["0", "0", "0"]
    assert (tmp_path / "world" / "truth.csv").exists()
    # Every later stage ran: a signed response, scored against the truth.
    assert "signed response:" in result.output
    assert (tmp_path / "answer" / "response.json").exists()
    # The demo ends with the signed checkpoint and the auditor's verification of the log.
    note = (tmp_path / "answer" / "checkpoint.txt").read_text()
    assert note.startswith("taxgate/") and note.splitlines()[0] in result.output
    assert "verified: every event, checkpoint, proof and table row checks out" in result.output
    assert "keyed fields checked with the agency secret" in result.output
    wrongful = re.findall(
        r"wrongful: (?:wrong taxpayer|not confirmable)\s+│\s+(\d+)", result.output
    )
    assert wrongful == ["0", "0"], result.output
