"""Webhooks (SPEC §12): events of an account, signed per Standard Webhooks and delivered to its
endpoints by Celery."""
