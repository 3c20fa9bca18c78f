#!/bin/sh
# Runs as root in the official image, before mosquitto drops to its own user. It copies the password
# file (a compose secret, owned by whoever generated it) where mosquitto can read it, renders the ACL
# for this installation's topic prefix, and copies the optional TLS material the same way. Then the
# image's own entrypoint starts the broker. (The MOSQ_* overrides let tests/deploy run this very script.)
set -eu

prefix="${ANPR_TOPIC_PREFIX:-anpr/v1}"
secret="${MOSQ_PASSWD_SECRET:-/run/secrets/mosquitto_passwd}"
config="${MOSQ_CONFIG_DIR:-/mosquitto/config}"
certs="${MOSQ_CERTS_DIR:-/mosquitto/certs}"
data="${MOSQ_DATA_DIR:-/mosquitto/data}"
auth="${MOSQ_AUTH_DIR:-/mosquitto/auth}"
owner="${MOSQ_OWNER:-mosquitto:mosquitto}"
next="${MOSQ_NEXT:-/docker-entrypoint.sh}"

case "$prefix" in
  "" | *[!A-Za-z0-9_/-]*) echo "mosquitto: ANPR_TOPIC_PREFIX='$prefix' must match [A-Za-z0-9_/-]+" >&2; exit 2 ;;
esac
[ -s "$secret" ] || { echo "mosquitto: $secret is missing or empty; run deploy/init.py edge" >&2; exit 2; }

mkdir -p "$auth"
cp "$secret" "$auth/passwd"
sed "s#@PREFIX@#${prefix}#g" "$config/acl.template" > "$auth/acl"
if [ -s "$certs/server.crt" ]; then
  mkdir -p "$auth/tls"
  cp "$certs/ca.crt" "$certs/server.crt" "$certs/server.key" "$auth/tls/"
fi
chown -R "$owner" "$auth" "$data"
chmod -R go-rwx "$auth"

exec "$next" "$@"
