"""Kubernetes label selectors (the ``selector`` query parameter), parsed and matched (pure).

Supports ``k=v``, ``k==v``, ``k!=v``, ``k in (a,b)``, ``k notin (a,b)``, ``k`` and ``!k``, joined by
commas. A parse error raises :class:`SelectorError`; the server answers it as Argo CD does (500).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping

__all__ = ["SelectorError", "parse_selector"]

_KEY = r"[A-Za-z0-9]([-A-Za-z0-9_./]*[A-Za-z0-9])?"
_VALUE = r"([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?"
_SET = re.compile(rf"^\s*({_KEY})\s+(in|notin)\s+\(([^)]*)\)\s*$")
_EQ = re.compile(rf"^\s*({_KEY})\s*(==|=|!=)\s*({_VALUE})\s*$")
_EXISTS = re.compile(rf"^\s*(!?)\s*({_KEY})\s*$")

Matcher = Callable[[Mapping[str, str]], bool]


class SelectorError(ValueError):
    """A selector that does not parse."""


def _split(selector: str) -> list[str]:
    # Commas inside "(a,b)" belong to the set, not to the list of requirements.
    parts, depth, current = [], 0, ""
    for char in selector:
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        if char == "," and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += char
    parts.append(current)
    return parts


def _requirement(text: str) -> Matcher:
    if m := _SET.match(text):
        key, op = m.group(1), m.group(3)
        values = {v.strip() for v in m.group(4).split(",")}
        if op == "in":
            return lambda labels: labels.get(key) in values
        return lambda labels: labels.get(key) not in values
    if m := _EQ.match(text):
        key, op, value = m.group(1), m.group(3), m.group(4)
        if op == "!=":
            return lambda labels: labels.get(key) != value
        return lambda labels: labels.get(key) == value
    if m := _EXISTS.match(text):
        negate, key = m.group(1) == "!", m.group(2)
        return lambda labels: (key in labels) != negate
    raise SelectorError(f"unable to parse requirement: {text.strip()!r}")


def parse_selector(selector: str) -> Matcher:
    """A predicate over a label mapping; the empty selector matches everything."""
    if not selector.strip():
        return lambda labels: True
    requirements = [_requirement(part) for part in _split(selector)]
    return lambda labels: all(req(labels) for req in requirements)
