"""Versioned SQL that migrations install (PostgreSQL only).

A file here is frozen once a migration installs it: its migration records the file's SHA-256
and refuses to run when the file no longer matches, because databases that already ran that
migration would never see the edit. A change is a new version (`..._v3.sql`) with its own
migration; tests/rewards/test_get_reward_sql.py checks that the database runs the newest one.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

SQL_DIR = Path(__file__).resolve().parent


def sql_file(name: str, *, sha256: str) -> str:
    """The text of `name`, checked against the hash its migration recorded."""
    # Line endings normalised: a checkout that converts them is not an edit.
    text = (SQL_DIR / name).read_text(encoding="utf-8").replace("\r\n", "\n")
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
    if digest != sha256:
        raise RuntimeError(
            f"rewards/sql/{name} changed after its migration was written (sha256 {digest}, "
            f"recorded {sha256}). Installed SQL is never edited: copy it to a new version "
            "file and install that with a new migration."
        )
    return text


def newest_version(prefix: str) -> Path:
    """The highest `<prefix>_v<N>.sql` in this directory."""
    versions = {
        int(match.group(1)): path
        for path in SQL_DIR.glob(f"{prefix}_v*.sql")
        if (match := re.fullmatch(rf"{re.escape(prefix)}_v(\d+)\.sql", path.name))
    }
    return versions[max(versions)]


def function_body(sql: str) -> str:
    """The body between a CREATE FUNCTION's `$$` quotes, as pg_proc.prosrc stores it."""
    match = re.search(r"\$\$(.*)\$\$", sql, re.DOTALL)
    if match is None:
        raise ValueError("No $$-quoted function body found.")
    return match.group(1)
