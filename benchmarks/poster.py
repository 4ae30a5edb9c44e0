"""Post pre-built Portage bodies at a steady rate, in a process of its own.

``python benchmarks/poster.py URL TOKEN CONTENT_TYPE BODIES OFFSETS RATE`` posts each body of
``BODIES`` (byte ranges listed in ``OFFSETS``, one ``start length`` per line) once, the n-th at
``n / RATE`` seconds after the start, from a small thread pool, and prints one JSON line: the
rate it offered and the HTTP statuses it got. The pipeline benchmark runs it apart from the
simulator, so that the load generator does not share the simulator's interpreter (and its GIL).
"""

from __future__ import annotations

import json
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx


def main() -> None:
    """Post every body at the given rate; print ``{"offered_rate": ..., "statuses": [...]}``."""
    url, token, content_type, bodies_path, offsets_path, rate_text = sys.argv[1:7]
    rate = float(rate_text)
    data = Path(bodies_path).read_bytes()
    spans = [tuple(map(int, line.split())) for line in Path(offsets_path).read_text().splitlines()]
    bodies = [data[start : start + length] for start, length in spans]
    statuses: list[int] = []
    lock = threading.Lock()
    headers = {"Authorization": token, "Content-Type": content_type}
    with httpx.Client(timeout=30) as client, ThreadPoolExecutor(8) as pool:

        def post(body: bytes) -> None:
            try:
                code = client.post(url, content=body, headers=headers).status_code
            except httpx.HTTPError:
                code = 0
            with lock:
                statuses.append(code)

        start = time.monotonic()
        for n, body in enumerate(bodies):
            delay = start + n / rate - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            pool.submit(post, body)
        offered = len(bodies) / (time.monotonic() - start)
    print(json.dumps({"offered_rate": offered, "statuses": statuses}))


if __name__ == "__main__":
    main()
