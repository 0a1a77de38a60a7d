#!/usr/bin/env bash
# Delivery benchmark, side by side in one run on one broker: the real sinkhost daemon's
# kafka-sink against kcat (on the same librdkafka), against a plain librdkafka producer with
# sinkhost's per-message headers (produce_lines.c; kcat's -H headers are the same on every
# message), the same plain producer with kcat's constant headers (which separates what the tool
# costs from what the headers cost) and against Kafka Connect standalone (FileStreamSource),
# with the same values, keys and producer settings. Prints numbers and ratios; not a test
# (docs/performance.md has the figures and the command).
#
#   tests/bench/delivery_compare.sh [--build DIR] [--events N] [--repeat R] [--bootstrap HOST:PORT]
#                                   [--partitions "1 3"] [--no-ten] [--no-connect] [--keep-tmp]
#
#   --build DIR        build directory with bin/sinkhost (default ./build)
#   --events N         events in the backlog, messages per run (default 1000000)
#   --repeat R         runs of kcat, const, plain and sinkhost per partition count (default 2)
#   --bootstrap H:P    use this running broker (PLAINTEXT) instead of starting a private one
#   --partitions LIST  partition counts of that comparison (default "1 3")
#   --no-ten           skip 10 connectors at once
#   --no-connect       skip Kafka Connect standalone (and the sinkhost start-up run)
#   --keep-tmp         keep the temporary directory (data dir, message files, logs)
#
# Without --bootstrap it starts a private broker with deploy/kafka/kafka.sh (state
# /tmp/bench-kafka, ports 23092-23097) and stops it at the end. Every topic is created before
# any clock starts. Needs: curl, java 17, mvn (first run only, for the Connect jars), kcat,
# /usr/bin/time, awk, cc and librdkafka's headers.
set -euo pipefail
export LC_ALL=C

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
BUILD=./build
EVENTS=1000000
REPEAT=2
BOOTSTRAP=""
PARTITIONS="1 3"
TEN=1
CONNECT=1
KEEP_TMP=0
BATCH=1000   # events per HTTP append (the backlog is not timed)

BENCH_NAME=delivery_compare
# shellcheck source=tests/bench/lib.sh
. "$ROOT/tests/bench/lib.sh"

while [ $# -gt 0 ]; do
  case "$1" in
    --build) BUILD="$2"; shift 2 ;;
    --events) EVENTS="$2"; shift 2 ;;
    --repeat) REPEAT="$2"; shift 2 ;;
    --bootstrap) BOOTSTRAP="$2"; shift 2 ;;
    --partitions) PARTITIONS="$2"; shift 2 ;;
    --no-ten) TEN=0; shift ;;
    --no-connect) CONNECT=0; shift ;;
    --keep-tmp) KEEP_TMP=1; shift ;;
    -h|--help) sed -n '2,24p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown argument '$1' (see --help)" ;;
  esac
done
[[ "$EVENTS" =~ ^[1-9][0-9]*$ ]] || die "--events wants a positive integer"
[[ "$REPEAT" =~ ^[1-9][0-9]*$ ]] || die "--repeat wants a positive integer"
SINKHOST="$(cd "$BUILD" 2>/dev/null && pwd)/bin/sinkhost"
[ -x "$SINKHOST" ] || die "no $BUILD/bin/sinkhost (build it: cmake --build $BUILD --target sinkhost)"
for tool in curl java awk cc /usr/bin/time /usr/bin/kcat; do command -v "$tool" >/dev/null || die "needs $tool"; done

CACHE="${SINKHOST_CACHE:-$HOME/.cache/sinkhost}"
KAFKA_VERSION="$(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$ROOT/deploy/kafka/pom.xml" | head -1)"
KAFKA_LIBS="$CACHE/kafka-$KAFKA_VERSION/libs"
CONNECT_DIR="$CACHE/kafka-connect-$KAFKA_VERSION"
TICKS="$(getconf CLK_TCK)"

# kcat on sinkhost's librdkafka, as deploy/bin/kcat runs it, without the wrapper's own start-up
# inside the timed runs.
KCAT_PREFIX="$(bash "$ROOT/deploy/debian-source-build.sh" --prefix 2>/dev/null || true)"
KCAT_LIB="${LD_LIBRARY_PATH:-}"
if [ -n "$KCAT_PREFIX" ] && [ -e "$KCAT_PREFIX/lib/librdkafka.so.1" ]; then KCAT_LIB="$KCAT_PREFIX/lib${KCAT_LIB:+:$KCAT_LIB}"; fi
kcat() { LD_LIBRARY_PATH="$KCAT_LIB" /usr/bin/kcat "$@"; }

TMP="$(mktemp -d /tmp/delivery-compare.XXXXXX)"
DPID="" CPID=""
cleanup() {
  set +e
  [ -n "$CPID" ] && kill "$CPID" 2>/dev/null && wait "$CPID" 2>/dev/null
  [ -n "$DPID" ] && kill "$DPID" 2>/dev/null && wait "$DPID" 2>/dev/null
  if [ "$STARTED_BROKER" = 1 ]; then "$ROOT/deploy/kafka/kafka.sh" stop >/dev/null 2>&1; fi
  if [ "$KEEP_TMP" = 1 ]; then log "kept $TMP"; else rm -rf "$TMP"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM
trap 'log "failed at line $LINENO: $BASH_COMMAND"' ERR

# ---------------------------------------------------------------------------------------------
# Broker and topics

start_private_broker /tmp/bench-kafka
kcat -L -b "$BOOTSTRAP" -m 10 >/dev/null 2>&1 || die "no broker answers at $BOOTSTRAP"

RUN_ID="$(date +%s)"
# min max count of the message timestamps in TOPIC (LogAppendTime topics: when each landed).
topic_timestamps() {
  kcat -C -b "$BOOTSTRAP" -t "$1" -o beginning -e -q -f '%T\n' 2>/dev/null |
    awk 'NR == 1 { lo = $1; hi = $1 } { if ($1 < lo) lo = $1; if ($1 > hi) hi = $1 } END { printf "%.0f %.0f %d\n", lo, hi, NR }'
}

# ---------------------------------------------------------------------------------------------
# Messages: the backlog's append batches, kcat's input and Connect's input, with the same values
# (~250-byte JSON, as kafka_delivery_bench.cpp's event_data) and keys (the stream id).

log "writing $EVENTS messages"
mkdir -p "$TMP/batches"
awk -v n="$EVENTS" -v batch="$BATCH" -v dir="$TMP" -v minute="$(date -u +%Y-%m-%dT%H:%M:)" '
  BEGIN {
    srand(1)
    pad = sprintf("%248s", ""); gsub(/ /, "x", pad)
    for (i = 0; i < n; i++) {
      b = int(i / batch)
      stream = "order-" (b % 100)
      head = "{\"orderId\":\"order-" i "\",\"customer\":\"customer-42\",\"total\":125.5,\"note\":\""
      data = head substr(pad, 1, 248 - length(head)) "\"}"
      print stream "|" data > (dir "/kcat.txt")
      print data > (dir "/connect.txt")
      # the plain producer: the headers of the record builder, varying per message as
      # there (request-id random, dates moving every 100 / 1,000 messages, ids and positions)
      rid = sprintf("%08x-%04x-4%03x-%04x-%04x%08x", rand() * 4294967296, rand() * 65536, rand() * 4096,
                    32768 + rand() * 16384, rand() * 65536, rand() * 4294967296)
      printf "%s\t%s\tesdb-connector-id=@ID@\tesdb-request-id=%s\tesdb-request-date=%s%06.3fZ\tesdb-record-id=cccccccc-0000-4000-8000-%012d\tesdb-record-timestamp=%s%06.3fZ\tesdb-record-redacted=false\tesdb-record-stream-id=%s\tesdb-record-stream-revision=%d\tesdb-record-log-position=%d\tesdb-record-schema-subject=OrderPlaced\tesdb-record-schema-type=Json\tesdb-record-headers-tenant=acme\tesdb-record-headers-source=bench\n", stream, data, rid, minute, (int(i / 100) % 60000) / 1000, i, minute, (b % 60000) / 1000, stream, int(b / 100) * batch + i % batch, i + 1 > (dir "/plain.txt")
      file = sprintf("%s/batches/%06d.%s.json", dir, b, stream)
      sep = (i % batch == 0) ? "[" : ","
      printf "%s{\"eventId\":\"cccccccc-0000-4000-8000-%012d\",\"eventType\":\"OrderPlaced\",\"data\":%s,\"metadata\":{\"tenant\":\"acme\",\"source\":\"bench\"}}", sep, i, data > file
      if (i % batch == batch - 1 || i == n - 1) { print "]" > file; close(file) }
    }
  }'
VALUE_BYTES="$(head -1 "$TMP/connect.txt" | tr -d '\n' | wc -c)"
# The producers' inputs are written here, once, not before each timed run (writing hundreds of
# megabytes just before a run had the kernel write them back during it). Their connector id has
# the length of the connectors' ids (bench-pP-rR).
PRODUCER_ID=bench-p0-r0
sed -i "s/@ID@/$PRODUCER_ID/" "$TMP/plain.txt"

# The producer settings of both sides (kafka-sink sets idempotence, acks=all through it,
# sticky.partitioning.linger.ms=0, message.timeout.ms=0 and the queue bound itself; the
# connector settings below repeat what it allows).
KCAT_PROPS=(-X enable.idempotence=true -X acks=all -X compression.codec=zstd -X compression.level=6
  -X sticky.partitioning.linger.ms=0 -X queue.buffering.max.kbytes=65536 -X message.timeout.ms=0
  -X partitioner=murmur2)
PLAIN_PROPS=()
for ((i = 1; i < ${#KCAT_PROPS[@]}; i += 2)); do PLAIN_PROPS+=("${KCAT_PROPS[i]}"); done
connector_json() {  # connector_json TOPIC
  cat <<EOF
{"settings": {"instanceTypeName": "kafka-sink", "topic": "$1", "bootstrapServers": "$BOOTSTRAP",
  "subscription:initialPosition": "earliest", "autocommit:interval": "100",
  "partitionKeyExtraction:enabled": "true", "partitionKeyExtraction:source": "stream",
  "partitionKeyExtraction:expression": "(.*)",
  "compression:type": "Zstd", "compression:level": "6",
  "producer:queue.buffering.max.kbytes": "65536", "producer:message.timeout.ms": "0"}}
EOF
}
# kcat cannot take per-message headers from its input: the 13 headers sinkhost sends here (the
# 11 esdb-* ones and one per metadata entry), with values of the same sizes, the same on every
# message (see docs/performance.md).
kcat_headers() {  # kcat_headers CONNECTOR_ID
  local date
  date="$(date -u +%Y-%m-%dT%H:%M:%S.000Z)"
  KCAT_HEADERS=(-H "esdb-connector-id=$1" -H "esdb-request-id=$(cat /proc/sys/kernel/random/uuid)"
    -H "esdb-request-date=$date" -H "esdb-record-id=cccccccc-0000-4000-8000-000000100000"
    -H "esdb-record-timestamp=$date" -H "esdb-record-redacted=false" -H "esdb-record-stream-id=order-50"
    -H "esdb-record-stream-revision=$((EVENTS / 200))" -H "esdb-record-log-position=$((EVENTS / 2))"
    -H "esdb-record-schema-subject=OrderPlaced" -H "esdb-record-schema-type=Json"
    -H "esdb-record-headers-tenant=acme" -H "esdb-record-headers-source=bench")
}

kcat_headers "$PRODUCER_ID"
const_headers=()
for ((i = 1; i < ${#KCAT_HEADERS[@]}; i += 2)); do const_headers+=("${KCAT_HEADERS[i]}"); done
awk -v headers="$(IFS=$'\t'; echo "${const_headers[*]}")" \
  '{ i = index($0, "|"); print substr($0, 1, i - 1) "\t" substr($0, i + 1) "\t" headers }' "$TMP/kcat.txt" >"$TMP/const.txt"
sync

# ---------------------------------------------------------------------------------------------
# The daemon, and REST calls over lib.sh's keep-alive client.

free_port
PORT=$FREE_PORT
start_daemon() {
  now_us; DAEMON_EXEC_US=$NOW_US
  "$SINKHOST" --data-dir "$TMP/data" --listen "127.0.0.1:$PORT" --grpc-listen none --delivery-nice 0 --log-level warn \
    >>"$TMP/sinkhost.log" 2>&1 &
  DPID=$!
  local i
  for ((i = 0; i < 3000; i++)); do
    curl -sf -o /dev/null "http://127.0.0.1:$PORT/health" && break
    kill -0 "$DPID" 2>/dev/null || { tail -20 "$TMP/sinkhost.log" >&2; die "sinkhost exited"; }
    nap 0.01
  done
  http_close "$PORT"
}
stop_daemon() {
  http_close "$PORT"
  kill "$DPID" && wait "$DPID" || true
  DPID=""
}
http() {  # http METHOD PATH [BODY] -> HTTP_STATUS HTTP_BODY
  http_request "$PORT" "$@" || die "HTTP $1 $2: no answer"
}
curl_json() {  # curl_json METHOD PATH [BODY]: a REST call outside the clock; fails loudly
  curl -sS -f -X "$1" "http://127.0.0.1:$PORT$2" -H 'Content-Type: application/json' ${3:+-d "$3"} >/dev/null \
    || die "$1 $2 failed"
}
sample_status() {  # sample_status PID: MAX_RSS_KB, MAX_ANON_KB, MAX_THREADS, HWM_KB
  local k v rest
  while read -r k v rest; do
    case "$k" in
      VmRSS:) ((v > MAX_RSS_KB)) && MAX_RSS_KB=$v ;;
      RssAnon:) ((v > MAX_ANON_KB)) && MAX_ANON_KB=$v ;;
      VmHWM:) HWM_KB=$v ;;
      Threads:) ((v > MAX_THREADS)) && MAX_THREADS=$v ;;
    esac
  done <"/proc/$1/status" 2>/dev/null || true
}

# deliver IDS...: starts the (created) connectors and waits until every committed checkpoint is
# the last log position. Sets RUN_S, RUN_CPU_S and RUN_BUSY (cores of the machine busy meanwhile,
# every process: the daemon, the broker, the script).
deliver() {
  local ids=("$@") id done_count polls=0 p
  declare -A finished=()
  MAX_RSS_KB=0 MAX_ANON_KB=0 MAX_THREADS=0 HWM_KB=0
  cpu_ticks "$DPID"; local cpu0=$CPU_TICKS
  machine_ticks; local busy0=$MT_BUSY all0=$MT_ALL
  now_us; local t0=$NOW_US
  for id in "${ids[@]}"; do
    http POST "/connectors/$id/start"
    [ "$HTTP_STATUS" = 200 ] || die "start $id: $HTTP_STATUS $HTTP_BODY"
  done
  while :; do
    done_count=0
    for id in "${ids[@]}"; do
      if [ -z "${finished[$id]-}" ]; then
        http GET "/connectors/$id"
        p=0
        [[ "$HTTP_BODY" =~ \"position\":([0-9]+) ]] && p="${BASH_REMATCH[1]}"
        [[ "$HTTP_BODY" =~ errorDetails ]] && die "connector $id failed: $HTTP_BODY"
        ((p >= LAST)) && finished[$id]=1
      fi
      [ -n "${finished[$id]-}" ] && done_count=$((done_count + 1))
    done
    ((done_count == ${#ids[@]})) && break
    ((polls++ % 10 == 0)) && sample_status "$DPID"
    nap 0.005
  done
  now_us
  cpu_ticks "$DPID"
  machine_ticks
  sample_status "$DPID"
  RUN_BUSY="$(awk -v b="$((MT_BUSY - busy0))" -v a="$((MT_ALL - all0))" -v c="$(nproc)" 'BEGIN { printf "%.2f", (a > 0 ? c * b / a : 0) }')"
  RUN_S="$(awk -v a="$t0" -v b="$NOW_US" 'BEGIN { printf "%.3f", (b - a) / 1e6 }')"
  RUN_CPU_S="$(awk -v a="$cpu0" -v b="$CPU_TICKS" -v t="$TICKS" 'BEGIN { printf "%.2f", (b - a) / t }')"
  for id in "${ids[@]}"; do curl_json POST "/connectors/$id/stop"; done
}

# kcat_run TOPIC: sets RUN_S, RUN_CPU_S.
kcat_run() {
  now_us; local t0=$NOW_US
  LD_LIBRARY_PATH="$KCAT_LIB" /usr/bin/time -f '%U %S' -o "$TMP/kcat.time" \
    /usr/bin/kcat -P -b "$BOOTSTRAP" -t "$1" -K '|' -l "$TMP/kcat.txt" "${KCAT_PROPS[@]}" "${KCAT_HEADERS[@]}" \
    2>>"$TMP/kcat.err" || die "kcat failed (see $TMP/kcat.err)"
  now_us
  RUN_S="$(awk -v a="$t0" -v b="$NOW_US" 'BEGIN { printf "%.3f", (b - a) / 1e6 }')"
  RUN_CPU_S="$(awk '{ printf "%.2f", $1 + $2 }' "$TMP/kcat.time")"
}

# plain_run TOPIC LINES: the plain producer (produce_lines.c) with the messages and headers of
# LINES (plain.txt: sinkhost's per-message headers; const.txt: kcat's constant ones); sets
# RUN_S, RUN_CPU_S.
plain_run() {
  now_us; local t0=$NOW_US
  LD_LIBRARY_PATH="$KCAT_LIB" /usr/bin/time -f '%U %S' -o "$TMP/plain.time" \
    "$TMP/produce_lines" "$BOOTSTRAP" "$1" "$2" "${PLAIN_PROPS[@]}" \
    2>>"$TMP/plain.err" || die "produce_lines failed (see $TMP/plain.err)"
  now_us
  RUN_S="$(awk -v a="$t0" -v b="$NOW_US" 'BEGIN { printf "%.3f", (b - a) / 1e6 }')"
  RUN_CPU_S="$(awk '{ printf "%.2f", $1 + $2 }' "$TMP/plain.time")"
}

check_count() {  # check_count TOPIC PARTITIONS WANT
  local got
  got="$(topic_count "$1" "$2")"
  [ "$got" = "$3" ] || die "topic $1 holds $got messages, expected $3"
}

# ---------------------------------------------------------------------------------------------
# Setup: every topic first, then the backlog.

cc -O2 -o "$TMP/produce_lines" "$ROOT/tests/bench/produce_lines.c" ${KCAT_PREFIX:+-I"$KCAT_PREFIX/include" -L"$KCAT_PREFIX/lib"} \
  -lrdkafka 2>"$TMP/cc.err" || { cat "$TMP/cc.err" >&2; die "cannot build tests/bench/produce_lines.c (needs cc and librdkafka's headers)"; }

log "creating topics (TopicCommand, one JVM each)"
create_topic "dc-$RUN_ID-warmup" 1
for parts in $PARTITIONS; do
  for ((r = 1; r <= REPEAT; r++)); do
    create_topic "dc-$RUN_ID-kcat-p$parts-r$r" "$parts"
    create_topic "dc-$RUN_ID-plain-p$parts-r$r" "$parts"
    create_topic "dc-$RUN_ID-const-p$parts-r$r" "$parts"
    create_topic "dc-$RUN_ID-sinkhost-p$parts-r$r" "$parts"
  done
done
if [ "$TEN" = 1 ]; then for ((c = 0; c < 10; c++)); do create_topic "dc-$RUN_ID-ten-$c" 3; done; fi
if [ "$CONNECT" = 1 ]; then
  create_topic "dc-$RUN_ID-connect" 3 message.timestamp.type=LogAppendTime
  create_topic "dc-$RUN_ID-startup" 3 message.timestamp.type=LogAppendTime
fi
# Warm-up, not timed: the broker's first producer-id request waits for its coordinator, and a
# freshly started broker JVM is slower until its produce path is compiled: without this, the
# first timed run (kcat's) was the slowest of every run.
log "warming the broker up (the whole message file once, untimed)"
kcat -P -b "$BOOTSTRAP" -t "dc-$RUN_ID-warmup" -K '|' -l "$TMP/kcat.txt" "${KCAT_PROPS[@]}" 2>/dev/null

log "starting sinkhost and appending the backlog over HTTP"
start_daemon
append_backlog "$PORT" "$EVENTS"

cores="$(nproc)"
echo "Delivery against kcat and Kafka Connect: $EVENTS messages of $VALUE_BYTES-byte JSON values, key = stream id"
echo "(100 streams), 13 headers; broker Kafka $KAFKA_VERSION at $BOOTSTRAP; $cores cores; load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "sinkhost: $("$SINKHOST" --version 2>&1 | head -1)"
echo "kcat: $(kcat -V 2>&1 | sed -n 's/.*\(librdkafka [0-9.]*\).*/\1/p' | head -1)"
echo

# ---------------------------------------------------------------------------------------------
# 1-3: one connector against kcat (static headers), the plain producer with kcat's messages
# (const) and the plain producer with sinkhost's per-message headers (plain), same topic layout;
# the order of the four rotates from run to run.

ONE_RATE_P3="" ONE_CPU_P3="" ONE_BUSY=()
row() { printf '%-5s %-4s %10s %10s %10s %10s %8s %8s %8s %8s %9s %9s %9s %9s\n' "$@"; }
row parts run kcat const plain sinkhost "sh/kcat" "sh/kcat*" "sh/plain" "cst/kcat" "kcat µs" "const µs" "plain µs" "sh µs"
for parts in $PARTITIONS; do
  rows=()
  for ((r = 1; r <= REPEAT; r++)); do
    id="bench-p$parts-r$r"
    curl_json POST "/connectors/$id" "$(connector_json "dc-$RUN_ID-sinkhost-p$parts-r$r")"
    case $((r % 4)) in 1) order="kcat const plain sinkhost" ;; 2) order="sinkhost kcat const plain" ;;
      3) order="plain sinkhost kcat const" ;; 0) order="const plain sinkhost kcat" ;; esac
    for side in $order; do
      sync  # no write-back of the previous run's files during this one
      case "$side" in
        kcat) kcat_run "dc-$RUN_ID-kcat-p$parts-r$r"; kc_s=$RUN_S kc_cpu=$RUN_CPU_S ;;
        const) plain_run "dc-$RUN_ID-const-p$parts-r$r" "$TMP/const.txt"; co_s=$RUN_S co_cpu=$RUN_CPU_S ;;
        plain) plain_run "dc-$RUN_ID-plain-p$parts-r$r" "$TMP/plain.txt"; pl_s=$RUN_S pl_cpu=$RUN_CPU_S ;;
        sinkhost) deliver "$id"; sh_s=$RUN_S sh_cpu=$RUN_CPU_S; [ "$parts" = 3 ] && ONE_BUSY+=("$RUN_BUSY") ;;
      esac
      check_count "dc-$RUN_ID-$side-p$parts-r$r" "$parts" "$EVENTS"
    done
    rows+=("$(awk -v n="$EVENTS" -v k="$kc_s" -v c="$co_s" -v p="$pl_s" -v s="$sh_s" -v kc="$kc_cpu" -v cc="$co_cpu" \
      -v pc="$pl_cpu" -v sc="$sh_cpu" 'BEGIN { printf "%.0f %.0f %.0f %.0f %.2f %.2f %.2f %.2f %.1f %.1f %.1f %.1f\n", n / k, n / c, n / p, n / s,
        k / s, k * p / (s * c), p / s, k / c, kc * 1e6 / n, cc * 1e6 / n, pc * 1e6 / n, sc * 1e6 / n }')")
    # shellcheck disable=SC2086
    row "$parts" "$r" ${rows[-1]}
  done
  mean="$(printf '%s\n' "${rows[@]}" | awk '{ for (i = 1; i <= NF; i++) t[i] += $i } END {
    printf "%.0f %.0f %.0f %.0f %.2f %.2f %.2f %.2f %.1f %.1f %.1f %.1f\n", t[1] / NR, t[2] / NR, t[3] / NR, t[4] / NR, t[4] / t[1],
      t[4] * t[2] / (t[1] * t[3]), t[4] / t[3], t[2] / t[1], t[9] / NR, t[10] / NR, t[11] / NR, t[12] / NR }')"
  # shellcheck disable=SC2086
  row "$parts" mean $mean
  read -r _ _ _ ms _ _ _ _ _ _ _ mcs <<<"$mean"
  if [ "$parts" = 3 ] || [ -z "$ONE_RATE_P3" ]; then ONE_RATE_P3=$ms ONE_CPU_P3=$mcs ONE_PARTS=$parts; fi
done
# Bytes the broker stored (private broker only): kcat's constant headers compress away, the
# plain producer's and sinkhost's per-message ones do not.
log_bytes() { find "$KAFKA_STATE_DIR/data" -path "*/$1-[0-9]*/*.log" -printf '%s\n' 2>/dev/null | awk '{ s += $1 } END { printf "%d\n", s }'; }
if [ "$STARTED_BROKER" = 1 ]; then
  for parts in $PARTITIONS; do
    awk -v k="$(log_bytes "dc-$RUN_ID-kcat-p$parts-r1")" -v c="$(log_bytes "dc-$RUN_ID-const-p$parts-r1")" \
      -v p="$(log_bytes "dc-$RUN_ID-plain-p$parts-r1")" -v s="$(log_bytes "dc-$RUN_ID-sinkhost-p$parts-r1")" -v n="$EVENTS" -v parts="$parts" \
      'BEGIN { printf "bytes stored per message by the broker, %d partition(s), run 1: kcat %.1f, const %.1f, plain %.1f, sinkhost %.1f\n", parts, k / n, c / n, p / n, s / n }'
  done
fi
echo "(msg/s; const = the plain producer with kcat's constant headers, plain = with sinkhost's per-message ones;"
echo " sh/kcat, sh/plain = sinkhost's rate / theirs, cst/kcat = const's rate / kcat's; sh/kcat* = sinkhost's rate /"
echo " (kcat's rate x plain / const), kcat scaled by what sinkhost's varying headers cost the plain producer;"
echo " µs = CPU (utime+stime) per message of each producer process, of the whole daemon. sinkhost timed from"
echo " POST start to the committed checkpoint at the last event, kcat and the plain producer from exec to exit,"
echo " after their last delivery report)"
echo

# ---------------------------------------------------------------------------------------------
# 4: ten connectors on ten topics over the same backlog.

if [ "$TEN" = 1 ]; then
  ids=()
  for ((c = 0; c < 10; c++)); do
    curl_json POST "/connectors/bench-ten-$c" "$(connector_json "dc-$RUN_ID-ten-$c")"
    ids+=("bench-ten-$c")
  done
  deliver "${ids[@]}"
  for ((c = 0; c < 10; c++)); do check_count "dc-$RUN_ID-ten-$c" 3 "$EVENTS"; done
  awk -v n="$EVENTS" -v s="$RUN_S" -v cpu="$RUN_CPU_S" -v one="$ONE_RATE_P3" -v onecpu="$ONE_CPU_P3" -v p="$ONE_PARTS" \
    -v rss="$MAX_RSS_KB" -v th="$MAX_THREADS" 'BEGIN {
    printf "10 connectors, 10 topics of 3 partitions: %.2f s, %.0f msg/s in total (%.2f x one connector'"'"'s mean on %d partitions, %.0f msg/s)\n", s, 10 * n / s, 10 * n / s / one, p, one
    printf "  CPU %.1f µs per message (one connector: %.1f); RSS up to %.1f MiB, %d threads\n", cpu * 1e6 / (10 * n), onecpu, rss / 1024, th }'
  echo "  machine busy (all processes, $(nproc) cores): ${RUN_BUSY} cores with ten connectors, $(printf '%s\n' "${ONE_BUSY[@]}" |
    awk '{ t += $1 } END { if (NR) printf "%.2f", t / NR; else printf "-" }') with one (3 partitions, mean)"
  echo
fi

# ---------------------------------------------------------------------------------------------
# 5: Kafka Connect standalone (FileStreamSource) against sinkhost, from process start: both
# deliver the same values into a fresh 3-partition topic with message.timestamp.type=LogAppendTime,
# so each message's timestamp is when it landed. First record = the earliest timestamp minus the
# process's exec time; throughput = messages / (last timestamp - first timestamp).

connect_fetch() {
  [ -f "$CONNECT_DIR/.fetched" ] && return 0
  command -v mvn >/dev/null || die "needs mvn to fetch the Kafka Connect jars once"
  log "fetching Kafka Connect $KAFKA_VERSION jars into $CONNECT_DIR/libs"
  rm -rf "$CONNECT_DIR/libs.tmp"
  mkdir -p "$CONNECT_DIR"
  mvn -B -q -Dstyle.color=never -f "$ROOT/tests/bench/kafka-connect/pom.xml" -Dkafka.version="$KAFKA_VERSION" \
    dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$CONNECT_DIR/libs.tmp" >&2 \
    || die "mvn could not fetch the Kafka Connect jars"
  rm -rf "$CONNECT_DIR/libs"
  mv "$CONNECT_DIR/libs.tmp" "$CONNECT_DIR/libs"
  touch "$CONNECT_DIR/.fetched"
}

# report_host NAME EXEC_US TOPIC CPU_S: one table row from the topic's timestamps.
declare -a HOST_ROWS=()
report_host() {
  local lo hi count
  read -r lo hi count < <(topic_timestamps "$3")
  [ "$count" = "$EVENTS" ] || die "$1: topic $3 holds $count messages, expected $EVENTS"
  HOST_ROWS+=("$(awk -v name="$1" -v exec_us="$2" -v lo="$lo" -v hi="$hi" -v n="$EVENTS" -v rss="$MAX_RSS_KB" \
    -v anon="$MAX_ANON_KB" -v hwm="$HWM_KB" -v th="$MAX_THREADS" -v cpu="$4" 'BEGIN {
      span = (hi - lo) / 1000; if (span <= 0) span = 0.001
      printf "%s %.0f %.2f %.1f %.1f %.1f %d %.1f\n", name, n / span, lo / 1000 - exec_us / 1e6, rss / 1024, anon / 1024, hwm / 1024, th, cpu * 1e6 / n }')")
}

if [ "$CONNECT" = 1 ]; then
  connect_fetch
  # sinkhost from its process start: a fresh daemon on the same data dir, then create and start
  # the connector over REST as soon as /health answers.
  stop_daemon
  start_daemon
  curl_json POST /connectors/bench-startup "$(connector_json "dc-$RUN_ID-startup")"
  deliver bench-startup   # leaves CPU_TICKS at the end of delivery
  report_host sinkhost "$DAEMON_EXEC_US" "dc-$RUN_ID-startup" "$(awk -v c="$CPU_TICKS" -v t="$TICKS" 'BEGIN { print c / t }')"
  stop_daemon

  mkdir -p "$TMP/connect"
  cat >"$TMP/connect/worker.properties" <<EOF
bootstrap.servers=$BOOTSTRAP
key.converter=org.apache.kafka.connect.storage.StringConverter
value.converter=org.apache.kafka.connect.storage.StringConverter
offset.storage.file.filename=$TMP/connect/offsets
offset.flush.interval.ms=100
listeners=http://127.0.0.1:0
plugin.discovery=service_load
producer.enable.idempotence=true
producer.acks=all
producer.max.in.flight.requests.per.connection=5
producer.compression.type=zstd
producer.compression.zstd.level=6
producer.buffer.memory=67108864
producer.delivery.timeout.ms=2147483647
EOF
  cat >"$TMP/connect/file-source.properties" <<EOF
name=file-source
connector.class=org.apache.kafka.connect.file.FileStreamSourceConnector
tasks.max=1
file=$TMP/connect.txt
topic=dc-$RUN_ID-connect
EOF
  cat >"$TMP/connect/log4j2.properties" <<EOF
rootLogger.level=INFO
rootLogger.appenderRef.file.ref=file
appender.file.type=File
appender.file.name=file
appender.file.fileName=$TMP/connect/connect.log
appender.file.layout.type=PatternLayout
appender.file.layout.pattern=[%d] %p %m (%c)%n
EOF
  # JVM options of Kafka's connect-standalone.sh / kafka-run-class.sh.
  now_us; connect_exec_us=$NOW_US
  java -Xms256M -Xmx2G -server -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:InitiatingHeapOccupancyPercent=35 \
    -XX:+ExplicitGCInvokesConcurrent -XX:MaxInlineLevel=15 -Djava.awt.headless=true \
    -Dlog4j2.configurationFile="$TMP/connect/log4j2.properties" -cp "$CONNECT_DIR/libs/*" \
    org.apache.kafka.connect.cli.ConnectStandalone "$TMP/connect/worker.properties" "$TMP/connect/file-source.properties" \
    >"$TMP/connect/stdout.log" 2>&1 &
  CPID=$!
  MAX_RSS_KB=0 MAX_ANON_KB=0 MAX_THREADS=0 HWM_KB=0
  polls=0
  deadline=$((SECONDS + 600))
  while :; do
    kill -0 "$CPID" 2>/dev/null || { tail -30 "$TMP/connect/connect.log" "$TMP/connect/stdout.log" >&2; die "Kafka Connect exited"; }
    sample_status "$CPID"
    if ((polls++ % 5 == 0)) && [ "$(topic_count "dc-$RUN_ID-connect" 3)" -ge "$EVENTS" ]; then break; fi
    ((SECONDS < deadline)) || die "Kafka Connect did not deliver $EVENTS messages in 600 s"
    nap 0.1
  done
  cpu_ticks "$CPID"
  connect_cpu="$(awk -v c="$CPU_TICKS" -v t="$TICKS" 'BEGIN { print c / t }')"
  kill "$CPID"; wait "$CPID" || true; CPID=""
  report_host "kafka-connect" "$connect_exec_us" "dc-$RUN_ID-connect" "$connect_cpu"

  echo "From process start, 3 partitions, timestamps = LogAppendTime:"
  printf '%-15s %12s %14s %12s %12s %12s %8s %16s\n' host "msg/s" "first record" "RSS MiB" "anon MiB" "peak MiB" threads "CPU µs/msg (all)"
  for row in "${HOST_ROWS[@]}"; do
    read -r name rate first rss anon hwm th cpu <<<"$row"
    printf '%-15s %12s %12s s %12s %12s %12s %8s %16s\n' "$name" "$rate" "$first" "$rss" "$anon" "$hwm" "$th" "$cpu"
  done
  read -r _ r1 f1 m1 a1 h1 t1 c1 <<<"${HOST_ROWS[0]}"
  read -r _ r2 f2 m2 a2 h2 t2 c2 <<<"${HOST_ROWS[1]}"
  awk -v r1="$r1" -v r2="$r2" -v f1="$f1" -v f2="$f2" -v m1="$m1" -v m2="$m2" -v a1="$a1" -v a2="$a2" -v h1="$h1" -v h2="$h2" \
    -v t1="$t1" -v t2="$t2" -v c1="$c1" -v c2="$c2" 'BEGIN {
    printf "%-15s %12.2f %14.2f %12.2f %12.2f %12.2f %8.2f %16.2f\n", "sinkhost/conn.", r1 / r2, f1 / f2, m1 / m2, a1 / a2, h1 / h2, t1 / t2, c1 / c2 }'
  echo "(msg/s: first to last record; first record: process exec to the first record's broker timestamp,"
  echo " sinkhost including /health, create and start over REST; RSS: highest VmRSS sampled while delivering,"
  echo " anon: highest RssAnon (heap, stacks; RSS less the mapped files of the program and its libraries),"
  echo " peak: VmHWM; threads: most seen; CPU: utime+stime of the whole process from exec to the last record)"
fi
