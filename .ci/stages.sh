#!/usr/bin/env bash
# The stages of `make test`. Each stage that cannot run on this machine says SKIPPED and why;
# with CI=true a skipped stage is a failure. Usage: stages.sh [lint|sqlite|postgres|worker|browser]...
set -uo pipefail
cd "$(dirname "$0")/.."

BIN=.venv/bin
RESULTS=var/test-results
mkdir -p "$RESULTS"
rm -f "$RESULTS"/*.xml
export VARN_ENV=test
PG_URL="${VARN_TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/varn}"
REDIS_URL="${VARN_TEST_REDIS_URL:-redis://127.0.0.1:6379/15}"
CHROMIUM="${VARN_CHROMIUM:-/usr/bin/chromium}"

declare -a SUMMARY=()
FAILED=0

record() { SUMMARY+=("$(printf '%-9s %s' "$1" "$2")"); }
skip() {
  echo "SKIPPED: stage $1: $2"
  if [ "${CI:-}" = "true" ]; then record "$1" "FAILED (skipped under CI: $2)"; FAILED=1
  else record "$1" "SKIPPED ($2)"; fi
}
run_stage() {
  local name=$1; shift
  echo
  echo "=== stage: $name ==="
  if "$@"; then record "$name" "passed"; else record "$name" "FAILED"; FAILED=1; fi
}

pg_up() { "$BIN/python" - "$PG_URL" <<'PY' 2>/dev/null
import sys, psycopg
psycopg.connect(sys.argv[1].rsplit("/", 1)[0] + "/postgres", connect_timeout=3).close()
PY
}
redis_up() { "$BIN/python" -c "import redis,sys; redis.Redis.from_url(sys.argv[1], socket_connect_timeout=3).ping()" "$REDIS_URL" 2>/dev/null; }

lint() {
  "$BIN/ruff" check . &&
  "$BIN/ruff" format --check . &&
  "$BIN/bandit" -q -r security_core influence_reports manage.py -x '*/migrations/*,*/locale/*' &&
  "$BIN/mypy" . &&
  "$BIN/python" manage.py makemigrations --check --dry-run &&
  "$BIN/python" -m security_core.i18n_compile --check
}
suite() { "$BIN/pytest" -q -m "not worker and not browser" --junitxml="$RESULTS/$1.xml" -p no:cacheprovider; }
export -f suite
export BIN RESULTS

stage_lint() { run_stage lint lint; }
stage_sqlite() { run_stage sqlite env -u DATABASE_URL bash -c 'suite sqlite'; }
stage_postgres() {
  if pg_up; then run_stage postgres env DATABASE_URL="$PG_URL" bash -c 'suite postgres'
  else skip postgres "no PostgreSQL answers at $PG_URL"; fi
}
stage_worker() {
  if ! pg_up; then skip worker "no PostgreSQL answers at $PG_URL"; return; fi
  if ! redis_up; then skip worker "no Redis answers at $REDIS_URL"; return; fi
  run_stage worker env DATABASE_URL="$PG_URL" CELERY_BROKER_URL="$REDIS_URL" CELERY_RESULT_BACKEND="$REDIS_URL" \
    "$BIN/pytest" -q -m worker --junitxml="$RESULTS/worker.xml" -p no:cacheprovider
}
stage_browser() {
  if [ ! -x "$CHROMIUM" ] && [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null; then
    echo "Installing Debian's chromium package (browser tests never download a browser)..."
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium >/dev/null 2>&1 ||
      { apt-get update -q >/dev/null 2>&1 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium >/dev/null 2>&1; }
  fi
  if [ -x "$CHROMIUM" ]; then
    run_stage browser env -u DATABASE_URL VARN_CHROMIUM="$CHROMIUM" DJANGO_ALLOW_ASYNC_UNSAFE=true \
      "$BIN/pytest" -q -m browser --junitxml="$RESULTS/browser.xml" -p no:cacheprovider
  else skip browser "no Chromium at $CHROMIUM (as root: apt-get install chromium)"; fi
}

stages=("$@")
[ ${#stages[@]} -eq 0 ] && stages=(lint sqlite postgres worker browser)
for stage in "${stages[@]}"; do "stage_$stage"; done

echo
echo "=== make test: summary ==="
printf '%s\n' "${SUMMARY[@]}"
"$BIN/python" - "$RESULTS" <<'PY'
import sys, pathlib, xml.etree.ElementTree as ET
passed = failed = skipped = 0
for path in sorted(pathlib.Path(sys.argv[1]).glob("*.xml")):
    for suite in ET.parse(path).getroot().iter("testsuite"):
        total, fail = int(suite.get("tests", 0)), int(suite.get("failures", 0)) + int(suite.get("errors", 0))
        skip = int(suite.get("skipped", 0))
        passed += total - fail - skip; failed += fail; skipped += skip
print(f"{passed} passed, {failed} failed, {skipped} skipped")
PY
exit $FAILED
