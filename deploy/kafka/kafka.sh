#!/usr/bin/env bash
# shellcheck disable=SC2015 # `cond && ok || bad` is meant: ok (pass/log) never fails
# Single-node Apache Kafka broker (KRaft, combined broker+controller) for the local demo and the
# test suite. Jars come from Maven Central through pom.xml beside this script; TLS material, SCRAM
# users and storage are made fresh at run time under the state dir. For OAUTHBEARER a test token
# server (token-server/TokenServer.java) runs beside the broker, started and stopped with it. See README.md.
#
#   kafka.sh fetch | start | stop | status | env | create-topic NAME PARTITIONS [KEY=VALUE ...]
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)"
# kcat on sinkhost's librdkafka (deploy/bin/kcat): Debian 12's own cannot do SCRAM with Kafka 4.x.
PATH="$SCRIPT_DIR/../bin:$PATH"
POM="$SCRIPT_DIR/pom.xml"
PROG="kafka.sh"

die() { echo "$PROG: error: $*" >&2; exit 1; }
log() { echo "$PROG: $*" >&2; }

POM_KAFKA_VERSION="$(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$POM" | head -n1)"
[ -n "$POM_KAFKA_VERSION" ] || die "cannot read <kafka.version> from $POM"
# KAFKA_VERSION overrides the pom's pin (e.g. 3.9.2; see pom.xml for why the default is 4.1.x).
CACHE_ROOT="${SINKHOST_CACHE:-$HOME/.cache/sinkhost}"

set_version() {
  KAFKA_VERSION="$1"
  [[ "$KAFKA_VERSION" =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]] || die "bad KAFKA_VERSION '$KAFKA_VERSION' (want e.g. 3.9.2)"
  KAFKA_MAJOR="${KAFKA_VERSION%%.*}"
  if [ "$KAFKA_MAJOR" -ge 4 ]; then MVN_PROFILE=kafka4; else MVN_PROFILE=kafka3; fi
  DIST_DIR="$CACHE_ROOT/kafka-$KAFKA_VERSION"
  LIBS="$DIST_DIR/libs"
  FETCH_MARKER="$DIST_DIR/.fetched"
}
set_version "${KAFKA_VERSION:-$POM_KAFKA_VERSION}"

STATE_DIR="${KAFKA_STATE_DIR:-$SCRIPT_DIR/.state}"

PLAINTEXT_PORT="${KAFKA_PLAINTEXT_PORT:-9092}"
CONTROLLER_PORT="${KAFKA_CONTROLLER_PORT:-9093}"
SASL_PLAINTEXT_PORT="${KAFKA_SASL_PLAINTEXT_PORT:-9094}"
SSL_PORT="${KAFKA_SSL_PORT:-9095}"
MTLS_PORT="${KAFKA_MTLS_PORT:-9096}"
SASL_SSL_PORT="${KAFKA_SASL_SSL_PORT:-9097}"
# The OAuth ports follow the six above unless set (derive_ports): plaintext port + 6, + 7, + 8, so
# callers that set only the six (tests/CMakeLists.txt, OwnKafkaBroker, selftest.sh, benches) get
# three more that stay inside their own block. KAFKA_OAUTH_TOKEN_PORT=0: the token server takes
# any free port (written to the env file).
OAUTH_PORT="${KAFKA_OAUTH_PORT:-}"
OAUTH_UNSECURED_PORT="${KAFKA_OAUTH_UNSECURED_PORT:-}"
TOKEN_PORT="${KAFKA_OAUTH_TOKEN_PORT:-}"
TOKEN_LIFETIME="${KAFKA_OAUTH_TOKEN_LIFETIME:-15}"
NUM_PARTITIONS="${KAFKA_NUM_PARTITIONS:-1}"
START_TIMEOUT="${KAFKA_START_TIMEOUT:-90}"
STOP_TIMEOUT="${KAFKA_STOP_TIMEOUT:-30}"
HEAP_OPTS="${KAFKA_HEAP_OPTS:--Xms256m -Xmx512m}"
JVM_OPTS="${KAFKA_JVM_OPTS:--XX:+UseSerialGC -XX:+ExitOnOutOfMemoryError -Djava.awt.headless=true}"

SASL_USERNAME="alice"
SASL_PASSWORD="alice-secret"
PLAIN_ADMIN_USERNAME="admin"
FORBIDDEN_PREFIX="forbidden-"
PLAIN_ADMIN_PASSWORD="admin-secret"
# OAUTHBEARER (listener OAUTH): the one client of the test token server (token-server/).
OAUTH_CLIENT_ID="sinkhost"
OAUTH_CLIENT_SECRET="sinkhost-secret"
OAUTH_AUDIENCE="sinkhost-kafka"
OAUTH_SCOPE="kafka"

# ---------------------------------------------------------------------------------------------
# helpers

need() {
  local c
  for c in "$@"; do
    command -v "$c" >/dev/null 2>&1 || die "'$c' not found on PATH (deploy/install-deps.sh installs it)"
  done
}

is_uint() { [[ "$1" =~ ^[0-9]+$ ]]; }

# Absolute state dir; paths go into kafka.env unquoted, so refuse characters that would need quoting.
resolve_state_dir() {
  mkdir -p "$STATE_DIR" || die "cannot create state dir $STATE_DIR"
  STATE_DIR="$(cd "$STATE_DIR" && pwd -P)"
  [[ "$STATE_DIR" =~ ^[A-Za-z0-9_./+@:,-]+$ ]] \
    || die "state dir '$STATE_DIR' has characters (space, quote, \$ ...) that kafka.env cannot carry unquoted"
  CERT_DIR="$STATE_DIR/certs"
  CONF_DIR="$STATE_DIR/config"
  DATA_DIR="$STATE_DIR/data"
  LOG_DIR="$STATE_DIR/logs"
  PID_FILE="$STATE_DIR/kafka.pid"
  OAUTH_DIR="$STATE_DIR/oauth"
  TOKEN_PID_FILE="$STATE_DIR/token-server.pid"
  ENV_FILE="$STATE_DIR/kafka.env"
  SERVER_PROPS="$CONF_DIR/server.properties"
  LOCK_FILE="$STATE_DIR/.lock"
}

# The pid in PID_FILE if that process is alive and is our broker (guards against pid reuse).
running_pid() {
  [ -f "$PID_FILE" ] || return 1
  local pid
  pid="$(cat "$PID_FILE" 2>/dev/null || true)"
  is_uint "$pid" || return 1
  alive "$pid" || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "kafka.Kafka $SERVER_PROPS " || return 1
  echo "$pid"
}

# kcat metadata request; succeeds when the broker answers and lists itself (i.e. it is unfenced).
answers() {
  local bootstrap="$1" out
  # Capture first: `kcat | grep -q` would fail under pipefail when grep exits before kcat is done.
  out="$(timeout 15 kcat -b "$bootstrap" -L -m 5 -X reconnect.backoff.ms=50 -X reconnect.backoff.max.ms=200 \
    2>/dev/null)" || return 1
  grep -q "broker 1 at" <<<"$out"
}

# Alive and not a zombie (an exited broker whose parent has not reaped it yet counts as gone).
alive() {
  kill -0 "$1" 2>/dev/null || return 1
  local state
  state="$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null || true)"
  [ -n "$state" ] && [ "$state" != Z ]
}

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

env_value() { # KEY -> value from kafka.env
  sed -n "s/^$1=//p" "$ENV_FILE" 2>/dev/null | head -n1
}

tail_logs() {
  local f
  for f in "$LOG_DIR/server.log" "$LOG_DIR/kafka.out"; do
    if [ -s "$f" ]; then
      echo "----- last 40 lines of $f -----" >&2
      tail -n 40 "$f" >&2
    fi
  done
}

# ---------------------------------------------------------------------------------------------
# token server (token-server/TokenServer.java, run from source by the JDK's launcher)

# The pid in TOKEN_PID_FILE if that process is alive and is this state dir's token server.
token_server_pid() {
  [ -f "$TOKEN_PID_FILE" ] || return 1
  local pid
  pid="$(cat "$TOKEN_PID_FILE" 2>/dev/null || true)"
  is_uint "$pid" || return 1
  alive "$pid" || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "TokenServer.java --log $OAUTH_DIR/tokens.log " || return 1
  echo "$pid"
}

stop_token_server() {
  local pid n=0
  if pid="$(token_server_pid)"; then
    kill -TERM "$pid" 2>/dev/null || true
    while alive "$pid"; do
      n=$((n + 1))
      [ "$n" -eq 50 ] && kill -KILL "$pid" 2>/dev/null || true
      [ "$n" -ge 100 ] && { log "could not stop the token server (pid $pid)"; break; }
      sleep 0.1
    done
  fi
  rm -f "$TOKEN_PID_FILE"
}

# Starts the token server with a fresh key and log, in the background (wait_token_server waits).
launch_token_server() {
  local pid
  rm -rf "$OAUTH_DIR"
  mkdir -p "$OAUTH_DIR"
  (
    for fd in "/proc/$BASHPID/fd/"*; do
      fd="${fd##*/}"
      if [ "$fd" -gt 2 ]; then eval "exec $fd>&-" 2>/dev/null || true; fi
    done
    exec nohup java -Xms16m -Xmx64m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Djava.awt.headless=true \
      "$SCRIPT_DIR/token-server/TokenServer.java" --log "$OAUTH_DIR/tokens.log" --port "$TOKEN_PORT" \
      --port-file "$OAUTH_DIR/port" --client-id "$OAUTH_CLIENT_ID" --client-secret "$OAUTH_CLIENT_SECRET" \
      --audience "$OAUTH_AUDIENCE" --scope "$OAUTH_SCOPE" --lifetime "$TOKEN_LIFETIME"
  ) </dev/null >"$OAUTH_DIR/token-server.out" 2>&1 &
  pid=$!
  echo "$pid" >"$TOKEN_PID_FILE"
}

# Waits until the token server listens; sets TOKEN_PORT to its port. The source launcher compiles
# the file first: 2-9 s on a busy 2-core machine, spent while start makes certificates and storage.
wait_token_server() {
  local pid deadline=$((SECONDS + 60))
  pid="$(cat "$TOKEN_PID_FILE" 2>/dev/null || true)"
  until [ -s "$OAUTH_DIR/port" ]; do
    if ! alive "$pid"; then
      rm -f "$TOKEN_PID_FILE"
      cat "$OAUTH_DIR/token-server.out" >&2 || true
      die "the OAuth token server exited during startup (output above; $OAUTH_DIR)"
    fi
    [ "$SECONDS" -ge "$deadline" ] && { stop_token_server; die "the OAuth token server did not start within 60 s"; }
    sleep 0.2
  done
  TOKEN_PORT="$(cat "$OAUTH_DIR/port")"
  is_uint "$TOKEN_PORT" || { stop_token_server; die "the token server wrote a bad port '$TOKEN_PORT'"; }
}

# ---------------------------------------------------------------------------------------------
# fetch

cmd_fetch() {
  local want
  want="$KAFKA_VERSION $MVN_PROFILE $(sha256sum "$POM" | cut -d' ' -f1)"
  if [ -f "$FETCH_MARKER" ] && [ "$(cat "$FETCH_MARKER")" = "$want" ]; then
    return 0
  fi
  need mvn flock
  mkdir -p "$CACHE_ROOT"
  exec 8>"$DIST_DIR.lock"
  flock 8
  # Another process may have fetched while we waited for the lock.
  if [ -f "$FETCH_MARKER" ] && [ "$(cat "$FETCH_MARKER")" = "$want" ]; then
    exec 8>&-
    return 0
  fi
  log "fetching Apache Kafka $KAFKA_VERSION jars from Maven Central into $LIBS"
  local tmp="$DIST_DIR/libs.tmp.$$"
  rm -rf "$tmp"
  mkdir -p "$tmp"
  # Debian's Maven 3.8.7 prints bare ANSI resets even in batch mode: strip them (and empty lines).
  if ! mvn -B -q -Dstyle.color=never -f "$POM" -Dkafka.version="$KAFKA_VERSION" -P"$MVN_PROFILE" \
        dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$tmp" 2>&1 \
      | sed -e 's/\x1b\[[0-9;]*m//g' -e '/^[[:space:]]*$/d' >&2; then
    rm -rf "$tmp"
    rmdir "$DIST_DIR" 2>/dev/null || true
    die "mvn could not fetch the Kafka $KAFKA_VERSION jars (see the Maven output above)"
  fi
  ls "$tmp"/kafka_2.13-"$KAFKA_VERSION".jar >/dev/null 2>&1 || { rm -rf "$tmp"; die "fetch produced no kafka_2.13-$KAFKA_VERSION.jar"; }
  rm -rf "$LIBS"
  mv "$tmp" "$LIBS"
  echo "$want" >"$FETCH_MARKER"
  exec 8>&-
  log "fetched $(find "$LIBS" -name "*.jar" | wc -l) jars ($(du -sh "$LIBS" | cut -f1))"
}

# ---------------------------------------------------------------------------------------------
# start

gen_certs() {
  local pw="$1"
  rm -rf "$CERT_DIR"
  mkdir -p "$CERT_DIR"
  (
    cd "$CERT_DIR"
    set -e
    key() { openssl genpkey -quiet -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$1"; }
    # CA
    key ca.key
    openssl req -x509 -new -key ca.key -sha256 -days 3650 -subj "/CN=sinkhost-test-ca" \
      -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
      -out ca.pem
    # Broker certificate
    key broker.key
    openssl req -new -key broker.key -subj "/CN=localhost" -out broker.csr
    printf '%s\n' "basicConstraints=CA:FALSE" "keyUsage=critical,digitalSignature,keyEncipherment" \
      "extendedKeyUsage=serverAuth" "subjectAltName=DNS:localhost,IP:127.0.0.1" >broker.ext
    openssl x509 -req -in broker.csr -CA ca.pem -CAkey ca.key -CAcreateserial -sha256 -days 825 \
      -extfile broker.ext -out broker.pem 2>/dev/null
    # Client certificate for mTLS (CN=alice)
    key client.key
    openssl req -new -key client.key -subj "/CN=alice" -out client.csr
    printf '%s\n' "basicConstraints=CA:FALSE" "keyUsage=critical,digitalSignature,keyEncipherment" \
      "extendedKeyUsage=clientAuth" >client.ext
    openssl x509 -req -in client.csr -CA ca.pem -CAkey ca.key -CAcreateserial -sha256 -days 825 \
      -extfile client.ext -out client.pem 2>/dev/null
    # Broker stores
    openssl pkcs12 -export -in broker.pem -inkey broker.key -certfile ca.pem -name broker \
      -passout "pass:$pw" -out broker.p12
    keytool -importcert -noprompt -alias sinkhost-test-ca -file ca.pem -storetype PKCS12 \
      -keystore truststore.p12 -storepass "$pw" >/dev/null 2>&1
    rm -f ./*.csr ./*.ext ./*.srl
    chmod 600 ./*.key ./*.p12
  ) || die "generating TLS material in $CERT_DIR failed"
  echo "$pw" >"$CERT_DIR/store.password"
  chmod 600 "$CERT_DIR/store.password"
}

write_server_properties() {
  local pw="$1" jaas_plain jaas_scram l m
  jaas_plain="org.apache.kafka.common.security.plain.PlainLoginModule required username=\"$PLAIN_ADMIN_USERNAME\" password=\"$PLAIN_ADMIN_PASSWORD\" user_$PLAIN_ADMIN_USERNAME=\"$PLAIN_ADMIN_PASSWORD\" user_$SASL_USERNAME=\"$SASL_PASSWORD\";"
  jaas_scram="org.apache.kafka.common.security.scram.ScramLoginModule required;"
  mkdir -p "$CONF_DIR"
  {
    cat <<EOF
# Generated by deploy/kafka/kafka.sh at every start: edits are overwritten.
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$CONTROLLER_PORT
controller.listener.names=CONTROLLER
listeners=PLAINTEXT://127.0.0.1:$PLAINTEXT_PORT,CONTROLLER://127.0.0.1:$CONTROLLER_PORT,SASL_PLAINTEXT://127.0.0.1:$SASL_PLAINTEXT_PORT,SSL://127.0.0.1:$SSL_PORT,MTLS://127.0.0.1:$MTLS_PORT,SASL_SSL://127.0.0.1:$SASL_SSL_PORT,OAUTH://127.0.0.1:$OAUTH_PORT,OAUTH_UNSECURED://127.0.0.1:$OAUTH_UNSECURED_PORT
advertised.listeners=PLAINTEXT://127.0.0.1:$PLAINTEXT_PORT,SASL_PLAINTEXT://127.0.0.1:$SASL_PLAINTEXT_PORT,SSL://127.0.0.1:$SSL_PORT,MTLS://127.0.0.1:$MTLS_PORT,SASL_SSL://127.0.0.1:$SASL_SSL_PORT,OAUTH://127.0.0.1:$OAUTH_PORT,OAUTH_UNSECURED://127.0.0.1:$OAUTH_UNSECURED_PORT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT,SASL_PLAINTEXT:SASL_PLAINTEXT,SSL:SSL,MTLS:SSL,SASL_SSL:SASL_SSL,OAUTH:SASL_PLAINTEXT,OAUTH_UNSECURED:SASL_PLAINTEXT
inter.broker.listener.name=PLAINTEXT
log.dirs=$DATA_DIR

auto.create.topics.enable=true
num.partitions=$NUM_PARTITIONS
default.replication.factor=1
min.insync.replicas=1
offsets.topic.replication.factor=1
offsets.topic.num.partitions=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=1
group.initial.rebalance.delay.ms=0

# Small machine: few threads, small log-cleaner buffer (default 128 MiB of heap).
num.network.threads=2
num.io.threads=2
num.recovery.threads.per.data.dir=1
background.threads=4
log.cleaner.threads=1
log.cleaner.dedupe.buffer.size=16777216

sasl.enabled.mechanisms=PLAIN,SCRAM-SHA-256,SCRAM-SHA-512

# ACLs, so that tests can meet an authorization failure: everything is allowed where no ACL
# names the resource; start adds one that denies $SASL_USERNAME every topic named $FORBIDDEN_PREFIX*.
# ANONYMOUS (the PLAINTEXT and controller listeners) is a super user.
authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer
allow.everyone.if.no.acl.found=true
super.users=User:ANONYMOUS;User:$PLAIN_ADMIN_USERNAME
EOF
    if [ "$KAFKA_MAJOR" -ge 4 ]; then
      echo "share.coordinator.state.topic.replication.factor=1"
      echo "share.coordinator.state.topic.min.isr=1"
    fi
    for l in sasl_plaintext sasl_ssl; do
      echo "listener.name.$l.plain.sasl.jaas.config=$jaas_plain"
      for m in scram-sha-256 scram-sha-512; do
        echo "listener.name.$l.$m.sasl.jaas.config=$jaas_scram"
      done
    done
    cat <<EOF

# OAUTHBEARER. OAUTH: tokens from the test token server (token-server/TokenServer.java), checked
# by Kafka's JWKS validator (KIP-768) against its /jwks; the broker JVM allows that URL with
# -D$ALLOWED_URLS_PROPERTY (Kafka 4.x refuses every OAuth URL it does not list). A session lasts
# until the token expires (connections.max.reauth.ms > 0, KIP-368): a client must re-authenticate
# with a fresh token on every connection it keeps, so a test sees a refresh at work.
listener.name.oauth.sasl.enabled.mechanisms=OAUTHBEARER
listener.name.oauth.oauthbearer.sasl.jaas.config=org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule required;
listener.name.oauth.oauthbearer.sasl.server.callback.handler.class=org.apache.kafka.common.security.oauthbearer.OAuthBearerValidatorCallbackHandler
listener.name.oauth.oauthbearer.connections.max.reauth.ms=3600000
sasl.oauthbearer.jwks.endpoint.url=$JWKS_URL
sasl.oauthbearer.expected.audience=$OAUTH_AUDIENCE
sasl.oauthbearer.expected.issuer=$TOKEN_ISSUER
# OAUTH_UNSECURED: Kafka's default unsecured validator (unsigned JWS, alg none), for local
# development without a token server (librdkafka without sasl.oauthbearer.method=oidc makes such
# tokens itself from sasl.oauthbearer.config, e.g. principal=alice). Never for production.
listener.name.oauth_unsecured.sasl.enabled.mechanisms=OAUTHBEARER
listener.name.oauth_unsecured.oauthbearer.sasl.jaas.config=org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule required unsecuredLoginStringClaim_sub="$PLAIN_ADMIN_USERNAME";

ssl.keystore.type=PKCS12
ssl.keystore.location=$CERT_DIR/broker.p12
ssl.keystore.password=$pw
ssl.key.password=$pw
ssl.truststore.type=PKCS12
ssl.truststore.location=$CERT_DIR/truststore.p12
ssl.truststore.password=$pw
listener.name.mtls.ssl.client.auth=required
EOF
  } >"$SERVER_PROPS"
  chmod 600 "$SERVER_PROPS"

  write_log_configs
}

# Log configs in the backend's own format: log4j2 on Kafka 4.x, reload4j (log4j 1.x) on 3.x.
# The broker writes one size-capped file, <state dir>/logs/server.log; tools warn to stderr only.
log_opts() {
  if [ "$KAFKA_MAJOR" -ge 4 ]; then
    BROKER_LOG_OPT="-Dlog4j2.configurationFile=$CONF_DIR/log4j2.properties"
    TOOLS_LOG_OPT="-Dlog4j2.configurationFile=$CONF_DIR/tools-log4j2.properties"
  else
    BROKER_LOG_OPT="-Dlog4j.configuration=file:$CONF_DIR/log4j.properties"
    TOOLS_LOG_OPT="-Dlog4j.configuration=file:$CONF_DIR/tools-log4j.properties"
  fi
}

write_log_configs() {
  if [ "$KAFKA_MAJOR" -ge 4 ]; then
    cat >"$CONF_DIR/log4j2.properties" <<'EOF'
status = warn
appender.file.type = RollingFile
appender.file.name = FILE
appender.file.fileName = ${sys:kafka.logs.dir}/server.log
appender.file.filePattern = ${sys:kafka.logs.dir}/server.log.%i
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = [%d] %p %m (%c)%n
appender.file.policies.type = Policies
appender.file.policies.size.type = SizeBasedTriggeringPolicy
appender.file.policies.size.size = 50MB
appender.file.strategy.type = DefaultRolloverStrategy
appender.file.strategy.max = 2
rootLogger.level = INFO
rootLogger.appenderRef.file.ref = FILE
logger.request.name = kafka.request.logger
logger.request.level = WARN
logger.statechange.name = state.change.logger
logger.statechange.level = WARN
EOF
    cat >"$CONF_DIR/tools-log4j2.properties" <<'EOF'
status = warn
appender.err.type = Console
appender.err.name = STDERR
appender.err.target = SYSTEM_ERR
appender.err.layout.type = PatternLayout
appender.err.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = WARN
rootLogger.appenderRef.err.ref = STDERR
EOF
  else
    cat >"$CONF_DIR/log4j.properties" <<'EOF'
log4j.rootLogger=INFO, file
log4j.appender.file=org.apache.log4j.RollingFileAppender
log4j.appender.file.File=${kafka.logs.dir}/server.log
log4j.appender.file.MaxFileSize=50MB
log4j.appender.file.MaxBackupIndex=2
log4j.appender.file.layout=org.apache.log4j.PatternLayout
log4j.appender.file.layout.ConversionPattern=[%d] %p %m (%c)%n
log4j.logger.kafka.request.logger=WARN
log4j.logger.state.change.logger=WARN
EOF
    cat >"$CONF_DIR/tools-log4j.properties" <<'EOF'
log4j.rootLogger=WARN, stderr
log4j.appender.stderr=org.apache.log4j.ConsoleAppender
log4j.appender.stderr.Target=System.err
log4j.appender.stderr.layout=org.apache.log4j.PatternLayout
log4j.appender.stderr.layout.ConversionPattern=[%d] %p %m (%c)%n
EOF
  fi
}

run_tool() { # main class + args, small JVM, quiet logging
  log_opts
  java -Xms64m -Xmx256m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 "$TOOLS_LOG_OPT" \
    -cp "$LIBS/*" "$@"
}

format_storage() {
  local cluster_id="-"
  # A Kafka Uuid: 16 random bytes, URL-safe base64 without padding. Like Uuid.randomUuid(), redraw
  # one that starts with '-': the storage tool's argument parser would take it for an option.
  while [[ "$cluster_id" == -* ]]; do
    cluster_id="$(openssl rand 16 | base64 | tr '+/' '-_' | tr -d '=\n')"
  done
  mkdir -p "$DATA_DIR"
  run_tool kafka.tools.StorageTool format -t "$cluster_id" -c "$SERVER_PROPS" \
    --add-scram "SCRAM-SHA-256=[name=$SASL_USERNAME,password=$SASL_PASSWORD]" \
    --add-scram "SCRAM-SHA-512=[name=$SASL_USERNAME,password=$SASL_PASSWORD]" \
    >"$LOG_DIR/format.out" 2>&1 \
    || { cat "$LOG_DIR/format.out" >&2; die "formatting KRaft storage in $DATA_DIR failed"; }
}

# Denies $SASL_USERNAME every operation on topics named $FORBIDDEN_PREFIX* (see server.properties).
add_acls() {
  local acl_class=kafka.admin.AclCommand
  [ "$KAFKA_MAJOR" -ge 4 ] && acl_class=org.apache.kafka.tools.AclCommand
  run_tool "$acl_class" --bootstrap-server "127.0.0.1:$PLAINTEXT_PORT" --add \
    --deny-principal "User:$SASL_USERNAME" --operation All \
    --topic "$FORBIDDEN_PREFIX" --resource-pattern-type prefixed >"$LOG_DIR/acls.out" 2>&1 \
    || { cat "$LOG_DIR/acls.out" >&2; die "adding the test ACLs failed"; }
}

write_env_file() {
  local tmp="$ENV_FILE.tmp.$$"
  cat >"$tmp" <<EOF
KAFKA_VERSION=$KAFKA_VERSION
KAFKA_STATE_DIR=$STATE_DIR
KAFKA_BOOTSTRAP=127.0.0.1:$PLAINTEXT_PORT
KAFKA_SASL_PLAINTEXT_BOOTSTRAP=127.0.0.1:$SASL_PLAINTEXT_PORT
KAFKA_SSL_BOOTSTRAP=127.0.0.1:$SSL_PORT
KAFKA_MTLS_BOOTSTRAP=127.0.0.1:$MTLS_PORT
KAFKA_SASL_SSL_BOOTSTRAP=127.0.0.1:$SASL_SSL_PORT
KAFKA_CA_PEM=$CERT_DIR/ca.pem
KAFKA_CLIENT_CERT_PEM=$CERT_DIR/client.pem
KAFKA_CLIENT_KEY_PEM=$CERT_DIR/client.key
KAFKA_SASL_MECHANISMS=PLAIN,SCRAM-SHA-256,SCRAM-SHA-512
KAFKA_SASL_USERNAME=$SASL_USERNAME
KAFKA_SASL_PASSWORD=$SASL_PASSWORD
KAFKA_FORBIDDEN_TOPIC_PREFIX=$FORBIDDEN_PREFIX
KAFKA_OAUTH_BOOTSTRAP=127.0.0.1:$OAUTH_PORT
KAFKA_OAUTH_TOKEN_URL=$TOKEN_URL
KAFKA_OAUTH_JWKS_URL=$JWKS_URL
KAFKA_OAUTH_CLIENT_ID=$OAUTH_CLIENT_ID
KAFKA_OAUTH_CLIENT_SECRET=$OAUTH_CLIENT_SECRET
KAFKA_OAUTH_SCOPE=$OAUTH_SCOPE
KAFKA_OAUTH_AUDIENCE=$OAUTH_AUDIENCE
KAFKA_OAUTH_ISSUER=$TOKEN_ISSUER
KAFKA_OAUTH_TOKEN_LIFETIME=$TOKEN_LIFETIME
KAFKA_OAUTH_TOKEN_LOG=$OAUTH_DIR/tokens.log
KAFKA_OAUTH_UNSECURED_BOOTSTRAP=127.0.0.1:$OAUTH_UNSECURED_PORT
EOF
  mv "$tmp" "$ENV_FILE"
}

# Unset OAuth ports: the plaintext port + 6 (OAUTH), + 7 (OAUTH_UNSECURED), + 8 (token server).
derive_ports() {
  is_uint "$PLAINTEXT_PORT" || die "bad port '$PLAINTEXT_PORT' (KAFKA_PLAINTEXT_PORT must be 1-65535)"
  [ -n "$OAUTH_PORT" ] || OAUTH_PORT=$((PLAINTEXT_PORT + 6))
  [ -n "$OAUTH_UNSECURED_PORT" ] || OAUTH_UNSECURED_PORT=$((PLAINTEXT_PORT + 7))
  [ -n "$TOKEN_PORT" ] || TOKEN_PORT=$((PLAINTEXT_PORT + 8))
}

# The token server's URLs, once TOKEN_PORT is known.
token_urls() {
  TOKEN_URL="http://127.0.0.1:$TOKEN_PORT/token"
  JWKS_URL="http://127.0.0.1:$TOKEN_PORT/jwks"
  TOKEN_ISSUER="http://127.0.0.1:$TOKEN_PORT"
}
ALLOWED_URLS_PROPERTY=org.apache.kafka.sasl.oauthbearer.allowed.urls

# Every port the broker listens on.
broker_ports() {
  echo "$PLAINTEXT_PORT $CONTROLLER_PORT $SASL_PLAINTEXT_PORT $SSL_PORT $MTLS_PORT $SASL_SSL_PORT $OAUTH_PORT $OAUTH_UNSECURED_PORT"
}

validate_settings() {
  local p seen=" "
  derive_ports
  # shellcheck disable=SC2046 # a word list
  for p in $(broker_ports) "$TOKEN_PORT"; do
    [ "$p" = 0 ] && [ "$p" = "$TOKEN_PORT" ] && continue  # any free port
    is_uint "$p" && [ "$p" -ge 1 ] && [ "$p" -le 65535 ] || die "bad port '$p' (KAFKA_*_PORT must be 1-65535)"
    case "$seen" in *" $p "*) die "port $p is given to two listeners: every KAFKA_*_PORT must differ" ;; esac
    seen="$seen$p "
  done
  is_uint "$TOKEN_LIFETIME" && [ "$TOKEN_LIFETIME" -ge 1 ] || die "bad KAFKA_OAUTH_TOKEN_LIFETIME '$TOKEN_LIFETIME' (seconds, at least 1)"
  is_uint "$NUM_PARTITIONS" && [ "$NUM_PARTITIONS" -ge 1 ] || die "bad KAFKA_NUM_PARTITIONS '$NUM_PARTITIONS'"
  is_uint "$START_TIMEOUT" || die "bad KAFKA_START_TIMEOUT '$START_TIMEOUT'"
}

# Waits until the broker answers on PLAINTEXT and every listener accepts connections.
wait_ready() {
  local pid="$1" deadline=$((SECONDS + START_TIMEOUT)) p ok
  while :; do
    if ! alive "$pid"; then
      rm -f "$PID_FILE"
      tail_logs
      die "the broker (pid $pid) exited during startup; logs: $LOG_DIR"
    fi
    if answers "127.0.0.1:$PLAINTEXT_PORT"; then
      ok=1
      for p in "$SASL_PLAINTEXT_PORT" "$SSL_PORT" "$MTLS_PORT" "$SASL_SSL_PORT" "$OAUTH_PORT" "$OAUTH_UNSECURED_PORT"; do
        port_in_use "$p" || ok=0
      done
      [ "$ok" = 1 ] && return 0
    fi
    if [ "$SECONDS" -ge "$deadline" ]; then
      tail_logs
      die "the broker (pid $pid) did not answer on 127.0.0.1:$PLAINTEXT_PORT within ${START_TIMEOUT}s; logs: $LOG_DIR (it is still running: '$0 stop' ends it)"
    fi
    sleep 0.5
  done
}

cmd_start() {
  need java kcat openssl keytool flock timeout
  validate_settings
  resolve_state_dir
  exec 9>"$LOCK_FILE"
  flock 9

  local pid
  if pid="$(running_pid)"; then
    local bs
    bs="$(env_value KAFKA_BOOTSTRAP)"
    if [ -n "$bs" ] && answers "$bs"; then
      log "already running (pid $pid, $bs); env: $ENV_FILE"
      return 0
    fi
    log "broker pid $pid from $STATE_DIR is running but not answering; waiting for it"
    PLAINTEXT_PORT="${bs##*:}"
    [ -n "$PLAINTEXT_PORT" ] || die "no KAFKA_BOOTSTRAP in $ENV_FILE; stop the broker ('$0 stop') and start again"
    wait_ready "$pid"
    log "broker pid $pid is answering; env: $ENV_FILE"
    return 0
  fi

  rm -f "$PID_FILE" "$ENV_FILE"
  # A token server left by a broker that died: ours (pid file and command line), so end it.
  stop_token_server
  # shellcheck disable=SC2046 # a word list
  for p in $(broker_ports) "$TOKEN_PORT"; do
    [ "$p" = 0 ] && continue
    port_in_use "$p" && die "port 127.0.0.1:$p is already in use (another broker? set KAFKA_*_PORT to free ports)"
  done

  cmd_fetch
  # Up before the broker, whose JWKS validator fetches the keys at start. Stopped again if the
  # start fails with the broker gone; a broker left running (start timeout) keeps it ('stop' ends
  # both). With a fixed port it compiles and starts while certificates and storage are made.
  trap 'running_pid >/dev/null || stop_token_server' EXIT
  launch_token_server
  [ "$TOKEN_PORT" = 0 ] && wait_token_server
  token_urls

  local keep=0 pw
  [ "${KAFKA_KEEP_DATA:-0}" = 1 ] && [ -f "$DATA_DIR/meta.properties" ] && keep=1
  if [ "$keep" = 1 ] && [ -f "$CERT_DIR/store.password" ] && [ -f "$CERT_DIR/broker.p12" ]; then
    pw="$(cat "$CERT_DIR/store.password")"
  else
    pw="$(openssl rand -hex 16)"
    gen_certs "$pw"
  fi
  mkdir -p "$LOG_DIR"
  write_server_properties "$pw"
  if [ "$keep" = 1 ]; then
    log "keeping existing data in $DATA_DIR (KAFKA_KEEP_DATA=1)"
  else
    rm -rf "$DATA_DIR" "$LOG_DIR"
    mkdir -p "$LOG_DIR"
    format_storage
  fi

  wait_token_server
  log "starting Kafka $KAFKA_VERSION (state: $STATE_DIR, PLAINTEXT 127.0.0.1:$PLAINTEXT_PORT)"
  log_opts
  # The broker must hold none of the caller's descriptors (a test runner's pipe would never see
  # EOF): stdio go to files and every other inherited fd is closed before exec, so $! is the JVM.
  (
    for fd in "/proc/$BASHPID/fd/"*; do
      fd="${fd##*/}"
      if [ "$fd" -gt 2 ]; then eval "exec $fd>&-" 2>/dev/null || true; fi
    done
    # shellcheck disable=SC2086 # HEAP_OPTS/JVM_OPTS are word lists
    exec nohup java $HEAP_OPTS $JVM_OPTS \
      -Dkafka.logs.dir="$LOG_DIR" \
      -D"$ALLOWED_URLS_PROPERTY=$JWKS_URL,$TOKEN_URL" \
      "$BROKER_LOG_OPT" \
      -cp "$LIBS/*" kafka.Kafka "$SERVER_PROPS"
  ) </dev/null >"$LOG_DIR/kafka.out" 2>&1 &
  pid=$!
  echo "$pid" >"$PID_FILE"
  wait_ready "$pid"
  add_acls
  write_env_file
  trap - EXIT
  log "ready in ${SECONDS}s (pid $pid, token server pid $(cat "$TOKEN_PID_FILE") on $TOKEN_URL); env: $ENV_FILE"
}

# ---------------------------------------------------------------------------------------------
# stop / status / env / create-topic

cmd_stop() {
  resolve_state_dir
  exec 9>"$LOCK_FILE"
  flock 9
  local pid
  if ! pid="$(running_pid)"; then
    rm -f "$PID_FILE" "$ENV_FILE"
    stop_token_server
    log "not running ($STATE_DIR)"
    return 0
  fi
  kill -TERM "$pid" 2>/dev/null || true
  local deadline=$((SECONDS + STOP_TIMEOUT)) killed=0
  while alive "$pid"; do
    if [ "$killed" = 0 ] && [ "$SECONDS" -ge "$deadline" ]; then
      log "pid $pid still running after ${STOP_TIMEOUT}s; sending SIGKILL"
      kill -KILL "$pid" 2>/dev/null || true
      killed=1
      deadline=$((SECONDS + 10))
    elif [ "$killed" = 1 ] && [ "$SECONDS" -ge "$deadline" ]; then
      die "could not stop pid $pid"
    fi
    sleep 0.2
  done
  rm -f "$PID_FILE" "$ENV_FILE"
  stop_token_server
  log "stopped (pid $pid)"
}

cmd_status() {
  need kcat timeout
  resolve_state_dir
  local pid bs
  pid="$(running_pid)" || { echo "not running ($STATE_DIR)"; return 1; }
  bs="$(env_value KAFKA_BOOTSTRAP)"
  if [ -n "$bs" ] && answers "$bs"; then
    echo "running: pid $pid, $bs, env $ENV_FILE"
    return 0
  fi
  echo "pid $pid is alive but not answering (starting, or stuck; logs: $LOG_DIR)"
  return 1
}

cmd_env() {
  resolve_state_dir
  [ -f "$ENV_FILE" ] && running_pid >/dev/null || die "no running broker in $STATE_DIR (run '$0 start')"
  cat "$ENV_FILE"
}

cmd_create_topic() {
  [ $# -ge 2 ] || die "usage: $PROG create-topic NAME PARTITIONS [KEY=VALUE ...]"
  local name="$1" parts="$2" bs config
  shift 2
  local configs=()
  for config in "$@"; do
    [[ "$config" == *=* ]] || die "bad topic config '$config' (want KEY=VALUE, e.g. max.message.bytes=1024)"
    configs+=(--config "$config")
  done
  is_uint "$parts" && [ "$parts" -ge 1 ] || die "bad partition count '$parts'"
  need java
  resolve_state_dir
  running_pid >/dev/null || die "no running broker in $STATE_DIR (run '$0 start')"
  bs="$(env_value KAFKA_BOOTSTRAP)"
  [ -n "$bs" ] || die "no KAFKA_BOOTSTRAP in $ENV_FILE"
  set_version "$(env_value KAFKA_VERSION)"  # the running broker's jars, whatever KAFKA_VERSION says
  run_tool org.apache.kafka.tools.TopicCommand --bootstrap-server "$bs" \
    --create --if-not-exists --topic "$name" --partitions "$parts" --replication-factor 1 "${configs[@]}" >&2 \
    || die "creating topic '$name' failed"
}

# Kafka's own description of a topic (partitions, leaders, and the configs set on it, e.g.
# "Configs: cleanup.policy=compact"), for tests that check what sinkhost created.
cmd_describe_topic() {
  [ $# -eq 1 ] || die "usage: $PROG describe-topic NAME"
  local bs
  need java
  resolve_state_dir
  running_pid >/dev/null || die "no running broker in $STATE_DIR (run '$0 start')"
  bs="$(env_value KAFKA_BOOTSTRAP)"
  [ -n "$bs" ] || die "no KAFKA_BOOTSTRAP in $ENV_FILE"
  set_version "$(env_value KAFKA_VERSION)"
  run_tool org.apache.kafka.tools.TopicCommand --bootstrap-server "$bs" --describe --topic "$1" \
    || die "describing topic '$1' failed"
}

usage() {
  cat >&2 <<EOF
usage: $PROG COMMAND
  fetch                          copy the Kafka $KAFKA_VERSION jars into $LIBS (once)
  start                          fetch if needed, then start the broker in the background
  stop                           stop the broker (SIGTERM, SIGKILL after \$KAFKA_STOP_TIMEOUT s)
  status                         exit 0 if the broker runs and answers
  env                            print <state dir>/kafka.env of the running broker
  create-topic NAME PARTITIONS [KEY=VALUE ...]
                                 create a topic (replication factor 1) with topic configs
  describe-topic NAME            print Kafka's description of a topic (partitions, configs)
State dir: \${KAFKA_STATE_DIR:-deploy/kafka/.state}. See README.md for ports and users.
EOF
}

cmd="${1:-}"
[ $# -gt 0 ] && shift
case "$cmd" in
  fetch) cmd_fetch ;;
  start) cmd_start ;;
  stop) cmd_stop ;;
  status) cmd_status ;;
  env) cmd_env ;;
  create-topic) cmd_create_topic "$@" ;;
  describe-topic) cmd_describe_topic "$@" ;;
  -h|--help|help) usage ;;
  *) usage; exit 2 ;;
esac
