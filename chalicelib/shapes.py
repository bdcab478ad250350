"""Declaring a JSON shape once: input parsing, JSON output and JSON Schema all come from it.

Two kinds of declaration, both plain standard-library dataclasses:

- **Inputs** are frozen dataclasses whose fields are declared with the
  functions of ``chalicelib.fields`` (``id_field``, ``text_field``, ...). Each carries how the
  field is read (a ``Params`` accessor with its limits) and its JSON Schema;
  ``read_input`` builds the dataclass from a request's fields.
- **Outputs** are the domain values (``chalicelib.models``) and the routes'
  own replies. Each has a ``JSON: ClassVar[Shape]`` listing its keys in order
  (``Out`` reads an attribute, ``Const`` is a fixed value); ``to_dict()`` is
  ``JSON.dump(self)``. The JSON Schema of a shape comes from the same list,
  with the types of the attributes' annotations.

``chalicelib.openapi`` turns both into the OpenAPI document. Pure: no chalice,
no boto3; ``typing.get_type_hints`` runs only when a schema is built.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from chalicelib.errors import InvalidInput
from chalicelib.inputs import Params

# -- inputs -----------------------------------------------------------------

INPUT = "input"


@dataclass(frozen=True)
class In:
    """How one input field is read and documented."""

    read: Callable[[Params, str, Any], Any]  # (fields, wire name, settings) -> value
    schema: Mapping[str, Any]
    wire: str | None = None  # the name on the wire, when it is not the attribute's
    required: bool = False
    body_only: bool = False  # refused in the query string (credentials)
    header: bool = False  # read from a request header instead of the fields


def declare(spec: In) -> Any:
    return dataclasses.field(metadata={INPUT: spec})


def input_fields(cls: type) -> list[tuple[str, str, In, str]]:
    """(attribute, wire name, spec, description) of each declared field of input class ``cls``."""
    found = []
    for f in dataclasses.fields(cls):
        spec = f.metadata[INPUT]
        found.append((f.name, spec.wire or f.name, spec, f.metadata.get("description", "")))
    return found


def read_input(cls: type[Any], fields: Params, headers: Mapping[str, str], settings: Any) -> Any:
    """An instance of input class ``cls`` from a request's fields and headers; raises ``InvalidInput``."""
    for _, wire, spec, _ in input_fields(cls):
        if spec.body_only and wire in fields.query_names:
            raise InvalidInput(f"{wire} must be sent in the request body, never in the query string", field=wire)
    values = {}
    for name, wire, spec, _ in input_fields(cls):
        values[name] = spec.read(headers if spec.header else fields, wire, settings)
    one_of = getattr(cls, "REQUIRE_ONE_OF", ())
    if one_of and all(values[name] is None for name in one_of):
        raise InvalidInput(f"{one_of[0]} is required", field=one_of[0])
    return cls(**values)


# -- outputs ----------------------------------------------------------------


@dataclass(frozen=True)
class Out:
    """A key whose value is an attribute (``attr``, default: the key itself) of the value."""

    attr: str | None = None
    optional: bool = False  # omitted from the JSON when empty (None, "", {})
    schema: Mapping[str, Any] = dataclasses.field(default_factory=dict)  # refinements: enum, minimum, description


@dataclass(frozen=True)
class Const:
    """A key with a fixed value."""

    value: Any


def _jsonable(value: Any) -> Any:
    if isinstance(value, (list, tuple)):
        return [_jsonable(item) for item in value]
    shape = getattr(type(value), "JSON", None)
    return shape.dump(value) if isinstance(shape, Shape) else value


class Shape:
    """The ordered keys of an output's JSON: ``Shape(id=Out("agent_id"), role=Const("agent"), ...)``."""

    def __init__(self, name: str | None = None, /, **keys: Out | Const) -> None:
        self.name = name  # the schema's name in the document; default: the class's
        self.keys = keys

    def dump(self, value: Any) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, entry in self.keys.items():
            if isinstance(entry, Const):
                out[key] = entry.value
                continue
            item = getattr(value, entry.attr or key)
            if entry.optional and not item:
                continue
            out[key] = _jsonable(item)
        return out


def shape_name(cls: type) -> str:
    return cls.JSON.name or cls.__name__


def ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


_PRIMITIVES = {int: "integer", str: "string", bool: "boolean", float: "number"}


def type_schema(hint: Any, found: dict[str, type]) -> dict[str, Any]:
    """The JSON Schema of a Python annotation; output classes it names are added to ``found``."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        rest = [a for a in args if a is not type(None)]
        if len(rest) < len(args) and len(rest) == 1 and rest[0] in _PRIMITIVES:
            return {"type": [_PRIMITIVES[rest[0]], "null"]}
        options = [type_schema(a, found) for a in args]
        return {"oneOf": options}
    if origin is list or origin is tuple:
        return {"type": "array", "items": type_schema(args[0], found)}
    if hint is type(None):
        return {"type": "null"}
    if origin is dict or hint is dict:
        return {"type": "object"}
    if hint in _PRIMITIVES:
        return {"type": _PRIMITIVES[hint]}
    if isinstance(getattr(hint, "JSON", None), Shape):
        found[shape_name(hint)] = hint
        return ref(shape_name(hint))
    raise TypeError(f"no JSON Schema for {hint!r}")


def output_schema(cls: type, found: dict[str, type]) -> dict[str, Any]:
    """The JSON Schema of output class ``cls``, from its ``JSON`` shape and its annotations."""
    hints = typing.get_type_hints(cls)
    properties: dict[str, Any] = {}
    required = []
    for key, entry in cls.JSON.keys.items():
        if isinstance(entry, Const):
            properties[key] = {"const": entry.value}
        else:
            properties[key] = {**type_schema(hints[entry.attr or key], found), **entry.schema}
        if not (isinstance(entry, Out) and entry.optional):
            required.append(key)
    return {"type": "object", "required": required, "properties": properties, "additionalProperties": False}


def input_schema(cls: type) -> dict[str, Any]:
    """The JSON Schema of the body fields of input class ``cls`` (headers are parameters)."""
    schema: dict[str, Any] = {"type": "object"}
    doc = cls.__doc__ or ""
    if doc and not doc.startswith(f"{cls.__name__}("):  # not the docstring dataclass makes up
        schema["description"] = " ".join(doc.split())
    fields = [(wire, spec) for _, wire, spec, _ in input_fields(cls) if not spec.header]
    required = [wire for wire, spec in fields if spec.required]
    if required:
        schema["required"] = required
    if fields:
        schema["properties"] = {wire: dict(spec.schema) for wire, spec in fields}
    one_of = getattr(cls, "REQUIRE_ONE_OF", ())
    if one_of:
        schema["anyOf"] = [{"required": [name]} for name in one_of]
    return schema
