"""Node parameters: declarations with validation, and ROS 2 parameter YAML files.

The file format is the one ``ros2 launch`` passes to nodes::

    head:                     # node name, /namespace/name, or /** for every node
      ros__parameters:
        model: resnet18

Both runtimes validate through :class:`ParamSpec`, so a bad value is rejected with the same
message on a robot (``ros2 param set``) and here.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from dvfo_core.errors import ConfigError

ParamValue = bool | int | float | str | list


class ParameterError(ConfigError):
    """A parameter value was rejected."""


@dataclass(frozen=True)
class ParamSpec:
    """One declared parameter: its default fixes its type; optional range, choices and check."""

    name: str
    default: ParamValue
    description: str = ""
    choices: Sequence[Any] | None = None
    min: float | None = None
    max: float | None = None
    read_only: bool = False
    check: Callable[[Any], str | None] | None = None  #: returns an error text, or None when fine

    @property
    def type_name(self) -> str:
        """``bool``, ``int``, ``float``, ``str`` or ``list`` (from the default)."""
        return type(self.default).__name__

    @property
    def constraints(self) -> str:
        """Choices and range in words: the descriptor's ``additional_constraints`` on both runtimes."""
        parts = []
        if self.choices is not None:
            parts.append("one of " + ", ".join(map(str, self.choices)))
        if self.min is not None:
            parts.append(f"min {self.min}")
        if self.max is not None:
            parts.append(f"max {self.max}")
        return "; ".join(parts)

    def validate(self, value: Any, node: str = "") -> ParamValue:
        """Return ``value`` coerced to the declared type, or raise :class:`ParameterError`."""
        where = f"{node}.{self.name}" if node else self.name
        value = _coerce(value, self.default, where)
        if self.choices is not None and value not in self.choices:
            raise ParameterError(
                f"parameter {where}: {value!r} is not one of {', '.join(map(repr, self.choices))}"
            )
        if self.min is not None and value < self.min:
            raise ParameterError(f"parameter {where}: {value!r} is below the minimum {self.min}")
        if self.max is not None and value > self.max:
            raise ParameterError(f"parameter {where}: {value!r} is above the maximum {self.max}")
        if self.check is not None:
            problem = self.check(value)
            if problem:
                raise ParameterError(f"parameter {where}: {problem}")
        return value


def _coerce(value: Any, default: ParamValue, where: str) -> ParamValue:
    kind = type(default)
    if kind is bool:
        if isinstance(value, bool):
            return value
    elif kind is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    elif kind is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
    elif kind is str:
        if isinstance(value, str):
            return value
    elif kind is list:
        if isinstance(value, (list, tuple)):
            return list(value)
    raise ParameterError(
        f"parameter {where}: expected {kind.__name__}, got {type(value).__name__} {value!r}"
    )


def list_parameter_names(
    names: Sequence[str], prefixes: Sequence[str], depth: int
) -> tuple[list[str], list[str]]:
    """``(names, prefixes)`` that ``rcl_interfaces/srv/ListParameters`` answers for the declared
    ``names`` (in declaration order), as rclpy's ``Node.list_parameters`` does: no prefixes and
    depth 0 (recursive) list all; otherwise a name is listed when it has fewer than ``depth`` dots
    (no prefixes) or equals a prefix or lies under one within ``depth`` levels. ``prefixes`` of the
    answer: the part before the last dot of each listed name, once each."""
    if depth < 0:
        raise ParameterError("the depth must be greater than or equal to zero")
    shallow = lambda s: s.count(".") < depth  # noqa: E731
    listed: list[str] = []
    parents: list[str] = []
    for name in names:
        if prefixes or depth:
            under = any(
                name == p or (name.startswith(p + ".") and (depth == 0 or shallow(name[len(p) + 1 :])))
                for p in prefixes
            )
            if not ((not prefixes and shallow(name)) or under):
                continue
        listed.append(name)
        parent = name.rpartition(".")[0]
        if parent and parent not in parents:
            parents.append(parent)
    return listed, parents


#: ``rcl_interfaces/ParameterType`` codes.
NOT_SET, BOOL, INTEGER, DOUBLE, STRING = 0, 1, 2, 3, 4
BOOL_ARRAY, INTEGER_ARRAY, DOUBLE_ARRAY, STRING_ARRAY = 6, 7, 8, 9
#: ``rcl_interfaces/ParameterType`` codes in words, as ``ros2 param describe`` prints them.
TYPE_NAMES = {
    BOOL: "boolean",
    INTEGER: "integer",
    DOUBLE: "double",
    STRING: "string",
    BOOL_ARRAY: "boolean array",
    INTEGER_ARRAY: "integer array",
    DOUBLE_ARRAY: "double array",
    STRING_ARRAY: "string array",
}


@dataclass(frozen=True)
class Descriptor:
    """What ``describe_parameters`` says of one parameter, whichever runtime answered."""

    name: str
    type: int
    description: str
    additional_constraints: str
    read_only: bool

    @classmethod
    def of(cls, msg: Any) -> Descriptor:
        """From an ``rcl_interfaces/ParameterDescriptor`` of either runtime."""
        return cls(
            str(msg.name),
            int(msg.type),
            str(msg.description),
            str(msg.additional_constraints),
            bool(msg.read_only),
        )


class ParameterStore:
    """Declared parameters of one node, their values and change callbacks (DDS adapter side)."""

    def __init__(self, node: str, overrides: dict[str, Any] | None = None) -> None:
        self.node = node
        self._overrides = dict(overrides or {})
        self.specs: dict[str, ParamSpec] = {}
        self.values: dict[str, ParamValue] = {}
        self._callbacks: list[Callable[[str, ParamValue], None]] = []

    def declare(self, spec: ParamSpec) -> ParamValue:
        """Declare ``spec``; the value comes from the overrides (YAML) when given, else the default."""
        if spec.name in self.specs:
            raise ParameterError(f"parameter {self.node}.{spec.name} declared twice")
        value = self._overrides.pop(spec.name, spec.default)
        self.values[spec.name] = spec.validate(value, self.node)
        self.specs[spec.name] = spec
        return self.values[spec.name]

    def get(self, name: str) -> ParamValue:
        """The current value of a declared parameter."""
        if name not in self.values:
            raise ParameterError(f"parameter {self.node}.{name} is not declared")
        return self.values[name]

    def set(self, name: str, value: Any) -> ParamValue:
        """Validate and set ``name``, then run the change callbacks. Raises on a bad value."""
        spec = self.specs.get(name)
        if spec is None:
            raise ParameterError(f"parameter {self.node}.{name} is not declared")
        if spec.read_only:
            raise ParameterError(f"parameter {self.node}.{name} is read-only")
        new = spec.validate(value, self.node)
        old = self.values[name]
        self.values[name] = new
        try:
            for callback in self._callbacks:
                callback(name, new)
        except Exception:
            self.values[name] = old
            raise
        return new

    def on_change(self, callback: Callable[[str, ParamValue], None]) -> None:
        """Call ``callback(name, value)`` after each accepted change."""
        self._callbacks.append(callback)

    def undeclared_overrides(self) -> list[str]:
        """Names given in the YAML file that the node never declared (likely typos)."""
        return sorted(self._overrides)


def _matches(key: str, node: str, namespace: str) -> bool:
    fq = f"{namespace.rstrip('/')}/{node}" if namespace else f"/{node}"
    return key in ("/**", node, fq, fq.lstrip("/")) or (key.endswith("/**") and fq.startswith(key[:-2]))


def load_parameter_file(path: str | Path, node: str, namespace: str = "") -> dict[str, Any]:
    """Parameters for ``node`` from a ROS 2 parameter YAML file (wildcards first, exact name last)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"parameter file {path} does not exist") from None
    except OSError as exc:
        raise ConfigError(f"parameter file {path}: cannot read: {exc.strerror}") from None
    try:
        data = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f" line {mark.line + 1}" if mark else ""
        raise ConfigError(f"parameter file {path}:{line} is not valid YAML") from None
    if not isinstance(data, dict):
        raise ConfigError(f"parameter file {path}: expected a mapping of node names")
    merged: dict[str, Any] = {}
    for key in sorted(data, key=lambda k: ("*" not in str(k), len(str(k)))):
        if not _matches(str(key), node, namespace):
            continue
        section = data[key]
        if not isinstance(section, dict) or "ros__parameters" not in section:
            raise ConfigError(f"parameter file {path}: section {key!r} has no 'ros__parameters' mapping")
        params = section["ros__parameters"] or {}
        if not isinstance(params, dict):
            raise ConfigError(f"parameter file {path}: {key}.ros__parameters must be a mapping")
        merged.update(_flatten(params))
    return merged


def _flatten(params: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested mappings become dotted names, as ROS 2 does (``qos: {image: x}`` -> ``qos.image``)."""
    flat: dict[str, Any] = {}
    for key, value in params.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(_flatten(value, name + "."))
        else:
            flat[name] = value
    return flat
