"""Helpers shared by the test suites: Portage deliveries, bundles, tokens, settings, servers,
waiting, stores.

Import from here (``from tests.support import post_delivery``); the in-memory unit of work is
:mod:`tests.support.fake_uow`.
"""

from tests.support.portage import (
    BUNDLE_NAME,
    DEPLOY_FORM,
    NATIVE_PATH,
    SUBMIT_PATH,
    bearer,
    delivery_request,
    portage_bundle,
    post_delivery,
    signed_webhook_headers,
    submit_for_verdict,
)
from tests.support.processes import start_server, stop_process, stopped_at_exit
from tests.support.serving import serve_app, serve_services
from tests.support.settings import FAST_WORKER, guestbook_settings
from tests.support.store import migrated_store
from tests.support.tokens import unsigned_jwt
from tests.support.waiting import free_port, wait_http, wait_until

__all__ = [
    "BUNDLE_NAME",
    "DEPLOY_FORM",
    "FAST_WORKER",
    "NATIVE_PATH",
    "SUBMIT_PATH",
    "bearer",
    "delivery_request",
    "free_port",
    "guestbook_settings",
    "migrated_store",
    "portage_bundle",
    "post_delivery",
    "serve_app",
    "serve_services",
    "signed_webhook_headers",
    "start_server",
    "stop_process",
    "stopped_at_exit",
    "submit_for_verdict",
    "unsigned_jwt",
    "wait_http",
    "wait_until",
]
