#!/usr/bin/env bash
# shellcheck disable=SC2015 # `cond && ok || bad` is meant: ok (pass/log) never fails
# End-to-end check of deploy/kafka/kafka.sh with kcat (librdkafka), rerunnable at any time.
#
#   selftest.sh              start two brokers on alternative ports in temp state dirs (so it can
#                            run beside the default broker on 9092-9097), check every listener on
#                            the first and a few things on the second, stop both, remove the dirs
#   selftest.sh --env FILE   only check the listeners of an already running broker, described by
#                            its kafka.env (e.g. deploy/kafka/.state/kafka.env); starts nothing
#
# Ports: KAFKA_SELFTEST_BASE_PORT (default 29092) for the first broker: PLAINTEXT=base,
# CONTROLLER=base+1, SASL_PLAINTEXT=base+2, SSL=base+3, MTLS=base+4, SASL_SSL=base+5 (kafka.sh adds
# OAUTH=base+6, OAUTH_UNSECURED=base+7, the token server base+8); the second broker uses base+10 ... base+18. Ends with a line "N passed, N failed"; exits non-zero on failure.
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)"
KAFKA_SH="$SCRIPT_DIR/kafka.sh"
# kcat on sinkhost's librdkafka (deploy/bin/kcat): Debian 12's own cannot do SCRAM with Kafka 4.x.
PATH="$SCRIPT_DIR/../bin:$PATH"
BASE_PORT="${KAFKA_SELFTEST_BASE_PORT:-29092}"
RUN_ID="$(date +%s)-$$"

passed=0
failed=0
pass() { passed=$((passed + 1)); echo "PASS $*"; }
fail() { failed=$((failed + 1)); echo "FAIL $*"; }

# kcat client options for a security mode, from the variables of a kafka.env.
#   modes: plaintext | sasl_plaintext:MECH | ssl | mtls | mtls-nocert | sasl_ssl:MECH
#          | oauth (OIDC client credentials; the 2nd argument overrides the secret)
#          | oauth-unsecured (librdkafka's unsigned JWT) | oauth-unsigned (that token on OAUTH)
MODE_BOOTSTRAP=""
MODE_ARGS=()
mode() {
  local m="$1" mech="${1#*:}" user="${2:-$KAFKA_SASL_USERNAME}" pw="${3:-$KAFKA_SASL_PASSWORD}"
  MODE_ARGS=()
  case "$m" in
    plaintext)
      MODE_BOOTSTRAP="$KAFKA_BOOTSTRAP" ;;
    sasl_plaintext:*)
      MODE_BOOTSTRAP="$KAFKA_SASL_PLAINTEXT_BOOTSTRAP"
      MODE_ARGS=(-X security.protocol=SASL_PLAINTEXT -X "sasl.mechanisms=$mech"
                 -X "sasl.username=$user" -X "sasl.password=$pw") ;;
    ssl)
      MODE_BOOTSTRAP="$KAFKA_SSL_BOOTSTRAP"
      MODE_ARGS=(-X security.protocol=SSL -X "ssl.ca.location=$KAFKA_CA_PEM") ;;
    mtls)
      MODE_BOOTSTRAP="$KAFKA_MTLS_BOOTSTRAP"
      MODE_ARGS=(-X security.protocol=SSL -X "ssl.ca.location=$KAFKA_CA_PEM"
                 -X "ssl.certificate.location=$KAFKA_CLIENT_CERT_PEM" -X "ssl.key.location=$KAFKA_CLIENT_KEY_PEM") ;;
    mtls-nocert)
      MODE_BOOTSTRAP="$KAFKA_MTLS_BOOTSTRAP"
      MODE_ARGS=(-X security.protocol=SSL -X "ssl.ca.location=$KAFKA_CA_PEM") ;;
    sasl_ssl:*)
      MODE_BOOTSTRAP="$KAFKA_SASL_SSL_BOOTSTRAP"
      MODE_ARGS=(-X security.protocol=SASL_SSL -X "sasl.mechanisms=$mech"
                 -X "sasl.username=$user" -X "sasl.password=$pw" -X "ssl.ca.location=$KAFKA_CA_PEM") ;;
    oauth)
      MODE_BOOTSTRAP="$KAFKA_OAUTH_BOOTSTRAP"
      MODE_ARGS=(-X security.protocol=SASL_PLAINTEXT -X sasl.mechanisms=OAUTHBEARER -X sasl.oauthbearer.method=oidc
                 -X "sasl.oauthbearer.client.id=$KAFKA_OAUTH_CLIENT_ID"
                 -X "sasl.oauthbearer.client.secret=${2:-$KAFKA_OAUTH_CLIENT_SECRET}"
                 -X "sasl.oauthbearer.token.endpoint.url=$KAFKA_OAUTH_TOKEN_URL") ;;
    oauth-unsecured|oauth-unsigned)
      MODE_BOOTSTRAP="$KAFKA_OAUTH_UNSECURED_BOOTSTRAP"
      [ "$m" = oauth-unsigned ] && MODE_BOOTSTRAP="$KAFKA_OAUTH_BOOTSTRAP"
      MODE_ARGS=(-X security.protocol=SASL_PLAINTEXT -X sasl.mechanisms=OAUTHBEARER
                 -X enable.sasl.oauthbearer.unsecure.jwt=true -X "sasl.oauthbearer.config=principal=$KAFKA_SASL_USERNAME") ;;
    *) echo "selftest: unknown mode $m" >&2; exit 2 ;;
  esac
}

# Produce one message in a mode and read it back (auto-created topic).
roundtrip() {
  local m="$1" topic="selftest-${1//[:]/-}-$RUN_ID" msg="hello ${1} $RUN_ID" got
  mode "$m"
  if ! printf '%s\n' "$msg" | timeout 60 kcat -b "$MODE_BOOTSTRAP" "${MODE_ARGS[@]}" -P -t "$topic" 2>"$WORK/err"; then
    fail "produce over $m ($MODE_BOOTSTRAP): $(tail -n 2 "$WORK/err" | tr '\n' ' ')"
    return
  fi
  got="$(timeout 60 kcat -b "$MODE_BOOTSTRAP" "${MODE_ARGS[@]}" -C -t "$topic" -o beginning -c 1 -e -q 2>"$WORK/err" || true)"
  if [ "$got" = "$msg" ]; then
    pass "produce+consume over $m ($MODE_BOOTSTRAP)"
  else
    fail "consume over $m ($MODE_BOOTSTRAP): got '$got'; $(tail -n 2 "$WORK/err" | tr '\n' ' ')"
  fi
}

# A metadata request that must be refused.
refused() {
  local what="$1"; shift
  mode "$@"
  if timeout 30 kcat -b "$MODE_BOOTSTRAP" "${MODE_ARGS[@]}" -L -m 3 >/dev/null 2>&1; then
    fail "$what: the broker accepted it"
  else
    pass "$what: refused"
  fi
}

load_env() {
  local f="$1" k
  [ -f "$f" ] || { echo "selftest: no env file $f" >&2; exit 2; }
  unset KAFKA_BOOTSTRAP KAFKA_SASL_PLAINTEXT_BOOTSTRAP KAFKA_SSL_BOOTSTRAP KAFKA_MTLS_BOOTSTRAP \
    KAFKA_SASL_SSL_BOOTSTRAP KAFKA_CA_PEM KAFKA_CLIENT_CERT_PEM KAFKA_CLIENT_KEY_PEM \
    KAFKA_SASL_USERNAME KAFKA_SASL_PASSWORD KAFKA_OAUTH_BOOTSTRAP KAFKA_OAUTH_TOKEN_URL \
    KAFKA_OAUTH_CLIENT_ID KAFKA_OAUTH_CLIENT_SECRET KAFKA_OAUTH_UNSECURED_BOOTSTRAP
  # shellcheck disable=SC1090
  source "$f"
  for k in KAFKA_BOOTSTRAP KAFKA_SASL_PLAINTEXT_BOOTSTRAP KAFKA_SSL_BOOTSTRAP KAFKA_MTLS_BOOTSTRAP \
    KAFKA_SASL_SSL_BOOTSTRAP KAFKA_CA_PEM KAFKA_CLIENT_CERT_PEM KAFKA_CLIENT_KEY_PEM \
    KAFKA_SASL_USERNAME KAFKA_SASL_PASSWORD KAFKA_OAUTH_BOOTSTRAP KAFKA_OAUTH_TOKEN_URL \
    KAFKA_OAUTH_CLIENT_ID KAFKA_OAUTH_CLIENT_SECRET KAFKA_OAUTH_UNSECURED_BOOTSTRAP; do
    if [ -z "${!k:-}" ]; then fail "env file $f lacks $k"; return 1; fi
  done
  pass "env file $f has every key"
}

check_listeners() {
  roundtrip plaintext
  roundtrip sasl_plaintext:PLAIN
  roundtrip sasl_plaintext:SCRAM-SHA-256
  roundtrip sasl_plaintext:SCRAM-SHA-512
  roundtrip ssl
  roundtrip mtls
  roundtrip sasl_ssl:SCRAM-SHA-512
  roundtrip sasl_ssl:SCRAM-SHA-256
  roundtrip sasl_ssl:PLAIN
  refused "MTLS listener without a client certificate" mtls-nocert
  refused "SCRAM-SHA-512 with a wrong password" sasl_plaintext:SCRAM-SHA-512 alice wrong-secret
  refused "PLAIN with an unknown user" sasl_plaintext:PLAIN mallory alice-secret
  roundtrip oauth
  roundtrip oauth-unsecured
  refused "OAUTHBEARER with a wrong client secret" oauth wrong-secret
  refused "OAUTHBEARER with an unsigned token on the JWKS listener" oauth-unsigned
  # Certificate files as documented: PEM, key unencrypted PKCS#8.
  if head -n1 "$KAFKA_CLIENT_KEY_PEM" | grep -qx -- "-----BEGIN PRIVATE KEY-----" \
     && openssl verify -CAfile "$KAFKA_CA_PEM" "$KAFKA_CLIENT_CERT_PEM" >/dev/null 2>&1; then
    pass "client.key is unencrypted PKCS#8 and client.pem verifies against ca.pem"
  else
    fail "client key/cert files are not as documented"
  fi
}

WORK="$(mktemp -d "${TMPDIR:-/tmp}/kafka-selftest.XXXXXX")"

if [ "${1:-}" = "--env" ]; then
  [ $# -eq 2 ] || { echo "usage: $0 [--env FILE]" >&2; exit 2; }
  trap 'rm -rf "$WORK"' EXIT
  load_env "$2" && check_listeners
  echo "$passed passed, $failed failed"
  [ "$failed" -eq 0 ]
  exit
fi
[ $# -eq 0 ] || { echo "usage: $0 [--env FILE]" >&2; exit 2; }

STATE_A="$WORK/a"
STATE_B="$WORK/b"

ports_env() { # base -> KAFKA_*_PORT assignments for env(1)
  local b="$1"
  echo "KAFKA_PLAINTEXT_PORT=$b KAFKA_CONTROLLER_PORT=$((b + 1)) KAFKA_SASL_PLAINTEXT_PORT=$((b + 2))" \
       "KAFKA_SSL_PORT=$((b + 3)) KAFKA_MTLS_PORT=$((b + 4)) KAFKA_SASL_SSL_PORT=$((b + 5))"
}
# shellcheck disable=SC2046 # word-split on purpose: VAR=value pairs
ka() { env $(ports_env "$BASE_PORT") KAFKA_STATE_DIR="$STATE_A" "$KAFKA_SH" "$@"; }
# shellcheck disable=SC2046
kb() { env $(ports_env $((BASE_PORT + 10))) KAFKA_STATE_DIR="$STATE_B" KAFKA_NUM_PARTITIONS=2 "$KAFKA_SH" "$@"; }

cleanup() {
  local rc=$?
  if [ "$failed" -gt 0 ] || [ "$rc" -ne 0 ]; then
    for f in "$STATE_A/logs/server.log" "$STATE_B/logs/server.log"; do
      [ -f "$f" ] && { echo "----- tail of $f -----"; tail -n 30 "$f"; }
    done
  fi
  ka stop >/dev/null 2>&1 || true
  kb stop >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT

ms() { date +%s%3N; }

# --- broker A: every listener --------------------------------------------------------------
t0=$(ms)
if ka start; then
  pass "start A on ports $BASE_PORT-$((BASE_PORT + 8)) in $(( $(ms) - t0 )) ms"
else
  fail "start A"; echo "$passed passed, $failed failed"; exit 1
fi
pid_a="$(cat "$STATE_A/kafka.pid")"
token_pid_a="$(cat "$STATE_A/token-server.pid")"
echo "info: broker A pid $pid_a RSS $(awk '/VmRSS/ {print $2 " " $3}' "/proc/$pid_a/status")"
load_env "$STATE_A/kafka.env"
check_listeners

# Consumer group (the sink consumes through one): join, get the partition, commit.
topic="selftest-group-$RUN_ID"
printf 'g1\n' | kcat -b "$KAFKA_BOOTSTRAP" -P -t "$topic" 2>/dev/null || true
got="$(timeout 60 kcat -b "$KAFKA_BOOTSTRAP" -G "selftest-$RUN_ID" -X auto.offset.reset=earliest -c 1 -e -q "$topic" 2>/dev/null || true)"
[ "$got" = g1 ] && pass "consumer group read over PLAINTEXT" || fail "consumer group read: got '$got'"

# create-topic
if ka create-topic "selftest-parts-$RUN_ID" 3 2>"$WORK/err" \
   && [ "$(kcat -b "$KAFKA_BOOTSTRAP" -L -t "selftest-parts-$RUN_ID" 2>/dev/null | grep -c '^    partition ')" = 3 ]; then
  pass "create-topic with 3 partitions"
else
  fail "create-topic: $(tail -n 3 "$WORK/err" | tr '\n' ' ')"
fi

# start again while running: a quick no-op, same pid
t0=$(ms)
if ka start 2>/dev/null && [ "$(cat "$STATE_A/kafka.pid")" = "$pid_a" ]; then
  pass "second start is a no-op ($(( $(ms) - t0 )) ms)"
else
  fail "second start while running"
fi
ka status >/dev/null && pass "status while running" || fail "status while running"

# --- broker B beside A: other ports, other state dir, other cluster ----------------------------
t0=$(ms)
if kb start; then
  pass "start B on ports $((BASE_PORT + 10))-$((BASE_PORT + 18)) beside A in $(( $(ms) - t0 )) ms"
  load_env "$STATE_B/kafka.env"
  roundtrip plaintext
  roundtrip sasl_ssl:SCRAM-SHA-512
  b_topic="selftest-plaintext-$RUN_ID"
  meta_a="$(kcat -b "127.0.0.1:$BASE_PORT" -L 2>/dev/null || true)"
  meta_b="$(kcat -b "$KAFKA_BOOTSTRAP" -L 2>/dev/null || true)"
  if grep -q "topic \"selftest-parts-$RUN_ID\"" <<<"$meta_a" \
     && ! grep -q "topic \"selftest-parts-$RUN_ID\"" <<<"$meta_b"; then
    pass "A and B are separate clusters"
  else
    fail "A and B are not separate clusters"
  fi
  parts="$(kcat -b "$KAFKA_BOOTSTRAP" -L -t "$b_topic" 2>/dev/null | grep -c '^    partition ' || true)"
  [ "$parts" = 2 ] && pass "KAFKA_NUM_PARTITIONS=2 applies to auto-created topics" \
                   || fail "auto-created topic on B has $parts partitions, want 2"
  kb stop && pass "stop B" || fail "stop B"
else
  fail "start B"
fi
ka status >/dev/null && pass "A still answers after B stopped" || fail "A stopped answering"

# --- stop, then a fresh start of A -----------------------------------------------------------
t0=$(ms)
ka stop && pass "stop A in $(( $(ms) - t0 )) ms" || fail "stop A"
if [ -e "/proc/$pid_a" ] && [ "$(awk '{print $3}' "/proc/$pid_a/stat" 2>/dev/null)" != Z ]; then fail "pid $pid_a still alive after stop"; else pass "broker A process is gone"; fi
if [ -e "/proc/$token_pid_a" ] && [ "$(awk '{print $3}' "/proc/$token_pid_a/stat" 2>/dev/null)" != Z ]; then fail "token server pid $token_pid_a still alive after stop"; else pass "token server A is gone"; fi
if ka status >/dev/null 2>&1; then fail "status after stop says running"; else pass "status after stop exits non-zero"; fi
[ ! -e "$STATE_A/kafka.env" ] && pass "stop removed kafka.env" || fail "kafka.env left after stop"
ka stop >/dev/null 2>&1 && pass "stop when stopped is a no-op" || fail "stop when stopped"

t0=$(ms)
if ka start; then
  pass "restart A (jars cached) in $(( $(ms) - t0 )) ms"
  load_env "$STATE_A/kafka.env"
  roundtrip sasl_plaintext:SCRAM-SHA-256
  meta_a="$(kcat -b "$KAFKA_BOOTSTRAP" -L 2>/dev/null || true)"
  if grep -q "topic \"selftest-parts-$RUN_ID\"" <<<"$meta_a"; then
    fail "restart kept old topics (storage should be fresh)"
  else
    pass "restart begins with fresh storage"
  fi
else
  fail "restart A"
fi
ka stop >/dev/null && pass "final stop A" || fail "final stop A"

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
