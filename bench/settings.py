"""Settings of the benchmark's server: the product's settings, plus a bench-only urlconf
holding the reference views (a bare JSON view, the same plus one Redis round trip, and a raw-SQL
transaction)."""

from console.settings import *  # noqa: F403

ROOT_URLCONF = "bench.urls"
# 409s and 429s are expected answers in a load test, not warnings worth a line each.
LOGGING["loggers"]["django.request"] = {"level": "ERROR"}  # noqa: F405
