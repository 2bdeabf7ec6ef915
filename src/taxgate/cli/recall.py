"""`taxgate recall plan|issue|ack`: recall disclosures a revised policy would not have made."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import typer

from taxgate.cli.console import console, plain, show_fields
from taxgate.cli.signing import KEY_HELP, sign_log
from taxgate.config import get_settings
from taxgate.ledger.audit import unsigned_events
from taxgate.ledger.database import open_ledger
from taxgate.ledger.recall import acknowledge, issue_recall, outstanding_recalls, plan_recall
from taxgate.policy import load_policy

HOME_HELP = "taxgate home (env TAXGATE_HOME); TAXGATE_DATABASE_URL overrides its ledger file."

recall_app = typer.Typer(
    help="Recall disclosures: plan under a revised policy, issue a signed notice, acknowledge.",
    no_args_is_help=True,
)


def _ledger(home: Path | None):
    settings = get_settings()
    return open_ledger(settings.ledger_url(home or settings.home))


def _outstanding(engine) -> None:
    waiting = outstanding_recalls(engine)
    console.print(f"{len(waiting)} recall notice(s) outstanding (not yet acknowledged)")
    for s in waiting:
        console.print(
            plain(f"  {s.notice_id} issued {s.issued_at:%Y-%m-%d}: {s.items} disclosure(s)")
        )


@recall_app.command("plan")
def plan(
    policy: Path = typer.Option(..., "--policy", help="The revised policy TOML to replay."),
    out: Path = typer.Option(..., "--out", help="Where to write the plan (JSON)."),
    recipient: str | None = typer.Option(
        None, "--recipient", help="Only disclosures to this agency (a notice goes to one)."
    ),
    home: Path | None = typer.Option(None, "--home", help=HOME_HELP),
) -> None:
    """Replay a revised policy over past disclosures; list those it would not have made.

    Example: taxgate recall plan --policy agreement-2025.3.toml --out recall-plan.json
    """
    revised = load_policy(policy)
    engine = _ledger(home)
    try:
        result = plan_recall(engine, revised, recipient_agency=recipient)
    finally:
        engine.dispose()
    path = result.save(out)
    reasons = Counter(c for i in result.items for c in (*i.gate_reasons, *i.decision_reasons))
    show_fields(
        ("policy", f"{result.policy_version} ({result.policy_sha256})"),
        ("checked", f"{result.disclosures_checked} disclosure(s) not yet recalled"),
        ("to recall", len(result.items)),
        *((f"  {code}", n) for code, n in sorted(reasons.items())),
        ("plan", f"{path} (sha256 {result.plan_sha256})"),
    )
    for gap in result.not_replayable:
        console.print(
            plain(
                f"not replayable: batch {gap.batch_id}, {gap.disclosures} disclosure(s), "
                f"{gap.rules} rules: {gap.why}"
            ),
            highlight=False,
        )
    if result.items:
        console.print(plain(f"issue it: taxgate recall issue {path} --key KEY --out DIR"))


@recall_app.command("issue")
def issue(
    plan_path: Path = typer.Argument(..., help="The plan `taxgate recall plan` wrote."),
    key: Path = typer.Option(..., "--key", help="The disclosing agency's private signing key."),
    out: Path = typer.Option(..., "--out", help="Directory for the signed notice."),
    home: Path | None = typer.Option(None, "--home", help=HOME_HELP),
) -> None:
    """Sign the disposal notice for a plan and record the recall; a plan is issued once.

    Example: taxgate recall issue recall-plan.json --key keys/ed25519_x.key --out notices
    """
    engine = _ledger(home)
    try:
        unsigned_at_start = unsigned_events(engine)
        path = issue_recall(engine, plan_path, key, out)
        console.print(plain(f"notice signed and recorded: {path}"))
        sign_log(engine, key, unsigned_at_start)
        _outstanding(engine)
    finally:
        engine.dispose()


@recall_app.command("ack")
def ack(
    notice: Path = typer.Argument(..., help="The notice file as issued."),
    by: str = typer.Option(..., "--by", help="Who acknowledged disposal for the recipient."),
    key: Path = typer.Option(..., "--key", help=KEY_HELP),
    home: Path | None = typer.Option(None, "--home", help=HOME_HELP),
) -> None:
    """Record the recipient's acknowledgement that it disposed of what a notice recalls.

    The acknowledgement is logged and the log signed before the command ends.
    Example: taxgate recall ack notices/RECALL-0123456789abcdef.json --by "Requesting Agency"
    --key keys/ed25519_x.key
    """
    engine = _ledger(home)
    try:
        unsigned_at_start = unsigned_events(engine)
        status = acknowledge(engine, notice, by)
        sign_log(engine, key, unsigned_at_start)
        console.print(
            plain(
                f"{status.notice_id} acknowledged by {status.acknowledged_by} at "
                f"{status.acknowledged_at:%Y-%m-%d %H:%M} UTC"
            )
        )
        _outstanding(engine)
    finally:
        engine.dispose()


def register(app: typer.Typer) -> None:
    app.add_typer(recall_app, name="recall")
