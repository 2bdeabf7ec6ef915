"""Splink's waterfall chart for one decision, rebuilt from the explanation the decision kept.

The explanation stores each comparison's level and whole match weight (base weight plus any
term-frequency adjustment) but no compared values; the frozen model gives each level's base
weight, so the term-frequency part is the difference. The chart therefore shows weights only
(Splink's `remove_sensitive_data`), which is what may travel to a court or an auditor.
"""

from __future__ import annotations

import html
import json
import math
from typing import Any

from splink import SettingsCreator
from splink.internals.charts import WaterfallChart
from splink.internals.waterfall_chart import records_to_waterfall_data

from taxgate.errors import TaxgateError
from taxgate.formats.charts import embed_chart, offline_page

GAMMA_PREFIX = "gamma_"
TF_PREFIX = "mw_tf_adj_"


def _settings(model: dict[str, Any]) -> Any:
    return SettingsCreator.from_path_or_dict(model).get_settings("duckdb")


def waterfall_record(settings: Any, candidate: dict[str, Any]) -> dict[str, Any]:
    """The record Splink's waterfall reads (gamma and TF weight per comparison, total weight)."""
    levels, weights = candidate.get("levels", {}), candidate.get("weights", {})
    record: dict[str, Any] = {"match_weight": candidate["match_weight"]}
    for comparison in settings.comparisons:
        name = comparison.output_column_name
        if name not in levels:
            raise TaxgateError(
                f"the explanation has no level for comparison {name!r}",
                "Explain the decision with the model that made it (its SHA-256 is on the "
                "decision).",
            )
        gamma = levels[name]
        record[f"{GAMMA_PREFIX}{name}"] = gamma
        level = comparison._get_comparison_level_by_comparison_vector_value(gamma)
        whole = weights.get(name)
        adjusted = (
            level._has_tf_adjustments
            and whole is not None
            and not level.is_null_level
            and math.isfinite(level._log2_bayes_factor)
        )
        record[f"{TF_PREFIX}{name}"] = whole - level._log2_bayes_factor if adjusted else 0.0
    return record


def waterfall_spec(model: dict[str, Any], candidates: list[dict[str, Any]]) -> dict[str, Any]:
    """Splink's Vega-Lite waterfall over the given explanation candidates (one bar set each)."""
    settings = _settings(model)
    records = [waterfall_record(settings, c) for c in candidates]
    data = records_to_waterfall_data(records, settings, hide_details=True)
    return WaterfallChart(data, filter_nulls=True).chart_dict


def waterfall_html(model: dict[str, Any], decision: dict[str, Any]) -> str:
    """A self-contained page: the decision, then a waterfall per shown candidate taxpayer."""
    document = json.loads(decision.get("explanation") or "{}")
    candidates = document.get("candidates", [])
    if not candidates:
        raise TaxgateError(
            f"subject {decision.get('subject_id')!r} had no candidate taxpayer; "
            "there is no weight to chart",
            "Nothing to draw: the decision is NOT_CONFIRMED (NO_CANDIDATES).",
        )
    sections = []
    for i, candidate in enumerate(candidates):
        spec = waterfall_spec(model, [candidate])
        sections.append(
            f"<h2>candidate #{candidate['rank']}: taxpayer {html.escape(str(candidate['tin']))}"
            f" (match weight {candidate['match_weight']:+.2f})</h2>\n"
            + embed_chart(f"waterfall-{i}", spec)
        )
    title = f"taxgate decision: row {decision.get('row')} {decision.get('subject_id') or ''}"
    body = (
        f"<h1>{html.escape(title)}</h1>\n<p>outcome <b>{html.escape(str(decision['outcome']))}"
        f"</b>; reasons {html.escape(str(decision.get('reasons') or '-'))}; policy "
        f"{html.escape(str(decision['policy_version']))} "
        f"(<code>{decision['policy_sha256']}</code>); model <code>{decision['model_sha256']}"
        "</code>. Compared values are not shown: the decision keeps weights only.</p>\n"
        + "\n".join(sections)
    )
    return offline_page(title, body)
