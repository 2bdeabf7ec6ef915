"""Read and write exchange tables as CSV, JSON Lines or Parquet, chosen by file extension.

Readers take whatever bytes arrive and either return a table with exactly the record's columns
(typed per its model) or raise one FormatError naming the file, the row and the field. Row
numbers count data records from 1; row 0 is a CSV header. Empty strings and nulls are the same
value ("empty") in every format, so a table survives a round trip through CSV unchanged. CSV
text that could start a spreadsheet formula is written with a leading quote and read back
without it (`formats.csvcells`).
"""

from __future__ import annotations

import csv
import io
import json
import re
import types
import typing
from collections.abc import Iterable
from datetime import date
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
from pydantic.fields import FieldInfo

from taxgate.errors import FormatError
from taxgate.formats.csvcells import restore, restore_array, write_arrow_csv
from taxgate.formats.records import RECORD_TYPES, Record

EXTENSIONS = (".csv", ".jsonl", ".parquet")
_FIX_FORMAT = "See docs/formats.md for the expected columns and values."


def _model(kind: str) -> type[Record]:
    try:
        return RECORD_TYPES[kind]
    except KeyError as exc:
        raise FormatError(
            f"unknown table kind '{kind}'", f"Use one of {sorted(RECORD_TYPES)}."
        ) from exc


def _arrow_type(annotation: object) -> pa.DataType:
    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is typing.Union:
        return _arrow_type(args[0])
    if typing.get_origin(annotation) is typing.Annotated:
        return _arrow_type(args[0])
    if annotation is int:
        return pa.int64()
    if annotation is date:
        return pa.date32()
    return pa.string()  # str and string enums


def _pattern(info: FieldInfo) -> str | None:
    annotation = info.annotation
    metadata = list(info.metadata)
    for arg in typing.get_args(annotation):
        metadata += getattr(arg, "__metadata__", ())
    metadata += getattr(annotation, "__metadata__", ())
    for item in metadata:
        if getattr(item, "pattern", None):
            return item.pattern
    return None


def arrow_schema(kind: str) -> pa.Schema:
    """The Arrow schema of a record kind: one column per model field, in model order."""
    model = _model(kind)
    return pa.schema(
        pa.field(name, _arrow_type(info.annotation), nullable=not info.is_required())
        for name, info in model.model_fields.items()
    )


def columns(kind: str) -> list[str]:
    return list(_model(kind).model_fields)


def _format_of(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix not in EXTENSIONS:
        raise FormatError(
            f"unsupported file extension '{suffix}'",
            f"Name the file with one of {', '.join(EXTENSIONS)}.",
            file=path,
        )
    return suffix


# ---------------------------------------------------------------- reading


def read_table(path: Path | str, kind: str, data: bytes | None = None) -> pa.Table:
    """Read one exchange table; raise FormatError with file, row and field on any defect.

    With `data` (the file's bytes, read once by `tablefile.read_beside`) nothing is opened:
    `path` then only chooses the format and names the file in messages.
    """
    raw_columns, n = read_columns(path, kind, data)
    return _conform(raw_columns, n, Path(path), kind)


def read_columns(
    path: Path | str, kind: str, data: bytes | None = None
) -> tuple[dict[str, list | pa.Array], int]:
    """The file's columns as read, before typing: the header and the file's structure are
    checked (FormatError), the values are not. A caller that quarantines bad rows reads this."""
    path = Path(path)
    suffix = _format_of(path)
    source = path if data is None else pa.BufferReader(data)
    try:
        fast = _csv_fast(source, kind, path) if suffix == ".csv" else None
        if suffix == ".parquet":
            raw_columns, n = _parquet_columns(source, path, kind)
        elif fast is not None:
            raw_columns, n = fast
        else:
            data = path.read_bytes() if data is None else data
            rows = (
                _csv_rows(data, path, kind) if suffix == ".csv" else _jsonl_rows(data, path, kind)
            )
            names = columns(kind)
            raw_columns = {name: [row.get(name) for row in rows] for name in names}
            n = len(rows)
    except FileNotFoundError as exc:
        raise FormatError("file not found", "Check the path.", file=path) from exc
    except IsADirectoryError as exc:
        raise FormatError("is a directory, not a table file", "Name a file.", file=path) from exc
    return raw_columns, n


def _csv_fast(
    source: Path | pa.BufferReader, kind: str, path: Path | None = None
) -> tuple[dict[str, pa.Array], int] | None:
    """Arrow's C++ reader for well-formed CSV; None sends the file to the exact Python reader.

    Both readers agree on every well-formed file (tests compare them); only the Python reader
    can say which row and field of a broken file is wrong, so any Arrow error falls back to it.
    """
    try:
        if isinstance(source, pa.BufferReader):
            source.seek(0)
        table = pacsv.read_csv(
            source,
            parse_options=pacsv.ParseOptions(newlines_in_values=True),
            convert_options=pacsv.ConvertOptions(
                column_types=dict.fromkeys(columns(kind), pa.string()),
                strings_can_be_null=True,
                quoted_strings_can_be_null=True,
                null_values=[""],
                check_utf8=True,
            ),
        )
        raw_names = table.column_names
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, UnicodeDecodeError):
        return None
    names = _header(raw_names, path or Path(str(source)), kind)
    if any(not pa.types.is_string(t) for t in table.schema.types):
        return None  # a column Arrow typed by itself: let the exact reader judge the header
    table = table.rename_columns(names)
    return {
        name: restore_array(table.column(name).combine_chunks()) for name in names
    }, table.num_rows


def _header(names: list[str], path: Path, kind: str) -> list[str]:
    expected = columns(kind)
    clean = [n.strip().lstrip("\ufeff") for n in names]
    for name in clean:
        if name not in expected:
            raise FormatError(
                f"unknown column '{name}' in the header (row 0)",
                f"The {kind} columns are: {', '.join(expected)}.",
                file=path,
                row=0,
                field=name,
            )
    seen: set[str] = set()
    for name in clean:
        if name in seen:
            raise FormatError(
                f"column '{name}' appears twice in the header (row 0)",
                "Remove one.",
                file=path,
                row=0,
                field=name,
            )
        seen.add(name)
    missing = [n for n in expected if n not in seen]
    if missing:
        raise FormatError(
            f"the header (row 0) lacks column(s) {', '.join(missing)}",
            "Add them; leave values empty where unknown.",
            file=path,
            row=0,
            field=missing[0],
        )
    return clean


def _has_bad_bytes(value: str) -> bool:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _csv_rows(data: bytes, path: Path, kind: str) -> list[dict[str, str | None]]:
    try:
        text, checked = data.decode("utf-8"), True
    except UnicodeDecodeError:
        text, checked = data.decode("utf-8", errors="surrogateescape"), False
    text = text.removeprefix("\ufeff")
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    rows: list[dict[str, str | None]] = []
    names: list[str] | None = None
    try:
        for record in reader:
            if names is None:
                if not checked:
                    for value in record:
                        if _has_bad_bytes(value):
                            raise FormatError(
                                "the header (row 0) is not valid UTF-8",
                                "Save the file as UTF-8.",
                                file=path,
                                row=0,
                            )
                names = _header(record, path, kind)
                continue
            if not record:
                continue  # blank line
            row_no = len(rows) + 1
            if len(record) != len(names):
                raise FormatError(
                    f"has {len(record)} fields but the header has {len(names)}",
                    "Quote values that contain commas; one record per line.",
                    file=path,
                    row=row_no,
                )
            if not checked:
                for name, value in zip(names, record, strict=True):
                    if _has_bad_bytes(value):
                        raise FormatError(
                            "is not valid UTF-8",
                            "Save the file as UTF-8.",
                            file=path,
                            row=row_no,
                            field=name,
                        )
            rows.append(
                {n: (restore(v) if v != "" else None) for n, v in zip(names, record, strict=True)}
            )
    except csv.Error as exc:
        raise FormatError(
            f"broken CSV at line {reader.line_num} ({exc})",
            "Check the quoting of that record.",
            file=path,
            row=len(rows) + 1,
        ) from exc
    if names is None:
        raise FormatError(
            "is empty: no header row",
            f"The {kind} file starts with a header row.",
            file=path,
            row=0,
        )
    return rows


def _jsonl_rows(data: bytes, path: Path, kind: str) -> list[dict[str, str | None]]:
    expected = set(columns(kind))
    rows: list[dict[str, str | None]] = []
    for line in data.split(b"\n"):
        if not line.strip():
            continue
        row_no = len(rows) + 1
        try:
            obj = json.loads(line.decode("utf-8"))
        except UnicodeDecodeError as exc:
            raise FormatError(
                "is not valid UTF-8", "Save the file as UTF-8.", file=path, row=row_no
            ) from exc
        except (json.JSONDecodeError, RecursionError) as exc:
            raise FormatError(
                f"is not a JSON object ({exc})",
                "Write one JSON object per line.",
                file=path,
                row=row_no,
            ) from exc
        if not isinstance(obj, dict):
            raise FormatError(
                f"is a JSON {type(obj).__name__}, not an object",
                "Write one JSON object per line.",
                file=path,
                row=row_no,
            )
        row: dict[str, str | None] = {}
        for key, value in obj.items():
            if key not in expected:
                raise FormatError(
                    f"unknown field '{key}'", _FIX_FORMAT, file=path, row=row_no, field=key
                )
            if isinstance(value, dict | list):
                raise FormatError(
                    "holds a nested JSON value",
                    "Use a plain string, number or null.",
                    file=path,
                    row=row_no,
                    field=key,
                )
            if value is None or value == "":
                row[key] = None
            elif isinstance(value, str):
                if _has_bad_bytes(value):  # lone surrogates from \\ud800-style escapes
                    raise FormatError(
                        "holds an invalid Unicode escape",
                        "Fix the text.",
                        file=path,
                        row=row_no,
                        field=key,
                    )
                row[key] = value
            else:
                row[key] = json.dumps(value)
        rows.append(row)
    return rows


def _parquet_columns(
    source: Path | pa.BufferReader, path: Path, kind: str
) -> tuple[dict[str, pa.Array], int]:
    try:
        table = pq.read_table(source)
        table.validate(full=True)  # a string column or name that is not UTF-8 is refused here
        table.column_names  # noqa: B018 (decodes the names)
    except (pa.ArrowException, OSError, UnicodeDecodeError) as exc:
        if isinstance(exc, FileNotFoundError | IsADirectoryError):
            raise
        raise FormatError(
            f"is not a readable Parquet file ({exc})", "Write it again as Parquet.", file=path
        ) from exc
    _header(table.column_names, path, kind)
    return {name: table.column(name).combine_chunks() for name in table.column_names}, len(table)


# ---------------------------------------------------------------- typing


def _conform(raw: dict[str, list | pa.Array], n: int, path: Path, kind: str) -> pa.Table:
    model = _model(kind)
    schema = arrow_schema(kind)
    arrays = []
    for field in schema:
        values = raw[field.name]
        info = model.model_fields[field.name]
        array = _typed(values, field, path)
        if not field.nullable and array.null_count:
            row = _first_true(pc.is_null(array))
            raise FormatError(
                "is empty but required", _FIX_FORMAT, file=path, row=row, field=field.name
            )
        pattern = _pattern(info)
        if pattern and pa.types.is_string(field.type):
            ok = pc.match_substring_regex(array, pattern)
            bad = pc.invert(pc.fill_null(ok, True))
            if pc.any(bad).as_py():
                row = _first_true(bad)
                raise FormatError(
                    f"value {array[row - 1].as_py()!r} does not match {pattern}",
                    _FIX_FORMAT,
                    file=path,
                    row=row,
                    field=field.name,
                )
        arrays.append(array)
    table = pa.Table.from_arrays(arrays, schema=schema)
    if kind in ("responses", "truth") and n:
        _validate_rows(table, path, kind)
    return table


def conform(raw: dict[str, list | pa.Array], n: int, path: Path, kind: str) -> pa.Table:
    """Type columns read by `read_columns` (or one chunk of them) as `read_table` does."""
    return _conform(raw, n, path, kind)


def check_header(names: list[str], path: Path, kind: str) -> list[str]:
    """The header's names, stripped; FormatError for an unknown, repeated or missing column."""
    return _header(names, path, kind)


def field_pattern(info: FieldInfo) -> str | None:
    """The regular expression a text field must match, if its model declares one."""
    return _pattern(info)


def _first_true(mask: pa.Array) -> int:
    return int(pc.index(mask, True).as_py()) + 1


def _typed(values: list | pa.Array, field: pa.Field, path: Path) -> pa.Array:
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    if isinstance(values, pa.Array):
        if values.type == field.type:
            return _empty_as_null(values) if pa.types.is_string(field.type) else values
        if pa.types.is_binary(values.type) or pa.types.is_large_binary(values.type):
            values = [_decode(v, i, field.name, path) for i, v in enumerate(values.to_pylist())]
        elif pa.types.is_string(values.type) or pa.types.is_large_string(values.type):
            values = values.to_pylist()
        elif pa.types.is_date(values.type) or pa.types.is_timestamp(values.type):
            values = [None if v is None else v.isoformat()[:10] for v in values.to_pylist()]
        else:
            try:
                values = [None if v is None else str(v) for v in values.to_pylist()]
            except (pa.ArrowException, ValueError) as exc:
                raise FormatError(
                    f"has unusable type {values.type}", _FIX_FORMAT, file=path, field=field.name
                ) from exc
        values = [None if v is None or v == "" else v for v in values]
    if pa.types.is_string(field.type):
        return pa.array(values, pa.string())
    out = []
    for i, v in enumerate(values):
        out.append(None if v is None else _parse_scalar(v, field, path, i + 1))
    return pa.array(out, field.type)


def _empty_as_null(array: pa.Array) -> pa.Array:
    return pc.if_else(pc.equal(array, ""), pa.scalar(None, array.type), array)


def _decode(value: bytes | None, i: int, name: str, path: Path) -> str | None:
    if value is None:
        return None
    try:
        return value.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise FormatError(
            "is not valid UTF-8", "Write text as UTF-8.", file=path, row=i + 1, field=name
        ) from exc


_INT = re.compile(r"^\s*[+-]?\d{1,18}\s*$")  # 18 digits always fit in int64
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _parse_scalar(value: str, field: pa.Field, path: Path, row: int) -> int | date:
    text = str(value).strip()
    if pa.types.is_integer(field.type):
        if _INT.match(text):
            return int(text)
        what = "a whole number"
    else:
        if _ISO_DATE.match(text):
            try:
                return date.fromisoformat(text)
            except ValueError:
                pass
        what = "a date YYYY-MM-DD"
    raise FormatError(
        f"value {value!r} is not {what}", _FIX_FORMAT, file=path, row=row, field=field.name
    )


def _validate_rows(table: pa.Table, path: Path, kind: str) -> None:
    """Cross-field rules (e.g. what a NOT_CONFIRMED response may carry) live in the models."""
    model = _model(kind)
    for i, row in enumerate(table.to_pylist(), start=1):
        try:
            model.model_validate(row)
        except ValueError as exc:
            first = exc.errors()[0] if hasattr(exc, "errors") else {}
            loc = ".".join(str(p) for p in first.get("loc", ())) or None
            raise FormatError(
                first.get("msg", str(exc)), _FIX_FORMAT, file=path, row=i, field=loc
            ) from exc


# ---------------------------------------------------------------- writing


def records_to_table(records: Iterable[Record | dict], kind: str) -> pa.Table:
    rows = [r.model_dump() if isinstance(r, Record) else r for r in records]
    schema = arrow_schema(kind)
    return pa.Table.from_pylist(
        [{k: (str(v) if hasattr(v, "value") else v) for k, v in r.items()} for r in rows],
        schema=schema,
    )


def write_table(table: pa.Table, path: Path | str, kind: str) -> Path:
    """Write a table in the format its extension names; columns conform to `kind` first."""
    path = Path(path)
    suffix = _format_of(path)
    table = table.select(columns(kind)).cast(arrow_schema(kind))
    path.parent.mkdir(parents=True, exist_ok=True)
    if suffix == ".parquet":
        pq.write_table(table, path, compression="zstd")
    elif suffix == ".csv":
        write_arrow_csv(table, path)
    else:
        with path.open("w", encoding="utf-8", newline="\n") as fh:
            for batch in table.to_batches(max_chunksize=50_000):
                for row in batch.to_pylist():
                    fh.write(json.dumps(row, ensure_ascii=False, default=str) + "\n")
    return path
