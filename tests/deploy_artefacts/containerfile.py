"""A small reader of deploy/Containerfile: stages and their instructions (Dockerfile syntax).

Only what the tests need: comments and blank lines dropped, backslash continuations joined, each
instruction split into its keyword and the rest, grouped by ``FROM`` stage.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class Stage:
    """One ``FROM`` stage: its base image, its name (``AS``) and its instructions in order."""

    base: str
    name: str | None
    instructions: list[tuple[str, str]] = field(default_factory=list)

    def all(self, keyword: str) -> list[str]:
        """The arguments of every instruction with this keyword, in order."""
        return [rest for kw, rest in self.instructions if kw == keyword.upper()]

    def last(self, keyword: str) -> str | None:
        """The arguments of the last instruction with this keyword (it is the one in effect)."""
        found = self.all(keyword)
        return found[-1] if found else None

    def exec_form(self, keyword: str) -> list[str]:
        """``ENTRYPOINT``/``CMD`` in exec (JSON array) form; a shell form is a test failure."""
        raw = self.last(keyword)
        assert raw is not None, f"no {keyword} in stage {self.name or self.base}"
        value = json.loads(raw)
        assert isinstance(value, list), f"{keyword} must be in exec (JSON array) form"
        return [str(v) for v in value]


def parse(path: Path) -> list[Stage]:
    """The stages of a Containerfile."""
    logical: list[str] = []
    pending = ""
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue  # also inside a continued instruction, as Docker skips such lines
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        logical.append(pending + line)
        pending = ""
    assert not pending, "the file ends inside a continued instruction"
    stages: list[Stage] = []
    for line in logical:
        keyword, _, rest = line.partition(" ")
        keyword = keyword.upper()
        rest = re.sub(r"\s+", " ", rest.strip())
        if keyword == "FROM":
            match = re.fullmatch(r"(\S+)(?: AS (\S+))?", rest, flags=re.IGNORECASE)
            assert match, f"cannot read FROM {rest!r}"
            stages.append(Stage(base=match.group(1), name=match.group(2)))
            continue
        assert stages, f"{keyword} before the first FROM"
        stages[-1].instructions.append((keyword, rest))
    return stages
