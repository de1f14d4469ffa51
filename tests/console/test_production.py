"""README's production steps, run as written: `collectstatic` under `DEBUG=0`, then the pages
through granian (and gunicorn) and WhiteNoise with the manifest storage (the one production
uses; the test run itself uses the plain storage, so only a separate process sees what an
operator sees).

Marked slow (run once, in CI's PostgreSQL pass): the servers run on a SQLite file and folders of
their own, whatever the pass's database, so the embedded pass would repeat them to no end.
Under xdist they share one worker (the "production" group), which starts each server once."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from email.message import Message
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# Hashed names: `bootstrap.min.6a7df65a8257.css` (the manifest storage adds 12 hex digits).
HASHED_BOOTSTRAP_CSS = re.compile(r"/static/vendor/bootstrap/bootstrap\.min\.[0-9a-f]{12}\.css")
SOURCE_MAP = re.compile(r"sourceMappingURL=([^\s*'\"]+)")


def _production_env(tmp: Path) -> dict[str, str]:
    # Without DJANGO_TESTING the settings are production's (manifest storage, no finders);
    # REDIS_URL is dropped so the embedded broker and file cache live in the temporary VAR_DIR.
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("PYTEST", "DEBUG", "DJANGO", "REDIS_URL", "DATABASE_URL"))
    }
    env.update(
        DEBUG="0",
        SECRET_KEY="x" * 20 + "a-long-random-production-secret-key-0123456789",
        ALLOWED_HOSTS="127.0.0.1",
        VAR_DIR=str(tmp / "var"),
        DATABASE_URL=f"sqlite:///{tmp / 'db.sqlite3'}",
        STATIC_ROOT=str(tmp / "static"),
        # TLS ends at the load balancer in README's set-up; here plain HTTP talks to the server.
        SECURE_SSL_REDIRECT="0",
    )
    return env


def _manage(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _get(url: str) -> tuple[int, Message, bytes]:
    # The headers as received (case-insensitive: granian sends lower-case names).
    try:
        with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 (our server)
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers, exc.read()


# README's production server (granian) and the alternative it names (gunicorn), each serving
# console.wsgi the way README starts it (one worker here).
SERVERS = {
    "granian": lambda port: [
        sys.executable, "-m", "granian", "--interface", "wsgi", "--host", "127.0.0.1",
        "--port", str(port), "--workers", "1", "--blocking-threads", "8", "--no-ws",
        "console.wsgi:application",
    ],
    "gunicorn": lambda port: [
        sys.executable, "-m", "gunicorn", "console.wsgi", "--worker-class", "gthread",
        "--threads", "4", "--bind", f"127.0.0.1:{port}", "--workers", "1", "--no-control-socket",
    ],
}  # fmt: skip


@pytest.fixture(scope="module", params=sorted(SERVERS))
def production(request, tmp_path_factory):
    """A migrated SQLite database, `collectstatic` output and the server (granian, then
    gunicorn) serving console.wsgi, all with README's production settings. Yields (base URL,
    STATIC_ROOT)."""
    name = request.param
    tmp = tmp_path_factory.mktemp("production")
    env = _production_env(tmp)
    for step in (("migrate", "--noinput"), ("collectstatic", "--noinput")):
        result = _manage(env, *step)
        assert result.returncode == 0, f"{' '.join(step)} failed:\n{result.stdout}{result.stderr}"
    port = _free_port()
    log = open(tmp / f"{name}.log", "w+b")  # noqa: SIM115 (closed below, after the server)
    server = subprocess.Popen(
        SERVERS[name](port),
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if server.poll() is not None:
                log.seek(0)
                pytest.fail(f"{name} exited:\n{log.read().decode(errors='replace')}")
            try:
                _get(f"{base}/login/")
                break
            except OSError:
                if time.monotonic() > deadline:
                    pytest.fail(f"{name} did not answer within 60 s")
                time.sleep(0.2)
        yield base, tmp / "static"
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        log.close()


@pytest.mark.slow
@pytest.mark.xdist_group("production")
@pytest.mark.parametrize("path", ["/", "/login/", "/admin/login/"])
def test_the_front_pages_answer_200_in_production_with_hashed_static_urls(production, path):
    base, _ = production
    status, _, body = _get(base + path)
    assert status == 200, body.decode(errors="replace")[:2000]
    html = body.decode()
    if path != "/admin/login/":  # the admin has its own stylesheets; ours are on our pages
        assert HASHED_BOOTSTRAP_CSS.search(html), "the page links Bootstrap under a hashed name"


@pytest.mark.slow
@pytest.mark.xdist_group("production")
def test_a_hashed_stylesheet_named_by_a_page_is_served_by_whitenoise_for_a_year(production):
    base, _ = production
    _, _, body = _get(base + "/login/")
    css_url = HASHED_BOOTSTRAP_CSS.search(body.decode()).group(0)
    status, headers, css = _get(base + css_url)
    assert status == 200
    assert headers["Content-Type"].startswith("text/css")
    assert b"Bootstrap" in css[:500]
    # WhiteNoise marks files whose name carries their hash as cacheable forever.
    assert "immutable" in headers["Cache-Control"]


@pytest.mark.slow
@pytest.mark.xdist_group("production")
def test_every_page_asset_is_served_including_the_admins(production):
    base, _ = production
    for page in ("/", "/login/", "/admin/login/"):
        _, _, body = _get(base + page)
        assets = set(re.findall(r'(?:href|src)="(/static/[^"]+)"', body.decode()))
        assert assets, f"{page} names no static file"
        for asset in assets:
            status, _, _ = _get(base + asset)
            assert status == 200, f"{asset} named by {page} answers {status}"


@pytest.mark.slow
@pytest.mark.xdist_group("production")
def test_the_500_page_stylesheet_works_under_its_plain_name(production):
    # templates/500.html links the unhashed name on purpose: it must render even when the
    # manifest is the thing that broke.
    base, _ = production
    status, _, _ = _get(base + "/static/vendor/bootstrap/bootstrap.min.css")
    assert status == 200


@pytest.mark.slow
@pytest.mark.xdist_group("production")
def test_the_manifest_lists_every_static_file_a_template_names(production):
    _, static_root = production
    manifest = json.loads((static_root / "staticfiles.json").read_text())["paths"]
    named = set()
    for template in ROOT.glob("**/templates/**/*.html"):
        if ".venv" in template.parts:
            continue
        named |= set(re.findall(r"{%\s*static\s+['\"]([^'\"]+)['\"]", template.read_text()))
    assert named, "no template names a static file: the pattern above is stale"
    missing = sorted(name for name in named if name not in manifest)
    assert not missing, f"templates name static files that collectstatic did not hash: {missing}"


def test_no_static_file_names_a_source_map_that_is_not_there():
    # The manifest storage follows sourceMappingURL comments and fails collectstatic on a
    # missing target (the vendored Bootstrap files named maps nobody had vendored).
    missing = []
    for path in (ROOT / "static").rglob("*"):
        if path.suffix not in {".js", ".css"}:
            continue
        for target in SOURCE_MAP.findall(path.read_text(errors="replace")):
            if not target.startswith("data:") and not (path.parent / target).exists():
                missing.append(f"{path.relative_to(ROOT)} -> {target}")
    assert not missing, missing
