"""Värn's one settings module, driven by environment variables and secure by default.

``VARN_ENV`` selects the mode: ``production`` (the default: every secret, the host list,
the database and the broker must be given), ``development`` (``make run``: secrets are
generated into ``var/``, SQLite, eager tasks) or ``test``. The README lists every variable.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import environ
from celery.schedules import crontab
from csp.constants import NONCE, NONE, SELF

from security_core.environment import (
    ConfigurationError,
    dev_secret,
    env_bool,
    env_int,
    env_secret,
    env_str,
    new_audit_key,
    new_keyring,
    new_secret_key,
    parse_audit_key,
    parse_keyring,
)

BASE_DIR = Path(__file__).resolve().parent.parent

VARN_ENV = env_str("VARN_ENV", "production").lower()
if VARN_ENV not in {"production", "development", "test"}:
    raise ConfigurationError("VARN_ENV must be production, development or test.")
PRODUCTION = VARN_ENV == "production"

VAR_DIR = Path(env_str("VARN_VAR_DIR") or BASE_DIR / "var")

DEBUG = env_bool("VARN_DEBUG", False)
if DEBUG and PRODUCTION:
    raise ConfigurationError("VARN_DEBUG must not be on in production.")


def _secret(name: str, dev_file: str, generate: Callable[[], str]) -> str:
    if PRODUCTION:
        value = env_secret(name)
        if not value:
            raise ConfigurationError(
                f"{name} (or {name}_FILE) is not set; create one with "
                "'python manage.py generate_secrets'."
            )
        return value
    return dev_secret(name, VAR_DIR / dev_file, generate)


SECRET_KEY = _secret("VARN_SECRET_KEY", "secret_key", new_secret_key)
# Earlier secret keys, comma-separated, while rotating: sessions and backup codes made under
# them keep working until they expire or are replaced.
SECRET_KEY_FALLBACKS = [
    key.strip() for key in (env_secret("VARN_SECRET_KEY_FALLBACKS") or "").split(",") if key.strip()
]
# Encryption key ring (key id -> 256-bit key encryption key); the first key is active.
VARN_KEYRING = parse_keyring("VARN_KEYRING", _secret("VARN_KEYRING", "keyring", new_keyring))
# The file the ring was read from, if any, so `rotate_keys --new-key` can add a key to it.
VARN_KEYRING_PATH: Path | None = (
    None
    if env_str("VARN_KEYRING")
    else Path(env_str("VARN_KEYRING_FILE"))
    if env_str("VARN_KEYRING_FILE")
    else None
    if PRODUCTION
    else VAR_DIR / "keyring"
)
# Key for the HMAC chain over the audit trail; never stored in the database.
VARN_AUDIT_KEY = parse_audit_key(
    "VARN_AUDIT_KEY", _secret("VARN_AUDIT_KEY", "audit_key", new_audit_key)
)

# Key for the blind indexes of perpetrator identifiers (keyed HMAC-SHA256): its own key, so
# that neither the encryption keys nor the audit key can be used to test a guess.
VARN_BLIND_INDEX_KEY = parse_audit_key(
    "VARN_BLIND_INDEX_KEY",
    _secret("VARN_BLIND_INDEX_KEY", "blind_index_key", new_audit_key),
)

# Key for the look-up hash of anonymous reporters' receipt codes (HMAC-SHA256): kept out of
# the database, so that a stolen database alone cannot be searched for a receipt code.
VARN_RECEIPT_KEY = parse_audit_key(
    "VARN_RECEIPT_KEY", _secret("VARN_RECEIPT_KEY", "receipt_key", new_audit_key)
)
# Earlier receipt keys, comma-separated, while a rotation runs: a code hashed under one of
# them still opens its report, and is hashed under the current key when it does.
VARN_RECEIPT_KEY_FALLBACKS = [
    parse_audit_key("VARN_RECEIPT_KEY_FALLBACKS", key.strip())
    for key in (env_secret("VARN_RECEIPT_KEY_FALLBACKS") or "").split(",")
    if key.strip()
]

_hosts = [host.strip() for host in env_str("VARN_ALLOWED_HOSTS").split(",") if host.strip()]
if PRODUCTION and not _hosts:
    raise ConfigurationError(
        "VARN_ALLOWED_HOSTS is not set; give the host names Värn answers to, comma-separated."
    )
ALLOWED_HOSTS = _hosts or ["127.0.0.1", "localhost", "[::1]", "testserver"]
CSRF_TRUSTED_ORIGINS = [
    origin.strip() for origin in env_str("VARN_CSRF_TRUSTED_ORIGINS").split(",") if origin.strip()
]

# How many reverse proxies stand in front of Värn. Each appends to X-Forwarded-For, so the
# client address is the N-th entry from the right; anything a client adds further left is
# ignored (see security_core.net.client_ip).
VARN_TRUSTED_PROXIES = env_int("VARN_TRUSTED_PROXIES", 0)
if VARN_TRUSTED_PROXIES < 0:
    raise ConfigurationError("VARN_TRUSTED_PROXIES must be 0 or more.")
if VARN_TRUSTED_PROXIES:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

INSTALLED_APPS = [
    "security_core.apps.VarnAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_otp",
    "axes",
    "auditlog",
    "csp",
    "security_core.apps.SecurityCoreConfig",
    "influence_reports",
]

MIDDLEWARE = [
    # First: an anonymous reporter's request leaves times to the day only (discretion.py).
    "security_core.discretion.DiscreetTimesMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "security_core.middleware.ResponseHardeningMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "security_core.middleware.SwedishFirstMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "security_core.middleware.SessionTimeoutMiddleware",
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "security_core.middleware.SecondFactorRequiredMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "security_core.middleware.AuditActorMiddleware",
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "security_core.urls"
WSGI_APPLICATION = "security_core.wsgi.application"
ASGI_APPLICATION = "security_core.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "security_core.context_processors.navigation",
            ],
        },
    },
]

_env = environ.Env()
_database_url = env_str("DATABASE_URL")
if PRODUCTION and not _database_url:
    raise ConfigurationError("DATABASE_URL is not set; give the PostgreSQL connection URL.")
DATABASES = {
    "default": _env.db_url_config(_database_url or f"sqlite:///{VAR_DIR / 'varn.sqlite3'}")
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Several processes or threads (runserver, gunicorn) may write at once: a write
    # transaction takes the lock when it begins (never an upgrade that can deadlock), waits
    # for it up to 20 s, and readers never block writers (WAL). Commits stay durable
    # (synchronous=FULL, the default): a receipt shown is a report kept.
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL;",
    }
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    DATABASES["default"]["CONN_MAX_AGE"] = env_int("VARN_DB_CONN_MAX_AGE", 60)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

_cache_url = env_str("VARN_CACHE_URL")
CACHES = {
    "default": _env.cache_url_config(_cache_url)
    if _cache_url
    else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
}

# --- Authentication -------------------------------------------------------------------------
AUTH_USER_MODEL = "security_core.User"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    "django.contrib.auth.hashers.ScryptPasswordHasher",
]
if VARN_ENV == "test":
    # Same algorithm (argon2id), lower cost, so the suite is not dominated by hashing.
    PASSWORD_HASHERS.insert(0, "security_core.hashers.FastTestArgon2PasswordHasher")
AUTH_PASSWORD_VALIDATORS = [
    {
        "NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator",
        "OPTIONS": {"user_attributes": ("email", "display_name")},
    },
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 12},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
    {"NAME": "security_core.password_validation.BreachedLookingPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"

# Idle and absolute session limits (security_core.middleware.SessionTimeoutMiddleware).
VARN_STAFF_IDLE_TIMEOUT = timedelta(minutes=env_int("VARN_STAFF_IDLE_MINUTES", 15))
VARN_REPORTER_IDLE_TIMEOUT = timedelta(minutes=env_int("VARN_REPORTER_IDLE_MINUTES", 30))
VARN_SESSION_ABSOLUTE_TIMEOUT = timedelta(hours=env_int("VARN_SESSION_MAX_HOURS", 10))

# Failed sign-ins are counted per user name *and* address, so nobody can lock a politician
# out from another address. After VARN_LOGIN_SLOWDOWN_AFTER failures each further try
# must wait (5 s, doubling); after AXES_FAILURE_LIMIT the pair is locked for the cool-off.
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_FAILURE_LIMIT = env_int("VARN_LOGIN_FAILURE_LIMIT", 8)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("VARN_LOGIN_COOLOFF_MINUTES", 15))
AXES_RESET_ON_SUCCESS = True
AXES_USERNAME_FORM_FIELD = "username"
AXES_CLIENT_IP_CALLABLE = "security_core.net.lockout_address"
AXES_LOCKOUT_CALLABLE = "security_core.views.auth.locked_out"
AXES_DISABLE_ACCESS_LOG = True  # successful sign-ins are security events of our own
AXES_VERBOSE = False
VARN_LOGIN_SLOWDOWN_AFTER = 3

OTP_TOTP_ISSUER = env_str("VARN_SITE_NAME", "Värn")
VARN_SITE_NAME = OTP_TOTP_ISSUER
VARN_BACKUP_CODE_COUNT = 10

# --- Sessions and cookies -------------------------------------------------------------------
_secure_cookies = PRODUCTION
_prefix = "__Host-" if _secure_cookies else ""
SESSION_COOKIE_NAME = f"{_prefix}varn_session"
SESSION_COOKIE_SECURE = _secure_cookies
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_AGE = int(VARN_SESSION_ABSOLUTE_TIMEOUT.total_seconds())
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
CSRF_COOKIE_NAME = f"{_prefix}varn_csrf"
CSRF_COOKIE_SECURE = _secure_cookies
CSRF_COOKIE_HTTPONLY = True
CSRF_COOKIE_AGE = None  # ends with the browser: no dated cookie is left on the device
CSRF_COOKIE_SAMESITE = "Lax"
CSRF_FAILURE_VIEW = "security_core.views.errors.csrf_failure"
LANGUAGE_COOKIE_NAME = f"{_prefix}varn_language"
LANGUAGE_COOKIE_SECURE = _secure_cookies
LANGUAGE_COOKIE_HTTPONLY = True
LANGUAGE_COOKIE_SAMESITE = "Lax"

# --- Response headers -----------------------------------------------------------------------
SECURE_CONTENT_TYPE_NOSNIFF = True
# Not "no-referrer": under it Chromium sends "Origin: null" with every form post, and
# Django's CSRF check rightly refuses that. "same-origin" still never tells another site
# which page (and so which case) a link was followed from.
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SECURE_SSL_REDIRECT = PRODUCTION and env_bool("VARN_SSL_REDIRECT", True)
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
SECURE_HSTS_SECONDS = env_int("VARN_HSTS_SECONDS", 31_536_000) if PRODUCTION else 0
SECURE_HSTS_INCLUDE_SUBDOMAINS = PRODUCTION
SECURE_HSTS_PRELOAD = PRODUCTION and env_bool("VARN_HSTS_PRELOAD", True)
VARN_PERMISSIONS_POLICY = (
    "accelerometer=(), autoplay=(), camera=(), display-capture=(), geolocation=(), "
    "gyroscope=(), magnetometer=(), microphone=(), midi=(), payment=(), usb=(), "
    "interest-cohort=()"
)
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF, NONCE],
        "style-src": [SELF, NONCE],
        "img-src": [SELF],
        "font-src": [SELF],
        "connect-src": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
        "object-src": [NONE],
        "base-uri": [NONE],
    },
}

# --- Internationalisation -------------------------------------------------------------------
LANGUAGE_CODE = "sv"
LANGUAGES = [("sv", "Svenska"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "security_core" / "locale"]
USE_I18N = True
USE_TZ = True
TIME_ZONE = "Europe/Stockholm"

# --- Static files ---------------------------------------------------------------------------
STATIC_URL = "/static/"
# Collected static files (production, `collectstatic`); elsewhere they are found in the apps.
STATIC_ROOT = Path(env_str("VARN_STATIC_ROOT") or VAR_DIR / "static") if PRODUCTION else None
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if PRODUCTION
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
WHITENOISE_USE_FINDERS = not PRODUCTION

# --- Evidence files (encrypted on disk under server-made names) ---------------------------
VARN_MEDIA_ROOT = Path(env_str("VARN_MEDIA_ROOT") or VAR_DIR / "media")
VARN_UPLOAD_MAX_FILE_BYTES = env_int("VARN_UPLOAD_MAX_FILE_MIB", 25) * 1024 * 1024
VARN_UPLOAD_MAX_REPORT_BYTES = env_int("VARN_UPLOAD_MAX_REPORT_MIB", 100) * 1024 * 1024
VARN_UPLOAD_MAX_FILES = env_int("VARN_UPLOAD_MAX_FILES", 10)
FILE_UPLOAD_HANDLERS = ["security_core.uploads.RefuseFilesUploadHandler"]
DATA_UPLOAD_MAX_NUMBER_FILES = 20
FILE_UPLOAD_PERMISSIONS = 0o600
FILE_UPLOAD_DIRECTORY_PERMISSIONS = 0o700
_districts = env_str("VARN_DISTRICTS")
VARN_DISTRICTS = [
    (code.strip(), label.strip())
    for code, _sep, label in (item.partition(":") for item in _districts.split(","))
    if code.strip() and label.strip()
]

# --- E-mail (notifications carry a link and a reference, never content) ---------------------
EMAIL_URL = env_str("EMAIL_URL") or ("smtp://localhost:25" if PRODUCTION else "consolemail://")
vars().update(_env.email_url_config(EMAIL_URL))
# The election calendar is kept in the admin (influence_reports.Election); a new election's
# period runs this many months before and after polling day unless the head of security
# sets other figures for it.
# Anonymous intake, against floods: reports an hour from one client (an IPv6 address counts
# as its /64) and from everyone together. Generous to a person, tight for a script.
VARN_ANONYMOUS_REPORTS_PER_HOUR = env_int("VARN_ANONYMOUS_REPORTS_PER_HOUR", 20)
VARN_ANONYMOUS_REPORTS_PER_HOUR_ALL = env_int("VARN_ANONYMOUS_REPORTS_PER_HOUR_ALL", 300)

VARN_ELECTION_MONTHS_BEFORE = env_int("VARN_ELECTION_MONTHS_BEFORE", 6)
VARN_ELECTION_MONTHS_AFTER = env_int("VARN_ELECTION_MONTHS_AFTER", 1)
# Anonymised trends: a count below this shows as "<k" (never below 3, see docs/trends.md).
VARN_TREND_MIN_COUNT = env_int("VARN_TREND_MIN_COUNT", 5)
if VARN_TREND_MIN_COUNT < 3:
    raise ConfigurationError("VARN_TREND_MIN_COUNT must be 3 or more.")
# Where links in notifications point (no trailing slash).
VARN_SITE_URL = env_str("VARN_SITE_URL", "http://127.0.0.1:8000").rstrip("/")
# Pages (SMS or pager) for urgent cases: POSTed to a gateway when its URL is set, otherwise
# only recorded (development; `check --deploy` warns about it in production).
VARN_PAGER_WEBHOOK_URL = env_str("VARN_PAGER_WEBHOOK_URL")
VARN_PAGER_WEBHOOK_SECRET = env_secret("VARN_PAGER_WEBHOOK_SECRET") or ""
VARN_PAGER_BACKEND = env_str(
    "VARN_PAGER_BACKEND",
    "security_core.notify.WebhookPager"
    if VARN_PAGER_WEBHOOK_URL
    else "security_core.notify.RecordingPager",
)
DEFAULT_FROM_EMAIL = env_str("VARN_EMAIL_FROM", "Värn <noreply@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
EMAIL_TIMEOUT = 10
ADMINS: list[tuple[str, str]] = []  # error mails would carry request data; none are sent

# --- Audit ----------------------------------------------------------------------------------
AUDITLOG_INCLUDE_ALL_MODELS = False
AUDITLOG_DISABLE_REMOTE_ADDR = True  # anonymous reporters must leave no address behind
AUDITLOG_CID_HEADER = None  # nor a correlation id of their choosing

# --- Celery ---------------------------------------------------------------------------------
CELERY_TIMEZONE = TIME_ZONE
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL")
if PRODUCTION and not CELERY_BROKER_URL:
    raise ConfigurationError("CELERY_BROKER_URL is not set; give the Redis broker URL.")
CELERY_RESULT_BACKEND = env_str("CELERY_RESULT_BACKEND") or None
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_DEFAULT_QUEUE = "varn"
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_BEAT_SCHEDULE: dict[str, dict[str, object]] = {
    "clear-expired-sessions": {
        "task": "security_core.clear_expired_sessions",
        "schedule": timedelta(hours=1),
    },
    "relay-notifications": {
        "task": "security_core.relay_notifications",
        "schedule": timedelta(minutes=1),
    },
    "escalate-unacknowledged-acute": {
        "task": "influence_reports.escalate_unacknowledged_acute",
        "schedule": timedelta(minutes=1),
    },
    "deadline-reminders": {
        "task": "influence_reports.remind_deadlines",
        "schedule": crontab(hour=7, minute=0),  # Stockholm time (CELERY_TIMEZONE)
    },
    "delete-orphaned-evidence": {
        "task": "influence_reports.delete_orphaned_evidence",
        "schedule": timedelta(hours=1),
    },
    # Leadership's figures: the cells counted afresh every night and the figures published
    # for the weeks that have ended, so Monday's run adds the week before (docs/trends.md).
    "rebuild-trends": {
        "task": "influence_reports.rebuild_trends",
        "schedule": crontab(hour=3, minute=15),
    },
}

# --- Logging: never request bodies, never secrets -------------------------------------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "filters": {
        # A line logged for an anonymous reporter carries the day only; the development
        # server's request lines for their pages are not written at all.
        "discreet": {"()": "security_core.discretion.DiscreetLogFilter"},
        "no_anonymous_requests": {"()": "security_core.discretion.NoAnonymousRequestLines"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "plain",
            "filters": ["discreet"],
        },
        "server": {
            "class": "logging.StreamHandler",
            "formatter": "plain",
            "filters": ["no_anonymous_requests"],
        },
    },
    "root": {"handlers": ["console"], "level": env_str("VARN_LOG_LEVEL", "INFO")},
    "loggers": {
        # Django's own request logger would include the failing request's details.
        "django.request": {"level": "ERROR", "handlers": ["console"], "propagate": False},
        "django.server": {"level": "INFO", "handlers": ["server"], "propagate": False},
        "django.security": {"level": "WARNING", "handlers": ["console"], "propagate": False},
        # Failures are security events of our own; axes' lines would only repeat them.
        "axes": {"level": "ERROR"},
    },
}
if not env_bool("VARN_LOG_TASKS", False):
    # A worker's line per task ("received", "succeeded in 0.02s") would time each
    # notification to the second, an anonymous reporter's too; failures still show.
    # VARN_LOG_TASKS=true brings the lines back, for debugging (the worker tests count them).
    LOGGING["loggers"] |= {  # type: ignore[operator]
        "celery.app.trace": {"level": "WARNING"},
        "celery.worker.strategy": {"level": "WARNING"},
    }
