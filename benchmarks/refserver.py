"""The intake benchmark's reference: ``belay serve``'s own app plus a route that does no work.

``python benchmarks/refserver.py --config belay.yaml --port P`` builds the services and the app
exactly as ``belay serve`` does (same middleware, same uvicorn settings) and adds
``POST /bench/reference``, which reads the multipart body as the intake route does (whole body,
then the form with the same limits, then the bundle's bytes) and answers a fixed verdict. The
difference between this route and ``/Build/SubmitArtifacts`` is Belay's work: auth, bundle and
digest checks, policy, and the durable commit.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from fastapi import Request
from fastapi.responses import JSONResponse
from starlette.datastructures import UploadFile

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

FIXED = {"verdict": {"decision": "pass", "summary": "reference", "reasons": [], "detailsUrl": ""}}


def main() -> None:
    """Serve the reference app until interrupted."""
    import uvicorn

    from belay.bootstrap import build_services, freeze_startup_heap
    from belay.config.settings import load_settings
    from belay.logs import configure_logging
    from belay.web import create_app

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", type=Path, required=True)
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    configure_logging(level="WARNING", fmt="console")  # as the belay CLI does by default
    services = build_services(load_settings(args.config))
    app = create_app(services)
    limit = services.settings.intake.max_body_bytes

    @app.post("/bench/reference")
    async def reference(request: Request) -> JSONResponse:
        await request.body()
        form = await request.form(max_files=4, max_fields=32, max_part_size=limit)
        bundle = form.get("bundle")
        if not isinstance(bundle, UploadFile):
            return JSONResponse({"error": "no bundle"}, status_code=400)
        await bundle.read()
        return JSONResponse(FIXED)

    freeze_startup_heap()  # as belay serve does once started
    try:
        uvicorn.run(app, host="127.0.0.1", port=args.port, log_level="warning", access_log=False)
    finally:
        services.store.dispose()


if __name__ == "__main__":
    main()
