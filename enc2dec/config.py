"""YAML -> nested frozen dataclasses, with unknown keys and wrong types rejected by name.

    cfg = config.load("configs/m30k.yaml", RunConfig, overrides=["training.lr=0.5"])

load = read_yaml (the one reader of config YAML: `1e-3` is a float, duplicate keys are refused) + apply_overrides
(`--set` strings, values parsed by the same rules) + from_dict (types and keys checked; ranges are checked by each
dataclass's __post_init__). Every error is one line naming the file or the override, the key and, for a misspelt
key, the closest field: `configs/m30k.yaml: model.hiden_size is not a Seq2SeqConfig field (did you mean hidden_size?)`.
"""

from __future__ import annotations

import dataclasses
import difflib
import functools
import re
import reprlib
import sys
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
        if not isinstance(name, str) or name not in options:
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


@functools.cache
def _hints(cls: type) -> dict[str, Any]:
    """The resolved field annotations of a dataclass (evaluated once: each evaluation parses every annotation)."""
    return typing.get_type_hints(cls, include_extras=True)


def _shown(key: Any) -> str:
    """A (dotted) key as a message shows it: bare when it reads as names, else quoted, so a message stays one line."""
    plain = isinstance(key, str) and all(part.replace("-", "_").isidentifier() for part in key.split("."))
    return key if plain else repr(key)


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
        options = [a for a in args if a is not type(None)]
        if len(options) == 1:  # X | None: X's own error, which names the inner key
            return _convert(value, options[0], where, key)
        for arg in options:
            try:
                return _convert(value, arg, where, key)
            except (TypeError, ValueError):
                pass
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
    if origin is dict or tp is dict:
        if not isinstance(value, dict):
            raise TypeError(f"{where}: {key} must be a mapping, got {value!r}")
        if not args:
            return dict(value)
        return {
            _convert(k, args[0], where, f"{key} key"): _convert(v, args[1], where, f"{key}.{_shown(k)}")
            for k, v in value.items()
        }
    if dataclasses.is_dataclass(tp):
        return from_dict(tp, value, where, key)
    if tp is float and isinstance(value, int) and not isinstance(value, bool):
        if abs(value) > sys.float_info.max:
            raise ValueError(f"{where}: {key} must be a float, got an int too large for one")
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
    hints = _hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init}
    for key in data:
        if key not in fields:
            close = difflib.get_close_matches(str(key), list(fields), n=1)
            hint = f" (did you mean {close[0]}?)" if close else f" (fields: {', '.join(fields)})"
            raise ValueError(
                f"{where}: {prefix + '.' if prefix else ''}{_shown(key)} is not a {cls.__name__} field{hint}"
            )
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
        hints = _hints(type(obj))
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


@functools.cache
def _loader() -> type:
    """yaml.SafeLoader plus two rules, on a subclass (the global loader is left alone): `1e-3` and `5E+4` are
    floats (YAML 1.1 wants a dot, `1.0e-3`, and reads `1e-3` as a string), and a key twice in one mapping is an
    error (PyYAML keeps the last)."""
    import yaml

    class Loader(yaml.SafeLoader):  # not libyaml's CSafeLoader: 10x faster, but deep nesting crashes the process
        def construct_mapping(self, node: Any, deep: bool = False) -> dict:
            if isinstance(node, yaml.MappingNode):
                seen: dict[Any, int] = {}
                for key_node, _ in node.value:
                    if key_node.tag == "tag:yaml.org,2002:merge" or not isinstance(key_node, yaml.ScalarNode):
                        continue
                    key = self.construct_object(key_node)
                    if key in seen:
                        raise yaml.constructor.ConstructorError(
                            None, None, f"duplicate key {key!r} (first at line {seen[key]})", key_node.start_mark
                        )
                    seen[key] = key_node.start_mark.line + 1
            return super().construct_mapping(node, deep=deep)

        def construct_object(self, node: Any, deep: bool = False) -> Any:
            try:
                return super().construct_object(node, deep=deep)
            except (ArithmeticError, AttributeError, LookupError, TypeError, ValueError):  # `!!int ''`, `!!bool x`
                tag = node.tag.replace("tag:yaml.org,2002:", "!!")
                raise yaml.constructor.ConstructorError(
                    None, None, f"cannot read {reprlib.repr(node.value)} as {tag}", node.start_mark
                ) from None

    Loader.add_implicit_resolver(
        "tag:yaml.org,2002:float",
        re.compile(r"^[-+]?(?:[0-9][0-9_]*(?:\.[0-9_]*)?|\.[0-9_]+)[eE][-+]?[0-9]+$"),
        list("-+0123456789."),
    )
    return Loader


def parse_yaml(text: str, where: str, what: str = "YAML") -> Any:
    """One YAML document -> data, by the rules of `_loader`. An error is one line naming `where`, the line and
    column, and what is wrong: `configs/m30k.yaml: line 3, column 7: invalid YAML: duplicate key 'lr' (...)`."""
    import yaml

    try:
        return yaml.load(text, Loader=_loader())  # a SafeLoader subclass: plain data only
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        at = f"line {mark.line + 1}, column {mark.column + 1}: " if mark is not None else ""
        context = f" ({err.context})" if err.context and err.problem else ""
        raise ValueError(f"{where}: {at}invalid {what}: {err.problem or err.context}{context}") from None
    except yaml.YAMLError as err:  # a ReaderError: a character that YAML does not allow
        position = getattr(err, "position", None)
        at = f"line {text.count(chr(10), 0, position) + 1}: " if isinstance(position, int) else ""
        problem = getattr(err, "reason", None) or " ".join(str(err).split())
        raise ValueError(f"{where}: {at}invalid {what}: {problem}") from None
    except RecursionError:
        raise ValueError(f"{where}: invalid {what}: nested too deeply") from None
    except ValueError as err:  # text that cannot be encoded (surrogates from a command line)
        raise ValueError(f"{where}: invalid {what}: {' '.join(str(err).split())}") from None


def read_yaml(path: str | Path) -> Any:
    """A YAML config file's data ({} when empty): UTF-8 (a leading BOM is dropped), one document, no duplicate keys,
    `1e-3` a float. A missing file, invalid UTF-8 or invalid YAML is a one-line error naming the file and line."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such config file")
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as err:
        line = raw.count(b"\n", 0, err.start) + 1
        raise ValueError(f"{path}: line {line}: invalid UTF-8 ({err.reason} at byte {err.start})") from None
    data = parse_yaml(text.removeprefix("\ufeff"), str(path))
    return {} if data is None else data


def apply_overrides(data: dict, overrides: list[str], where: str = "--set") -> dict:
    """`section.key=value` strings merged into a copy of a nested mapping; values are parsed as YAML by the rules
    of the config files (`training.lr=1e-3` is a float). Each error is one line naming the override."""
    data = dict(data)
    for item in overrides:
        name = f"{where} {item!r}"
        if "=" not in item:
            raise ValueError(f"{name}: expected KEY=VALUE such as training.lr=0.5")
        dotted, raw = item.split("=", 1)
        parts = dotted.strip().split(".")
        if not all(parts):
            raise ValueError(f"{name}: empty key in {dotted.strip()!r} (expected a dotted path such as training.lr)")
        node = data
        for depth, part in enumerate(parts[:-1]):
            child = node.get(part)
            if child is not None and not isinstance(child, dict):
                path = ".".join(parts[: depth + 1])
                raise ValueError(
                    f"{name}: {_shown(path)} is {reprlib.repr(child)}, not a mapping with a key {parts[depth + 1]!r}"
                )
            node[part] = dict(child or {})
            node = node[part]
        node[parts[-1]] = parse_yaml(raw, name, "value (YAML)")
    return data


def read_with_overrides(path: str | Path, overrides: list[str] | None = None) -> tuple[Any, str]:
    """(a YAML file's data with dotted overrides applied, where: the file, and the keys of the overrides when some
    were given, for error messages)."""
    data = read_yaml(path)
    where = str(path)
    if overrides and isinstance(data, dict):  # else the caller says the file holds no mapping
        data = apply_overrides(data, overrides)
        where += " with --set " + ", ".join(_shown(item.split("=", 1)[0].strip()) for item in overrides)
    return data, where


def load(path: str | Path, cls: type[T], overrides: list[str] | None = None) -> T:
    """Read a YAML file into dataclass `cls`, after applying dotted overrides (`read_with_overrides`,
    `from_dict`). Errors name the file, and the keys of the overrides when some were given."""
    return from_dict(cls, *read_with_overrides(path, overrides))
