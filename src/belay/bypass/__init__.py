"""The gate-bypass watch: deployments of mapped applications at revisions the gate did not pass.

    source = ListWatch(clients, "default")          # or the shared ApplicationInformer
    handler = BypassHandler(store, settings, instance="default", alerting=alerting, lease=lease)
    source.add_handler(handler.handle)

:mod:`belay.bypass.decide` is the pure decision; :class:`BypassHandler` does the look-ups and the
one-transaction report; :class:`Lease` keeps one replica per instance reporting;
:func:`start_bypass_watch` wires them for ``belay serve``. See docs/bypass.md.
"""

from belay.bypass.decide import Deployment, Known, Unapproved, deployments, judge
from belay.bypass.events import ApplicationEvents, EventHandler, ListWatch
from belay.bypass.handler import UNAPPROVED_KIND, BypassHandler
from belay.bypass.lease import Lease
from belay.bypass.service import BypassWatch, start_bypass_watch

__all__ = [
    "UNAPPROVED_KIND",
    "ApplicationEvents",
    "BypassHandler",
    "BypassWatch",
    "Deployment",
    "EventHandler",
    "Known",
    "Lease",
    "ListWatch",
    "Unapproved",
    "deployments",
    "judge",
    "start_bypass_watch",
]
