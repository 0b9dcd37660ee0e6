"""Dataclass <-> JSON, driven by type hints: one codec for definitions, commands and events.

Supports what the routing model uses and nothing more: str, int, float, bool, None, Any,
StrEnum, datetime (ISO 8601, timezone-aware), tuple[X, ...], Mapping[str, X], X | None and
nested frozen dataclasses. A decoding failure is an `InvalidDefinition` (422) naming the field.
"""

from __future__ import annotations

import dataclasses
import enum
import types
import typing
from collections.abc import Mapping
from datetime import datetime
from functools import cache
from typing import Any, TypeVar

from omnidesk.core.routing.errors import InvalidDefinition

T = TypeVar("T")
JSON = dict[str, Any] | list[Any] | str | int | float | bool | None


def to_jsonable(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | float | str):
        if isinstance(value, enum.Enum):
            return value.value
        return value
    if isinstance(value, datetime):
        return value.isoformat()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Mapping):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_jsonable(v) for v in value]
    if isinstance(value, frozenset | set):
        return sorted(to_jsonable(v) for v in value)
    raise TypeError(f"not JSON-serialisable: {type(value).__name__}")


def normalize_json(value: Any, path: str) -> Any:
    """A deep copy of free-form attribute data as plain JSON types (dict, list, scalars).

    Why: rules must see the same data before and after a snapshot round trip, so tuples become
    lists here once, at the edge, instead of differing between a live and a restored engine.
    """
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            raise InvalidDefinition(f"{path}: NaN and infinity are not allowed", field=path)
        return value
    if isinstance(value, Mapping):
        out: dict[str, Any] = {}
        for k, v in value.items():
            if not isinstance(k, str):
                raise InvalidDefinition(f"{path}: keys must be strings", field=path)
            out[k] = normalize_json(v, f"{path}.{k}")
        return out
    if isinstance(value, list | tuple):
        return [normalize_json(v, f"{path}[{i}]") for i, v in enumerate(value)]
    raise InvalidDefinition(f"{path}: {type(value).__name__} is not a JSON value", field=path)


@cache
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def from_jsonable(cls: type[T], data: Any, path: str = "") -> T:
    result: T = _decode(cls, data, path or cls.__name__)
    return result


def _fail(path: str, expected: str, data: Any) -> InvalidDefinition:
    return InvalidDefinition(f"{path}: expected {expected}, got {type(data).__name__}", field=path)


def _decode(tp: Any, data: Any, path: str) -> Any:
    if tp is Any:
        return normalize_json(data, path)
    origin = typing.get_origin(tp)
    if origin is typing.Union or origin is types.UnionType:
        args = typing.get_args(tp)
        if data is None and type(None) in args:
            return None
        non_none = [a for a in args if a is not type(None)]
        if len(non_none) == 1:
            return _decode(non_none[0], data, path)
        raise TypeError(f"unsupported union {tp}")
    if origin is typing.Literal:
        if data not in typing.get_args(tp):
            raise InvalidDefinition(
                f"{path}: expected one of {list(typing.get_args(tp))}, got {data!r}", field=path
            )
        return data
    if origin is tuple:
        args = typing.get_args(tp)
        if not isinstance(data, list | tuple):
            raise _fail(path, "a list", data)
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(_decode(args[0], v, f"{path}[{i}]") for i, v in enumerate(data))
        if len(args) != len(data):
            raise InvalidDefinition(f"{path}: expected {len(args)} items", field=path)
        return tuple(
            _decode(a, v, f"{path}[{i}]") for i, (a, v) in enumerate(zip(args, data, strict=True))
        )
    if origin in (Mapping, dict, typing.Mapping) or tp is dict:
        if not isinstance(data, Mapping):
            raise _fail(path, "an object", data)
        args = typing.get_args(tp) or (str, Any)
        return {
            _decode(args[0], k, path): _decode(args[1], v, f"{path}.{k}") for k, v in data.items()
        }
    if isinstance(tp, type):
        if issubclass(tp, enum.Enum):
            try:
                return tp(data)
            except ValueError:
                allowed = [m.value for m in tp]
                raise InvalidDefinition(
                    f"{path}: expected one of {allowed}, got {data!r}", field=path
                ) from None
        if tp is bool:
            if not isinstance(data, bool):
                raise _fail(path, "a boolean", data)
            return data
        if tp is int:
            if isinstance(data, bool) or not isinstance(data, int):
                raise _fail(path, "an integer", data)
            return data
        if tp is float:
            if isinstance(data, bool) or not isinstance(data, int | float):
                raise _fail(path, "a number", data)
            return float(data)
        if tp is str:
            if not isinstance(data, str):
                raise _fail(path, "a string", data)
            return data
        if tp is datetime:
            if isinstance(data, datetime):
                return data
            if not isinstance(data, str):
                raise _fail(path, "an ISO 8601 string", data)
            try:
                value = datetime.fromisoformat(data)
            except ValueError:
                raise InvalidDefinition(f"{path}: not an ISO 8601 instant", field=path) from None
            if value.tzinfo is None:
                raise InvalidDefinition(f"{path}: instant needs a UTC offset", field=path)
            return value
        if dataclasses.is_dataclass(tp):
            return _decode_dataclass(tp, data, path)
    raise TypeError(f"unsupported type {tp!r} at {path}")


def _decode_dataclass(cls: type, data: Any, path: str) -> Any:
    if not isinstance(data, Mapping):
        raise _fail(path, "an object", data)
    hints = _hints(cls)
    kwargs: dict[str, Any] = {}
    names = set()
    for f in dataclasses.fields(cls):
        if not f.init:
            continue
        names.add(f.name)
        if f.name in data:
            kwargs[f.name] = _decode(hints[f.name], data[f.name], f"{path}.{f.name}")
        elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
            raise InvalidDefinition(f"{path}.{f.name}: required", field=f"{path}.{f.name}")
    unknown = sorted(k for k in data if k not in names and k != "type")
    if unknown:
        raise InvalidDefinition(f"{path}: unknown field(s) {unknown}", field=path)
    return cls(**kwargs)
