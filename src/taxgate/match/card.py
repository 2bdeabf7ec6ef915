"""An HTML model card that opens offline: the charts' Vega libraries are inlined, not fetched.

Splink's own `to_html(inline=True)` embeds one chart per page; the card needs two charts and a
parameter table on one page, so it inlines the same vendored Vega, Vega-Lite and Vega-Embed
once and embeds each chart's Vega-Lite spec.
"""

from __future__ import annotations

import hashlib
import html
import json
import math
from pathlib import Path
from typing import Any

from splink import SettingsCreator
from splink.internals.html_utils import load_chart_libraries

LIBRARIES = ("vega", "vega-lite", "vega-embed")


def _script(source: str) -> str:
    # A literal "</script" inside the library would end the element early.
    return "<script>" + source.replace("</script", "<\\/script") + "</script>"


def _embed(div: str, spec: dict[str, Any]) -> str:
    payload = json.dumps(spec, default=float).replace("</", "<\\/")
    return (
        f'<div id="{div}"></div>\n'
        f"<script>vegaEmbed(document.getElementById('{div}'), {payload}, "
        "{actions: false}).catch(function (err) {"
        f"document.getElementById('{div}').textContent = 'Chart error: ' + err;"
        "});</script>"
    )


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


def card_html(model: dict[str, Any], model_sha256: str) -> str:
    settings = SettingsCreator.from_path_or_dict(model).get_settings("duckdb")
    charts = {
        "Match weights": settings.match_weights_chart().chart_dict,
        "m and u parameters": settings.m_u_parameters_chart().chart_dict,
    }
    libraries = load_chart_libraries()
    table = "\n".join(
        f"<tr><td>{html.escape(c)}</td><td>{g}</td><td>{html.escape(label)}</td>"
        f"<td>{m:.6g}</td><td>{u:.6g}</td><td>{w}</td></tr>"
        for c, g, label, m, u, w in parameter_rows(model)
    )
    sections = "\n".join(
        f"<h2>{html.escape(title)}</h2>\n{_embed(f'chart-{i}', spec)}"
        for i, (title, spec) in enumerate(charts.items())
    )
    prior = model["probability_two_random_records_match"]
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        "<title>taxgate match model card</title>"
        "<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}"
        "td,th{border:1px solid #ccc;padding:2px 8px}</style>\n"
        + "\n".join(_script(libraries[name]) for name in LIBRARIES)
        + "\n</head><body>\n<h1>taxgate match model</h1>\n"
        f"<p>model.json SHA-256 <code>{model_sha256}</code>; link type "
        f"{html.escape(model['link_type'])}; probability two random records match "
        f"{prior:.6g} (prior match weight {math.log2(prior / (1 - prior)):+.2f}).</p>\n"
        f"{sections}\n<h2>Parameters</h2>\n<table><tr><th>comparison</th><th>gamma</th>"
        f"<th>level</th><th>m</th><th>u</th><th>weight</th></tr>\n{table}\n</table>\n"
        "</body></html>\n"
    )


def write_card(model: dict[str, Any], path: Path) -> Path:
    text = json.dumps(model, indent=2) + "\n"
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
    path.write_text(card_html(model, digest), encoding="utf-8")
    return path
