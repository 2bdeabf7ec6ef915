"""An HTML model card that opens offline: Splink's match-weight and m/u charts on one page.

Splink's own `to_html(inline=True)` embeds one chart per page; the card needs two charts and a
parameter table on one page (taxgate.formats.charts inlines the libraries once).
"""

from __future__ import annotations

import hashlib
import html
import json
import math
from pathlib import Path
from typing import Any

from splink import SettingsCreator

from taxgate.formats.charts import embed_chart, offline_page


def _weight(m: float, u: float) -> str:
    return f"{math.log2(m / u):+.2f}" if m > 0 and u > 0 else "n/a"


def parameter_rows(model: dict[str, Any]) -> list[tuple[str, int, str, float, float, str]]:
    """(comparison, gamma, level, m, u, match weight) for every non-null level."""
    rows = []
    for comparison in model["comparisons"]:
        levels = [lv for lv in comparison["comparison_levels"] if not lv.get("is_null_level")]
        for gamma, level in zip(range(len(levels) - 1, -1, -1), levels, strict=True):
            m, u = level["m_probability"], level["u_probability"]
            label = level.get("label_for_charts") or level["sql_condition"]
            rows.append((comparison["output_column_name"], gamma, label, m, u, _weight(m, u)))
    return rows


def training_rows(training: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    """(blocking rule, kind, pairs, what happened) for every EM session, run or skipped."""
    rows = []
    for entry in training.get("em_sessions", []):
        pairs = f"{entry['pairs']:,}" if "pairs" in entry else ""
        outcome = entry.get("skipped") or "estimated m of " + ", ".join(entry["estimated"])
        rows.append((entry["blocking"], entry["kind"], pairs, outcome))
    return rows


def _training_section(training: dict[str, Any]) -> str:
    if not training:
        return ""
    table = "\n".join(
        "<tr>" + "".join(f"<td>{html.escape(cell)}</td>" for cell in row) + "</tr>"
        for row in training_rows(training)
    )
    defaults = training.get("default_m") or []
    note = (
        f"<p>No session estimated m of {html.escape(', '.join(defaults))}: Splink's default "
        "m applies (most on the top level).</p>\n"
        if defaults
        else ""
    )
    sampled = training.get("taxpayers_sampled")
    scope = f"the filings of {sampled:,} taxpayers" if sampled else "the master's filings"
    return (
        f"<h2>Training</h2>\n<p>Expectation maximisation sessions on {scope}, in "
        "order (each blocking rule's pairs estimate the comparisons it does not fix).</p>\n"
        "<table><tr><th>blocking</th><th>kind</th><th>pairs</th><th>outcome</th></tr>\n"
        f"{table}\n</table>\n{note}"
    )


def card_html(
    model: dict[str, Any], model_sha256: str, training: dict[str, Any] | None = None
) -> str:
    settings = SettingsCreator.from_path_or_dict(model).get_settings("duckdb")
    charts = {
        "Match weights": settings.match_weights_chart().chart_dict,
        "m and u parameters": settings.m_u_parameters_chart().chart_dict,
    }
    table = "\n".join(
        f"<tr><td>{html.escape(c)}</td><td>{g}</td><td>{html.escape(label)}</td>"
        f"<td>{m:.6g}</td><td>{u:.6g}</td><td>{w}</td></tr>"
        for c, g, label, m, u, w in parameter_rows(model)
    )
    sections = "\n".join(
        f"<h2>{html.escape(title)}</h2>\n{embed_chart(f'chart-{i}', spec)}"
        for i, (title, spec) in enumerate(charts.items())
    )
    prior = model["probability_two_random_records_match"]
    body = (
        "<h1>taxgate match model</h1>\n"
        f"<p>model.json SHA-256 <code>{model_sha256}</code>; link type "
        f"{html.escape(model['link_type'])}; probability two random records match "
        f"{prior:.6g} (prior match weight {math.log2(prior / (1 - prior)):+.2f}).</p>\n"
        f"{_training_section(training or {})}{sections}\n"
        "<h2>Parameters</h2>\n<table><tr><th>comparison</th><th>gamma</th>"
        f"<th>level</th><th>m</th><th>u</th><th>weight</th></tr>\n{table}\n</table>"
    )
    return offline_page("taxgate match model card", body)


def write_card(
    model: dict[str, Any],
    path: Path,
    training: dict[str, Any] | None = None,
    model_json: str | None = None,
) -> Path:
    """The card of `model` (Splink settings); `model_json` is model.json's text, for its digest."""
    text = model_json if model_json is not None else json.dumps(model, indent=2) + "\n"
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
    path.write_text(card_html(model, digest, training), encoding="utf-8")
    return path
