"""The failure throttle, as a table with a settable clock, then live at /login."""

from __future__ import annotations

import hmac

import httpx
import pytest

from belay.config.settings import ThrottleSettings
from belay.web.access import ReadAccess
from belay.web.throttle import FailureThrottle

from .conftest import READ_TOKEN, Belay, csrf_form

POLICY = ThrottleSettings(max_failures=3, window_seconds=60, lockout_seconds=120)


class Clock:
    """A settable monotonic clock."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.mark.parametrize(
    ("steps", "locked_after"),
    [
        pytest.param([0, 0], None, id="two-failures-no-lockout"),
        pytest.param([0, 0, 0], 120, id="third-failure-locks"),
        pytest.param([0, 0, 61], None, id="window-passed-counts-afresh"),
        pytest.param([0, 0, 0, 119], 1, id="lockout-nearly-over"),
        pytest.param([0, 0, 0, 120], None, id="lockout-over"),
    ],
)
def test_lockout_table(steps: list[float], locked_after: int | None) -> None:
    """Each step advances the clock, then fails once; the last step (when past the lockout)
    only advances it. Failures within the window lock; the lockout ends on time."""
    clock = Clock()
    throttle = FailureThrottle(POLICY, clock=clock)
    for advance in steps:
        clock.now += advance
        if throttle.retry_after("c") is None:
            throttle.fail("c")
    assert throttle.retry_after("c") == locked_after
    assert throttle.retry_after("another-client") is None


def test_success_forgets_and_clients_are_separate_and_bounded() -> None:
    """A success resets the count; each client counts alone; memory is bounded."""
    clock = Clock()
    throttle = FailureThrottle(POLICY, clock=clock, max_clients=10)
    throttle.fail("a")
    throttle.fail("a")
    throttle.succeed("a")
    assert not throttle.fail("a").locked
    outcome = [throttle.fail("b") for _ in range(3)][-1]
    assert outcome.locked and outcome.retry_after == 120 and outcome.failures == 3
    for n in range(100):
        throttle.fail(f"flood-{n}")
    assert len(throttle._entries) <= 10


def test_token_check_compares_fixed_length_digests(monkeypatch: pytest.MonkeyPatch) -> None:
    """A near miss and a far miss cost the same: only equal-length digests are compared, with
    hmac.compare_digest."""
    compared: list[tuple[int, int]] = []
    real = hmac.compare_digest

    def spy(a: bytes, b: bytes) -> bool:
        compared.append((len(a), len(b)))
        return real(a, b)

    access = ReadAccess(token="the-read-token-123456")
    monkeypatch.setattr(hmac, "compare_digest", spy)
    for guess in ("the-read-token-123457", "x", "the-read-token-123456" * 50):
        assert not access.check_token(guess)
    assert access.check_token("the-read-token-123456")
    assert compared == [(32, 32)] * 4


def test_sign_in_is_throttled_and_audited(belay_token: Belay) -> None:
    """Five wrong tokens, then 429 with Retry-After even for the right token; the lockout is in
    the audit trail, and the wrong tokens are not (before: thirty 401s in a row)."""
    with httpx.Client(base_url=belay_token.url, timeout=10) as browser:
        codes = [
            browser.post("/login", data=csrf_form(browser, token=f"wrong-{n}")).status_code
            for n in range(5)
        ]
        locked = browser.post("/login", data=csrf_form(browser, token=READ_TOKEN))
    assert codes == [401, 401, 401, 401, 429]
    assert locked.status_code == 429
    assert 1 <= int(locked.headers["retry-after"]) <= 300
    assert "set-cookie" not in locked.headers or "belay_session" not in locked.headers["set-cookie"]
    with belay_token.services.store.unit_of_work() as uow:
        events = uow.audit.list()
    kinds = [e.kind for e in events]
    assert kinds.count("web.sign_in_locked_out") == 1
    assert kinds.count("web.sign_in_refused") == 1  # the first at once; the rest aggregated
    locked_event = next(e for e in events if e.kind == "web.sign_in_locked_out")
    assert locked_event.data["failures"] == 5 and locked_event.data["client"] == "127.0.0.1"
    text = str([e.data for e in events])
    assert "wrong-" not in text and READ_TOKEN not in text
