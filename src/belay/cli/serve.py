"""``belay serve``, ``belay worker`` and ``belay db upgrade``: running Belay as a service."""

from __future__ import annotations

import signal
import threading
from typing import Annotated

import typer

from belay.cli._common import ConfigOption, handle_errors
from belay.logs import notice

__all__ = ["register"]


def register(app: typer.Typer) -> None:
    """Add ``serve``, ``worker`` and ``db`` to ``app``."""
    db_app = typer.Typer(help="The store's schema.", no_args_is_help=True)
    app.add_typer(db_app, name="db")

    @app.command()
    @handle_errors
    def serve(
        config: ConfigOption = None,
        host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
        port: Annotated[int, typer.Option(min=1, max=65535, help="Port to listen on.")] = 8080,
        worker: Annotated[
            bool | None,
            typer.Option(
                "--worker/--no-worker",
                help="Run the deployment worker in this process (default: on with SQLite).",
            ),
        ] = None,
    ) -> None:
        """Serve the HTTP API and the audit page (and, with SQLite, the deployment worker)."""
        import uvicorn

        from belay.bootstrap import build_services, freeze_startup_heap, start_workers
        from belay.config import load_settings
        from belay.web import create_app

        settings = load_settings(config)
        services = build_services(settings)
        run_worker = worker if worker is not None else services.store.backend == "sqlite"
        stop = threading.Event()
        count = settings.worker.concurrency
        # The bypass watch first: it subscribes to the informers before anything starts them,
        # so it sees their first list.
        watchers = _start_bypass_watch(services, stop)
        threads = start_workers(services, stop=stop, count=count) if run_worker else []
        _start_background(services)
        web_app = create_app(services)
        freeze_startup_heap()
        notice(
            f"Belay listening on http://{host}:{port} (worker: {'on' if threads else 'off'})",
            url=f"http://{host}:{port}",
            worker=bool(threads),
        )
        try:
            # log_config and log_level None: uvicorn's lines go through Belay's logging, at
            # --log-level, JSON with --log-format json; the request log is Belay's http.request.
            uvicorn.run(
                web_app, host=host, port=port, log_level=None, access_log=False, log_config=None
            )
        finally:
            stop.set()
            for thread in threads:
                thread.join(timeout=30)
            for thread in watchers:  # a watch may sit in a stream read; they are daemons
                thread.join(timeout=2)
            services.close()

    @app.command("worker")
    @handle_errors
    def worker_command(
        config: ConfigOption = None,
        concurrency: Annotated[
            int | None,
            typer.Option(min=1, max=64, help="Jobs run in parallel (default: worker.concurrency)."),
        ] = None,
    ) -> None:
        """Run deployment workers only (for PostgreSQL deployments with several replicas)."""
        from belay.bootstrap import build_services, freeze_startup_heap, start_workers
        from belay.config import load_settings

        settings = load_settings(config)
        services = build_services(settings, with_intake=False)
        count = concurrency or settings.worker.concurrency
        stop = threading.Event()

        def _stop(_signum: int, _frame: object) -> None:
            stop.set()

        signal.signal(signal.SIGTERM, _stop)
        signal.signal(signal.SIGINT, _stop)
        _start_background(services)
        freeze_startup_heap()
        threads = start_workers(services, stop=stop, count=count)
        notice(f"Belay worker running ({count} at a time)", concurrency=count)
        while not stop.wait(0.5):
            pass
        for thread in threads:
            thread.join(timeout=30)
        services.close()

    @db_app.command("upgrade")
    @handle_errors
    def db_upgrade(config: ConfigOption = None) -> None:
        """Apply the store's migrations; exit 0 when the database is up to date."""
        from belay.config import load_settings
        from belay.store import Store

        store = Store(load_settings(config).database_url)
        try:
            store.upgrade()
            typer.echo(f"database at migration {store.current_revision()}")
        finally:
            store.dispose()


def _start_bypass_watch(services: object, stop: threading.Event) -> list[threading.Thread]:
    """The gate-bypass watch of every mapped application (docs/bypass.md)."""
    from belay.bootstrap import Services
    from belay.bypass import start_bypass_watch

    assert isinstance(services, Services)
    # One watch per instance: the bypass watch rides the informers the deployments use.
    informers = services.informers
    sources = (
        {
            p.argocd.instance: informers.events(p.argocd.instance)
            for p in services.settings.projects
            if p.argocd
        }
        if informers is not None and services.settings.bypass.enabled
        else None
    )
    return start_bypass_watch(
        services.store,
        services.settings,
        services.clients,
        alerting=services.alerting,
        stop=stop,
        sources=sources,
    )


def _start_background(services: object) -> None:
    """Alert delivery and token checks, and SIGHUP re-reading the Argo CD configuration."""
    from belay.bootstrap import Services
    from belay.config import resolve_argocd
    from belay.deploy import install_sighup

    assert isinstance(services, Services)
    services.alerting.start(resolver=resolve_argocd)
    if hasattr(signal, "SIGHUP") and threading.current_thread() is threading.main_thread():
        install_sighup(services.clients)
