"""``--set KEY=VALUE``: typed settings of a model's configuration dataclass.

Keys are field names; a field that is itself an optional dataclass (GRAPE's
``prior_shock: PriorShockConfig | None``) takes ``true`` / ``false`` (its defaults / off) and
its own fields as ``parent.field`` (``prior_shock.vote=true``, which turns the parent on
when it was off: the key names what it belongs to). A configuration may map old flat keys
to dotted ones in a class attribute ``SET_ALIASES`` (``prior_vote`` ->
``prior_shock.vote``). Values: bool ``true/false/1/0/yes/no``, int, float, ``none`` for an
optional field, else the text (a Literal field's own check names the choices). Every error
is one line naming the option and the key.
"""

from __future__ import annotations

import dataclasses
import difflib
import typing
from collections.abc import Mapping
from typing import Any

from grapekg.errors import ConfigError, cut

__all__ = ["apply_overrides", "parse_overrides", "set_keys"]

_TRUE = ("true", "1", "yes")
_BOOL = (*_TRUE, "false", "0", "no")


def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _nested(kind: Any) -> type | None:
    """The dataclass inside ``X | None`` (or ``X``), else None."""
    args = typing.get_args(kind) or (kind,)
    found = [a for a in args if dataclasses.is_dataclass(a)]
    return found[0] if found else None  # type: ignore[return-value]


def set_keys(cls: type) -> list[str]:
    """Every key ``--set`` takes for ``cls`` (dotted ones included, aliases excluded)."""
    out = []
    for name, kind in _hints(cls).items():
        if name.isupper() or name == "SET_ALIASES":
            continue
        out.append(name)
        sub = _nested(kind)
        if sub is not None:
            out += [f"{name}.{k}" for k in set_keys(sub)]
    return out


def _value(kind: Any, raw: str, key: str, option: str) -> object:
    text = str(kind)
    args = typing.get_args(kind)
    optional = type(None) in args
    base = [a for a in args if a is not type(None)] or [kind]
    if raw.lower() == "none" and optional:
        return None
    target = base[0]
    try:
        if target is bool:
            if raw.lower() not in _BOOL:
                raise ValueError(raw)
            return raw.lower() in _TRUE
        if target is int:
            return int(raw)
        if target is float:
            return float(raw)
    except ValueError:
        name = getattr(target, "__name__", text)
        raise ConfigError(f"{option} {key}={cut(raw, 40)!r}: not a valid {name}") from None
    return raw


def parse_overrides(cls: type, pairs: list[str], option: str = "--set") -> dict[str, object]:
    """``KEY=VALUE`` pairs as ``{key: typed value}`` (dotted keys kept dotted, aliases
    resolved); ConfigError (one line, naming ``option``) for a malformed pair, an unknown
    key (with the nearest known one) or a value of the wrong type, or when the resulting
    configuration is refused by the class itself."""
    aliases: Mapping[str, str] = getattr(cls, "SET_ALIASES", {})
    known = set_keys(cls)
    out: dict[str, object] = {}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        key, raw = aliases.get(key.strip(), key.strip()), raw.strip()
        if not sep or key not in known:
            near = difflib.get_close_matches(key, [*known, *aliases], n=1)
            raise ConfigError(
                f"{option} {cut(pair, 60)!r}: expected KEY=VALUE with KEY a {cls.__name__} field"
                + (f" (did you mean {near[0]}?)" if near else f" ({cls.__module__})")
            )
        parent, _, child = key.partition(".")
        kind = _hints(cls)[parent]
        sub = _nested(kind)
        if child:
            out[key] = _value(_hints(sub)[child], raw, key, option)  # type: ignore[arg-type]
        elif sub is not None:
            if raw.lower() not in _BOOL:
                raise ConfigError(
                    f"{option} {key}={cut(raw, 40)!r}: true (on, its defaults) or false (off)"
                )
            out[key] = raw.lower() in _TRUE
        else:
            out[key] = _value(kind, raw, key, option)
    apply_overrides(cls(), out, option)
    return out


def apply_overrides(config: Any, values: Mapping[str, object], option: str = "--set") -> Any:
    """``config`` with ``values`` (as :func:`parse_overrides` returns them) applied: plain
    fields replaced; ``parent=true|false`` sets the nested config to its defaults or None
    (``true`` keeps one that is already on); ``parent.field`` sets a field of the nested config,
    creating it with its defaults when it was off. ConfigError when the class refuses it."""
    plain = {k: v for k, v in values.items() if "." not in k}
    nested: dict[str, dict[str, object]] = {}
    for key, v in values.items():
        if "." in key:
            parent, _, child = key.partition(".")
            nested.setdefault(parent, {})[child] = v
    hints = _hints(type(config))
    changes: dict[str, object] = {}
    try:
        for key, v in plain.items():
            sub = _nested(hints[key])
            if sub is not None and isinstance(v, bool):
                current = getattr(config, key)
                changes[key] = (current if current is not None else sub()) if v else None
            else:
                changes[key] = v
        for parent, fields_ in nested.items():
            if plain.get(parent) is False:
                raise ValueError(f"{parent}=false with {parent}.{next(iter(fields_))} set")
            current = changes.get(parent, getattr(config, parent))
            sub = _nested(hints[parent])
            base = current if current is not None else sub()  # type: ignore[misc]
            changes[parent] = dataclasses.replace(base, **fields_)
        return dataclasses.replace(config, **changes)
    except (ValueError, TypeError) as exc:
        raise ConfigError(f"{option}: {cut(str(exc), 160)}") from None
