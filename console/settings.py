"""Settings for Moments Console.

Every knob is read from the environment through django-environ (README lists them all).
With nothing set, the console runs on a SQLite file and an embedded (filesystem) Celery broker,
so a fresh machine needs nothing installed. Production sets DATABASE_URL, REDIS_URL, SECRET_KEY
and ALLOWED_HOSTS; secrets have no default there.
"""

from __future__ import annotations

import ipaddress
import os
from pathlib import Path

import environ
from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured

from console.queues import LONG_TASKS, task_queues

BASE_DIR = Path(__file__).resolve().parent.parent
# SQLite file, file cache, embedded broker, beat's schedule file. Settings only name folders:
# the ones in use are made when Django starts (console.apps.make_var_dirs), never on import.
VAR_DIR = Path(os.environ.get("VAR_DIR", BASE_DIR / "var"))

env = environ.Env()
if (BASE_DIR / ".env").exists():
    env.read_env(str(BASE_DIR / ".env"))

# Set by the test configuration (pyproject.toml's pytest `env`), never guessed from the process:
# tests get a throwaway key, local hosts, plain-HTTP cookies and the plain static storage.
TESTING = env.bool("DJANGO_TESTING", default=False)
DEBUG = env.bool("DEBUG", default=False)

_INSECURE_KEY = "django-insecure-moments-console-development-key-never-use-in-production"
SECRET_KEY = env.str("SECRET_KEY", default=_INSECURE_KEY if (DEBUG or TESTING) else "")
if not SECRET_KEY:
    raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off (see README).")
# Previous keys, still accepted for signatures (sessions, reset links) and to decrypt webhook
# secrets, so SECRET_KEY can be rotated without cutting anything off.
SECRET_KEY_FALLBACKS = env.list("SECRET_KEY_FALLBACKS", default=[])

ALLOWED_HOSTS = env.list(
    "ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]"] if (DEBUG or TESTING) else []
)
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
SITE_URL = env.str("SITE_URL", default="http://127.0.0.1:8000").rstrip("/")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "crispy_forms",
    "crispy_bootstrap5",
    "django_countries",
    "console",
    "rewards",
    "campaigns",
    "billing",
]

MIDDLEWARE = [
    # Before anything: the Rewards API (/prod/) takes a short chain of its own, with the proxy
    # rewrite, security headers, JSON errors and the Host check (rewards/api/lean.py).
    "rewards.api.lean.ApiPathMiddleware",
    # First: everything after it reads the client's address and scheme, not the proxy's.
    "console.proxies.TrustedProxyMiddleware",
    # Before the Host check: balancers probe each instance by its own address.
    "console.health.HealthzMiddleware",
    # Prometheus scrapes each instance by its address too (token or METRICS_ALLOW).
    "console.metrics.MetricsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "rewards.api.middleware.ApiErrorMiddleware",
    # A page whose view failed because the database is unreachable answers a styled 503 with
    # Retry-After (handler500 does the same for an outage met in a middleware below).
    "console.outage.DatabaseOutageMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "console.middleware.AccountMiddleware",
    # The client's IP for the activity log's rows written while serving this request.
    "console.activity.ActivityIPMiddleware",
    # Reward pages (/r/) only: the shopper's long-lived device id, recorded on each claim.
    "rewards.redemption.device.DeviceCookieMiddleware",
    # Reward pages (/r/) only: the marketplace's language (after sessions: it remembers it).
    "rewards.redemption.language.ShopperLanguageMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "console.urls"
WSGI_APPLICATION = "console.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "console.context_processors.console",
            ],
            # {{ amount|money:currency }} everywhere: console, admin, emails, shopper pages.
            "builtins": ["console.templatetags.money"],
        },
    },
]

# --- Database -------------------------------------------------------------------------------
# Seconds a PostgreSQL connection attempt may take (libpq's connect_timeout; 2 at least).
DATABASE_CONNECT_TIMEOUT = env.int("DATABASE_CONNECT_TIMEOUT", default=3)
# Milliseconds any one SQL statement of a web request may run on PostgreSQL (0: no limit).
# Web processes only: console/wsgi.py sets CONSOLE_WEB_PROCESS=1 before these settings load,
# so granian and gunicorn get it while Celery workers, beat and manage.py (migrations, the
# invoice run) do not. `manage.py runserver` can opt in with CONSOLE_WEB_PROCESS=1.
DATABASE_STATEMENT_TIMEOUT = env.int("DATABASE_STATEMENT_TIMEOUT", default=30_000)
WEB_PROCESS = env.bool("CONSOLE_WEB_PROCESS", default=False)
DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'db.sqlite3'}"),
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Web, worker and beat share one SQLite file: WAL lets readers run beside the writer, and
    # IMMEDIATE transactions take the write lock up front instead of failing half-way.
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 30,
    }
else:
    DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("CONN_MAX_AGE", default=60))
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    # Behind PgBouncer in transaction mode (README, "Topology"): `.iterator()` must not open
    # server-side cursors, which live in a session PgBouncer does not keep.
    DATABASES["default"]["DISABLE_SERVER_SIDE_CURSORS"] = env.bool(
        "DATABASE_DISABLE_SERVER_SIDE_CURSORS", default=False
    )
    _db_options = DATABASES["default"].setdefault("OPTIONS", {})
    # A PostgreSQL that does not answer costs a connection attempt this many seconds (libpq's
    # connect_timeout covers the whole startup: TCP, TLS, authentication), not libpq's minutes.
    # A `?connect_timeout=` in DATABASE_URL keeps its own value.
    _db_options.setdefault("connect_timeout", DATABASE_CONNECT_TIMEOUT)
    if WEB_PROCESS and DATABASE_STATEMENT_TIMEOUT:
        # Web requests only: the invoice run, sweeps, tasks and migrations may take longer.
        # Sent in the connection's startup packet, so it costs no round trip (behind PgBouncer,
        # see README).
        _timeout_option = f"-c statement_timeout={DATABASE_STATEMENT_TIMEOUT}"
        _db_options["options"] = f"{_db_options.get('options', '')} {_timeout_option}".strip()
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Redis: cache, broker, rate limits --------------------------------------------------------
REDIS_URL = env.str("REDIS_URL", default="")
# Redis is never waited on (console/redis.py): a Redis that hangs costs a call at most one of
# these timeouts (seconds), then the circuit opens and calls skip Redis for
# REDIS_CIRCUIT_SECONDS before one call tries it again.
REDIS_CONNECT_TIMEOUT = env.float("REDIS_CONNECT_TIMEOUT", default=0.25)
REDIS_SOCKET_TIMEOUT = env.float("REDIS_SOCKET_TIMEOUT", default=0.25)
REDIS_CIRCUIT_SECONDS = env.float("REDIS_CIRCUIT_SECONDS", default=5.0)
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": env.str("CACHE_KEY_PREFIX", default="mc"),
            # Django's cache has no circuit breaker: short timeouts at least bound a hang.
            "OPTIONS": {
                "socket_connect_timeout": REDIS_CONNECT_TIMEOUT,
                "socket_timeout": REDIS_SOCKET_TIMEOUT,
            },
        }
    }
else:
    # A file cache, not local memory: web and worker are separate processes and must see
    # each other's invalidations.
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(VAR_DIR / "cache"),
        }
    }

# --- Celery -----------------------------------------------------------------------------------
# The broker: CELERY_BROKER_URL (RabbitMQ, `amqp://user:pass@host:5672/vhost`, is production's
# pick, see README), else the Redis of REDIS_URL, else the embedded filesystem broker.
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="") or REDIS_URL or "filesystem://"
BROKER_IS_AMQP = CELERY_BROKER_URL.startswith(("amqp://", "amqps://", "pyamqp://"))
if CELERY_BROKER_URL.startswith("filesystem://"):
    _queue_dir = VAR_DIR / "celery-broker"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_queue_dir),
        "data_folder_out": str(_queue_dir),
        "processed_folder": str(_queue_dir / "processed"),
        "control_folder": str(_queue_dir / "control"),
        "store_processed": False,
    }
# Two queues (console/queues.py): the default one for work someone waits on (campaign
# moves, emails, webhook sends and sweeps, alerts), and "long" for runs that can take minutes
# (the invoice run, month-end packs, dunning, the day roll-up, batch expiries and purges), so
# that a long run never holds up a campaign going live or a webhook. Every worker consumes both
# unless started with `-Q` (README: production may give "long" workers of its own).
# CELERY_QUEUE_PREFIX puts several installs (or test runs) on one broker without taking each
# other's messages.
CELERY_QUEUE_PREFIX = env.str("CELERY_QUEUE_PREFIX", default="")
# The poison-message policy on RabbitMQ: a message whose task kills its worker (out of memory, a
# crash) comes back (acks late, reject on worker lost) and would kill the next worker, forever.
# Quorum queues count deliveries; a message given back more than this many times is
# dead-lettered to the "dead" queue, which no worker consumes, for an operator to look at. (Redis
# cannot count deliveries: a message there comes back after the visibility timeout, forever.)
CELERY_DELIVERY_LIMIT = env.int("CELERY_DELIVERY_LIMIT", default=5)
CELERY_TASK_QUEUES = task_queues(
    prefix=CELERY_QUEUE_PREFIX, amqp=BROKER_IS_AMQP, delivery_limit=CELERY_DELIVERY_LIMIT
)
CELERY_TASK_DEFAULT_QUEUE = CELERY_TASK_QUEUES[0].name
CELERY_TASK_ROUTES = {task: {"queue": CELERY_TASK_QUEUES[1].name} for task in LONG_TASKS}
CELERY_TASK_IGNORE_RESULT = True
# Acknowledged after the task ran, not when it was received: a worker that dies half-way leaves
# the message to be delivered again (every task is safe to run twice: claims, conditional
# UPDATEs and unique constraints decide, see each task's docstring).
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
# One message reserved per worker process: a long task never sits behind another in a prefetch
# buffer while other workers are idle, and a dying worker returns at most one message per process.
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_TIMEZONE = "UTC"
# The one place where periodic work is declared (STYLE: schedules in code, in one place). Beat
# runs Celery's default scheduler on it: no copy in the database to edit or to drift; the file
# below only remembers when each entry last ran.
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
CELERY_BEAT_SCHEDULE: dict[str, dict] = {
    # Campaigns go live / finish (SPEC §6). Every minute; a test shortens it to watch real beat.
    "campaigns-sweep": {
        "task": "campaigns.tasks.sweep_campaigns",
        "schedule": env.float("SWEEP_INTERVAL_SECONDS", default=60.0),
    },
    # Retention (README, "Retention"): Idempotency-Key records past their 24 hours (SPEC §7),
    # finished webhook deliveries past WEBHOOK_RETENTION_DAYS, shoppers' shipping addresses
    # past SHOPPER_ADDRESS_RETENTION_DAYS, activity rows archived past ACTIVITY_RETENTION_DAYS.
    # Hourly, in batches; overlapping runs split the rows between them.
    "rewards-sweep-retention": {
        "task": "rewards.tasks.sweep_retention",
        "schedule": crontab(minute=17),
    },
    # Last month's invoices (SPEC §9), on the 1st in the business time zone (CELERY_TIMEZONE).
    # At 02:00, not 00:00: a GetReward that started before midnight and commits just after it is
    # October's charge and must be on October's invoice; two hours leave every such transaction
    # committed (anything later still goes on the next invoice, never lost).
    "billing-issue-invoices": {
        "task": "billing.tasks.issue_invoices",
        "schedule": crontab(minute=0, hour=2, day_of_month=1),
    },
    # Admins are told about API keys unused for API_KEY_IDLE_DAYS (issue 22), once a day.
    "console-warn-idle-api-keys": {
        "task": "rewards.tasks.warn_idle_api_keys",
        "schedule": crontab(minute=40, hour=9),
    },
    # Reward URLs past their expiry are stamped expired for the reports (SPEC §8).
    "rewards-expire-grants": {
        "task": "rewards.tasks.expire_grants",
        "schedule": crontab(minute="*/10"),
    },
    # Dunning (finance desk): failed card payments retried on days 1, 3 and 7 (and soon after
    # a new card is put on file), accounts' campaigns paused after DUNNING_SUSPEND_DAYS overdue
    # and resumed once paid. Every 10 minutes, so a payment resumes campaigns soon; each step
    # is claimed, so an overlapping run does nothing twice.
    "billing-dunning-sweep": {
        "task": "billing.tasks.sweep_dunning",
        "schedule": crontab(minute="*/10"),
    },
    # Invoice emails that never went out (broker down at issue, a worker died mid-send).
    "billing-email-unsent-invoices": {
        "task": "billing.tasks.email_unsent_invoices",
        "schedule": crontab(minute="*/15"),
    },
    # Webhook attempts that are due (retries: the first comes 5 s after a failure) or whose
    # worker died (SPEC §12). Every few seconds: a claim per row makes overlapping runs safe.
    "webhooks-sweep-deliveries": {
        "task": "console.webhooks.tasks.sweep_webhook_deliveries",
        "schedule": env.float("WEBHOOKS_SWEEP_SECONDS", default=5.0),
    },
    # Budget alerts at 50/80/100 % of campaign budgets and account monthly limits (SPEC §12),
    # and alert emails that never went out.
    "campaigns-budget-alerts": {
        "task": "campaigns.tasks.sweep_budget_alerts",
        "schedule": crontab(),  # every minute
    },
    # Campaign results (SPEC §12): charges, claims and expiries added up per day and moment in
    # CampaignDay, so the results page reads a few rows per day, not every charge; each day is
    # recomputed whole (sealed) 15 minutes after it ends.
    "campaigns-roll-up-days": {
        "task": "campaigns.tasks.roll_up_campaign_days",
        "schedule": crontab(minute="*/5"),
    },
}

# --- Retention (README, "Retention"; swept hourly by rewards.tasks.sweep_retention) -----------
# Finished webhook deliveries and their attempts are deleted this many days after they finished.
WEBHOOK_RETENTION_DAYS = env.int("WEBHOOK_RETENTION_DAYS", default=30)
# A product claim's shipping address (all but the country) is erased this many days after the
# claim (a return: after the return), when the parcel has long arrived.
SHOPPER_ADDRESS_RETENTION_DAYS = env.int("SHOPPER_ADDRESS_RETENTION_DAYS", default=90)
# Unset: activity rows are kept forever. Set: older rows move to monthly CSV files in
# ACTIVITY_ARCHIVE_DIR (default VAR_DIR/activity-archive) and leave the table.
ACTIVITY_RETENTION_DAYS = env.int("ACTIVITY_RETENTION_DAYS", default=None)
ACTIVITY_ARCHIVE_DIR = Path(
    env.str("ACTIVITY_ARCHIVE_DIR", default=str(VAR_DIR / "activity-archive"))
)

# --- Auth -------------------------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "console:dashboard"
LOGOUT_REDIRECT_URL = "login"

# --- Internationalisation ---------------------------------------------------------------------
LANGUAGE_CODE = "en-us"
# The console is in English; shopper pages (/r/) speak the reward's marketplace's language
# (rewards/redemption/language.py), translated in locale/<lang>/LC_MESSAGES/django.po.
LANGUAGES = [
    ("en", "English"),
    ("de", "Deutsch"),
    ("fr", "Français"),
    ("it", "Italiano"),
    ("es", "Español"),
    ("pt-br", "Português (Brasil)"),
    ("ja", "日本語"),
]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- Static and media -------------------------------------------------------------------------
STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(env.str("STATIC_ROOT", default=str(BASE_DIR / "staticfiles")))
MEDIA_URL = "/media/"
MEDIA_ROOT = Path(env.str("MEDIA_ROOT", default=str(VAR_DIR / "media")))
# Banners and product images are public (the Rewards API hands out their URLs); a self-hosted
# install serves them from Django unless a proxy in front does it.
SERVE_MEDIA = env.bool("SERVE_MEDIA", default=True)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if not (DEBUG or TESTING)
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}
# Uploads: refuse bodies over 12 MB outright; files over 2.5 MB go to a temporary file.
DATA_UPLOAD_MAX_MEMORY_SIZE = 12 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = int(2.5 * 1024 * 1024)

# --- Email ------------------------------------------------------------------------------------
EMAIL_CONFIG = env.email_url("EMAIL_URL", default="consolemail://")
vars().update(EMAIL_CONFIG)
# `filemail://` without a path (what `make run` sets): one .log file per message in
# VAR_DIR/emails, so the demo's hundreds of emails stay out of the terminal.
if EMAIL_CONFIG["EMAIL_BACKEND"] == "django.core.mail.backends.filebased.EmailBackend" and not (
    EMAIL_CONFIG.get("EMAIL_FILE_PATH")
):
    EMAIL_FILE_PATH = str(VAR_DIR / "emails")
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="Moments Console <no-reply@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# --- Invoices (SPEC §9): the seller printed on every invoice and credit note PDF -------------
# Production prints only what is set (a name and a contact by default). Under DEBUG (make run,
# the demo account) a plausible seller fills the block, so the demo's PDFs read as real ones;
# each variable still overrides its part.
_DEMO_SELLER = (
    {
        "NAME": "Moments Labs GmbH",
        "ADDRESS": "Friedrichstraße 68\\n10117 Berlin",
        "COUNTRY": "DE",
        "TAX_ID": "DE123456789",
        "EMAIL": "billing@moments.example",
    }
    if DEBUG
    else {}
)
INVOICE_SELLER_NAME = env.str(
    "INVOICE_SELLER_NAME", default=_DEMO_SELLER.get("NAME", "Moments Console")
)
# Several lines: write them with \n in the environment variable.
INVOICE_SELLER_ADDRESS = env.str(
    "INVOICE_SELLER_ADDRESS", default=_DEMO_SELLER.get("ADDRESS", "")
).replace("\\n", "\n")
# ISO 3166-1 alpha-2: printed under the address, and compared with the buyer's country for the
# reverse-charge note (billing/services/tax.py).
INVOICE_SELLER_COUNTRY = env.str(
    "INVOICE_SELLER_COUNTRY", default=_DEMO_SELLER.get("COUNTRY", "")
).upper()
INVOICE_SELLER_TAX_ID = env.str("INVOICE_SELLER_TAX_ID", default=_DEMO_SELLER.get("TAX_ID", ""))
INVOICE_SELLER_EMAIL = env.str(
    "INVOICE_SELLER_EMAIL", default=_DEMO_SELLER.get("EMAIL", "billing@localhost")
)

# --- Security ---------------------------------------------------------------------------------
_PRODUCTION = not (DEBUG or TESTING)
# The load balancers in front (SPEC §10), as CIDRs: only their X-Forwarded-For and
# X-Forwarded-Proto are believed (console/proxies.py); anyone else's are dropped.
TRUSTED_PROXIES = env.list("TRUSTED_PROXIES", default=[])
for _cidr in TRUSTED_PROXIES:
    try:
        ipaddress.ip_network(_cidr.strip(), strict=False)
    except ValueError:
        raise ImproperlyConfigured(
            f"TRUSTED_PROXIES: {_cidr!r} is not an IP network (write e.g. 10.0.0.0/8,192.0.2.7)."
        ) from None

# --- Metrics (console/metrics.py, README "Metrics") -------------------------------------------
# GET /metrics answers a scraper that sends `Authorization: Bearer <METRICS_TOKEN>` or whose
# client address (after the trusted-proxy rewrite) is in METRICS_ALLOW; with neither set it is
# a 404 for everyone: metrics name customers' traffic and are never public.
METRICS_TOKEN = env.str("METRICS_TOKEN", default="")
METRICS_ALLOW = env.list("METRICS_ALLOW", default=[])
for _cidr in METRICS_ALLOW:
    try:
        ipaddress.ip_network(_cidr.strip(), strict=False)
    except ValueError:
        raise ImproperlyConfigured(
            f"METRICS_ALLOW: {_cidr!r} is not an IP network (write e.g. 10.0.0.0/8,192.0.2.7)."
        ) from None
# Every process (web workers, Celery workers and beat, management commands) writes its metrics
# to its own files here and /metrics adds them up (prometheus-client's multiprocess mode). The
# library reads the variable when it is first imported, so it is put in the environment here,
# before any module imports it; child processes (granian's and gunicorn's workers, Celery's
# pool) inherit it. One folder per machine, on local disk: it is emptied when the first process
# that uses it starts (console/metrics.py).
PROMETHEUS_MULTIPROC_DIR = env.str(
    "PROMETHEUS_MULTIPROC_DIR", default=str(VAR_DIR / "prometheus")
)
os.environ["PROMETHEUS_MULTIPROC_DIR"] = PROMETHEUS_MULTIPROC_DIR

# Without a trusted proxy, X-Forwarded-Proto is whatever the client says: never believed.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if TRUSTED_PROXIES else None
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=_PRODUCTION)
# Load balancers probe instances over plain HTTP: a redirect would read as "down".
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=_PRODUCTION)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=_PRODUCTION)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000 if _PRODUCTION else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = _PRODUCTION
SECURE_HSTS_PRELOAD = _PRODUCTION
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"

WHITENOISE_USE_FINDERS = DEBUG or TESTING
CRISPY_ALLOWED_TEMPLATE_PACKS = "bootstrap5"
CRISPY_TEMPLATE_PACK = "bootstrap5"

# `text` (the default): one readable line per record. `json`: one JSON object per line, for a
# log search (console/logs.py). Either way each line carries the request id of its request.
LOG_FORMAT = env.str("LOG_FORMAT", default="text").strip().lower()
if LOG_FORMAT not in {"text", "json"}:
    raise ImproperlyConfigured(f"LOG_FORMAT must be text or json, not {LOG_FORMAT!r}.")
# One access line per request (console.access, INFO; LOG_LEVEL=WARNING leaves it out too):
# `console` (the default) for every page but the Rewards API's calls, which come millions per
# campaign (a line took a GetRewardInfo call from ~300 to ~420 µs of CPU) and which the
# balancer's own access log has with the same request id; `all` adds them; `off`. Under DEBUG
# (make run) runserver writes its own, so `off` there.
ACCESS_LOG = env.str("ACCESS_LOG", default="off" if DEBUG else "console").strip().lower()
if ACCESS_LOG not in {"all", "console", "off"}:
    raise ImproperlyConfigured(f"ACCESS_LOG must be all, console or off, not {ACCESS_LOG!r}.")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "text": {"()": "console.logs.TextFormatter"},
        "json": {"()": "console.logs.JsonFormatter"},
        "server": {
            "()": "django.utils.log.ServerFormatter",
            "format": "[{server_time}] {message}",
            "style": "{",
        },
    },
    "filters": {
        "request_id": {"()": "console.logs.RequestIdFilter"},
        "client_errors_one_line": {"()": "console.logs.ClientErrorsOneLine"},
        "quiet_health_checks": {"()": "console.logs.QuietHealthChecks"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": LOG_FORMAT,
            "filters": ["request_id"],
        },
        "server": {
            "class": "logging.StreamHandler",
            "formatter": "json" if LOG_FORMAT == "json" else "server",
            "filters": ["request_id", "quiet_health_checks"],
        },
    },
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        # Django's default config gives "django" a console handler of its own under DEBUG, on
        # top of the root's: every line (and traceback) printed twice. Root's handler only.
        "django": {"handlers": [], "level": "INFO", "propagate": True},
        # A 403/404/400 is one line without a traceback (console/logs.py); 5xx keep theirs.
        "django.request": {"filters": ["client_errors_one_line"]},
        # runserver's access log (make run), without the readiness poll's health checks.
        "django.server": {"handlers": ["server"], "level": "INFO", "propagate": False},
        "django.db.backends": {"level": "WARNING"},
    },
}

# --- Webhooks (SPEC §12) ----------------------------------------------------------------------
# Seconds a delivery's claim lasts: after it, the webhook sweep takes over a delivery whose
# worker died or whose send task was never enqueued. Longer than one attempt (5 s timeout).
WEBHOOKS_CLAIM_LEASE_SECONDS = env.int("WEBHOOKS_CLAIM_LEASE_SECONDS", default=120)
# The same for a campaign move's email (campaigns.services.notifications).
CAMPAIGN_NOTIFY_LEASE_SECONDS = env.int("CAMPAIGN_NOTIFY_LEASE_SECONDS", default=600)
# Lets endpoints use http:// and private, loopback or link-local addresses (SSRF guard off):
# for receivers on a developer's own machine. Off in production unless set.
WEBHOOKS_ALLOW_PRIVATE = env.bool("WEBHOOKS_ALLOW_PRIVATE", default=DEBUG or TESTING)

# --- Product rules ----------------------------------------------------------------------------
# How long a rotated API key keeps working (SPEC §3).
API_KEY_GRACE_HOURS = 24
# An active API key unused for this many days gets a warning email to its account's admins
# (issue 22): a forgotten key that can spend is a risk worth revoking.
API_KEY_IDLE_DAYS = env.int("API_KEY_IDLE_DAYS", default=90)
# Countries whose developers cannot sign up (SPEC §2): ISO 3166-1 alpha-2.
REFUSED_COUNTRIES = {
    "ZA": "South Africa",
    "AL": "Albania",
    "SA": "Saudi Arabia",
    "RU": "Russia",
    "CH": "Switzerland",
    "CU": "Cuba",
    "IR": "Iran",
    "KP": "North Korea",
    "SY": "Syria",
}
# Monthly spend cap of one campaign, in USD (SPEC §5); an account's is Account.monthly_spend_limit.
CAMPAIGN_MONTHLY_CAP = 5000
# The highest monthly spend limit finance may set on an account, in USD (issue 20: a limit of
# $1,000,000,000 went through in one click), and the jump that asks finance to confirm: a new
# limit more than SPEND_LIMIT_CONFIRM_FACTOR times the current one.
SPEND_LIMIT_MAX = env.str("SPEND_LIMIT_MAX", default="1000000")
SPEND_LIMIT_CONFIRM_FACTOR = env.int("SPEND_LIMIT_CONFIRM_FACTOR", default=10)
# Days between submission and the earliest go-live (SPEC §6), and reward URL lifetime after the
# campaign's end date (SPEC §8).
REVIEW_PERIOD_DAYS = 7
REWARD_EXPIRY_DAYS = 30
# Redemption (SPEC §8): the expiry sweep stamps this many grants per UPDATE; a shopper linked
# through one device or one shipping address to more shopper accounts than
# FRAUD_MAX_LINKED_ACCOUNTS (themselves included) is refused and the attempt flagged for staff.
GRANT_EXPIRY_BATCH_SIZE = env.int("GRANT_EXPIRY_BATCH_SIZE", default=5000)
FRAUD_MAX_LINKED_ACCOUNTS = env.int("FRAUD_MAX_LINKED_ACCOUNTS", default=3)
# Days an unpaid card invoice may be overdue before dunning pauses the account's live campaigns.
DUNNING_SUSPEND_DAYS = env.int("DUNNING_SUSPEND_DAYS", default=14)
# Where the month-end packs (ZIPs of the month's documents) are written.
MONTHEND_DIR = Path(env.str("MONTHEND_DIR", default=str(VAR_DIR / "monthend")))
# GetReward's engine: "auto" runs the PostgreSQL function on PostgreSQL and the step-by-step
# path elsewhere; "sql" or "python" forces one (the test suite runs both on PostgreSQL).
GET_REWARD_ENGINE = env.str("GET_REWARD_ENGINE", default="auto")
# Abuse limits on the public forms (SPEC §10), counted in Redis (Django's cache without it):
# failed sign-ins per account (email) and per IP, password resets per address and per IP,
# sign-ups per IP, each in a fixed window. High enough that people never meet them.
THROTTLE_LOGIN_ACCOUNT_FAILURES = env.int("THROTTLE_LOGIN_ACCOUNT_FAILURES", default=5)
THROTTLE_LOGIN_IP_FAILURES = env.int("THROTTLE_LOGIN_IP_FAILURES", default=20)
THROTTLE_LOGIN_WINDOW_SECONDS = env.int("THROTTLE_LOGIN_WINDOW_SECONDS", default=15 * 60)
THROTTLE_PASSWORD_RESET_ADDRESS = env.int("THROTTLE_PASSWORD_RESET_ADDRESS", default=3)
THROTTLE_PASSWORD_RESET_IP = env.int("THROTTLE_PASSWORD_RESET_IP", default=10)
THROTTLE_PASSWORD_RESET_WINDOW_SECONDS = env.int(
    "THROTTLE_PASSWORD_RESET_WINDOW_SECONDS", default=60 * 60
)
THROTTLE_SIGNUP_IP = env.int("THROTTLE_SIGNUP_IP", default=5)
THROTTLE_SIGNUP_WINDOW_SECONDS = env.int("THROTTLE_SIGNUP_WINDOW_SECONDS", default=60 * 60)
