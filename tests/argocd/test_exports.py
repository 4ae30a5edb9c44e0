"""The public face of ``belay.argocd``: the names other packages code against."""

from __future__ import annotations

import belay.argocd as argocd

# The fixed interface (client_api): removing or renaming any of these breaks other packages.
REQUIRED = {
    "ArgoCDClient",
    "Application",
    "ApplicationStatus",
    "OperationState",
    "SyncOperationResult",
    "ResourceResult",
    "RevisionHistory",
    "ResourceStatus",
    "ResourceDiff",
    "ApplicationTree",
    "RevisionMetadata",
    "KubeEvent",
    "WatchEvent",
    "VersionInfo",
    "UserInfo",
    "SyncRequest",
    "ArgoCDError",
    "ArgoCDUnreachable",
    "ArgoCDTLSError",
    "ArgoCDTimeout",
    "ArgoCDAuthError",
    "ArgoCDPermissionDenied",
    "SyncWindowBlocked",
    "ArgoCDNotFound",
    "OperationInProgress",
    "AutoSyncConflict",
    "ArgoCDBadRequest",
    "ArgoCDRateLimited",
    "ArgoCDServerError",
    "ArgoCDProtocolError",
}


def test_required_names_are_exported() -> None:
    """Every name of the fixed interface is in ``__all__`` and importable."""
    assert set(argocd.__all__) >= REQUIRED
    for name in argocd.__all__:
        assert getattr(argocd, name) is not None


def test_client_methods_exist() -> None:
    """The client offers every method of the interface."""
    methods = {
        "version", "user_info", "login", "list_applications", "get_application",
        "managed_resources", "resource_tree", "revision_metadata", "events", "sync",
        "terminate_operation", "watch_applications", "can_i", "close", "from_instance",
    }  # fmt: skip
    for method in methods:
        assert callable(getattr(argocd.ArgoCDClient, method))


def test_error_tree_and_retryability() -> None:
    """The tree's shape and each class's default retryability match the documented table."""
    tree = {
        argocd.ArgoCDUnreachable: (argocd.ArgoCDError, True),
        argocd.ArgoCDTLSError: (argocd.ArgoCDUnreachable, False),
        argocd.ArgoCDTimeout: (argocd.ArgoCDError, True),
        argocd.ArgoCDAuthError: (argocd.ArgoCDError, False),
        argocd.ArgoCDPermissionDenied: (argocd.ArgoCDError, False),
        argocd.SyncWindowBlocked: (argocd.ArgoCDPermissionDenied, True),
        argocd.ArgoCDNotFound: (argocd.ArgoCDError, False),
        argocd.OperationInProgress: (argocd.ArgoCDError, True),
        argocd.AutoSyncConflict: (argocd.ArgoCDError, False),
        argocd.ArgoCDBadRequest: (argocd.ArgoCDError, False),
        argocd.ArgoCDRateLimited: (argocd.ArgoCDError, True),
        argocd.ArgoCDServerError: (argocd.ArgoCDError, True),
        argocd.ArgoCDProtocolError: (argocd.ArgoCDError, False),
    }
    for cls, (parent, retryable) in tree.items():
        assert cls.__bases__ == (parent,)
        assert cls("x").retryable is retryable
