"""`taxgate review`: a batch waiting for review is released only once every REVIEW is settled."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner, Result

from taxgate.cli.main import app
from taxgate.config import Settings
from taxgate.disclose.response import MANIFEST_FILE, RESPONSES_FILE
from taxgate.errors import TaxgateError
from taxgate.formats.manifest import RequestManifest
from taxgate.formats.signing import file_sha256
from taxgate.formats.tables import read_table
from taxgate.ledger import recorder
from taxgate.ledger.audit import verify_log
from taxgate.ledger.database import open_ledger
from taxgate.ledger.log import stored_note, tree_size
from taxgate.ledger.secret import load_or_create_secret
from taxgate.match.master import connect
from taxgate.pipeline import DECISIONS_FILE, VERDICTS_FILE
from tests.decide.test_reviews import BETWEEN_THRESHOLDS
from tests.decide.test_rules import B
from tests.disclose.test_response import LAST_KNOWN, batch_of_four
from tests.support import valid_row


def waiting_batch(make_batch, policy, tmp_path: Path) -> tuple[Path, Path, Path]:
    """A processed batch whose row 2 awaits review, and a home holding the last known addresses."""
    manifest = make_batch([valid_row(subject_id=f"S-{i}") for i in range(1, 5)])
    verdicts, decisions = batch_of_four(policy, probability=BETWEEN_THRESHOLDS)
    out, home = tmp_path / "answer", tmp_path / "home"
    out.mkdir()
    pq.write_table(verdicts, out / VERDICTS_FILE)
    pq.write_table(decisions, out / DECISIONS_FILE)
    con = connect(home)
    con.register("lk", LAST_KNOWN)
    con.execute("CREATE TABLE last_known AS SELECT * FROM lk")
    con.close()
    record_as_processed(manifest, verdicts, decisions, home)
    return manifest, out, home


def resolve(out: Path, outcome: str, note: str) -> Result:
    """An officer settles row 2 of `waiting_batch`."""
    return CliRunner().invoke(app, ["review", "resolve", str(out), "S-2", "--outcome", outcome,
                                    "--officer", "Dana Officer", "--note", note])  # fmt: skip


def release(manifest: Path, out: Path, key: Path, home: Path) -> Result:
    return CliRunner().invoke(app, ["review", "release", str(manifest), "--out", str(out),
                                    "--key", str(key), "--home", str(home)])  # fmt: skip


def record_as_processed(manifest_path: Path, verdicts, decisions, home: Path) -> None:
    """Enter the batch in the ledger the way `taxgate process` leaves a batch awaiting review."""
    manifest = RequestManifest.load(manifest_path)
    subjects = read_table(manifest_path.parent / manifest.subjects_file, "subjects")
    ledger, secret = open_ledger(Settings().ledger_url(home)), load_or_create_secret(home)
    now = datetime.now(UTC)
    recorder.record_gate(
        ledger, manifest, file_sha256(manifest_path), subjects, verdicts, set(), secret, now
    )
    recorder.record_decisions(ledger, manifest.batch_id, decisions, secret, now)
    recorder.set_status(ledger, manifest.batch_id, "awaiting_review")
    ledger.dispose()


def test_release_waits_for_the_officer_then_discloses_the_last_known_address(
    make_batch, policy, disclosing_key, tmp_path: Path
) -> None:
    manifest, out, home = waiting_batch(make_batch, policy, tmp_path)
    key, _ = disclosing_key
    runner = CliRunner()
    release = ["review", "release", str(manifest), "--out", str(out), "--key", str(key),
               "--home", str(home)]  # fmt: skip

    listed = runner.invoke(app, ["review", "list", str(out)])
    assert listed.exit_code == 0 and "1 open review" in listed.output and "S-2" in listed.output

    early = runner.invoke(app, release)
    assert isinstance(early.exception, TaxgateError)
    assert "not resolved yet" in str(early.exception)
    assert not (out / MANIFEST_FILE).exists()

    resolved = runner.invoke(app, ["review", "resolve", str(out), "S-2", "--outcome",
                                   "CONFIRMED", "--officer", "Dana Officer", "--note",
                                   "date of birth and suffix checked"])  # fmt: skip
    assert resolved.exit_code == 0, resolved.output
    assert "0 review(s) still open" in resolved.output

    done = runner.invoke(app, release)
    assert done.exit_code == 0, done.output
    rows = {r["subject_id"]: r for r in read_table(out / RESPONSES_FILE, "responses").to_pylist()}
    assert rows["S-2"]["outcome"] == "CONFIRMED" and rows["S-2"]["street"] == "2 Oak St"
    assert rows["S-3"]["outcome"] == "NOT_CONFIRMED" and rows["S-3"]["street"] is None


def test_an_officer_may_refuse_the_review_and_nothing_is_disclosed(
    make_batch, policy, disclosing_key, tmp_path: Path
) -> None:
    manifest, out, home = waiting_batch(make_batch, policy, tmp_path)
    key, _ = disclosing_key
    resolve(out, "NOT_CONFIRMED", "another person")
    done = release(manifest, out, key, home)
    assert done.exit_code == 0, done.output
    responses = read_table(out / RESPONSES_FILE, "responses").to_pylist()
    assert [r["outcome"] for r in responses] == [
        "REJECTED", "NOT_CONFIRMED", "NOT_CONFIRMED", "NOT_CONFIRMED",
    ]  # fmt: skip
    assert all(r["street"] is None for r in responses)


def test_release_refuses_a_batch_the_ledger_never_saw(
    make_batch, policy, disclosing_key, tmp_path: Path
) -> None:
    manifest, out, _ = waiting_batch(make_batch, policy, tmp_path)
    key, _ = disclosing_key
    resolve(out, "NOT_CONFIRMED", "another person")
    elsewhere = tmp_path / "other-home"  # a ledger that never processed this batch
    refused = release(manifest, out, key, elsewhere)
    assert isinstance(refused.exception, TaxgateError)
    assert "not awaiting review: the ledger holds no record of it" in str(refused.exception)
    assert not (out / MANIFEST_FILE).exists()


def test_release_refuses_a_manifest_changed_after_processing(
    make_batch, policy, disclosing_key, tmp_path: Path
) -> None:
    """The same batch id, another recipient: the response is signed for the manifest the batch
    arrived with or not at all."""
    manifest, out, home = waiting_batch(make_batch, policy, tmp_path)
    key, _ = disclosing_key
    resolve(out, "CONFIRMED", "checked")
    swapped = RequestManifest.load(manifest).model_copy(update={"requesting_agency": "Other"})
    swapped.save(manifest)
    refused = release(manifest, out, key, home)
    assert isinstance(refused.exception, TaxgateError)
    assert "not the one batch" in str(refused.exception)
    assert not (out / MANIFEST_FILE).exists()


def _confirm_s3_in_the_file(out: Path) -> None:
    """S-3, ambiguous and NOT_CONFIRMED in the ledger, turned CONFIRMED as its runner-up."""
    decisions = pq.read_table(out / DECISIONS_FILE).to_pylist()
    for d in decisions:
        if d["subject_id"] == "S-3":
            d.update(outcome="CONFIRMED", reasons=None, tin=B)
    schema = pq.read_schema(out / DECISIONS_FILE)
    pq.write_table(pa.Table.from_pylist(decisions, schema=schema), out / DECISIONS_FILE)


def _let_s1_through_in_the_file(out: Path) -> None:
    """S-1, refused by the gate, marked as proceeding."""
    verdicts = pq.read_table(out / VERDICTS_FILE)
    proceed = pa.array([True] * verdicts.num_rows)
    at = verdicts.schema.get_field_index("proceed")
    pq.write_table(verdicts.set_column(at, "proceed", proceed), out / VERDICTS_FILE)


@pytest.mark.parametrize("edit", [_confirm_s3_in_the_file, _let_s1_through_in_the_file])
def test_release_answers_from_the_ledger_not_from_edited_files_in_out(
    make_batch, policy, disclosing_key, tmp_path: Path, edit
) -> None:
    """decisions.parquet and verdicts.parquet in --out are copies for the officer: an edit
    there changes nothing the response says."""
    manifest, out, home = waiting_batch(make_batch, policy, tmp_path)
    key, _ = disclosing_key
    edit(out)
    resolve(out, "CONFIRMED", "checked")
    done = release(manifest, out, key, home)
    assert done.exit_code == 0, done.output
    rows = {r["subject_id"]: r for r in read_table(out / RESPONSES_FILE, "responses").to_pylist()}
    assert rows["S-1"]["outcome"] == "REJECTED"
    assert rows["S-3"]["outcome"] == "NOT_CONFIRMED" and rows["S-3"]["street"] is None
    assert rows["S-2"]["outcome"] == "CONFIRMED"


def test_a_release_killed_before_its_checkpoint_is_signed_by_the_next_release(
    make_batch, policy, disclosing_key, tmp_path: Path, monkeypatch
) -> None:
    manifest, out, home = waiting_batch(make_batch, policy, tmp_path)
    key, _ = disclosing_key
    runner = CliRunner()
    resolve(out, "NOT_CONFIRMED", "another person")
    release = ["review", "release", str(manifest), "--out", str(out), "--key", str(key),
               "--home", str(home)]  # fmt: skip

    def killed(*_args, **_kwargs):
        raise SystemExit(-9)  # the process dies between recording the release and signing

    with monkeypatch.context() as patch:
        patch.setattr("taxgate.pipeline.checkpoint", killed)
        runner.invoke(app, release)
    engine = open_ledger(Settings().ledger_url(home))
    try:
        before = verify_log(engine, {}, unsigned_grace=timedelta(0), now=datetime.now(UTC))
        assert before.unsigned_events > 0  # the release's events are unsigned

        again = runner.invoke(app, release)
        assert isinstance(again.exception, TaxgateError)
        assert "not awaiting review" in str(again.exception)
        with engine.connect() as conn:
            assert stored_note(conn, tree_size(conn)) is not None  # ...but now signed
    finally:
        engine.dispose()
