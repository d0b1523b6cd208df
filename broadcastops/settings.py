"""BroadcastOps settings.

Every setting comes from the environment, with a default that works on a fresh machine
(the *embedded* mode: SQLite, a filesystem Celery broker, the in-memory channel layer and
the bundled cloud simulator). Setting ``DATABASE_URL`` and ``REDIS_URL`` switches to the
*scaled* mode; the code is the same in both.
"""

from datetime import timedelta
from pathlib import Path

import csp.constants as csp
import environ
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

from broadcastops.secret_key import secret_key_from_data_dir

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()

# Development turns DEBUG on explicitly (DEBUG=1); `make run` and production run without it.
DEBUG = env.bool("DEBUG", default=False)

DATA_DIR = Path(env.str("BROADCASTOPS_DATA_DIR", default=str(BASE_DIR / "data"))).resolve()
DATA_DIR.mkdir(parents=True, exist_ok=True)

# SECRET_KEY from the environment (production: the same value on every process and machine);
# without one, a key made on first start and kept in the data folder (mode 0600).
SECRET_KEY = env.str("SECRET_KEY", default="") or secret_key_from_data_dir(DATA_DIR)
if SECRET_KEY.startswith("django-insecure"):
    raise ImproperlyConfigured("SECRET_KEY is a development key; set a real one or unset it.")

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
# The console is served over HTTPS (itself or behind a TLS proxy) once it answers any host
# beyond loopback; plain HTTP is for the loopback console of `make run`. HTTPS=0/1 decides.
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "[::1]", "::1"})
HTTPS = env.bool("HTTPS", default=not DEBUG and not set(ALLOWED_HOSTS) <= LOOPBACK_HOSTS)

REDIS_URL = env.str("REDIS_URL", default="")

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "corsheaders",
    "channels",
    "django_prometheus",
    "axes",
    "csp",
    "broadcastops.accounts",
    "broadcastops.cloud",
    "broadcastops.actions",
    "broadcastops.inventory",
    "broadcastops.notify",
    "streaming",
    "failover",
    "scheduling",
    "ivs_scaling",
    "errorlogs",
    "assistant",
]

MIDDLEWARE = [
    "django_prometheus.middleware.PrometheusBeforeMiddleware",
    "broadcastops.logs.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "broadcastops.static_files.StaticFilesMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "corsheaders.middleware.CorsMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last but Prometheus's: turns a sign-in that axes locked out into the lockout answer.
    "axes.middleware.AxesMiddleware",
    "django_prometheus.middleware.PrometheusAfterMiddleware",
]

ROOT_URLCONF = "broadcastops.urls"
ASGI_APPLICATION = "broadcastops.asgi.application"
WSGI_APPLICATION = "broadcastops.wsgi.application"

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
                "broadcastops.context_processors.console",
            ],
        },
    },
]

# --- Database -----------------------------------------------------------------------------
# Embedded: SQLite in WAL mode, so the web process, the Celery worker and beat can read while
# one of them writes. Scaled: DATABASE_URL (PostgreSQL is the one we test).
if env.str("DATABASE_URL", default=""):
    DATABASES = {"default": env.db_url("DATABASE_URL")}
    # No persistent connections by default. Measured when every request ran in a thread of
    # its own (Django's ThreadSensitiveContext), whose kept connection was never reused: with
    # 60 s, 300 joins through one web process held 96 PostgreSQL connections and PostgreSQL's
    # 100 ran out (500s); with 0, at most 17 (benchmarks/ivs_joins.py). Sync views now run on
    # WEB_SYNC_THREADS threads, which would reuse kept connections; not measured again yet.
    DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("DB_CONN_MAX_AGE", default=0))
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": DATA_DIR / "broadcastops.sqlite3",
            # Opening a SQLite connection costs ~1.7 ms (reference/perf-limits.md): keep it,
            # one per thread of the web process's WEB_SYNC_THREADS.
            "CONN_MAX_AGE": None,
            "OPTIONS": {
                "init_command": (
                    "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=5000;"
                ),
                "transaction_mode": "IMMEDIATE",
            },
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache, Celery, Channels: embedded or Redis ---------------------------------------------
REDIS_SOCKET_TIMEOUT_S = env.float("REDIS_SOCKET_TIMEOUT_S", default=2.0)
# channels_redis's RedisChannelLayer.brpop_timeout: how long one receive blocks in Redis.
CHANNEL_LAYER_BLOCK_S = 5

if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "broadcastops",
            "OPTIONS": {
                "socket_connect_timeout": REDIS_SOCKET_TIMEOUT_S,
                "socket_timeout": REDIS_SOCKET_TIMEOUT_S,
            },
        }
    }
    CELERY_BROKER_URL = REDIS_URL
    CELERY_RESULT_BACKEND = REDIS_URL
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "socket_connect_timeout": REDIS_SOCKET_TIMEOUT_S,
        "socket_timeout": REDIS_SOCKET_TIMEOUT_S,
    }
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {
                # The default pool refuses a burst of joins (reference/perf-limits.md).
                "hosts": [
                    {
                        "address": REDIS_URL,
                        "max_connections": env.int("CHANNELS_REDIS_MAX_CONNECTIONS", default=1000),
                        "socket_connect_timeout": REDIS_SOCKET_TIMEOUT_S,
                        # A receive blocks in BZPOPMIN for up to CHANNEL_LAYER_BLOCK_S; redis-py
                        # 8's default read timeout is the same 5 s, so an idle receive timed
                        # out client-side and every listener reconnected every 5 s.
                        "socket_timeout": CHANNEL_LAYER_BLOCK_S + REDIS_SOCKET_TIMEOUT_S,
                    }
                ],
                "prefix": "broadcastops:channels",
            },
        }
    }
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": DATA_DIR / "cache",
        }
    }
    # kombu's filesystem transport: a broker that needs no server, shared by the web
    # process, the worker and beat through the data folder.
    _broker_dir = DATA_DIR / "celery-broker"
    for _sub in ("queue", "processed", "control"):
        (_broker_dir / _sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_URL = "filesystem://"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "queue"),
        "data_folder_out": str(_broker_dir / "queue"),
        "processed_folder": str(_broker_dir / "processed"),
        "control_folder": str(_broker_dir / "control"),
        "store_processed": False,
        # How often a worker looks for new tasks (kombu's default 1 s: an action, such as a
        # scale-up's CreateStage, waited up to a second before a worker took it).
        "polling_interval": env.float("CELERY_FILESYSTEM_POLL_S", default=0.1),
    }
    CELERY_RESULT_BACKEND = None
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}

CELERY_TIMEZONE = "UTC"
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT_S", default=300)
CELERY_TASK_SOFT_TIME_LIMIT = env.int("CELERY_TASK_SOFT_TIME_LIMIT_S", default=240)
CELERY_TASK_IGNORE_RESULT = not bool(REDIS_URL)
CELERY_BEAT_SCHEDULE_FILENAME = str(DATA_DIR / "celerybeat-schedule")
HEARTBEAT_INTERVAL_S = env.int("HEARTBEAT_INTERVAL_S", default=30)
HEARTBEAT_MAX_AGE_S = env.int("HEARTBEAT_MAX_AGE_S", default=120)
# How often beat looks for actions whose worker is gone (ACTIONS_LEASE_S below).
ACTIONS_TAKEOVER_INTERVAL_S = env.float("ACTIONS_TAKEOVER_INTERVAL_S", default=10.0)
# The beat schedule is reviewed like code: every periodic task is listed here.
CELERY_BEAT_SCHEDULE = {
    "inventory-poll": {
        "task": "broadcastops.inventory.tasks.inventory_poll_task",
        "schedule": timedelta(seconds=env.int("INVENTORY_ON_AIR_INTERVAL_S", default=10)),
        # A tick not started within its interval is dropped, never queued behind another.
        "options": {"expires": env.int("INVENTORY_ON_AIR_INTERVAL_S", default=10)},
    },
    "actions-takeover": {
        "task": "broadcastops.actions.tasks.action_takeover_task",
        "schedule": timedelta(seconds=ACTIONS_TAKEOVER_INTERVAL_S),
        "options": {"expires": ACTIONS_TAKEOVER_INTERVAL_S},
    },
    "heartbeat": {
        "task": "broadcastops.tasks.heartbeat_task",
        "schedule": timedelta(seconds=HEARTBEAT_INTERVAL_S),
        "options": {"expires": HEARTBEAT_INTERVAL_S},
    },
}

# --- Auth, API ----------------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "admin:login"
# django-axes first: it refuses a locked-out user name and address before any password check.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
# Failed sign-ins (admin login page and POST /api/v1/auth/token/) are counted per user name
# and address in the database (both modes, every process); past the limit that pair is
# locked for LOGIN_LOCKOUT_MINUTES, even with the right password, or until an Admin unlocks
# it (broadcastops/accounts/lockout.py).
AXES_HANDLER = "axes.handlers.database.AxesDatabaseHandler"
AXES_FAILURE_LIMIT = env.int("LOGIN_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("LOGIN_LOCKOUT_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "broadcastops.accounts.lockout.lockout_response"
# The attempts and sign-ins are in the admin through broadcastops/accounts/admin.py.
AXES_ENABLE_ADMIN = False

REST_FRAMEWORK = {
    # Token first, so an anonymous API call gets 401 with WWW-Authenticate, not a redirect.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    # DRF's own parsers, the JSON one with a nesting limit (deep JSON was a 500).
    "DEFAULT_PARSER_CLASSES": [
        "broadcastops.jsonlimits.JSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_PAGINATION_CLASS": "broadcastops.rest.Pagination",
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_THROTTLE_CLASSES": [
        "rest_framework.throttling.AnonRateThrottle",
        "rest_framework.throttling.UserRateThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "anon": env.str("THROTTLE_ANON", default="120/min"),
        "user": env.str("THROTTLE_USER", default="3000/min"),
        # The players' anonymous stage join and leave (ivs_scaling), per client address.
        "ivs_join": env.str("IVS_JOIN_THROTTLE", default="30/min"),
        "ivs_leave": env.str("IVS_LEAVE_THROTTLE", default="60/min"),
    },
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "broadcastops.rest.exception_handler",
}

SPECTACULAR_SETTINGS = {
    "TITLE": "BroadcastOps API",
    "DESCRIPTION": "Operations console for live broadcasts on Tencent Cloud media and Amazon IVS.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "ENUM_NAME_OVERRIDES": {"InputRoleEnum": "broadcastops.inventory.models.InputRole"},
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "broadcastops.rest.schema_error_responses",
    ],
}

# --- Request bodies (broadcastops/request_guard.py) -------------------------------------------
# A body is judged by the request's headers before it is read: over its route's limit -> 413,
# an anonymous caller of a route that needs a login -> 401, neither with a byte of it read.
# The default limit, also Django's for the form data it keeps in memory (2.5 MiB).
REQUEST_BODY_MAX_BYTES = env.int("REQUEST_BODY_MAX_BYTES", default=2_621_440)
# The web process runs sync views (the admin, the REST API, the pages) on this many threads,
# kept for its life as a WSGI server's are, so that each keeps its database connection
# (broadcastops.request_guard). A streamed upload runs on a thread of its own instead.
WEB_SYNC_THREADS = env.int("WEB_SYNC_THREADS", default=16)
DATA_UPLOAD_MAX_MEMORY_SIZE = REQUEST_BODY_MAX_BYTES
# Bodies sent before signing in are small.
REQUEST_BODY_SIGN_IN_MAX_BYTES = env.int("REQUEST_BODY_SIGN_IN_MAX_BYTES", default=16 * 1024)
# Routes with a limit of their own, by URL name ("app:name"), or by path ("/api/...") for a
# route that has none yet. Each app's section below adds its routes. Keys: "max_bytes";
# "stream": True when the view reads a multipart body chunk by chunk (an upload handler), so
# it goes from the socket to the view without a temporary copy (other content types keep the
# default limit); "message": dotted path of a function giving the 413's message.
REQUEST_BODY_ROUTES: dict[str, dict[str, int | bool | str]] = {
    "auth-token": {"max_bytes": REQUEST_BODY_SIGN_IN_MAX_BYTES},
    "admin:login": {"max_bytes": REQUEST_BODY_SIGN_IN_MAX_BYTES},
    "set_language": {"max_bytes": REQUEST_BODY_SIGN_IN_MAX_BYTES},
}

# On SIGTERM the web process gives the apps' drains (registry.WEB_SHUTDOWN) this long to
# finish what they accepted before the requests still running are cancelled.
WEB_SHUTDOWN_DRAIN_S = env.float("WEB_SHUTDOWN_DRAIN_S", default=10.0)

CORS_ALLOWED_ORIGINS = env.list("CORS_ALLOWED_ORIGINS", default=[])
CORS_URLS_REGEX = r"^/api/.*$"

# --- Metrics --------------------------------------------------------------------------------
# /metrics needs Authorization: Bearer $METRICS_TOKEN; METRICS_ALLOWED_IPS opens it to the
# addresses it names (none by default: behind a local reverse proxy everyone is loopback).
METRICS_ALLOWED_IPS = env.list("METRICS_ALLOWED_IPS", default=[])
METRICS_TOKEN = env.str("METRICS_TOKEN", default="")

# --- Internationalisation -------------------------------------------------------------------
LANGUAGE_CODE = "en"
LANGUAGES = [("en", _("English")), ("ko", _("Korean")), ("zh-hant", _("Traditional Chinese"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
USE_I18N = True
USE_TZ = True
TIME_ZONE = env.str("TIME_ZONE", default="Asia/Seoul")

# --- Static files ---------------------------------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = DATA_DIR / "static"
STATIC_ROOT.mkdir(exist_ok=True)
STATICFILES_DIRS = [BASE_DIR / "broadcastops" / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
# daphne serves the static files through WhiteNoise; without collectstatic (development,
# tests) WhiteNoise finds them in the apps.
WHITENOISE_USE_FINDERS = True

# --- Clouds ---------------------------------------------------------------------------------
# With no Tencent credentials the console runs in DEMO mode against the bundled simulator.
TENCENTCLOUD_SECRET_ID = env.str("TENCENTCLOUD_SECRET_ID", default="")
TENCENTCLOUD_SECRET_KEY = env.str("TENCENTCLOUD_SECRET_KEY", default="")
CLOUD_DEMO = not TENCENTCLOUD_SECRET_ID
CLOUDSIM_PORT = env.int("CLOUDSIM_PORT", default=9100)
TENCENTCLOUD_REGION = env.str("TENCENTCLOUD_REGION", default="ap-seoul")
TENCENTCLOUD_ENDPOINT = env.str(
    "TENCENTCLOUD_ENDPOINT", default=f"http://127.0.0.1:{CLOUDSIM_PORT}" if CLOUD_DEMO else ""
)
AWS_REGION = env.str("AWS_REGION", default="ap-northeast-2")
AWS_ENDPOINT_URL_IVS_REALTIME = env.str(
    "AWS_ENDPOINT_URL_IVS_REALTIME",
    default=f"http://127.0.0.1:{CLOUDSIM_PORT}" if CLOUD_DEMO else "",
)
CLOUD_TIMEOUT_S = env.float("CLOUD_TIMEOUT_S", default=10.0)
CLOUD_MAX_RETRIES = env.int("CLOUD_MAX_RETRIES", default=3)
# Client-side share of each documented per-API quota (StreamLive/StreamLink 20/s -> 10/s), so
# a full poll never earns a throttle and other tools on the account keep headroom; 0 disables.
CLOUD_RATE_LIMIT_FRACTION = env.float("CLOUD_RATE_LIMIT_FRACTION", default=0.5)
# The push refresh's own share (a lane of the same limiter), so a callback's refresh never
# waits behind a poll's queued calls; with the poll's half, 3/4 of the quota at most.
CLOUD_PUSH_RATE_LIMIT_FRACTION = env.float("CLOUD_PUSH_RATE_LIMIT_FRACTION", default=0.25)

# --- StreamLive push callbacks (POST /api/v1/tencent/events) ---------------------------------
# The address Tencent calls (EventNotifySettings.PushEventSettings.NotifyUrl): the console's
# public URL of /api/v1/tencent/events, reachable from the cloud. In the demo, the local one.
TENCENT_EVENTS_NOTIFY_URL = env.str(
    "TENCENT_EVENTS_NOTIFY_URL",
    default="http://127.0.0.1:8000/api/v1/tencent/events" if CLOUD_DEMO else "",
)
# The NotifyKey (sign = MD5(key + t)): a secret from the environment, never stored or shown.
# TENCENT_EVENTS_NOTIFY_KEYS gives channels a key of their own: "<channel id>=<key>,...".
TENCENT_EVENTS_NOTIFY_KEY = env.str(
    "TENCENT_EVENTS_NOTIFY_KEY", default="broadcastops-demo-notify-key" if CLOUD_DEMO else ""
)
TENCENT_EVENTS_NOTIFY_KEYS = env.dict("TENCENT_EVENTS_NOTIFY_KEYS", default={})
# ``t`` is when the signature expires: the cloud sets it 10 minutes ahead. A callback whose t
# has passed is stale; one whose t lies further ahead than this (plus the skew) is refused too.
TENCENT_EVENTS_VALIDITY_S = env.int("TENCENT_EVENTS_VALIDITY_S", default=600)
TENCENT_EVENTS_CLOCK_SKEW_S = env.int("TENCENT_EVENTS_CLOCK_SKEW_S", default=30)
TENCENT_EVENTS_MAX_BYTES = env.int("TENCENT_EVENTS_MAX_BYTES", default=2048)
REQUEST_BODY_ROUTES["tencent-events"] = {"max_bytes": TENCENT_EVENTS_MAX_BYTES}
# After an "interrupted" push the cloud switches inputs once the loss lasted LossThreshold:
# the channel is refreshed at once, this long after the threshold, and once more a statistics
# sample later (the 5 s samples show the new input only from the next sample on).
INVENTORY_PUSH_FOLLOWUP_MARGIN_S = env.float("INVENTORY_PUSH_FOLLOWUP_MARGIN_S", default=0.5)
INVENTORY_PUSH_SAMPLE_S = env.float("INVENTORY_PUSH_SAMPLE_S", default=5.5)
# Callbacks of one moment (both pipelines, both inputs) arriving within this many seconds
# share their refreshes.
INVENTORY_PUSH_COALESCE_S = env.int("INVENTORY_PUSH_COALESCE_S", default=2)
# A channel with callbacks whose switch the poll saw without any callback within this long
# is reported: its NotifyUrl is probably not reachable from the cloud.
INVENTORY_PUSH_MISSING_WINDOW_S = env.int("INVENTORY_PUSH_MISSING_WINDOW_S", default=120)

# --- Notifications --------------------------------------------------------------------------
SLACK_WEBHOOK_URL = env.str("SLACK_WEBHOOK_URL", default="")
SLACK_SIGNING_SECRET = env.str("SLACK_SIGNING_SECRET", default="")

# --- Operators' assistants (assistant/: the Slack command and the MCP server) ---------------
# The slash command as configured in the Slack app (shown in hints; any name reaches the view).
SLACK_COMMAND_NAME = env.str("SLACK_COMMAND_NAME", default="/tencent")
# How long the follow-up task waits for an action begun from Slack before it stops reporting.
SLACK_FOLLOW_TIMEOUT_S = env.float("SLACK_FOLLOW_TIMEOUT_S", default=600.0)
# Every call to response_url: this timeout, these many attempts (WebhookClient's retries).
SLACK_RESPONSE_TIMEOUT_S = env.float("SLACK_RESPONSE_TIMEOUT_S", default=5.0)
SLACK_RESPONSE_ATTEMPTS = env.int("SLACK_RESPONSE_ATTEMPTS", default=3)
# "" (writes need confirm: true, and elicitation where the client has it) or "slack" (and
# an Operator's Approve in Slack, posted to SLACK_WEBHOOK_URL).
MCP_APPROVAL = env.str("MCP_APPROVAL", default="")
MCP_APPROVAL_TIMEOUT_S = env.float("MCP_APPROVAL_TIMEOUT_S", default=300.0)
MCP_APPROVAL_POLL_S = env.float("MCP_APPROVAL_POLL_S", default=1.0)
# True: the MCP server lists no write tool, whatever the token.
MCP_READ_ONLY = env.bool("MCP_READ_ONLY", default=False)
# Streamable HTTP mode (manage.py mcp_server --http): where it listens, which Host headers
# and Origins it answers (DNS-rebinding protection; the SDK refuses the rest).
MCP_HTTP_HOST = env.str("MCP_HTTP_HOST", default="127.0.0.1")
MCP_HTTP_PORT = env.int("MCP_HTTP_PORT", default=8765)
MCP_ALLOWED_HOSTS = env.list("MCP_ALLOWED_HOSTS", default=["127.0.0.1:*", "localhost:*"])
MCP_ALLOWED_ORIGINS = env.list(
    "MCP_ALLOWED_ORIGINS", default=["http://127.0.0.1:*", "http://localhost:*"]
)

# --- Operator actions (broadcastops/actions) -------------------------------------------------
# A running action's worker renews its lease every third of ACTIONS_LEASE_S; once it has run
# out (the worker died, or its task message was lost) the takeover beat task hands the action
# to a new worker, which resumes it from the cloud's state. A dead worker's channel is thus
# back within about ACTIONS_LEASE_S + ACTIONS_TAKEOVER_INTERVAL_S.
ACTIONS_LEASE_S = env.float("ACTIONS_LEASE_S", default=30.0)
# An action whose workers stopped this many times is ended as failed, not resumed again.
ACTIONS_MAX_ATTEMPTS = env.int("ACTIONS_MAX_ATTEMPTS", default=5)
# Commands that wait for an action give up waiting (the action goes on) after this long.
ACTIONS_WAIT_TIMEOUT_S = env.float("ACTIONS_WAIT_TIMEOUT_S", default=900.0)

# --- Inventory and notifications (broadcastops/inventory, broadcastops/notify) ---------------
INVENTORY_ON_AIR_INTERVAL_S = env.int("INVENTORY_ON_AIR_INTERVAL_S", default=10)
INVENTORY_IDLE_INTERVAL_S = env.int("INVENTORY_IDLE_INTERVAL_S", default=180)
INVENTORY_CSS_INTERVAL_S = env.int("INVENTORY_CSS_INTERVAL_S", default=60)
INVENTORY_STATS_WINDOW_S = env.int("INVENTORY_STATS_WINDOW_S", default=60)
# At most this many channels detailed per poll (3 calls each, per action at 10/s: 70 keep a
# poll near 7 s inside its 10 s tick); on-air and at-risk channels always go first.
INVENTORY_DETAILS_PER_POLL = env.int("INVENTORY_DETAILS_PER_POLL", default=70)
INVENTORY_DETAIL_WORKERS = env.int("INVENTORY_DETAIL_WORKERS", default=16)
INVENTORY_POLL_LOCK_TTL_S = env.int("INVENTORY_POLL_LOCK_TTL_S", default=120)
DASHBOARD_REFRESH_S = env.float("DASHBOARD_REFRESH_S", default=3.0)
INVENTORY_RESTART_TIMEOUT_S = env.int("INVENTORY_RESTART_TIMEOUT_S", default=300)
INVENTORY_RESTART_POLL_S = env.float("INVENTORY_RESTART_POLL_S", default=2.0)
INVENTORY_INPUT_LOST_GRACE_S = env.int("INVENTORY_INPUT_LOST_GRACE_S", default=20)
INVENTORY_EVENT_MERGE_WINDOW_S = env.int("INVENTORY_EVENT_MERGE_WINDOW_S", default=60)
# LogInfo Type strings of input failover and recovery (UNCONFIRMED names on the real cloud).
INVENTORY_FAILOVER_LOG_TYPES = env.list(
    "INVENTORY_FAILOVER_LOG_TYPES", default=["PipelineFailover"]
)
INVENTORY_RECOVER_LOG_TYPES = env.list("INVENTORY_RECOVER_LOG_TYPES", default=["PipelineRecover"])
# The same alert (its de-duplication key) is sent once per window; repeats are counted.
NOTIFY_DEDUP_WINDOW_S = env.int("NOTIFY_DEDUP_WINDOW_S", default=300)
# The throttle: at most RATE_MAX non-critical Slack posts per RATE_WINDOW_S (critical ones
# always go at once); the next post says how many were held back.
NOTIFY_RATE_MAX = env.int("NOTIFY_RATE_MAX", default=5)
NOTIFY_RATE_WINDOW_S = env.int("NOTIFY_RATE_WINDOW_S", default=600)
NOTIFY_FLAP_WINDOW_S = env.int("NOTIFY_FLAP_WINDOW_S", default=600)
NOTIFY_FLAP_THRESHOLD = env.int("NOTIFY_FLAP_THRESHOLD", default=4)
NOTIFY_TIMEOUT_S = env.float("NOTIFY_TIMEOUT_S", default=5.0)
NOTIFY_MAX_ATTEMPTS = env.int("NOTIFY_MAX_ATTEMPTS", default=5)
NOTIFY_RETRY_BACKOFF_S = env.float("NOTIFY_RETRY_BACKOFF_S", default=2.0)
# A delivery holds its row this long (e-mails and the Slack post included); one that died
# mid-way frees it when the hold ends.
NOTIFY_CLAIM_S = env.int("NOTIFY_CLAIM_S", default=120)
# The sweep (beat): a notification still pending this long after it was raised, and held by
# no delivery, is queued again — its task was lost (the broker was down when it was raised,
# or the worker died). Older than a day, it is left as it is (a stale alert misleads).
NOTIFY_REDELIVER_AFTER_S = env.int("NOTIFY_REDELIVER_AFTER_S", default=120)
NOTIFY_REDELIVER_INTERVAL_S = env.int("NOTIFY_REDELIVER_INTERVAL_S", default=60)
CELERY_BEAT_SCHEDULE["notify-redeliver"] = {
    "task": "broadcastops.notify.tasks.notification_redeliver_task",
    "schedule": timedelta(seconds=NOTIFY_REDELIVER_INTERVAL_S),
    "options": {"expires": NOTIFY_REDELIVER_INTERVAL_S},
}
# E-mail through Django's mail backend (console in the embedded mode; SMTP when EMAIL_HOST
# is set). Tests use the locmem backend.
EMAIL_HOST = env.str("EMAIL_HOST", default="")
EMAIL_BACKEND = env.str(
    "EMAIL_BACKEND",
    default="django.core.mail.backends.smtp.EmailBackend"
    if EMAIL_HOST
    else "django.core.mail.backends.console.EmailBackend",
)
EMAIL_PORT = env.int("EMAIL_PORT", default=25)
EMAIL_HOST_USER = env.str("EMAIL_HOST_USER", default="")
EMAIL_HOST_PASSWORD = env.str("EMAIL_HOST_PASSWORD", default="")
EMAIL_USE_TLS = env.bool("EMAIL_USE_TLS", default=False)
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT_S", default=10)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="broadcastops@localhost")
# The language of Slack posts and e-mails for nobody in particular (a user's own settings
# choose theirs): the team reads Korean.
NOTIFY_LANGUAGE = env.str("NOTIFY_LANGUAGE", default="ko")

# --- Failover audit (failover/) -------------------------------------------------------------
# After ModifyStreamLiveChannel, re-read the channel every POLL_S until it shows the new
# settings, for at most TIMEOUT_S; then the fix is PENDING until an audit sees it (PENDING_MAX_S).
FAILOVER_VERIFY_TIMEOUT_S = env.float("FAILOVER_VERIFY_TIMEOUT_S", default=60.0)
FAILOVER_VERIFY_POLL_S = env.float("FAILOVER_VERIFY_POLL_S", default=2.0)
FAILOVER_PENDING_MAX_S = env.int("FAILOVER_PENDING_MAX_S", default=1800)
# stop -> modify -> start: how long to wait for IDLE and then RUNNING.
FAILOVER_STOP_START_TIMEOUT_S = env.float("FAILOVER_STOP_START_TIMEOUT_S", default=300.0)

# --- Schedules (scheduling/) ----------------------------------------------------------------
# The beat tick over the schedules table; each tick reads a fixed number of queries.
SCHEDULING_TICK_INTERVAL_S = env.float("SCHEDULING_TICK_INTERVAL_S", default=15.0)
# A step found later than this after its time (the workers were away) is marked missed and
# notified, never run late; within it, it runs once, late.
SCHEDULING_GRACE_S = env.int("SCHEDULING_GRACE_S", default=300)
# A step claimed (or begun) this long ago by a worker that never finished it goes back to
# pending (its task was lost or its worker died).
SCHEDULING_CLAIM_TIMEOUT_S = env.int("SCHEDULING_CLAIM_TIMEOUT_S", default=120)
SCHEDULING_TICK_BATCH = env.int("SCHEDULING_TICK_BATCH", default=200)
# A tick's claimed steps travel this many to a task (one broker publish per chunk, not per
# step); the steps of one task run one after another in its worker.
SCHEDULING_STEPS_PER_TASK = env.int("SCHEDULING_STEPS_PER_TASK", default=25)
# A start this late (or later) says so in its notification.
SCHEDULING_LATE_REPORT_S = env.int("SCHEDULING_LATE_REPORT_S", default=30)
# A start this far in the past still counts as now (the form took a minute to fill in).
SCHEDULING_PAST_TOLERANCE_S = env.int("SCHEDULING_PAST_TOLERANCE_S", default=120)
SCHEDULING_MAX_HOURS = env.int("SCHEDULING_MAX_HOURS", default=24)
SCHEDULING_MAX_OCCURRENCES = env.int("SCHEDULING_MAX_OCCURRENCES", default=400)
CELERY_BEAT_SCHEDULE["scheduling-tick"] = {
    "task": "scheduling.tasks.schedule_tick_task",
    "schedule": timedelta(seconds=SCHEDULING_TICK_INTERVAL_S),
    "options": {"expires": SCHEDULING_TICK_INTERVAL_S},
}
# The daily report of the day before is posted to Slack at this local time (HH:MM, in
# TIME_ZONE; empty: not posted). Beat runs in UTC, so the local time is turned into UTC here.
SCHEDULING_REPORT_AT = env.str("SCHEDULING_REPORT_AT", default="09:00")
if SCHEDULING_REPORT_AT:
    from datetime import datetime as _datetime
    from zoneinfo import ZoneInfo as _ZoneInfo

    from celery.schedules import crontab as _crontab

    try:
        _at = _datetime.strptime(SCHEDULING_REPORT_AT, "%H:%M").time()
    except ValueError as _exc:
        raise ImproperlyConfigured("SCHEDULING_REPORT_AT must be HH:MM, e.g. 09:00") from _exc
    _local = _datetime.combine(_datetime.now(_ZoneInfo(TIME_ZONE)).date(), _at)
    _utc = _local.replace(tzinfo=_ZoneInfo(TIME_ZONE)).astimezone(_ZoneInfo("UTC"))
    CELERY_BEAT_SCHEDULE["scheduling-daily-report"] = {
        "task": "scheduling.tasks.daily_report_post_task",
        "schedule": _crontab(hour=_utc.hour, minute=_utc.minute),
        "options": {"expires": 3600},
    }

# --- Live monitoring (streaming/) -----------------------------------------------------------
STREAMING_DIR = DATA_DIR / "streaming"
STREAMING_UPLOAD_MAX_BYTES = env.int("STREAMING_UPLOAD_MAX_BYTES", default=2 * 1024**3)
# Multipart framing and the small form fields around the video.
STREAMING_UPLOAD_ENVELOPE_BYTES = 1024 * 1024
for _route in ("streaming:legacy-upload", "streaming:upload-create"):
    REQUEST_BODY_ROUTES[_route] = {
        "max_bytes": STREAMING_UPLOAD_MAX_BYTES + STREAMING_UPLOAD_ENVELOPE_BYTES,
        "stream": True,
        "message": "streaming.uploads.size_limit_message",
    }
STREAMING_UPLOAD_EXTENSIONS = env.list(
    "STREAMING_UPLOAD_EXTENSIONS", default=["mp4", "mov", "avi", "mkv", "webm"]
)
# Uploads older than this are deleted, but never while a stream session plays them.
STREAMING_UPLOAD_RETENTION_HOURS = env.int("STREAMING_UPLOAD_RETENTION_HOURS", default=72)
STREAMING_JPEG_QUALITY = env.int("STREAMING_JPEG_QUALITY", default=85)
# 0 keeps the source width; otherwise frames wider than this are scaled down before encoding.
STREAMING_MAX_WIDTH = env.int("STREAMING_MAX_WIDTH", default=0)
# Viewers asking for a smaller picture get the nearest of these widths, so that a handful of
# renditions (each encoded once) serves every request.
STREAMING_RENDITION_WIDTHS = env.list(
    "STREAMING_RENDITION_WIDTHS", cast=int, default=[320, 480, 640, 960, 1280, 1920]
)
# Frames per second sent at most (speed 4 on a 30 fps file would otherwise send 120).
STREAMING_MAX_OUTPUT_FPS = env.float("STREAMING_MAX_OUTPUT_FPS", default=30.0)
STREAMING_STATUS_INTERVAL_S = env.float("STREAMING_STATUS_INTERVAL_S", default=1.0)
# Frames a viewer may have unacknowledged (what a stalled viewer costs: 8 frames of 720p are
# ~0.6 MB); clients acknowledge once per window. Reading an acknowledgement costs daphne
# about half of sending a frame, so the window sets the CPU per viewer: at 300 viewers 4 gave
# 28.1 frames/s (p99 76 ms, 89 % of a core) and 8 gave 29.2 (p99 55 ms, 79 %)
# (benchmarks/streaming_fanout.py). A smaller window lowers the latency of a viewer on a
# slow link (at most a window of frames queue in front of it) at the cost of that CPU.
STREAMING_ACK_WINDOW = env.int("STREAMING_ACK_WINDOW", default=8)
# A running camera whose newest frame is older than this is reported as lagging.
STREAMING_FEED_LAG_S = env.float("STREAMING_FEED_LAG_S", default=3.0)
# Frames travel through Redis pub/sub (stream_worker processes) when this is set.
STREAMING_REDIS_URL = env.str("STREAMING_REDIS_URL", default=REDIS_URL)
STREAMING_REDIS_PREFIX = env.str("STREAMING_REDIS_PREFIX", default="broadcastops:streaming")
STREAMING_WORKER_LEASE_S = env.float("STREAMING_WORKER_LEASE_S", default=10.0)
STREAMING_WORKER_POLL_S = env.float("STREAMING_WORKER_POLL_S", default=0.5)
# The camera wall (/live-monitoring/wall/): each tile's rendition, and how many tiles one
# browser's socket may carry.
STREAMING_WALL_WIDTH = env.int("STREAMING_WALL_WIDTH", default=640)
STREAMING_WALL_FPS = env.float("STREAMING_WALL_FPS", default=15.0)
STREAMING_WALL_MAX_TILES = env.int("STREAMING_WALL_MAX_TILES", default=64)
# Picture alarms (streaming/alarms.py): frozen (the picture changes by less than FROZEN_DIFF
# grey levels on a 64x36 copy), black (mean luminance under BLACK_LUMA) or lost (no frame
# decoded) for that many seconds. Unwatched running cameras are sampled SAMPLE_FPS times a
# second (decoded, never encoded); 0 turns the alarms off.
STREAMING_ALARM_SAMPLE_FPS = env.float("STREAMING_ALARM_SAMPLE_FPS", default=2.0)
STREAMING_ALARM_FROZEN_S = env.float("STREAMING_ALARM_FROZEN_S", default=5.0)
STREAMING_ALARM_BLACK_S = env.float("STREAMING_ALARM_BLACK_S", default=5.0)
STREAMING_ALARM_LOST_S = env.float("STREAMING_ALARM_LOST_S", default=5.0)
STREAMING_ALARM_FROZEN_DIFF = env.float("STREAMING_ALARM_FROZEN_DIFF", default=1.0)
STREAMING_ALARM_BLACK_LUMA = env.float("STREAMING_ALARM_BLACK_LUMA", default=16.0)
CELERY_BEAT_SCHEDULE["streaming-upload-prune"] = {
    "task": "streaming.tasks.upload_prune_task",
    "schedule": timedelta(minutes=env.int("STREAMING_PRUNE_INTERVAL_MIN", default=30)),
}
if STREAMING_REDIS_URL:
    # Scaled mode: the lost feeds of sessions whose only stream worker died (the workers judge
    # their own cameras and each other's; streaming.services.stream_feeds_lost_sweep).
    CELERY_BEAT_SCHEDULE["streaming-lost-feeds"] = {
        "task": "streaming.tasks.stream_feeds_lost_sweep_task",
        "schedule": timedelta(seconds=max(1.0, STREAMING_ALARM_LOST_S)),
        "options": {"expires": max(1.0, STREAMING_ALARM_LOST_S)},
    }

# --- IVS stages (ivs_scaling/) --------------------------------------------------------------
# The watch (beat): the broadcaster's publishing state, pending replications, empty secondaries.
# Each tick costs 2 IVS calls per show with a broadcaster (GetStage, ListParticipantEvents).
IVS_WATCH_INTERVAL_S = env.float("IVS_WATCH_INTERVAL_S", default=2.0)
# The reconcile (beat): the database against ListStages, ListParticipantReplicas and
# ListParticipants (5 calls/s each), within the rate limits.
IVS_RECONCILE_INTERVAL_S = env.float("IVS_RECONCILE_INTERVAL_S", default=30.0)
# A join whose view of the free seats is within this many of the scale-up trigger asks the
# scaler, which decides from fresh counts under the show's lock: at least the joins that may
# commit between one join's read and its write (the requests in flight across web processes).
IVS_SCALE_CHECK_MARGIN = env.int("IVS_SCALE_CHECK_MARGIN", default=32)
# A viewer's seat is freed when its participant is not seen connected within this time.
IVS_SEAT_CONNECT_S = env.int("IVS_SEAT_CONNECT_S", default=120)
IVS_VIEWER_TOKEN_MINUTES = env.int("IVS_VIEWER_TOKEN_MINUTES", default=240)
IVS_PUBLISHER_TOKEN_MINUTES = env.int("IVS_PUBLISHER_TOKEN_MINUTES", default=720)
# A join waits at most this long for a slot of IVS's 50 tokens/s, then answers 503.
IVS_TOKEN_MAX_WAIT_S = env.float("IVS_TOKEN_MAX_WAIT_S", default=2.0)
# A pending replication is tried again at most this often while the broadcaster publishes.
IVS_REPLICATION_RETRY_S = env.float("IVS_REPLICATION_RETRY_S", default=10.0)
# CreateStage refused by throttling is sent again (it was not executed) this many times.
IVS_CREATE_THROTTLE_RETRIES = env.int("IVS_CREATE_THROTTLE_RETRIES", default=3)
IVS_CREATE_BACKOFF_S = env.float("IVS_CREATE_BACKOFF_S", default=1.0)
# A stage still being created after this long with no action running is created again (the
# create looks for its tag first, so a create whose answer was lost is adopted, not doubled).
IVS_CREATING_STALE_S = env.int("IVS_CREATING_STALE_S", default=60)
# The audience's join and leave are anonymous: a few hundred bytes of JSON, no more.
for _route in ("ivs:join", "ivs:leave"):
    REQUEST_BODY_ROUTES[_route] = {"max_bytes": env.int("IVS_JOIN_MAX_BYTES", default=4096)}
CELERY_BEAT_SCHEDULE["ivs-watch"] = {
    "task": "ivs_scaling.tasks.show_watch_task",
    "schedule": timedelta(seconds=IVS_WATCH_INTERVAL_S),
    "options": {"expires": IVS_WATCH_INTERVAL_S},
}
CELERY_BEAT_SCHEDULE["ivs-reconcile"] = {
    "task": "ivs_scaling.tasks.show_reconcile_task",
    "schedule": timedelta(seconds=IVS_RECONCILE_INTERVAL_S),
    "options": {"expires": IVS_RECONCILE_INTERVAL_S},
}

# --- Player error reports (errorlogs/) ------------------------------------------------------
# A player's report is a small JSON document (or an array of them), posted without signing in.
ERRORLOGS_REPORT_MAX_BYTES = env.int("ERRORLOGS_REPORT_MAX_BYTES", default=64 * 1024)
REQUEST_BODY_ROUTES["/api/v1/error-logs/mediamtx"] = {"max_bytes": ERRORLOGS_REPORT_MAX_BYTES}
ERRORLOGS_MAX_REPORTS_PER_REQUEST = env.int("ERRORLOGS_MAX_REPORTS_PER_REQUEST", default=500)
# Per client address and web process: requests a second sustained, and the burst allowed
# (a player flushing its buffer after an outage sends one array, not one request per report).
ERRORLOGS_THROTTLE_PER_S = env.float("ERRORLOGS_THROTTLE_PER_S", default=10.0)
ERRORLOGS_THROTTLE_BURST = env.int("ERRORLOGS_THROTTLE_BURST", default=120)
# What is kept of the client: "user_agent", "browser" (name, version, OS), "screen", "address".
ERRORLOGS_CLIENT_DETAILS = env.list(
    "ERRORLOGS_CLIENT_DETAILS", default=["user_agent", "browser", "screen", "address"]
)
# Addresses are kept truncated to these prefixes (32 and 128 keep them whole).
ERRORLOGS_ADDRESS_PREFIX_V4 = env.int("ERRORLOGS_ADDRESS_PREFIX_V4", default=24)
ERRORLOGS_ADDRESS_PREFIX_V6 = env.int("ERRORLOGS_ADDRESS_PREFIX_V6", default=48)
# The day's JSON Lines file: <ERRORLOGS_DIR>/YYYY-MM-DD.jsonl (the day in TIME_ZONE).
ERRORLOGS_DIR = Path(env.str("ERRORLOGS_DIR", default=str(DATA_DIR / "logs" / "mediamtx_errors")))
# A batch's lines are fsync'd before its requests hear 202.
ERRORLOGS_FSYNC = env.bool("ERRORLOGS_FSYNC", default=True)
# The web process's writer (errorlogs/writer.py): reports per batch at most, reports that may
# wait at most (past it: 503 and Retry-After), and how long a request waits for its batch.
ERRORLOGS_BATCH_MAX = env.int("ERRORLOGS_BATCH_MAX", default=2000)
# How long a batch waits for more reports before it is written (the group-commit window).
ERRORLOGS_BATCH_LINGER_MS = env.float("ERRORLOGS_BATCH_LINGER_MS", default=10.0)
ERRORLOGS_QUEUE_MAX = env.int("ERRORLOGS_QUEUE_MAX", default=50_000)
ERRORLOGS_WRITE_TIMEOUT_S = env.float("ERRORLOGS_WRITE_TIMEOUT_S", default=10.0)
# An incident opens when this many distinct viewers fail on one MediaMTX server (or stream)
# within the window, and resolves after the quiet period without a report.
ERRORLOGS_INCIDENT_VIEWERS = env.int("ERRORLOGS_INCIDENT_VIEWERS", default=5)
ERRORLOGS_INCIDENT_WINDOW_S = env.int("ERRORLOGS_INCIDENT_WINDOW_S", default=30)
ERRORLOGS_INCIDENT_QUIET_S = env.int("ERRORLOGS_INCIDENT_QUIET_S", default=120)
# The MediaMTX servers the probe checks (and the only ones it ever calls), as JSON:
# [{"name": "main", "api_url": "http://10.0.0.5:9997", "whep_url": "http://10.0.0.5:8889",
#   "paths": ["stitched"]}]; "paths" are checked through WHEP on every probe.
ERRORLOGS_MEDIAMTX_SERVERS = env.json("ERRORLOGS_MEDIAMTX_SERVERS", default=[])
# The control API's user, if it asks for one (MediaMTX authInternalUsers with "api").
ERRORLOGS_MEDIAMTX_API_USER = env.str("ERRORLOGS_MEDIAMTX_API_USER", default="")
ERRORLOGS_MEDIAMTX_API_PASSWORD = env.str("ERRORLOGS_MEDIAMTX_API_PASSWORD", default="")
ERRORLOGS_PROBE_INTERVAL_S = env.int("ERRORLOGS_PROBE_INTERVAL_S", default=30)
ERRORLOGS_PROBE_TIMEOUT_S = env.float("ERRORLOGS_PROBE_TIMEOUT_S", default=3.0)
ERRORLOGS_PROBE_RETRIES = env.int("ERRORLOGS_PROBE_RETRIES", default=2)
# Failed probes in a row that open an incident with no viewer report.
ERRORLOGS_PROBE_FAILURES_TO_OPEN = env.int("ERRORLOGS_PROBE_FAILURES_TO_OPEN", default=2)
# Retention (prune_errorlogs and its beat job): rows and files older than this many days go;
# files older than the compress age are gzipped first.
ERRORLOGS_RETENTION_DAYS = env.int("ERRORLOGS_RETENTION_DAYS", default=30)
ERRORLOGS_COMPRESS_AFTER_DAYS = env.int("ERRORLOGS_COMPRESS_AFTER_DAYS", default=2)
# The reporter script's defaults on the console's pages (the demo player).
ERRORLOGS_REPORTER_RETRY_BASE_MS = env.int("ERRORLOGS_REPORTER_RETRY_BASE_MS", default=2000)
ERRORLOGS_REPORTER_RETRY_MAX_MS = env.int("ERRORLOGS_REPORTER_RETRY_MAX_MS", default=60_000)
CELERY_BEAT_SCHEDULE["errorlogs-probe"] = {
    "task": "errorlogs.tasks.probes_run_task",
    "schedule": timedelta(seconds=ERRORLOGS_PROBE_INTERVAL_S),
    "options": {"expires": ERRORLOGS_PROBE_INTERVAL_S},
}
CELERY_BEAT_SCHEDULE["errorlogs-incidents-resolve"] = {
    "task": "errorlogs.tasks.incidents_resolve_task",
    "schedule": timedelta(seconds=15),
    "options": {"expires": 15},
}
CELERY_BEAT_SCHEDULE["errorlogs-prune"] = {
    "task": "errorlogs.tasks.errorlogs_prune_task",
    "schedule": timedelta(hours=6),
}

# --- Security -------------------------------------------------------------------------------
# Every page loads scripts, styles, images and connections from the console itself only: no
# inline script or style anywhere (the admin, the dashboard, the API docs, live monitoring).
# 'self' covers the page's own ws:/wss: in CSP Level 3 browsers (Chromium tested); frames
# arrive as blob: images on the live-monitoring page, Swagger UI draws data: icons.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [csp.SELF],
        "script-src": [csp.SELF],
        "style-src": [csp.SELF],
        "img-src": [csp.SELF, "data:", "blob:"],
        "font-src": [csp.SELF],
        "connect-src": [csp.SELF],
        "object-src": [csp.NONE],
        "base-uri": [csp.SELF],
        "form-action": [csp.SELF],
        "frame-ancestors": [csp.NONE],
    }
}
# Error pages and reports never show a secret, by name or by value, DEBUG or not.
DEFAULT_EXCEPTION_REPORTER_FILTER = "broadcastops.error_reports.SecretsReporterFilter"
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
if HTTPS:
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    # Load balancers probe these over plain HTTP.
    SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^metrics$"]
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True)
    SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=True)
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
else:
    # Plain HTTP on loopback (`make run`): no HTTPS to redirect to, pin or keep cookies to.
    # check --deploy's four HTTPS warnings are replaced by broadcastops.W001, which warns
    # when HTTPS is off while ALLOWED_HOSTS names any host beyond loopback.
    SILENCED_SYSTEM_CHECKS = ["security.W004", "security.W008", "security.W012", "security.W016"]

# --- Logging --------------------------------------------------------------------------------
LOG_FORMAT = env.str("LOG_FORMAT", default="text")
LOG_LEVEL = env.str("LOG_LEVEL", default="INFO")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "request_id": {"()": "broadcastops.logs.RequestIdFilter"},
        "secrets": {"()": "broadcastops.logs.SecretsFilter"},
    },
    "formatters": {
        "text": {
            "format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s",
        },
        "json": {"()": "broadcastops.logs.JsonFormatter"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "filters": ["request_id", "secrets"],
            "formatter": "json" if LOG_FORMAT == "json" else "text",
        }
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django.db.backends": {"level": "INFO"},
        "botocore": {"level": "WARNING"},
        "urllib3": {"level": "WARNING"},
    },
}
