"""RBAC as Argo CD applies it to the simulator's accounts (pure).

Policy lines are Casbin ``p`` lines: ``p, <subject>, <resource>, <action>, <object>, allow|deny``.
All lines listed under an account apply to it, whatever their subject. ``*`` in resource, action or
object matches anything (including ``/``, as Casbin's ``globMatch`` does); a matching ``deny``
beats any ``allow``. The account ``admin`` with no policy lines is ``role:admin`` (everything).
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass

from belay.sim.state import Account

__all__ = [
    "ACTIONS",
    "ACTION_ORDER",
    "PROJECT_SCOPED",
    "RESOURCES",
    "RESOURCE_ORDER",
    "Rule",
    "allowed",
    "rules_for",
]

RESOURCE_ORDER = (
    "clusters",
    "projects",
    "applications",
    "applicationsets",
    "repositories",
    "write-repositories",
    "certificates",
    "accounts",
    "gpgkeys",
    "logs",
    "exec",
    "extensions",
)
"""``util/rbac.Resources`` in Argo CD's order (can-i prints the list in its error)."""

ACTION_ORDER = (
    "get",
    "create",
    "update",
    "delete",
    "sync",
    "rollback",
    "override",
    "action",
    "invoke",
)
"""``util/rbac.Actions`` in Argo CD's order."""

RESOURCES = frozenset(RESOURCE_ORDER)
ACTIONS = frozenset(ACTION_ORDER)
PROJECT_SCOPED = frozenset(
    {"applications", "applicationsets", "logs", "exec", "clusters", "repositories"}
)
"""Resources whose objects are ``project/name`` or ``project/namespace/name``."""


@dataclass(frozen=True)
class Rule:
    """One parsed policy line."""

    resource: str
    action: str
    obj: str
    allow: bool

    def matches(self, resource: str, action: str, obj: str) -> bool:
        """Whether this line speaks about ``(resource, action, obj)``."""
        return (
            fnmatch.fnmatchcase(resource, self.resource)
            and (self.action == "*" or fnmatch.fnmatchcase(action, self.action))
            and fnmatch.fnmatchcase(obj, self.obj)
        )


def rules_for(account: Account) -> tuple[Rule, ...]:
    """The rules of ``account`` (``admin`` without lines gets everything)."""
    if account.name == "admin" and not account.policies:
        return (Rule("*", "*", "*", True),)
    rules = []
    for line in account.policies:
        _p, _subject, resource, action, obj, effect = (part.strip() for part in line.split(","))
        rules.append(Rule(resource, action, obj, effect.lower() == "allow"))
    return tuple(rules)


def allowed(rules: tuple[Rule, ...], resource: str, action: str, obj: str) -> bool:
    """Casbin's allow-and-no-deny decision."""
    hits = [rule for rule in rules if rule.matches(resource, action, obj)]
    return any(rule.allow for rule in hits) and not any(not rule.allow for rule in hits)
