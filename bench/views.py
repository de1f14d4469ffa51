"""The reference points the Rewards API is measured against, served by the same gunicorn
so every side pays the same HTTP and Django costs."""

from __future__ import annotations

from django.db import connection, transaction
from django.http import JsonResponse
from django.views.decorators.csrf import csrf_exempt


def hello(request):
    """(a) The floor for GetRewardInfo: a view returning a small JSON (served with no
    middleware, see bench/wsgi.py)."""
    return JsonResponse({"ok": True})


@csrf_exempt
def raw_sql(request):
    """(b) The floor for GetReward: one transaction that decrements one row and inserts one
    row, in raw SQL on the same PostgreSQL."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "UPDATE bench_counter SET remaining = remaining - 1 WHERE id = 1 AND remaining > 0"
        )
        if cursor.rowcount != 1:
            return JsonResponse({"ok": False}, status=409)
        cursor.execute("INSERT INTO bench_log (counter_id) VALUES (1) RETURNING id")
        row_id = cursor.fetchone()[0]
    return JsonResponse({"ok": True, "id": row_id})


def hello_redis(request):
    """(a') The bare view plus one Redis round trip on the API's own client: the floor of any
    answer that must touch shared state (the throttle) on every call."""
    from rewards.cache import redis_client

    redis_client().ping()
    return JsonResponse({"ok": True})
