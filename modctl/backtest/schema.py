"""The columns of a Parquet file or a Spark table checked against modctl.yaml before any row is
read: `id` and `region` are there, and every declared field that is there has a type its values
can take. A source whose columns could never give a listing is one line naming the column;
values that may still be bad (a NaN, an unknown region) are checked row by row as they are read.
Pure: the caller describes the source's columns as `Shape`s.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pyarrow as pa

from modctl.backtest.data import REQUIRED, DataError

# A column's kind of values, for each type a field may be declared with.
FITS = {
    "string": "string",
    "phash": "string",
    "number": "number",
    "integer": "integer",
    "boolean": "boolean",
    "string_list": "list",
}
_A = {
    "string": "a string",
    "phash": "a string",
    "number": "a number",
    "integer": "an integer",
    "boolean": "a boolean",
    "string_list": "a string_list",
}

ColumnPath = tuple[str, ...]  # a column's names, from the top level down through structs


@dataclass(frozen=True)
class Shape:
    """A column's type: its kind (string, integer, float, decimal for exact and unsigned 64-bit
    numbers, boolean, list, struct, null for a column of no values, or other), the type as the
    source names it, and for a list its items, for a struct its fields."""

    kind: str
    shown: str
    item: Shape | None = None
    fields: dict[str, Shape] = field(default_factory=dict)


@dataclass(frozen=True)
class Columns:
    """Where each value the engine reads comes from: the source column of `id`, `region`,
    `label` (None when there is none) and of each declared field, in modctl.yaml's order (None
    when the source lacks it: every listing then lacks the field)."""

    id: ColumnPath
    region: ColumnPath
    label: ColumnPath | None
    fields: dict[str, ColumnPath | None]

    def paths(self) -> list[ColumnPath | None]:
        """The columns to read, in the order the engine takes them: id, region, label, fields."""
        return [self.id, self.region, self.label, *self.fields.values()]


def select(top: dict[str, Shape], fields: dict[str, str], where: str) -> Columns:
    """The columns of a source with these top-level columns, or DataError naming the column
    that cannot give what modctl.yaml declares."""
    for key in REQUIRED:
        if key not in top:
            raise DataError(f"{where}: missing required column {key!r}")
    declared = {}
    for name, field_type in fields.items():
        declared[name] = _find(top, name, field_type, where)
    ids = top["id"]
    if "id" not in fields and ids.kind not in ("string", "integer", "null"):
        raise DataError(f"{where}: column 'id' is {ids.shown}; ids are text or whole numbers")
    if top["region"].kind not in ("string", "null"):
        raise DataError(
            f"{where}: column 'region' is {top['region'].shown}; regions are text, as "
            "modctl.yaml names them"
        )
    label = top.get("label")
    if label is not None and label.kind not in ("string", "boolean", "integer", "null"):
        raise DataError(
            f"{where}: column 'label' is {label.shown}; labels are text (infringing, clean), "
            "booleans or 1 and 0"
        )
    return Columns(("id",), ("region",), None if label is None else ("label",), declared)


def _find(top: dict[str, Shape], name: str, field_type: str, where: str) -> ColumnPath | None:
    """The column of a declared field (`seller.id`: the field `id` of a struct column `seller`,
    or else a column named `seller.id`), checked to fit its type; None when there is none, or
    when a struct it would be in holds no values."""
    parts = name.split(".")
    shapes = top
    for depth, part in enumerate(parts[:-1]):
        shape = shapes.get(part)
        if shape is None:
            break
        if shape.kind == "null":
            return None
        if shape.kind != "struct":
            column = ".".join(parts[: depth + 1])
            raise DataError(
                f"{where}: column {column!r} is {shape.shown}, but modctl.yaml declares "
                f"{name}, a field inside it: it must be a struct"
            )
        shapes = shape.fields
    else:
        found = shapes.get(parts[-1])
        if found is not None and found.kind == "null":
            return None
        if found is not None:
            _fits(found, name, field_type, where)
            return tuple(parts)
    flat = top.get(name) if len(parts) > 1 else None
    if flat is None or flat.kind == "null":
        return None
    _fits(flat, name, field_type, where)
    return (name,)


def _fits(shape: Shape, name: str, field_type: str, where: str) -> None:
    wanted = FITS[field_type]
    if wanted == "number":
        fits = shape.kind in ("integer", "float")  # whole numbers read as floats, as locally
    elif wanted == "list":
        fits = shape.kind == "list" and shape.item is not None and shape.item.kind == "string"
    else:
        fits = shape.kind == wanted
    if not fits:
        # Spark reads an unsigned 64-bit column as a decimal: neither is a float as it stands.
        cast = (
            ": cast the column to double" if wanted == "number" and shape.kind == "decimal" else ""
        )
        raise DataError(
            f"{where}: column {name!r} is {shape.shown}, but modctl.yaml declares {name} "
            f"{_A[field_type]}{cast}"
        )


def with_nulls(columns: dict[str, Shape], nulls: dict[str, Shape]) -> dict[str, Shape]:
    """`columns` with the columns (and fields of structs) that `nulls` says hold no values,
    such as Spark's columns with pyarrow's: Spark reads a column of no values as int."""
    merged = {}
    for name, shape in columns.items():
        other = nulls.get(name)
        if other is not None and other.kind == "null":
            merged[name] = other
        elif other is not None and shape.kind == other.kind == "struct":
            inner = with_nulls(shape.fields, other.fields)
            merged[name] = Shape("struct", shape.shown, fields=inner)
        else:
            merged[name] = shape
    return merged


def from_arrow(data_type: pa.DataType) -> Shape:
    """The shape of an Arrow type (a Parquet file's columns as pyarrow reads them)."""
    if pa.types.is_dictionary(data_type):
        # Dictionary-encoded (a pandas categorical): Spark reads the values.
        return from_arrow(data_type.value_type)
    shown = str(data_type)
    if pa.types.is_string(data_type) or pa.types.is_large_string(data_type):
        return Shape("string", shown)
    if pa.types.is_integer(data_type) and data_type != pa.uint64():
        return Shape("integer", shown)
    if pa.types.is_decimal(data_type) or data_type == pa.uint64():
        return Shape("decimal", shown)
    if pa.types.is_floating(data_type):
        return Shape("float", shown)
    if pa.types.is_boolean(data_type):
        return Shape("boolean", shown)
    if pa.types.is_null(data_type):
        return Shape("null", shown)
    if pa.types.is_list(data_type) or pa.types.is_large_list(data_type):
        item = from_arrow(data_type.value_type)
        return Shape("list", f"list<{item.shown}>", item=item)
    if pa.types.is_struct(data_type):
        inner = {
            data_type.field(i).name: from_arrow(data_type.field(i).type)
            for i in range(data_type.num_fields)
        }
        return Shape("struct", shown, fields=inner)
    return Shape("other", shown)


def arrow_columns(schema: pa.Schema) -> dict[str, Shape]:
    return {f.name: from_arrow(f.type) for f in schema}
