"""`manage.py console_ready` (make run's last words): it waits for the health check, then prints
one box with the URL, the demo's sign-in and where emails go; it gives up loudly."""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import CommandError, call_command

from rewards.management.commands import console_ready


def _run(**options) -> str:
    out = io.StringIO()
    call_command("console_ready", stdout=out, **options)
    return out.getvalue()


def test_it_prints_the_sign_in_box_once_the_server_answers(tmp_path, monkeypatch, settings):
    settings.EMAIL_BACKEND = console_ready.FILE_EMAIL_BACKEND
    settings.EMAIL_FILE_PATH = str(tmp_path / "emails")
    answers = iter([False, False, True])
    monkeypatch.setattr(console_ready, "_answers", lambda url: next(answers))
    monkeypatch.setattr(console_ready.time, "sleep", lambda seconds: None)
    demo = tmp_path / "demo.json"
    demo.write_text(
        json.dumps(
            {
                "email": "demo@moments.test",
                "password": "s3cret-Passw0rd",
                "app_id": "app-1",
                "api_key": "mk_x.y",
                "live_campaign_id": "live-1",
                "approved_campaign_id": "approved-1",
                "charges": 320,
            }
        )
    )

    lines = _run(url="http://127.0.0.1:8107", demo=str(demo), logs="/v/logs").splitlines()

    assert lines[0].startswith("┌") and lines[-1].startswith("└")
    assert len({len(line) for line in lines}) == 1  # a closed frame
    text = "\n".join(lines)
    assert "Sign in at http://127.0.0.1:8107/login/" in text
    assert "password:  s3cret-Passw0rd" in text
    assert f"Emails:      {tmp_path / 'emails'}/ (one file per message)" in text
    assert "/v/logs/worker.log" in text


def test_without_a_demo_account_it_points_to_sign_up(monkeypatch, tmp_path):
    monkeypatch.setattr(console_ready, "_answers", lambda url: True)

    text = _run(url="http://127.0.0.1:8107", demo=str(tmp_path / "absent.json"))

    assert "No demo account (DEBUG is off): sign up at http://127.0.0.1:8107/signup/" in text
    assert "password" not in text


def test_it_gives_up_when_the_server_never_answers(monkeypatch):
    monkeypatch.setattr(console_ready, "_answers", lambda url: False)

    with pytest.raises(CommandError, match="did not answer 200 within 0 s"):
        _run(url="http://127.0.0.1:9", timeout=0)
