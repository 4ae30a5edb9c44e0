"""The HTTP API and the audit page (served by ``belay serve``)."""

from belay.web.app import create_app
from belay.web.serving import free_port, serve_in_thread

__all__ = ["create_app", "free_port", "serve_in_thread"]
