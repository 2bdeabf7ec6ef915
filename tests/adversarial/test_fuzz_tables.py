"""The table readers take whatever bytes arrive: a table, or one FormatError, never a crash.

Hypothesis feeds read_table random bytes, random text, truncated valid files, wrong types,
nested and huge values, in all three formats and for every record kind. Bounded by
`max_examples` so CI stays fast; `deadline=None` because a shared machine has slow moments.
"""

from __future__ import annotations

import io
import json
import tempfile
from datetime import date
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from taxgate.errors import TaxgateError
from taxgate.formats.codes import Outcome
from taxgate.formats.records import RECORD_TYPES, Filing, ResponseRow, Subject, Truth
from taxgate.formats.tables import (
    EXTENSIONS,
    arrow_schema,
    columns,
    read_table,
    records_to_table,
    write_table,
)
from tests.support import valid_row

KINDS = sorted(RECORD_TYPES)
FUZZ = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
HUGE = 300_000  # characters: past the csv module's default field limit (131072)

kinds = st.sampled_from(KINDS)
extensions = st.sampled_from(EXTENSIONS)
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=40),
    st.sampled_from(["", " ", "\x00", "\ud7ff", "2024-02-30", "9" * 40, "1e309", "NaN", '"']),
)
json_values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=3), max_leaves=6)


def read(data: bytes, suffix: str, kind: str) -> pa.Table | None:
    """read_table on `data`: the table, or None for a FormatError; anything else propagates."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"t{suffix}"
        path.write_bytes(data)
        try:
            table = read_table(path, kind)
        except TaxgateError as exc:
            assert str(exc), "an error must say what was wrong"
            return None
    assert table.column_names == columns(kind)
    assert table.schema.equals(arrow_schema(kind), check_metadata=False)
    return table


SAMPLES = {
    "filings": Filing(tin="123456789", tax_year=2024, filed_on=date(2025, 4, 1), given_name="Ana",
                      family_name="Ruiz", street="1 Main St", city="Austin", state="TX",
                      zip="78701"),
    "subjects": Subject(**valid_row()),
    "responses": ResponseRow(subject_id="S-1", outcome=Outcome.NOT_CONFIRMED),
    "truth": Truth(subject_id="S-1", case="plain", expected_outcome=Outcome.NOT_CONFIRMED),
}  # fmt: skip


def test_every_kind_has_a_sample() -> None:
    assert set(SAMPLES) == set(KINDS)


def valid_bytes(kind: str, suffix: str, rows: int) -> bytes:
    """A file in `suffix` format that write_table produced for `rows` sample records."""
    schema = arrow_schema(kind)
    table = records_to_table([SAMPLES[kind]] * rows, kind) if rows else schema.empty_table()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"t{suffix}"
        write_table(table, path, kind)
        return path.read_bytes()


def parquet_bytes(table: pa.Table) -> bytes:
    sink = io.BytesIO()
    pq.write_table(table, sink)
    return sink.getvalue()


@FUZZ
@given(st.binary(max_size=2000), extensions, kinds)
def test_random_bytes_are_a_table_or_a_format_error(data: bytes, suffix: str, kind: str) -> None:
    read(data, suffix, kind)


@FUZZ
@given(st.text(max_size=500), st.sampled_from(["utf-8", "utf-16", "latin-1"]), kinds)
def test_random_text_as_csv_or_jsonl(text: str, encoding: str, kind: str) -> None:
    data = text.encode(encoding, "replace")
    for suffix in (".csv", ".jsonl"):
        read(data, suffix, kind)


@FUZZ
@given(
    kinds,
    st.lists(st.lists(st.one_of(st.none(), st.text(max_size=30)), max_size=20), max_size=5),
    st.booleans(),
)
def test_csv_with_the_right_header_and_random_values(kind, rows, quote_all) -> None:
    names = columns(kind)
    lines = [",".join(names)]
    for values in rows:
        cells = [(v or "").replace('"', '""') for v in values]
        cells = [f'"{c}"' if quote_all or any(ch in c for ch in ',"\n\r') else c for c in cells]
        lines.append(",".join(cells))
    read("\n".join(lines).encode("utf-8", "surrogatepass"), ".csv", kind)


@FUZZ
@given(kinds, st.lists(st.dictionaries(st.text(max_size=12), json_values, max_size=6), max_size=4))
def test_jsonl_with_random_objects(kind, objects) -> None:
    names = columns(kind)
    lines = []
    for obj in objects:
        # Half the keys are real column names, so typing and validation are reached too.
        obj = {names[hash(k) % len(names)] if len(k) % 2 else k: v for k, v in obj.items()}
        lines.append(json.dumps(obj, allow_nan=True))
    read("\n".join(lines).encode("utf-8", "surrogatepass"), ".jsonl", kind)


@FUZZ
@given(kinds, st.lists(json_values, max_size=4))
def test_jsonl_lines_that_are_not_objects(kind, values) -> None:
    data = "\n".join(json.dumps(v, allow_nan=True) for v in values)
    read(data.encode("utf-8", "surrogatepass"), ".jsonl", kind)


@FUZZ
@given(kinds, extensions, st.data())
def test_a_valid_file_truncated_anywhere(kind, suffix, data) -> None:
    full = valid_bytes(kind, suffix, 2)
    cut = data.draw(st.integers(min_value=0, max_value=len(full)))
    read(full[:cut], suffix, kind)


@FUZZ
@given(kinds, extensions, st.data())
def test_a_valid_file_with_bytes_flipped(kind, suffix, data) -> None:
    full = bytearray(valid_bytes(kind, suffix, data.draw(st.integers(0, 2))))
    if not full:
        return
    for _ in range(data.draw(st.integers(min_value=1, max_value=4))):
        at = data.draw(st.integers(min_value=0, max_value=len(full) - 1))
        full[at] = data.draw(st.integers(min_value=0, max_value=255))
    read(bytes(full), suffix, kind)


arrow_types = st.sampled_from(
    [
        pa.int8(),
        pa.int64(),
        pa.uint64(),
        pa.float64(),
        pa.bool_(),
        pa.string(),
        pa.large_string(),
        pa.binary(),
        pa.date32(),
        pa.timestamp("s"),
        pa.list_(pa.string()),
        pa.struct([("a", pa.int32())]),
        pa.null(),
        pa.dictionary(pa.int32(), pa.string()),
    ]
)


@FUZZ
@given(kinds, st.data())
def test_parquet_with_the_right_names_and_wrong_types(kind, data) -> None:
    names = columns(kind)
    n = data.draw(st.integers(min_value=0, max_value=3))
    arrays = {}
    for name in names:
        kind_of = data.draw(arrow_types)
        if pa.types.is_dictionary(kind_of):
            arrays[name] = pa.array(["x"] * n).dictionary_encode()
        else:
            arrays[name] = pa.nulls(n, kind_of) if data.draw(st.booleans()) else _filled(kind_of, n)
    if data.draw(st.booleans()) and names:
        arrays.pop(names[-1])  # a missing column
    if data.draw(st.booleans()):
        arrays["extra_column"] = pa.array(["x"] * n)
    read(parquet_bytes(pa.table(arrays)), ".parquet", kind)


def _filled(kind_of: pa.DataType, n: int) -> pa.Array:
    samples = {
        pa.int8(): -1,
        pa.int64(): 2**62,
        pa.uint64(): 2**63,
        pa.float64(): float("nan"),
        pa.bool_(): True,
        pa.string(): "2024-13-45",
        pa.large_string(): "x" * 1000,
        pa.binary(): b"\xff\xfe",
        pa.date32(): 0,
        pa.timestamp("s"): 0,
        pa.list_(pa.string()): ["a"],
        pa.struct([("a", pa.int32())]): {"a": 1},
        pa.null(): None,
    }
    value = samples[kind_of]
    if pa.types.is_date32(kind_of):
        return pa.array([value] * n, pa.int32()).cast(pa.date32())
    if pa.types.is_timestamp(kind_of):
        return pa.array([value] * n, pa.int64()).cast(kind_of)
    return pa.array([value] * n, kind_of)


def test_huge_fields_in_every_format() -> None:
    for kind in KINDS:
        names = columns(kind)
        big = "A" * HUGE
        header = ",".join(names).encode()
        read(header + b"\n" + (big + "," * (len(names) - 1)).encode(), ".csv", kind)
        read(json.dumps({names[0]: big}).encode(), ".jsonl", kind)
        read(parquet_bytes(pa.table({n: pa.array([big]) for n in names})), ".parquet", kind)


def test_a_huge_number_of_columns_and_a_deeply_nested_json() -> None:
    names = [f"c{i}" for i in range(5000)]
    read((",".join(names) + "\n" + ",".join(names)).encode(), ".csv", "subjects")
    read(b"[" * 100_000 + b"]" * 100_000, ".jsonl", "subjects")
    read(b'{"subject_id": ' + b"[" * 100_000 + b"]" * 100_000 + b"}", ".jsonl", "subjects")


def _bad_utf8_string_column(n: int) -> pa.Array:
    offsets = pa.array(list(range(n + 1)), pa.int32()).buffers()[1]
    return pa.Array.from_buffers(pa.string(), n, [None, offsets, pa.py_buffer(b"\x80" * n)])


def test_parquet_string_values_that_are_not_utf8_are_a_format_error() -> None:
    """Found by the fuzzing above: such a value crashed the reader with UnicodeDecodeError."""
    for kind in KINDS:
        table = records_to_table([SAMPLES[kind]], kind)
        first_string = next(f.name for f in table.schema if pa.types.is_string(f.type))
        index = table.schema.get_field_index(first_string)
        table = table.set_column(index, first_string, _bad_utf8_string_column(1))
        assert read(parquet_bytes(table), ".parquet", kind) is None


def test_a_parquet_column_name_that_is_not_utf8_is_a_format_error() -> None:
    marker = "zq" * 8
    data = parquet_bytes(pa.table({marker: pa.array(["x"])}))
    assert marker.encode() in data
    broken = data.replace(marker.encode(), b"\x80" + marker.encode()[1:])
    assert read(broken, ".parquet", "subjects") is None
