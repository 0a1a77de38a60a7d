# shellcheck shell=bash
# shellcheck disable=SC2034 # NOW_US, FREE_PORT, CPU_TICKS, ... are what the helpers return
# Helpers the bench scripts share (delivery_compare.sh, http_compare.sh, kurrentdb_source_bench.sh,
# cluster_compare.sh). Source it after setting BENCH_NAME (the prefix of messages) and ROOT:
#
#   BENCH_NAME=delivery_compare
#   . "$ROOT/tests/bench/lib.sh"
#
# create_topic, topic_count and start_private_broker use BOOTSTRAP, KAFKA_LIBS and TMP, and
# topic_count a kcat function or command of the script's choosing.

die() { echo "$BENCH_NAME: error: $*" >&2; exit 1; }
log() { echo "$BENCH_NAME: $*" >&2; }

# A sleep without a process: read with a timeout on a pipe nobody writes to.
SLEEP_FD=""
exec {SLEEP_FD}<> <(:)
nap() { read -r -t "$1" -u "$SLEEP_FD" _ || true; }
now_us() { NOW_US="${EPOCHREALTIME/./}"; }

# free_port -> FREE_PORT: nothing listens there and it was not handed out before. Below Linux's
# ephemeral range (32768-60999), where the clients' own connections could take it, and above the
# test suite's brokers (19xxx) and the benchmarks' private ones (23xxx).
declare -A BENCH_USED_PORTS=()
free_port() {
  local p
  for ((p = 24000 + RANDOM % 8000; ; p = 24000 + RANDOM % 8000)); do
    [ -n "${BENCH_USED_PORTS[$p]-}" ] && continue
    (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null && continue
    BENCH_USED_PORTS[$p]=1
    FREE_PORT=$p
    return
  done
}

cpu_ticks() {  # cpu_ticks PID -> CPU_TICKS (utime + stime, every thread)
  local a
  read -r -a a <"/proc/$1/stat"
  CPU_TICKS=$((a[13] + a[14]))
}
machine_ticks() {  # machine_ticks -> MT_BUSY MT_ALL (clock ticks of all cores since boot, from /proc/stat)
  local user nice system idle iowait irq softirq steal rest
  read -r _ user nice system idle iowait irq softirq steal rest </proc/stat
  MT_ALL=$((user + nice + system + idle + iowait + irq + softirq + steal))
  MT_BUSY=$((MT_ALL - idle - iowait))
}

# start_private_broker STATE_DIR: a broker of deploy/kafka/kafka.sh on ports 23092-23097, unless
# BOOTSTRAP names a running one (then only TopicCommand's jars are fetched). Sets BOOTSTRAP and
# STARTED_BROKER (the script's cleanup stops the broker when it is 1).
STARTED_BROKER=0
start_private_broker() {
  if [ -z "$BOOTSTRAP" ]; then
    export KAFKA_STATE_DIR="$1" KAFKA_PLAINTEXT_PORT=23092 KAFKA_CONTROLLER_PORT=23093 \
      KAFKA_SASL_PLAINTEXT_PORT=23094 KAFKA_SSL_PORT=23095 KAFKA_MTLS_PORT=23096 KAFKA_SASL_SSL_PORT=23097
    log "starting a private broker (state $KAFKA_STATE_DIR, port $KAFKA_PLAINTEXT_PORT)"
    STARTED_BROKER=1
    "$ROOT/deploy/kafka/kafka.sh" start >&2
    BOOTSTRAP="127.0.0.1:$KAFKA_PLAINTEXT_PORT"
  else
    "$ROOT/deploy/kafka/kafka.sh" fetch >&2  # TopicCommand's jars
  fi
}

# create_topic NAME PARTITIONS [KEY=VALUE ...]: with TopicCommand, before any clock starts.
create_topic() {
  local name="$1" parts="$2" c configs=()
  shift 2
  for c in "$@"; do configs+=(--config "$c"); done
  java -Xshare:auto -cp "$KAFKA_LIBS/*" org.apache.kafka.tools.TopicCommand --bootstrap-server "$BOOTSTRAP" \
    --create --if-not-exists --topic "$name" --partitions "$parts" --replication-factor 1 "${configs[@]}" \
    >"$TMP/topic.out" 2>&1 || { cat "$TMP/topic.out" >&2; die "cannot create topic $name"; }
}

# topic_count TOPIC PARTITIONS: the messages in TOPIC (the sum of its partitions' end offsets).
# A busy broker may time a query out: ask again before giving up.
topic_count() {
  local topic="$1" parts="$2" p args=() out
  for ((p = 0; p < parts; p++)); do args+=(-t "$topic:$p:-1"); done
  for _ in 1 2 3 4 5; do
    if out="$(kcat -Q -b "$BOOTSTRAP" "${args[@]}" 2>"$TMP/query.err")"; then
      awk '{ s += $NF } END { printf "%d\n", s }' <<<"$out"
      return 0
    fi
    nap 1
  done
  cat "$TMP/query.err" >&2
  die "cannot query the end offsets of topic $topic"
}

# A keep-alive HTTP/1.1 client in bash, one connection per port (polling with curl would fork a
# process every few milliseconds on the cores being measured). Reads wait HTTP_READ_TIMEOUT
# seconds at most (default 30).
declare -A HFDS=()

# http_connect PORT -> HTTP_FD: the open connection to PORT, or a new one; 1 when refused.
http_connect() {
  local fd
  # A connection readable before we asked anything was closed by the server (its idle timeout
  # passed): writing to it would kill the script with SIGPIPE, so open a new one.
  if [ -n "${HFDS[$1]-}" ] && read -r -t 0 -u "${HFDS[$1]}"; then http_close "$1"; fi
  if [ -z "${HFDS[$1]-}" ]; then
    { exec {fd}<>"/dev/tcp/127.0.0.1/$1"; } 2>/dev/null || return 1
    HFDS[$1]=$fd
  fi
  HTTP_FD="${HFDS[$1]}"
}

# http_response FD -> HTTP_STATUS, HTTP_BODY: one response read from FD; 1 when none came.
http_response() {
  local fd="$1" line len=0 timeout="${HTTP_READ_TIMEOUT:-30}"
  IFS= read -r -t "$timeout" line <&"$fd" || return 1
  line="${line%$'\r'}"
  HTTP_STATUS="${line#* }"
  HTTP_STATUS="${HTTP_STATUS%% *}"
  while IFS= read -r -t "$timeout" line <&"$fd"; do
    line="${line%$'\r'}"
    [ -z "$line" ] && break
    case "${line,,}" in content-length:*) len="${line#*:}"; len="${len// /}" ;; esac
  done
  HTTP_BODY=""
  if [ "$len" -gt 0 ]; then IFS= read -r -t "$timeout" -N "$len" HTTP_BODY <&"$fd" || return 1; fi
  return 0
}

# http_request PORT METHOD PATH [BODY] -> HTTP_STATUS, HTTP_BODY; 1 when nobody answers.
http_request() {
  local port="$1" method="$2" path="$3" body="${4-}"
  for _ in 1 2; do
    http_connect "$port" || return 1
    if printf '%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s' \
      "$method" "$path" "${#body}" "$body" 1>&"$HTTP_FD" 2>/dev/null && http_response "$HTTP_FD"; then
      return 0
    fi
    http_close "$port"
  done
  return 1
}
http_close() {  # http_close PORT
  local fd="${HFDS[$1]-}"
  [ -n "$fd" ] && exec {fd}>&-
  unset "HFDS[$1]"
}

# write_backlog EVENTS BATCH ID_PREFIX: the benchmarks' backlog as append batches in $TMP/batches
# (BATCH events of one stream per file, streams order-0 to order-99, ~250-byte JSON data, metadata
# {"tenant":"acme","source":"bench"}, event ids ID_PREFIX-0000-4000-8000-<n>); sets VALUE_BYTES.
write_backlog() {
  mkdir -p "$TMP/batches"
  awk -v n="$1" -v batch="$2" -v prefix="$3" -v dir="$TMP" '
    BEGIN {
      pad = sprintf("%248s", ""); gsub(/ /, "x", pad)
      for (i = 0; i < n; i++) {
        b = int(i / batch)
        stream = "order-" (b % 100)
        head = "{\"orderId\":\"order-" i "\",\"customer\":\"customer-42\",\"total\":125.5,\"note\":\""
        data = head substr(pad, 1, 248 - length(head)) "\"}"
        file = sprintf("%s/batches/%06d.%s.json", dir, b, stream)
        sep = (i % batch == 0) ? "[" : ","
        printf "%s{\"eventId\":\"%s-0000-4000-8000-%012d\",\"eventType\":\"OrderPlaced\",\"data\":%s,\"metadata\":{\"tenant\":\"acme\",\"source\":\"bench\"}}", sep, prefix, i, data > file
        if (i % batch == batch - 1 || i == n - 1) { print "]" > file; close(file) }
      }
      print length(data) > (dir "/value_bytes")
    }'
  VALUE_BYTES="$(cat "$TMP/value_bytes")"
}

# append_backlog PORT EVENTS: appends the files of $TMP/batches (NNNNNN.STREAM.json) to the
# sinkhost on PORT over HTTP, in order (one curl process, one kept-alive connection), then
# removes them; sets LAST and dies unless the log ends at EVENTS.
append_backlog() {
  local f stream next=""
  for f in "$TMP"/batches/*.json; do
    stream="${f##*/}"
    stream="${stream#*.}"
    stream="${stream%.json}"
    printf '%surl = "http://127.0.0.1:%d/streams/%s"\nheader = "Content-Type: application/vnd.eventstore.events+json"\ndata-binary = "@%s"\nfail\n' \
      "$next" "$1" "$stream" "$f"
    next=$'next\n'
  done >"$TMP/append.curl"
  curl -sS -K "$TMP/append.curl" >"$TMP/append.out" 2>"$TMP/append.err" || { cat "$TMP/append.err" >&2; die "append failed"; }
  LAST="$(grep -o '"lastPosition":[0-9]*' "$TMP/append.out" | tail -1 | cut -d: -f2)"
  [ "$LAST" = "$2" ] || die "the log on port $1 ends at ${LAST:-nothing}, expected $2"
  rm -rf "$TMP/batches" "$TMP/append.curl" "$TMP/append.out"
}
