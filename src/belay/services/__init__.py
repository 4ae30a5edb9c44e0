"""Belay's use cases, each a function (or a small class) over the collaborators it needs.

Entry points (the web app, the CLI) only translate their input into these calls and the results
into their output; :mod:`belay.bootstrap` builds the collaborators once.

* :func:`submit_delivery`: a gatecheck bundle in, a stored verdict (and, on a pass, a
  deployment job) out, through the :class:`IntakeService` built at start (its policies, threat
  data and group commit; :func:`credentials_from_settings` reads the submitters' secrets);
* :class:`ManualSync`: ``belay sync``: the gate's word on a revision, then a queued, audited
  job (an override announced);
* :func:`investigate_alert`: an alert in, Argo CD findings out (``belay investigate``);
  :func:`receive_notification`: the alert receiver's resolve, skip or investigate-and-store.
"""

from belay.services.intake import (
    DEFAULT_BUNDLE_NAME,
    Delivery,
    IntakeResponse,
    IntakeService,
    credentials_from_settings,
    submit_delivery,
)
from belay.services.investigation import (
    NotificationOutcome,
    StoredInvestigation,
    investigate_alert,
    receive_notification,
)
from belay.services.manual_sync import ANNOUNCE_WAIT_SECONDS, ManualSync

__all__ = [
    "ANNOUNCE_WAIT_SECONDS",
    "DEFAULT_BUNDLE_NAME",
    "Delivery",
    "IntakeResponse",
    "IntakeService",
    "ManualSync",
    "NotificationOutcome",
    "StoredInvestigation",
    "credentials_from_settings",
    "investigate_alert",
    "receive_notification",
    "submit_delivery",
]
