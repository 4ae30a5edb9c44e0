"""Packages are used through their faces: no module reaches into another package's submodules.

Each package's ``__init__`` lists its public names; code outside the package imports those from
the package itself, so a package can move its insides without breaking its neighbours
(docs/architecture.md). The exceptions are the pure domain modules, which import the few pure
modules they need directly: importing a face would load its adapters (the Argo CD client, httpx),
which the ``pure-domain`` import contract forbids.
"""

from __future__ import annotations

import importlib
from pathlib import Path

import grimp

import belay

SRC = Path(belay.__file__).parent

# (importer, imported): a domain module and the pure module it needs without the face.
DOMAIN_DEEP_IMPORTS = {
    ("belay.deploy.decide", "belay.argocd.models"),
    ("belay.bypass.decide", "belay.argocd.models"),
    ("belay.bypass.decide", "belay.deploy.decide"),
    ("belay.bypass.decide", "belay.deploy.revision"),
    ("belay.config.settings", "belay.argocd.names"),
}


def _package(module: str) -> str | None:
    parts = module.split(".")
    if len(parts) < 3 or not (SRC / parts[1] / "__init__.py").exists():
        return None
    return f"belay.{parts[1]}"


def _through_face(graph: grimp.ImportGraph, importer: str, imported: str, package: str) -> bool:
    """``from belay.gate import evaluate`` names the face's function, not the submodule of the
    same name (grimp cannot tell them apart)."""
    details = graph.get_import_details(importer=importer, imported=imported)
    return bool(details) and all(
        d["line_contents"].startswith(f"from {package} import") for d in details
    )


def test_no_module_reaches_into_another_package() -> None:
    """Every import of ``belay.X.sub`` from outside ``belay.X`` is a listed domain exception."""
    graph = grimp.build_graph("belay")
    reaching = sorted(
        (importer, imported)
        for importer in graph.modules
        for imported in graph.find_modules_directly_imported_by(importer)
        if (package := _package(imported)) is not None
        and not (importer == package or importer.startswith(package + "."))
        and (importer, imported) not in DOMAIN_DEEP_IMPORTS
        and not _through_face(graph, importer, imported, package)
    )
    assert reaching == []


def test_every_face_lists_what_it_offers() -> None:
    """Each package's ``__all__`` names things the package really has."""
    for init in sorted(SRC.glob("*/__init__.py")):
        package = importlib.import_module(f"belay.{init.parent.name}")
        names = getattr(package, "__all__", None)
        assert names is not None, f"{package.__name__} has no __all__"
        missing = [n for n in names if not hasattr(package, n)]
        assert missing == [], f"{package.__name__} lists names it lacks: {missing}"


def test_the_exceptions_are_still_needed() -> None:
    """A listed exception that no longer exists is dropped from the list (it cannot hide one)."""
    graph = grimp.build_graph("belay")
    for importer, imported in DOMAIN_DEEP_IMPORTS:
        assert imported in graph.find_modules_directly_imported_by(importer), (importer, imported)
