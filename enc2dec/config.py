"""YAML -> nested frozen dataclasses, with unknown keys and wrong types rejected by name.

    cfg = config.load("configs/m30k.yaml", RunConfig, overrides=["training.lr=0.5"])

Errors name the file, the dotted key and, for a misspelt key, the closest field:
`configs/m30k.yaml: model.hiden_size is not a Seq2SeqConfig field (did you mean hidden_size?)`.
"""

from __future__ import annotations

import dataclasses
import difflib
import types
import typing
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")


@dataclasses.dataclass(frozen=True)
class Choice:
    """A field that holds one of several config dataclasses, named by the mapping's `type` key:
    `model: Annotated[Any, Choice(options, "model type")]`, options() -> {type name: config dataclass}. In YAML
    `model: {type: transformer, n_layers: 3}`; another type's fields are rejected by that type's dataclass."""

    options: Callable[[], dict[str, type]]
    what: str = "type"

    def convert(self, value: Any, where: str, key: str) -> Any:
        if not isinstance(value, dict):
            raise TypeError(f"{where}: {key} must be a mapping with a 'type' key, got {value!r}")
        value = dict(value)
        name, options = value.pop("type", None), self.options()
        if name not in options:
            close = difflib.get_close_matches(str(name), list(options), n=1)
            hint = f" (did you mean {close[0]}?)" if close and name is not None else ""
            raise ValueError(f"{where}: {key}.type must be one of {sorted(options)} ({self.what}), got {name!r}{hint}")
        return from_dict(options[name], value, where, key)

    def name_of(self, obj: Any) -> str:
        for name, cls in self.options().items():
            if type(obj) is cls:
                return name
        raise TypeError(f"{type(obj).__name__} is not one of {sorted(self.options())} ({self.what})")


def _choice(tp: Any) -> Choice | None:
    """The Choice of an `Annotated[..., Choice(...)]` annotation, else None."""
    if typing.get_origin(tp) is typing.Annotated:
        return next((m for m in tp.__metadata__ if isinstance(m, Choice)), None)
    return None


def _type_name(tp: Any) -> str:
    return getattr(tp, "__name__", None) or str(tp).replace("typing.", "")


def _convert(value: Any, tp: Any, where: str, key: str) -> Any:
    """value, checked against the annotation tp (and converted: lists to tuples, ints to floats)."""
    choice = _choice(tp)
    if choice is not None:
        return choice.convert(value, where, key)
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if tp is Any:
        return value
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        errors = []
        for arg in (a for a in args if a is not type(None)):
            try:
                return _convert(value, arg, where, key)
            except (TypeError, ValueError) as err:
                errors.append(str(err))
        raise TypeError(f"{where}: {key} must be {_type_name(tp)}, got {value!r}")
    if origin is typing.Literal:
        if value not in args:
            raise ValueError(f"{where}: {key} must be one of {list(args)}, got {value!r}")
        return value
    if origin is tuple:
        if not isinstance(value, (list, tuple)):
            raise TypeError(f"{where}: {key} must be a list, got {value!r}")
        item_types = [args[0]] * len(value) if len(args) == 2 and args[1] is Ellipsis else list(args)
        if len(item_types) != len(value):
            raise ValueError(f"{where}: {key} must have {len(item_types)} items, got {len(value)}")
        return tuple(_convert(v, t, where, f"{key}[{i}]") for i, (v, t) in enumerate(zip(value, item_types)))
    if origin is dict:
        if not isinstance(value, dict):
            raise TypeError(f"{where}: {key} must be a mapping, got {value!r}")
        return dict(value)
    if dataclasses.is_dataclass(tp):
        return from_dict(tp, value, where, key)
    if tp is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if tp in (int, float, str, bool):
        if not isinstance(value, tp) or (tp is int and isinstance(value, bool)):
            raise TypeError(f"{where}: {key} must be {tp.__name__}, got {type(value).__name__} {value!r}")
        return value
    raise TypeError(f"{where}: {key} has an unsupported annotation {tp}")


def from_dict(cls: type[T], data: Any, where: str = "<config>", prefix: str = "") -> T:
    """Build dataclass `cls` from a mapping, checking every key and value; `where` names the source."""
    name = prefix or cls.__name__
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise TypeError(f"{where}: {name} must be a mapping of {cls.__name__} fields, got {data!r}")
    hints = typing.get_type_hints(cls, include_extras=True)
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init}
    for key in data:
        if key not in fields:
            close = difflib.get_close_matches(str(key), list(fields), n=1)
            hint = f" (did you mean {close[0]}?)" if close else f" (fields: {', '.join(fields)})"
            raise ValueError(f"{where}: {prefix + '.' if prefix else ''}{key} is not a {cls.__name__} field{hint}")
    kwargs = {}
    for key, value in data.items():
        dotted = f"{prefix}.{key}" if prefix else key
        kwargs[key] = _convert(value, hints[key], where, dotted)
    missing = [
        k
        for k, f in fields.items()
        if k not in kwargs and f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
    ]
    if missing:
        raise ValueError(f"{where}: {name} needs {', '.join(prefix + '.' + m if prefix else m for m in missing)}")
    try:
        return cls(**kwargs)
    except (TypeError, ValueError) as err:
        raise ValueError(f"{where}: {err}") from err


def to_dict(obj: Any) -> Any:
    """A dataclass as plain YAML-able data (tuples become lists; a Choice field gets its `type` key back)."""
    if dataclasses.is_dataclass(obj):
        hints = typing.get_type_hints(type(obj), include_extras=True)
        out = {}
        for f in dataclasses.fields(obj):
            value, choice = getattr(obj, f.name), _choice(hints[f.name])
            out[f.name] = {"type": choice.name_of(value), **to_dict(value)} if choice else to_dict(value)
        return out
    if isinstance(obj, (list, tuple)):
        return [to_dict(v) for v in obj]
    if isinstance(obj, dict):
        return {k: to_dict(v) for k, v in obj.items()}
    return obj


def apply_overrides(data: dict, overrides: list[str], where: str = "--set") -> dict:
    """`section.key=value` strings (values parsed as YAML) merged into a nested mapping."""
    import yaml

    data = dict(data)
    for item in overrides:
        if "=" not in item:
            raise ValueError(f"{where}: expected KEY=VALUE such as training.lr=0.5, got {item!r}")
        dotted, raw = item.split("=", 1)
        node = data
        *parents, last = dotted.strip().split(".")
        for part in parents:
            child = node.get(part)
            node[part] = dict(child) if isinstance(child, dict) else {}
            node = node[part]
        node[last] = yaml.safe_load(raw)
    return data


def read_yaml(path: str | Path) -> Any:
    """A YAML config file's data; a missing file or invalid YAML is an error naming the file."""
    import yaml

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such config file")
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as err:
        raise ValueError(f"{path}: invalid YAML ({err})") from err


def load(path: str | Path, cls: type[T], overrides: list[str] | None = None) -> T:
    """Read a YAML file into dataclass `cls`, after applying dotted overrides."""
    data = read_yaml(path)
    if overrides:
        data = apply_overrides(data, overrides)
    return from_dict(cls, data, str(path))
