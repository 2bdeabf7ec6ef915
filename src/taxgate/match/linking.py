"""The link-only Splink linker both backends build: subjects on the left, taxpayer addresses on
the right, the master's term-frequency tables registered. Its own module so that the DuckDB
path (taxgate.match.predict) and the Spark path (taxgate.match.spark) share it without either
importing the other."""

from __future__ import annotations

import logging
from typing import Any

from splink import Linker

from taxgate.match import model
from taxgate.match.master import TF_COLUMNS

# Dataset names sort subjects first, so Splink puts them on the left (`_l`).
LEFT, RIGHT = "a_subjects", "b_addresses"
SUBJECT_KEYS = ("row", "subject_id")


def model_columns_sql(key: str) -> str:
    """The model's input columns, `key` as Splink's unique id."""
    columns = ", ".join(model.MODEL_COLUMNS)
    return f"{key} AS {model.UNIQUE_ID}, {columns}"


def linker_for(db_api: Any, tables: dict[str, Any], settings: dict[str, Any]) -> Linker:
    """A link-only linker on registered subjects and addresses with the master's TF tables."""
    left = db_api.register(tables[LEFT], dataset_display_name=LEFT, table_name=LEFT + "_in")
    right = db_api.register(tables[RIGHT], dataset_display_name=RIGHT, table_name=RIGHT + "_in")
    linker = Linker([left, right], settings, log_level=logging.ERROR)
    for column in TF_COLUMNS:
        frame = db_api.register(tables[f"tf_{column}"], table_name=f"master_tf_{column}")
        linker.table_management.register_term_frequency_lookup(frame, column)
    return linker
