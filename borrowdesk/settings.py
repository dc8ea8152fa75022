"""BorrowDesk settings: one module, configured by environment variables (README lists them all)."""

from __future__ import annotations

from datetime import time, timedelta
from pathlib import Path

import environ
from csp.constants import NONCE, NONE, SELF

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
# optional (make run writes one with a generated SECRET_KEY); ENV_FILE names another; real environment wins
environ.Env.read_env(env.str("ENV_FILE", default=str(BASE_DIR / ".env")), overwrite=False)

# --- Security. Safe by default: DEBUG off, a secret key required when DEBUG is off. ---
DEBUG = env.bool("DEBUG", default=False)
SECRET_KEY = env.str("SECRET_KEY", default="") or (
    "insecure-development-key-only-for-debug-and-tests" if DEBUG or env.bool("BORROWDESK_DEV", False) else ""
)
if not SECRET_KEY:
    raise environ.ImproperlyConfigured("Set SECRET_KEY (or DEBUG=1 for local development).")
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=not DEBUG and env.bool("HTTPS", default=False))
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = env.bool("HTTPS", default=False)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000 if env.bool("HTTPS", False) else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = SECURE_HSTS_SECONDS > 0
SECURE_HSTS_PRELOAD = SECURE_HSTS_SECONDS > 0
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if env.bool("BEHIND_PROXY", False) else None
SESSION_COOKIE_HTTPONLY = True
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
# Content-Security-Policy on every response (django-csp): scripts, styles and everything else from
# this origin only, no inline script or style. A template that must inline one (Swagger UI at
# /api/docs/) marks it with request.csp_nonce, and only that response's header carries the nonce.
# img-src allows data: for the SVG icons inside Bootstrap's stylesheet.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF, NONCE],
        "style-src": [SELF, NONCE],
        "img-src": [SELF, "data:"],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django.contrib.postgres",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_filters",
    "django_htmx",
    "template_partials",
    "guardian",
    "pgtrigger",
    "pghistory",
    "pghistory.admin",
    "django_celery_beat",
    "axes",  # failed-login lockout (login form and token endpoint)
    "csp",  # the Content-Security-Policy header (CONTENT_SECURITY_POLICY below)
    # the kernel
    "borrowdesk.access",
    "borrowdesk.refdata",
    "borrowdesk.operations",
    "borrowdesk.dashboards",
    # the domain apps, lowest layer first
    "inventory",
    "compliance",
    "collateral",
    "treasury",
    "reconciliation",  # issue 11: custodian statements, runs and breaks
    "requests_app",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "borrowdesk.db_errors.DatabaseUnavailableMiddleware",  # a database outage: 503, JSON under /api/
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # NUL bytes, unpaired surrogates and oversized bodies are refused before anything reads them.
    "borrowdesk.hygiene.RequestHygieneMiddleware",
    "csp.middleware.CSPMiddleware",
    "borrowdesk.views.ApiNotFoundMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # Audit context (acting user and URL) for every write; DRF's late authentication is handled too.
    "pghistory.middleware.HistoryMiddleware",
    "borrowdesk.access.middleware.AccessLogMiddleware",
    # Last, as django-axes asks: turns a lockout flagged during login into borrowdesk.access.lockout's 429.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "borrowdesk.urls"
WSGI_APPLICATION = "borrowdesk.wsgi.application"
ASGI_APPLICATION = "borrowdesk.asgi.application"

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
                "borrowdesk.access.context_processors.navigation",
            ],
        },
    }
]

# --- Database: DATABASE_URL, or the embedded PostgreSQL in var/ (never SQLite). ---
if env.str("DATABASE_URL", default=""):
    DATABASES = {"default": env.db_url("DATABASE_URL")}
else:
    from borrowdesk.embedded import postgres_settings

    DATABASES = {"default": postgres_settings()}
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DB_CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DATABASES["default"].setdefault("TEST", {})["NAME"] = env.str("TEST_DATABASE_NAME", default="test_borrowdesk")
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Redis: REDIS_URL, or the embedded Redis on a unix socket in var/ (never an in-memory stand-in). ---
if env.str("REDIS_URL", default=""):
    REDIS_URL = env.str("REDIS_URL")
    CELERY_BROKER_URL = REDIS_URL
else:
    from borrowdesk.embedded import redis_socket

    _socket = redis_socket()
    REDIS_URL = f"unix://{_socket}"
    CELERY_BROKER_URL = f"redis+socket://{_socket}"

AUTH_USER_MODEL = "access.User"
AUTHENTICATION_BACKENDS = [
    # First: refuses a locked-out user+address before any password is checked (django-axes).
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
    "guardian.backends.ObjectPermissionBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
LOGIN_URL = "access:login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "access:login"
GUARDIAN_RAISE_403 = False

# --- Brute force and tokens (README "Configuration"; borrowdesk/access/lockout.py, tokens.py). ---
API_TOKEN_TTL_HOURS = env.int("API_TOKEN_TTL_HOURS", default=24)  # an older token answers 401
AXES_FAILURE_LIMIT = env.int("LOGIN_FAILURE_LIMIT", default=10)  # failures in a row, then locked out
AXES_COOLOFF_TIME = timedelta(minutes=env.int("LOGIN_LOCKOUT_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]  # the pair: one attacker cannot lock everyone out
AXES_RESET_ON_SUCCESS = True  # "in a row": a successful login clears the count
AXES_LOCKOUT_CALLABLE = "borrowdesk.access.lockout.lockout_response"
AXES_DISABLE_ACCESS_LOG = True  # no row per successful login; failures are still recorded
# The client's address: REMOTE_ADDR, unless behind our proxy (a forged X-Forwarded-For must not
# give an attacker a fresh address per attempt).
AXES_IPWARE_META_PRECEDENCE_ORDER = (
    ("HTTP_X_FORWARDED_FOR", "REMOTE_ADDR") if env.bool("BEHIND_PROXY", False) else ("REMOTE_ADDR",)
)
AXES_IPWARE_PROXY_ORDER = "right-most"  # the address our proxy appended, not one the client wrote
ANONYMOUS_USER_NAME = None  # guardian: no anonymous user row; anonymous requests have no object rights

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"  # storage and APIs are UTC; the desk's business day uses DESK_TIME_ZONE
USE_I18N = False
USE_TZ = True
DESK_TIME_ZONE = env.str("DESK_TIME_ZONE", default="Europe/London")
DESK_OPEN_TIME = time.fromisoformat(env.str("DESK_OPEN_TIME", default="07:00"))

STATIC_URL = "static/"
# collectstatic (bin/run, the production image) writes here; STATIC_ROOT moves it (as the fault tests do).
STATIC_ROOT = Path(env.str("STATIC_ROOT", default=str(BASE_DIR / "var" / "staticfiles")))
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if env.bool("STATIC_MANIFEST", default=not DEBUG)
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
WHITENOISE_USE_FINDERS = env.bool("STATIC_USE_FINDERS", default=DEBUG)

REST_FRAMEWORK = {
    # Token first, so an unauthenticated API call answers 401 with a WWW-Authenticate header.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "borrowdesk.access.tokens.ExpiringTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PARSER_CLASSES": [
        "borrowdesk.api.DecimalJSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PAGINATION_CLASS": "borrowdesk.api.Pagination",
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "EXCEPTION_HANDLER": "borrowdesk.api.exception_handler",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "COERCE_DECIMAL_TO_STRING": True,
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "BorrowDesk API",
    "DESCRIPTION": "The HTTP contract of BorrowDesk (see API.md).",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "VenueKindEnum": "borrowdesk.refdata.models.VenueKind",
        "CounterpartyKindEnum": "borrowdesk.refdata.models.CounterpartyKind",
    },
}

# --- Celery on Redis. Late acks: a job a dead worker held is delivered again, so jobs are idempotent. ---
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1  # long jobs: one at a time per process
# Above the longest job's run time, or Redis redelivers a job that is still running.
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT", default=4 * 3600)
}
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_TASK_DEFAULT_QUEUE = env.str("CELERY_QUEUE", default="borrowdesk")
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Daily jobs catch up the business dates whose tick was missed, this many days back (operations.catch_up),
# trying a date whose runs failed at most this many times.
JOB_CATCH_UP_DAYS = env.int("JOB_CATCH_UP_DAYS", default=7)
JOB_CATCH_UP_ATTEMPTS = env.int("JOB_CATCH_UP_ATTEMPTS", default=3)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    # A refused page (403, 404, a bad host) is one line in the log, not a traceback; 5xx keep theirs.
    "filters": {"one_line_refusals": {"()": "borrowdesk.logging_filters.OneLineRefusals"}},
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "plain", "filters": ["one_line_refusals"]}
    },
    # On the logger too, so Django's own console handler (DEBUG on) prints the one line as well.
    "loggers": {"django.request": {"filters": ["one_line_refusals"]}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
}

# The business day and priorities: tuned by the desk, documented in the README.
DEMO_PASSWORD = env.str("DEMO_PASSWORD", default="borrowdesk-demo")

# --- The borrow desk's knobs (README "Configuration"). ---
# Queue priority = urgency + revenue impact + counterparty risk + age (points); weights per part.
PRIORITY_URGENCY_POINTS = {"low": 0, "normal": 10, "high": 25, "critical": 50}
PRIORITY_RISK_POINTS = {"low": 10, "medium": 5, "high": 0}
PRIORITY_REVENUE_POINTS_PER_DECADE = env.float(
    "PRIORITY_REVENUE_POINTS_PER_DECADE", default=8.0
)  # per 10x USD
PRIORITY_AGE_POINTS_PER_HOUR = env.float("PRIORITY_AGE_POINTS_PER_HOUR", default=2.0)
PRIORITY_OPEN_TERM_DAYS = 30  # an open-ended loan's term for revenue impact
REQUEST_DECISION_HOURS = env.int("REQUEST_DECISION_HOURS", default=24)  # undecided by then → expired
OFFER_TTL_MINUTES = env.int("OFFER_TTL_MINUTES", default=60)  # an unanswered offer lapses
INDICATIVE_BASE_RATE_BPS = env.int("INDICATIVE_BASE_RATE_BPS", default=500)  # at zero utilization
# An administrator's manual price moving the mark by more than this (%) waits for a second administrator.
PRICE_OVERRIDE_TOLERANCE_PCT = env.float("PRICE_OVERRIDE_TOLERANCE_PCT", default=5.0)

# Collateral and limits (collateral/). Coverage = collateral value after haircuts / exposure.
# Default levels when a counterparty has no agreement in force (ratios: 1.5 = 150 %).
COLLATERAL_LEVELS = {
    "return_ratio": env.str("COLLATERAL_RETURN_RATIO", default="1.75"),  # above: excess may be released
    "required_ratio": env.str("COLLATERAL_REQUIRED_RATIO", default="1.50"),  # a call tops up to this
    "warning_ratio": env.str("COLLATERAL_WARNING_RATIO", default="1.40"),
    "call_ratio": env.str("COLLATERAL_CALL_RATIO", default="1.30"),  # below: margin call
    "critical_ratio": env.str("COLLATERAL_CRITICAL_RATIO", default="1.15"),
    "cure_period_hours": env.int("COLLATERAL_CURE_PERIOD_HOURS", default=24),
    "call_due_hours": env.int("COLLATERAL_CALL_DUE_HOURS", default=24),
}
COLLATERAL_MARK_MAX_AGE_MINUTES = env.int("COLLATERAL_MARK_MAX_AGE_MINUTES", default=60)
COLLATERAL_MARK_DIVERGENCE_PCT = env.str("COLLATERAL_MARK_DIVERGENCE_PCT", default="2")
COLLATERAL_CONCENTRATION_COUNTERPARTY_PCT = env.str("COLLATERAL_CONCENTRATION_COUNTERPARTY_PCT", default="60")
COLLATERAL_CONCENTRATION_FIRM_PCT = env.str("COLLATERAL_CONCENTRATION_FIRM_PCT", default="40")
COLLATERAL_EXPIRY_WARNING_DAYS = env.int("COLLATERAL_EXPIRY_WARNING_DAYS", default=14)
# The order in which a defaulted counterparty's loans are to be closed out: largest exposure first,
# or the highest-rate, the oldest (exposure_desc, rate_desc, oldest_first).
COLLATERAL_LIQUIDATION_ORDER = env.str("COLLATERAL_LIQUIDATION_ORDER", default="exposure_desc")
# Recall suggestions (collateral/selectors/recall.py): points of each part of a loan's recall score, the
# higher the sooner it is suggested. rate: the lowest rate of the asset's loans gets them all (least fee
# lost); term: an open-ended (callable) loan; coverage: the weakest counterparty coverage (at or below
# critical); relationship: the smallest counterparty by open notional.
COLLATERAL_RECALL_WEIGHTS = {
    "rate": env.int("COLLATERAL_RECALL_WEIGHT_RATE", default=40),
    "term": env.int("COLLATERAL_RECALL_WEIGHT_TERM", default=20),
    "coverage": env.int("COLLATERAL_RECALL_WEIGHT_COVERAGE", default=25),
    "relationship": env.int("COLLATERAL_RECALL_WEIGHT_RELATIONSHIP", default=15),
}
# A recall started from the suggestions page is due this many hours after it is issued (editable there).
COLLATERAL_RECALL_DUE_HOURS = env.int("COLLATERAL_RECALL_DUE_HOURS", default=48)

# Sanctions screening (compliance/sanctions/). A name scoring at or above the threshold (0-100, see
# compliance/sanctions/screening.py for the score) is a potential match and holds its counterparty.
SANCTIONS_MATCH_THRESHOLD = env.float("SANCTIONS_MATCH_THRESHOLD", default=88.0)
# A word-subset match ("SBERBANK ROSSII" inside "PJSC SBERBANK ROSSII") counts only when one of the
# shared words is on at most this share of the list's names: common words alone ("bank", "trading",
# "international") do not make a match.
SANCTIONS_DISTINCTIVE_WORD_SHARE = env.float("SANCTIONS_DISTINCTIVE_WORD_SHARE", default=0.001)
# Uploaded list files wait here between the preview and the confirmation (BASE_DIR/var by default).
SANCTIONS_UPLOAD_DIR = Path(
    env.str("SANCTIONS_UPLOAD_DIR", default=str(BASE_DIR / "var" / "sanctions-uploads"))
)
SANCTIONS_UPLOAD_MAX_BYTES = env.int("SANCTIONS_UPLOAD_MAX_BYTES", default=64 * 1024 * 1024)

# KYC (compliance/kyc/, issue 10). An approval is reviewed again after this many months, by risk rating
# (the counterparty's); the daily KYC job opens a review case this many days before the earlier of the
# expiry and the next review, and sets a lapsed approval expired.
KYC_REVIEW_INTERVAL_MONTHS = {
    "high": env.int("KYC_REVIEW_MONTHS_HIGH", default=12),
    "medium": env.int("KYC_REVIEW_MONTHS_MEDIUM", default=24),
    "low": env.int("KYC_REVIEW_MONTHS_LOW", default=36),
}
KYC_REVIEW_LEAD_DAYS = env.int("KYC_REVIEW_LEAD_DAYS", default=30)
# KYC documents: stored here under random names (never under STATIC_ROOT or MEDIA_ROOT; served only by
# the download view, to compliance and auditors, each download in the access log), at most this size.
KYC_DOCUMENT_DIR = Path(env.str("KYC_DOCUMENT_DIR", default=str(BASE_DIR / "var" / "kyc-documents")))
KYC_DOCUMENT_MAX_BYTES = env.int("KYC_DOCUMENT_MAX_BYTES", default=10 * 1024 * 1024)
# AML monitoring (compliance/aml/): the scheduled run looks at requests and settlement legs of the
# last AML_SCAN_DAYS (the events judge each one as it happens; the schedule catches up what they missed).
AML_SCAN_DAYS = env.int("AML_SCAN_DAYS", default=7)

# Compliance cases (compliance/cases/, issue 10). Attachments are stored here under names of our own
# (BASE_DIR/var by default), at most this many bytes each; their type is sniffed from their bytes.
CASE_ATTACHMENT_DIR = Path(env.str("CASE_ATTACHMENT_DIR", default=str(BASE_DIR / "var" / "case-attachments")))
CASE_ATTACHMENT_MAX_BYTES = env.int("CASE_ATTACHMENT_MAX_BYTES", default=10 * 1024 * 1024)

# Travel rule (compliance/travel_rule/). A settlement leg or transfer worth at least the threshold of its
# counterparty's jurisdiction (USD at the mark) carries a valid IVMS101 message before it settles.
# TRAVEL_RULE_THRESHOLDS_USD: per jurisdiction overrides, "GB=1000,SG=1500"; EU members default to
# TRAVEL_RULE_EU_THRESHOLD_USD (0: the EU's Transfer of Funds Regulation applies from the first euro).
TRAVEL_RULE_THRESHOLD_USD = env.str("TRAVEL_RULE_THRESHOLD_USD", default="1000")
TRAVEL_RULE_EU_THRESHOLD_USD = env.str("TRAVEL_RULE_EU_THRESHOLD_USD", default="0")
TRAVEL_RULE_THRESHOLDS_USD = env.dict("TRAVEL_RULE_THRESHOLDS_USD", default={})
# The firm's own VASP details, as its messages name it (originator or beneficiary, and its VASP).
TRAVEL_RULE_VASP = {
    "legal_name": env.str("TRAVEL_RULE_VASP_NAME", default="BorrowDesk Markets Ltd"),
    "country": env.str("TRAVEL_RULE_VASP_COUNTRY", default="GB"),
    "lei": env.str("TRAVEL_RULE_VASP_LEI", default=""),
    "street": env.str("TRAVEL_RULE_VASP_STREET", default="King William Street"),
    "building_number": env.str("TRAVEL_RULE_VASP_BUILDING", default="10"),
    "post_code": env.str("TRAVEL_RULE_VASP_POST_CODE", default="EC4N 7TW"),
    "town": env.str("TRAVEL_RULE_VASP_TOWN", default="London"),
}
# How messages leave the desk: a dotted path to a TravelRuleTransport (compliance/travel_rule/transport.py).
TRAVEL_RULE_TRANSPORT = env.str(
    "TRAVEL_RULE_TRANSPORT", default="compliance.travel_rule.transport.ManualExportTransport"
)

# Regulator requests (compliance/regulator/): reminders for requests due within this many days.
REGULATOR_REMINDER_DAYS = env.int("REGULATOR_REMINDER_DAYS", default=3)
REGULATOR_EVIDENCE_MAX_BYTES = env.int("REGULATOR_EVIDENCE_MAX_BYTES", default=20 * 1024 * 1024)
REGULATOR_EVIDENCE_DIR = Path(
    env.str("REGULATOR_EVIDENCE_DIR", default=str(BASE_DIR / "var" / "regulator-evidence"))
)

# --- Reconciliation statements (issue 11) ---------------------------------------------------------
# Uploaded statement files wait here, named by their SHA-256, between the preview and the confirmation.
RECONCILIATION_UPLOAD_DIR = Path(
    env.str("RECONCILIATION_UPLOAD_DIR", default=str(BASE_DIR / "var" / "statement-uploads"))
)
# The largest statement file the API, the upload page and the feed command accept (a million CSV lines
# is about 40 MB).
RECONCILIATION_MAX_FILE_BYTES = env.int("RECONCILIATION_MAX_FILE_BYTES", default=256 * 1024 * 1024)
# Reconciliation runs, breaks and the pre-open gate (reconciliation/; issue 11, part reconruns).
# The daily run (scope all) starts this many minutes before DESK_OPEN_TIME, in DESK_TIME_ZONE.
RECONCILIATION_LEAD_MINUTES = env.int("RECONCILIATION_LEAD_MINUTES", default=45)
# Dust: a difference at or below the tolerance is no break. Per asset symbol (JSON, e.g.
# {"BTC": "0.00000100"}), else the default (0: any difference breaks).
RECONCILIATION_TOLERANCES = env.json("RECONCILIATION_TOLERANCES", default={})
RECONCILIATION_DEFAULT_TOLERANCE = env.str("RECONCILIATION_DEFAULT_TOLERANCE", default="0")
# A statement older than this (before the run's cutoff) does not count: the account is a statement gap.
RECONCILIATION_STATEMENT_MAX_AGE_HOURS = env.int("RECONCILIATION_STATEMENT_MAX_AGE_HOURS", default=72)
# PostgreSQL work_mem of the run's transaction (its hash joins over every position and statement line).
RECONCILIATION_WORK_MEM = env.str("RECONCILIATION_WORK_MEM", default="128MB")
# The pre-open gate: final approvals allocating from an account are held while today's pre-open run has
# not finished, or while the account has an open break older than GATE_BREAK_AGE_HOURS whose difference
# is above GATE_BREAK_MIN_QUANTITY (in the asset's units), until an ops_senior overrides it with a reason.
# Off unless RECONCILIATION_GATE=True (docker-compose and the demo set it), so a desk without statements
# is not held.
RECONCILIATION_GATE = env.bool("RECONCILIATION_GATE", default=False)
RECONCILIATION_GATE_BREAK_AGE_HOURS = env.int("RECONCILIATION_GATE_BREAK_AGE_HOURS", default=24)
RECONCILIATION_GATE_BREAK_MIN_QUANTITY = env.str("RECONCILIATION_GATE_BREAK_MIN_QUANTITY", default="0")
# /api/v1/health/ sections the higher apps add: key → dotted path of a function returning a dict.
HEALTH_SECTIONS = {"reconciliation": "reconciliation.selectors_runs.health_section"}
