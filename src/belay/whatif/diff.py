"""A policy change, rule by rule, in words (``belay policy diff OLD NEW``). Pure."""

from __future__ import annotations

from typing import Any

from belay.gate import Policy, PolicyException, PolicySet

__all__ = ["policy_diff"]


def _flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for key, item in value.items():
            out.update(_flatten(item, f"{prefix}.{key}" if prefix else str(key)))
        return out
    return {prefix: value}


def _show(value: Any) -> str:
    if value is True:
        return "on"
    if value is False:
        return "off"
    if value is None:
        return "unset"
    if isinstance(value, list):
        return "[" + ", ".join(str(v) for v in value) + "]" if value else "none"
    return str(value)


def _direction(path: str, old: Any, new: Any) -> str:
    """Whether a change lets more through (laxer) or less (stricter), where that is clear."""
    leaf = path.rsplit(".", 1)[-1]
    if isinstance(old, bool) and isinstance(new, bool):
        relaxing = leaf in {"enabled", "limitEnabled", "kevLimitEnabled"} and old and not new
        tightening = leaf in {"enabled", "limitEnabled", "kevLimitEnabled"} and new and not old
        if ".epssRiskAcceptance." in f".{path}." or ".impactRiskAcceptance." in f".{path}.":
            relaxing, tightening = tightening, relaxing
        return " (laxer)" if relaxing else " (stricter)" if tightening else ""
    if isinstance(old, int | float) and isinstance(new, int | float):
        if leaf in {"limit", "maxAgeHours"} or (leaf == "score" and ".epssLimit." in f".{path}."):
            return " (laxer)" if new > old else " (stricter)"
        if leaf.endswith("Threshold") or (leaf == "score" and "RiskAcceptance" in path):
            up = " (stricter)" if leaf.endswith("Threshold") else " (laxer)"
            down = " (laxer)" if leaf.endswith("Threshold") else " (stricter)"
            return up if new > old else down
    return ""


def _exception(exc: PolicyException) -> str:
    scope = "".join(
        f", {name} {value}"
        for name, value in (("package", exc.package), ("path", exc.path))
        if value
    )
    return f"{exc.id} (owner {exc.owner}, expires {exc.expires.date().isoformat()}{scope})"


def _policy_lines(old: Policy, new: Policy, where: str) -> list[str]:
    skip = {"belay": {"exceptions"}}
    before = _flatten(old.model_dump(mode="json", by_alias=True, exclude=skip))
    after = _flatten(new.model_dump(mode="json", by_alias=True, exclude=skip))
    lines = []
    for path in sorted(before.keys() | after.keys()):
        a, b = before.get(path), after.get(path)
        if a != b:
            lines.append(f"{where}{path}: {_show(a)} -> {_show(b)}{_direction(path, a, b)}")
    old_exc = {e.id.upper(): e for e in old.belay.exceptions}
    new_exc = {e.id.upper(): e for e in new.belay.exceptions}
    for key in sorted(new_exc.keys() - old_exc.keys()):
        lines.append(f"{where}exception added: {_exception(new_exc[key])} (laxer)")
    for key in sorted(old_exc.keys() - new_exc.keys()):
        lines.append(f"{where}exception removed: {_exception(old_exc[key])} (stricter)")
    for key in sorted(old_exc.keys() & new_exc.keys()):
        if old_exc[key] != new_exc[key]:
            lines.append(
                f"{where}exception changed: {_exception(old_exc[key])} -> "
                f"{_exception(new_exc[key])}"
            )
    return lines


def policy_diff(old: PolicySet, new: PolicySet) -> list[str]:
    """One line per changed rule, default policy first, then each branch override."""
    lines = _policy_lines(old.default, new.default, "")
    old_branches = dict(old.branches)
    new_branches = dict(new.branches)
    for pattern in sorted(old_branches.keys() | new_branches.keys()):
        if pattern not in new_branches:
            lines.append(f"branches[{pattern}]: override removed")
        elif pattern not in old_branches:
            lines.append(f"branches[{pattern}]: override added")
            lines += _policy_lines(new.default, new_branches[pattern], f"branches[{pattern}].")
        else:
            lines += _policy_lines(
                old_branches[pattern], new_branches[pattern], f"branches[{pattern}]."
            )
    return lines
