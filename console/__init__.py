"""Moments Console project package; also the app for developer accounts and app registration."""

from .celery import app as celery_app

__all__ = ("celery_app",)
