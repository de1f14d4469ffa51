"""Time of one call, in-process: the WSGI application called N times in a loop, no server and
no network between (`.venv/bin/python bench/profile_calls.py [N] [--profile TAG]`).

Where wrk's throughput is noisy (a shared machine), this tells the options apart: it measures
the CPU time of Django's request cycle, the middleware and the API's own code, per scenario
(a, r, b, c, d as in bench/run.py), on the same seeded database and Redis. `--profile c`
prints cProfile's top functions of scenario (c) by cumulative time.
"""

from __future__ import annotations

import cProfile
import io
import json
import pstats
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.run import seed  # noqa: E402

REPEATS = 5


def environ(path: str, method: str, body: bytes, headers: dict[str, str]) -> dict:
    env = {
        "REQUEST_METHOD": method,
        "PATH_INFO": path,
        "SCRIPT_NAME": "",
        "QUERY_STRING": "",
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "8000",
        "HTTP_HOST": "127.0.0.1",
        "REMOTE_ADDR": "127.0.0.1",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "wsgi.url_scheme": "http",
        "CONTENT_LENGTH": str(len(body)),
        "CONTENT_TYPE": headers.get("Content-Type", ""),
    }
    for name, value in headers.items():
        if name.lower() != "content-type":
            env["HTTP_" + name.upper().replace("-", "_")] = value
    return env


def main() -> None:
    args = sys.argv[1:]
    profile_tag = None
    if "--profile" in args:
        at = args.index("--profile")
        profile_tag = args[at + 1]
        del args[at : at + 2]
    count = int(args[0]) if args else 2000
    seeded = seed()
    from bench.wsgi import application

    body = json.dumps(seeded["body"]).encode()
    api = {"x-api-key": seeded["key"], "Content-Type": "application/json"}
    scenarios = {
        "a": ("/bench/hello", "GET", b"", {}),
        "r": ("/bench/hello-redis", "GET", b"", {}),
        "b": ("/bench/raw-sql", "POST", b"", {}),
        "c": ("/prod/GetRewardInfo", "POST", body, api),
        "d": ("/prod/GetReward", "POST", body, api),
    }

    def call(tag: str) -> None:
        path, method, payload, headers = scenarios[tag]
        env = environ(path, method, payload, headers)
        env["wsgi.input"] = io.BytesIO(payload)
        statuses = []
        result = application(env, lambda status, headers, exc_info=None: statuses.append(status))
        b"".join(result)
        getattr(result, "close", lambda: None)()
        if not statuses[0].startswith("200"):
            raise SystemExit(f"({tag}) answered {statuses[0]}: {b''.join(result)!r}")

    for tag in scenarios:  # warm-up: connections, caches, remembered key
        for _ in range(50):
            call(tag)
    if profile_tag:
        profiler = cProfile.Profile()
        profiler.enable()
        for _ in range(count):
            call(profile_tag)
        profiler.disable()
        stats = pstats.Stats(profiler)
        stats.sort_stats(args[1] if len(args) > 1 else "cumulative").print_stats(45)
        return
    print(
        f"{count} calls per scenario, {REPEATS} interleaved repeats, in-process: µs per call, "
        "the best repeat's wall time and CPU time of this process (the server's share of Redis "
        "and PostgreSQL is in wall only)"
    )
    best: dict[str, tuple[float, float]] = {tag: (float("inf"), float("inf")) for tag in scenarios}
    for _ in range(REPEATS):
        for tag in scenarios:
            wall, cpu = time.perf_counter(), time.process_time()
            for _ in range(count):
                call(tag)
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
            best[tag] = (min(best[tag][0], wall / count), min(best[tag][1], cpu / count))
    for tag, (wall, cpu) in best.items():
        print(f"  ({tag}) {scenarios[tag][0]:22} wall {wall * 1e6:8.1f}  CPU {cpu * 1e6:7.1f}")


if __name__ == "__main__":
    main()
