"""Belay's use cases, each a function (or a small class) over the collaborators it needs.

Entry points (the web app, the CLI) only translate their input into these calls and the results
into their output; :mod:`belay.bootstrap` builds the collaborators once.

* :func:`investigate_alert`: an alert in, Argo CD findings out (``belay investigate``);
  :func:`receive_notification`: the alert receiver's resolve, skip or investigate-and-store.
"""

from belay.services.investigation import (
    NotificationOutcome,
    StoredInvestigation,
    investigate_alert,
    receive_notification,
)

__all__ = [
    "NotificationOutcome",
    "StoredInvestigation",
    "investigate_alert",
    "receive_notification",
]
