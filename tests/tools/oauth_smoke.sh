#!/usr/bin/env bash
# shellcheck disable=SC2015 # `cond && ok || bad` is meant: ok (pass) never fails
# Manual check of the test broker's OAUTHBEARER listeners with kcat (librdkafka's built-in OIDC
# client), against a broker that deploy/kafka/kafka.sh started. Not part of ctest.
#
#   tests/tools/oauth_smoke.sh [ENV_FILE]     default: deploy/kafka/.state/kafka.env
#
# 1. produce + consume over OAUTH with the token server's client credentials
# 2. a wrong client secret: refused, the token server answered 401, kcat says why
# 3. a producer that runs longer than two token lifetimes (one message a second): every message
#    arrives, the token server issued fresh tokens meanwhile, and the client re-authenticated its
#    connection (the broker ends a session when its token expires)
# 4. produce + consume over OAUTH_UNSECURED with librdkafka's unsecured JWT (principal=alice)
# 5. such an unsigned token is refused on OAUTH
# Ends with "N passed, N failed"; exits non-zero on any failure. About 1 minute with 15 s tokens.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd -P)"
KCAT="$ROOT/deploy/bin/kcat"
ENV_FILE="${1:-$ROOT/deploy/kafka/.state/kafka.env}"
[ -f "$ENV_FILE" ] || { echo "oauth_smoke: no env file $ENV_FILE (start the broker: deploy/kafka/kafka.sh start)" >&2; exit 2; }
set -a
# shellcheck disable=SC1090
. "$ENV_FILE"
set +a
for k in KAFKA_OAUTH_BOOTSTRAP KAFKA_OAUTH_TOKEN_URL KAFKA_OAUTH_CLIENT_ID KAFKA_OAUTH_CLIENT_SECRET \
  KAFKA_OAUTH_TOKEN_LIFETIME KAFKA_OAUTH_TOKEN_LOG KAFKA_OAUTH_UNSECURED_BOOTSTRAP; do
  [ -n "${!k:-}" ] || { echo "oauth_smoke: $ENV_FILE has no $k (a broker from an older kafka.sh?)" >&2; exit 2; }
done

WORK="$(mktemp -d "${TMPDIR:-/tmp}/oauth-smoke.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT
RUN="$(date +%s)-$$"
passed=0
failed=0
pass() { passed=$((passed + 1)); echo "PASS $*"; }
fail() { failed=$((failed + 1)); echo "FAIL $*"; }
issued() { grep -c " issued " "$KAFKA_OAUTH_TOKEN_LOG" || true; }

oidc() { # client options for OAUTH with the given secret
  echo -X security.protocol=SASL_PLAINTEXT -X sasl.mechanisms=OAUTHBEARER -X sasl.oauthbearer.method=oidc \
    -X "sasl.oauthbearer.client.id=$KAFKA_OAUTH_CLIENT_ID" -X "sasl.oauthbearer.client.secret=$1" \
    -X "sasl.oauthbearer.token.endpoint.url=$KAFKA_OAUTH_TOKEN_URL" -X sasl.oauthbearer.scope=kafka
}
# shellcheck disable=SC2207 # the options hold no spaces
OIDC=($(oidc "$KAFKA_OAUTH_CLIENT_SECRET"))
UNSECURED=(-X security.protocol=SASL_PLAINTEXT -X sasl.mechanisms=OAUTHBEARER
           -X enable.sasl.oauthbearer.unsecure.jwt=true -X sasl.oauthbearer.config=principal=alice)

roundtrip() { # name bootstrap options...
  local name="$1" bs="$2" topic="oauth-smoke-$1-$RUN" got
  shift 2
  if ! echo "hello $name $RUN" | timeout 60 "$KCAT" -b "$bs" "$@" -P -t "$topic" 2>"$WORK/err"; then
    fail "produce over $name ($bs): $(tail -n 2 "$WORK/err" | tr '\n' ' ')"
    return
  fi
  got="$(timeout 60 "$KCAT" -b "$bs" "$@" -C -t "$topic" -o beginning -c 1 -e -q 2>"$WORK/err" || true)"
  if [ "$got" = "hello $name $RUN" ]; then pass "produce+consume over $name ($bs)"
  else fail "consume over $name ($bs): got '$got'; $(tail -n 2 "$WORK/err" | tr '\n' ' ')"; fi
}

# 1
n0="$(issued)"
roundtrip oauth "$KAFKA_OAUTH_BOOTSTRAP" "${OIDC[@]}"
[ "$(issued)" -gt "$n0" ] && pass "the token server issued tokens for it" || fail "no token in $KAFKA_OAUTH_TOKEN_LOG"

# 2
# shellcheck disable=SC2046
if timeout 30 "$KCAT" -b "$KAFKA_OAUTH_BOOTSTRAP" $(oidc wrong-secret) -L -m 5 >/dev/null 2>"$WORK/err"; then
  fail "a wrong client secret: the broker accepted it"
elif grep -q 'Failed to retrieve OIDC token from .*(401)' "$WORK/err"; then
  pass "a wrong client secret: refused ($(grep -m1 -o 'Failed to retrieve OIDC token.*' "$WORK/err"))"
else
  fail "a wrong client secret: refused, but without librdkafka's OIDC error: $(head -n 3 "$WORK/err" | tr '\n' ' ')"
fi
tail -n 5 "$KAFKA_OAUTH_TOKEN_LOG" | grep -q "refused status=401 .*wrong client secret" \
  && pass "the token server logged the 401" || fail "no 401 in $KAFKA_OAUTH_TOKEN_LOG"

# 3
secs=$((KAFKA_OAUTH_TOKEN_LIFETIME * 2 + 10))
topic="oauth-smoke-refresh-$RUN"
n0="$(issued)"
echo "     (a producer for ${secs} s, tokens live ${KAFKA_OAUTH_TOKEN_LIFETIME} s)"
if (for i in $(seq 1 "$secs"); do echo "m$i"; sleep 1; done) \
    | timeout $((secs + 60)) "$KCAT" -b "$KAFKA_OAUTH_BOOTSTRAP" "${OIDC[@]}" -X debug=security -P -t "$topic" 2>"$WORK/long"; then
  got="$(timeout 60 "$KCAT" -b "$KAFKA_OAUTH_BOOTSTRAP" "${OIDC[@]}" -C -t "$topic" -o beginning -e -q 2>/dev/null | wc -l)"
  [ "$got" -eq "$secs" ] && pass "a ${secs} s producer delivered all $secs messages" || fail "a ${secs} s producer: $got of $secs messages arrived"
else
  fail "a ${secs} s producer failed: $(grep '^%[0-6]' "$WORK/long" | tail -n 2 | tr '\n' ' ')"
fi
n=$(( $(issued) - n0 ))
[ "$n" -ge 3 ] && pass "$n tokens issued during the run (refreshed)" || fail "only $n tokens issued during the run (no refresh?)"
r="$(grep -c 'Auth in state REAUTH' "$WORK/long" || true)"
[ "$r" -ge 2 ] && pass "the producer re-authenticated its connection $r times" || fail "the producer re-authenticated $r times"

# 4, 5
roundtrip oauth-unsecured "$KAFKA_OAUTH_UNSECURED_BOOTSTRAP" "${UNSECURED[@]}"
if timeout 30 "$KCAT" -b "$KAFKA_OAUTH_BOOTSTRAP" "${UNSECURED[@]}" -L -m 5 >/dev/null 2>"$WORK/err"; then
  fail "an unsigned token on OAUTH: the broker accepted it"
else
  pass "an unsigned token on OAUTH: refused ($(grep -m1 -o 'SASL authentication error: [^(]*' "$WORK/err" || echo '?'))"
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
