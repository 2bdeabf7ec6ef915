"""Self-contained HTML pages with Vega-Lite charts: they open offline, with nothing fetched.

A model card, a decision's waterfall or an accounting report may be read on a machine with no
network (a courtroom laptop), so the Vega, Vega-Lite and Vega-Embed libraries that Splink
vendors are inlined once per page and each chart's spec is embedded beside them.
"""

from __future__ import annotations

import html
import json
from typing import Any

from splink.internals.html_utils import load_chart_libraries

LIBRARIES = ("vega", "vega-lite", "vega-embed")
PAGE_STYLE = (
    "body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}"
    "td,th{border:1px solid #ccc;padding:2px 8px}td.n{text-align:right}"
)


def script_tag(source: str) -> str:
    # A literal "</script" inside the library would end the element early.
    return "<script>" + source.replace("</script", "<\\/script") + "</script>"


def embed_chart(div: str, spec: dict[str, Any]) -> str:
    """A div and the script that draws `spec` into it, or says why it could not."""
    payload = json.dumps(spec, default=float).replace("</", "<\\/")
    return (
        f'<div id="{div}"></div>\n'
        f"<script>vegaEmbed(document.getElementById('{div}'), {payload}, "
        "{actions: false}).catch(function (err) {"
        f"document.getElementById('{div}').textContent = 'Chart error: ' + err;"
        "});</script>"
    )


def offline_page(title: str, body: str) -> str:
    """A whole HTML document: `body` (already escaped HTML) after the inlined libraries."""
    libraries = load_chart_libraries()
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title><style>{PAGE_STYLE}</style>\n"
        + "\n".join(script_tag(libraries[name]) for name in LIBRARIES)
        + f"\n</head><body>\n{body}\n</body></html>\n"
    )
