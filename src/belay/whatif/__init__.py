"""Policy what-if: replay stored submissions under a candidate policy, and policy diffs.

:func:`replay` judges every stored submission in range again (never writing a decision, a job
or a sync) and reports which decisions flip; :func:`render_text` / :func:`render_markdown`
show the result as a table a reviewer can paste into a merge request; :func:`policy_diff`
describes a policy change rule by rule.
"""

from __future__ import annotations

from belay.whatif.diff import policy_diff
from belay.whatif.model import Flip, RuleChange, Skip, WhatIfResult
from belay.whatif.render import render_markdown, render_text
from belay.whatif.replay import (
    Candidate,
    candidate_from_file,
    candidate_from_text,
    compare_rules,
    parse_since,
    replay,
    replay_projects,
)

__all__ = [
    "Candidate",
    "Flip",
    "RuleChange",
    "Skip",
    "WhatIfResult",
    "candidate_from_file",
    "candidate_from_text",
    "compare_rules",
    "parse_since",
    "policy_diff",
    "render_markdown",
    "render_text",
    "replay",
    "replay_projects",
]
