"""The gate must decide without taxpayer data: its code cannot reach the filings at all."""

from __future__ import annotations

import ast
from pathlib import Path

import taxgate.gate

GATE = Path(taxgate.gate.__file__).parent
FORBIDDEN = ("taxgate.world", "taxgate.match", "taxgate.decide", "taxgate.disclose")


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
        elif isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
    return names


def test_gate_modules_import_no_taxpayer_side_stage() -> None:
    modules = sorted(GATE.glob("*.py"))
    assert len(modules) >= 5
    for module in modules:
        for name in _imports(module):
            assert not name.startswith(FORBIDDEN), f"{module.name} imports {name}"


def test_gate_never_names_the_filings_table() -> None:
    for module in GATE.glob("*.py"):
        strings = [
            n.value
            for n in ast.walk(ast.parse(module.read_text()))
            if isinstance(n, ast.Constant) and isinstance(n.value, str)
        ]
        assert "filings" not in strings, module.name
