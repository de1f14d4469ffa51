"""Rewards pages and the Rewards API."""

from __future__ import annotations

from django.shortcuts import render


def api_docs(request):
    return render(request, "rewards/api_docs.html")
