"""docs/simulator.md names every key of the simulator's state file."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel

from belay.sim.state import Behavior, Faults, _StateShape

DOC = Path(__file__).resolve().parents[2] / "docs" / "simulator.md"


def _keys(model: type[BaseModel]) -> set[str]:
    return {field.alias or name for name, field in model.model_fields.items()}


def test_doc_names_every_state_key() -> None:
    """Each top-level, ``syncBehavior`` and ``faults`` key appears in backticks in the doc."""
    text = DOC.read_text(encoding="utf-8")
    keys = _keys(_StateShape) | _keys(Behavior) | _keys(Faults)
    missing = sorted(k for k in keys if f"`{k}`" not in text)
    assert not missing, missing
    assert "## Not modelled" in text
