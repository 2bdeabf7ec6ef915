"""The two backends share the linker without importing each other."""

from __future__ import annotations

import subprocess
import sys


def test_the_spark_backend_does_not_import_the_duckdb_path() -> None:
    code = (
        "import sys, taxgate.match.spark; "
        "print('taxgate.match.predict' in sys.modules, 'taxgate.match.linking' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "True"]
