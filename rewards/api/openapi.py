"""The OpenAPI 3 document of the Rewards API, served at /api/openapi.json.

The document is data: rewards/api/openapi.json, edited by hand. Only the server URL comes from
the settings (`{SITE_URL}` in the file). tests/rewards/test_openapi_file.py checks the file
against the code (every errorCode of ERROR_CODES under its status, every route of the API, the
validation patterns), and schemathesis checks the server against it (tests/rewards/test_openapi.py),
so the file and the behaviour cannot drift apart.
"""

from __future__ import annotations

import copy
import json
from functools import cache
from pathlib import Path

from django.conf import settings

DOCUMENT_PATH = Path(__file__).with_name("openapi.json")
SITE_URL_PLACEHOLDER = "{SITE_URL}"


@cache
def openapi_file() -> dict:
    """The document as the file holds it, placeholder included (read once per process)."""
    return json.loads(DOCUMENT_PATH.read_text(encoding="utf-8"))


def openapi_document() -> dict:
    """The whole OpenAPI 3.0 document, with the server URL of this installation."""
    document = copy.deepcopy(openapi_file())
    for server in document["servers"]:
        server["url"] = server["url"].replace(SITE_URL_PLACEHOLDER, settings.SITE_URL)
    return document
