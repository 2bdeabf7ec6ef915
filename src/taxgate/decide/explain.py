"""Show an officer why a subject was decided as it was: candidates side by side, field by field."""

from __future__ import annotations

import json

from rich.table import Table
from rich.text import Text

from taxgate.decide.contract import COMPARISONS
from taxgate.decide.outcomes import Decision

_OUTCOME_STYLE = {
    Decision.CONFIRMED.value: "bold green",
    Decision.REVIEW.value: "bold yellow",
    Decision.NOT_CONFIRMED.value: "bold red",
}
_WEIGHT_DIGITS = 2
_PROBABILITY_DIGITS = 6
_MARK = {True: "yes", False: "no", None: "-"}


def _weight(value: float | None) -> str:
    return "-" if value is None else f"{value:+.{_WEIGHT_DIGITS}f}"


def _level(candidate: dict, comparison: str) -> Text:
    """`level  weight`, coloured by whether the comparison spoke for (green) or against (red)."""
    weight = candidate.get("weights", {}).get(comparison)
    level = candidate.get("levels", {}).get(comparison)
    style = "dim" if not weight else "green" if weight > 0 else "red"
    return Text(f"{'null' if level is None or level < 0 else level}  {_weight(weight)}", style)


def explanation_table(decision_row: dict) -> Table:
    """A rich table of one decision: a column per candidate taxpayer, a row per comparison."""
    document = json.loads(decision_row.get("explanation") or "{}")
    candidates = document.get("candidates", [])
    outcome = str(decision_row.get("outcome", ""))
    title = Text.assemble(
        f"row {decision_row.get('row')}  {decision_row.get('subject_id') or ''}  ",
        (outcome, _OUTCOME_STYLE.get(outcome, "")),
    )
    caption_parts = [f"reasons: {decision_row.get('reasons') or '-'}"]
    caption_parts.append(
        f"policy {decision_row.get('policy_version')} "
        f"({str(decision_row.get('policy_sha256', ''))[:12]}), "
        f"model {str(decision_row.get('model_sha256', ''))[:12]}"
    )
    checks = document.get("checks") or {}
    if checks:
        caption_parts.append(
            ", ".join(
                f"{name}: {_MARK.get(v, v) if not isinstance(v, float) else f'{v:.2f}'}"
                for name, v in checks.items()
            )
        )
    shown = len(candidates)
    total = document.get("taxpayers", shown)
    if total > shown:
        caption_parts.append(f"{total - shown} more candidate taxpayer(s) not shown")
    table = Table(title=title, caption=Text("\n".join(caption_parts)), show_lines=False)
    table.add_column("field", style="bold")
    for candidate in candidates:
        table.add_column(Text(f"#{candidate['rank']} {candidate['tin']}"), justify="right")
    if not candidates:
        table.add_column("no candidate taxpayer")
        return table
    for comparison in COMPARISONS:
        table.add_row(
            comparison,
            *(_level(c, comparison) for c in candidates),
        )
    table.add_section()
    table.add_row("address record", *(str(c.get("address_id")) for c in candidates))
    table.add_row("match weight", *(_weight(c.get("match_weight")) for c in candidates))
    table.add_row(
        "probability",
        *(
            "-"
            if c.get("match_probability") is None
            else f"{c['match_probability']:.{_PROBABILITY_DIGITS}f}"
            for c in candidates
        ),
    )
    table.add_row(
        "address corroborated", *(_MARK[c.get("address_corroborated")] for c in candidates)
    )
    table.add_row("TIN exact", *(_MARK[c.get("tin_exact")] for c in candidates))
    table.add_row("same household/name+ZIP", *(_MARK[c.get("household")] for c in candidates))
    table.add_row("told apart", *(_MARK[c.get("distinguished")] for c in candidates))
    return table
