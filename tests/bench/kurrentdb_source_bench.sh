#!/usr/bin/env bash
# KurrentDB as the event source against the embedded log, in one run on one broker: the same N
# events (~250-byte JSON values, 100 streams, key = stream id, the producer settings of
# delivery_compare.sh) delivered to Kafka (1) by a kafka-sink connector on the store's own
# embedded log and (2) by the same connector on a second sinkhost that reads the store over gRPC
# (--source kurrentdb://...); events/s of each (start -> checkpoint at the last event), CPU of
# both processes, and the ratio (goal: >= 0.8). Then append -> Kafka latency at a steady rate
# through both at once: the broker's LogAppendTime minus the event's commit time in the store
# (esdb-record-timestamp; one machine, one clock). Prints numbers; not a test
# (docs/performance.md, "KurrentDB as the event source", has the figures and the command).
#
#   tests/bench/kurrentdb_source_bench.sh BUILD_DIR [--events N] [--repeat R] [--partitions P]
#                                         [--rate EVENTS_PER_S] [--seconds S] [--bootstrap HOST:PORT]
#                                         [--keep-tmp]
#
#   BUILD_DIR          build directory with bin/sinkhost and its plugins (nothing is built)
#   --events N         events in the backlog (default 200000)
#   --repeat R         runs of each side, alternating (default 3); medians are printed
#   --partitions P     partitions of the delivery topics (default 3)
#   --rate R           events per second of the latency run (default 5000, in appends of 100)
#   --seconds S        length of the latency run (default 10)
#   --bootstrap H:P    use this running broker (PLAINTEXT) instead of starting a private one
#   --keep-tmp         keep the temporary directory (data dirs, logs)
#
# Without --bootstrap it starts a private broker with deploy/kafka/kafka.sh (state
# /tmp/bench-kafka-source, ports 23092-23097) and stops it at the end. Needs: curl, java 17,
# kcat, awk.
set -euo pipefail
export LC_ALL=C

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
BUILD=""
EVENTS=200000
REPEAT=3
PARTS=3
RATE=5000
SECONDS_LAT=10
BOOTSTRAP=""
KEEP_TMP=0
BATCH=1000      # events per HTTP append of the backlog (not timed)
LAT_BATCH=100   # events per append of the latency run

BENCH_NAME=kurrentdb_source_bench
# shellcheck source=tests/bench/lib.sh
. "$ROOT/tests/bench/lib.sh"

while [ $# -gt 0 ]; do
  case "$1" in
    --events) EVENTS="$2"; shift 2 ;;
    --repeat) REPEAT="$2"; shift 2 ;;
    --partitions) PARTS="$2"; shift 2 ;;
    --rate) RATE="$2"; shift 2 ;;
    --seconds) SECONDS_LAT="$2"; shift 2 ;;
    --bootstrap) BOOTSTRAP="$2"; shift 2 ;;
    --keep-tmp) KEEP_TMP=1; shift ;;
    -h|--help) sed -n '2,27p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) die "unknown argument '$1' (see --help)" ;;
    *) [ -z "$BUILD" ] || die "one build directory only"; BUILD="$1"; shift ;;
  esac
done
[ -n "$BUILD" ] || die "give the build directory (see --help)"
for n in "$EVENTS" "$REPEAT" "$PARTS" "$RATE" "$SECONDS_LAT"; do
  [[ "$n" =~ ^[1-9][0-9]*$ ]] || die "'$n' is not a positive integer"
done
((RATE % LAT_BATCH == 0)) || die "--rate must be a multiple of $LAT_BATCH"
SINKHOST="$(cd "$BUILD" 2>/dev/null && pwd)/bin/sinkhost"
[ -x "$SINKHOST" ] || die "no $BUILD/bin/sinkhost (build it: SINKHOST_BUILD_TARGETS=sinkhost deploy/build.sh $BUILD)"
for tool in curl java awk; do command -v "$tool" >/dev/null || die "needs $tool"; done

CACHE="${SINKHOST_CACHE:-$HOME/.cache/sinkhost}"
KAFKA_VERSION="$(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$ROOT/deploy/kafka/pom.xml" | head -1)"
KAFKA_LIBS="$CACHE/kafka-$KAFKA_VERSION/libs"
TICKS="$(getconf CLK_TCK)"
kcat() { "$ROOT/deploy/bin/kcat" "$@"; }

TMP="$(mktemp -d /tmp/kurrentdb-source-bench.XXXXXX)"
STORE_PID="" HOST_PID=""
cleanup() {
  set +e
  [ -n "$HOST_PID" ] && kill "$HOST_PID" 2>/dev/null && wait "$HOST_PID" 2>/dev/null
  [ -n "$STORE_PID" ] && kill "$STORE_PID" 2>/dev/null && wait "$STORE_PID" 2>/dev/null
  if [ "$STARTED_BROKER" = 1 ]; then "$ROOT/deploy/kafka/kafka.sh" stop >/dev/null 2>&1; fi
  if [ "$KEEP_TMP" = 1 ]; then log "kept $TMP"; else rm -rf "$TMP"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---------------------------------------------------------------------------------------------
# Broker and topics

start_private_broker /tmp/bench-kafka-source
kcat -L -b "$BOOTSTRAP" -m 10 >/dev/null 2>&1 || die "no broker answers at $BOOTSTRAP"

RUN_ID="ksb-$(date +%s)"

log "creating topics"
for ((r = 1; r <= REPEAT; r++)); do
  create_topic "$RUN_ID-embedded-$r" "$PARTS"
  create_topic "$RUN_ID-source-$r" "$PARTS"
done
create_topic "$RUN_ID-latency-embedded" 1 message.timestamp.type=LogAppendTime
create_topic "$RUN_ID-latency-source" 1 message.timestamp.type=LogAppendTime
# Warm-up, not timed: the broker's first producer-id request waits for its coordinator.
create_topic "$RUN_ID-warmup" 1
seq 1 20000 | kcat -P -b "$BOOTSTRAP" -t "$RUN_ID-warmup" -X enable.idempotence=true 2>/dev/null

# ---------------------------------------------------------------------------------------------
# The events: the backlog's append batches (as delivery_compare.sh writes them)

log "writing $EVENTS events"
write_backlog "$EVENTS" "$BATCH" dddddddd

# ---------------------------------------------------------------------------------------------
# The store (a sinkhost serving KurrentDB's client protocol) and the source host

free_port; STORE_PORT=$FREE_PORT
free_port; GRPC_PORT=$FREE_PORT
free_port; HOST_PORT=$FREE_PORT
wait_health() {  # wait_health PORT PID LOG
  local i
  for ((i = 0; i < 3000; i++)); do
    curl -sf -o /dev/null "http://127.0.0.1:$1/health" && return 0
    kill -0 "$2" 2>/dev/null || { tail -20 "$3" >&2; die "sinkhost exited"; }
    nap 0.01
  done
  die "sinkhost on port $1 did not start"
}
log "starting the store and appending the backlog over HTTP"
"$SINKHOST" --data-dir "$TMP/store" --listen "127.0.0.1:$STORE_PORT" --grpc-listen "127.0.0.1:$GRPC_PORT" \
  --delivery-nice 0 --log-level warn >>"$TMP/store.log" 2>&1 &
STORE_PID=$!
wait_health "$STORE_PORT" "$STORE_PID" "$TMP/store.log"
append_backlog "$STORE_PORT" "$EVENTS"

log "starting the source host (--source kurrentdb://127.0.0.1:$GRPC_PORT?tls=false)"
"$SINKHOST" --data-dir "$TMP/host" --listen "127.0.0.1:$HOST_PORT" --grpc-listen none \
  --source "kurrentdb://127.0.0.1:$GRPC_PORT?tls=false" --delivery-nice 0 --log-level warn >>"$TMP/host.log" 2>&1 &
HOST_PID=$!
wait_health "$HOST_PORT" "$HOST_PID" "$TMP/host.log"

http() {  # http PORT METHOD PATH [BODY] -> HTTP_STATUS HTTP_BODY (lib.sh's keep-alive client)
  http_request "$@" || die "HTTP $2 $3 on $1: no answer"
}
connector_json() {  # connector_json TOPIC INITIAL_POSITION
  cat <<EOF
{"settings": {"instanceTypeName": "kafka-sink", "topic": "$1", "bootstrapServers": "$BOOTSTRAP",
  "subscription:initialPosition": "$2", "autocommit:interval": "100",
  "partitionKeyExtraction:enabled": "true", "partitionKeyExtraction:source": "stream",
  "partitionKeyExtraction:expression": "(.*)",
  "compression:type": "Zstd", "compression:level": "6",
  "producer:queue.buffering.max.kbytes": "65536", "producer:message.timeout.ms": "0"}}
EOF
}
create_connector() {  # create_connector PORT ID TOPIC INITIAL_POSITION
  curl -sS -f -X POST "http://127.0.0.1:$1/connectors/$2" -H 'Content-Type: application/json' \
    -d "$(connector_json "$3" "$4")" >/dev/null || die "cannot create connector $2 on port $1"
}

# deliver PORT ID: starts the connector and waits until its checkpoint is the last event; sets
# RUN_S, STORE_CPU_S, HOST_CPU_S.
deliver() {
  local port="$1" id="$2" p
  cpu_ticks "$STORE_PID"; local store0=$CPU_TICKS
  cpu_ticks "$HOST_PID"; local host0=$CPU_TICKS
  now_us; local t0=$NOW_US
  http "$port" POST "/connectors/$id/start"
  [ "$HTTP_STATUS" = 200 ] || die "start $id: $HTTP_STATUS $HTTP_BODY"
  while :; do
    http "$port" GET "/connectors/$id"
    p=0
    [[ "$HTTP_BODY" =~ \"position\":([0-9]+) ]] && p="${BASH_REMATCH[1]}"
    [[ "$HTTP_BODY" =~ errorDetails ]] && die "connector $id failed: $HTTP_BODY"
    ((p >= LAST)) && break
    nap 0.005
  done
  now_us
  cpu_ticks "$STORE_PID"; local store1=$CPU_TICKS
  cpu_ticks "$HOST_PID"; local host1=$CPU_TICKS
  RUN_S="$(awk -v a="$t0" -v b="$NOW_US" 'BEGIN { printf "%.3f", (b - a) / 1e6 }')"
  STORE_CPU_S="$(awk -v a="$store0" -v b="$store1" -v t="$TICKS" 'BEGIN { printf "%.2f", (b - a) / t }')"
  HOST_CPU_S="$(awk -v a="$host0" -v b="$host1" -v t="$TICKS" 'BEGIN { printf "%.2f", (b - a) / t }')"
  curl -sS -f -X POST "http://127.0.0.1:$port/connectors/$id/stop" >/dev/null || die "stop $id failed"
}
median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

cores="$(nproc)"
echo "KurrentDB as the event source: $EVENTS events of $VALUE_BYTES-byte JSON values, key = stream id (100 streams),"
echo "$PARTS partitions; broker Kafka $KAFKA_VERSION at $BOOTSTRAP; $cores cores; load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "sinkhost: $("$SINKHOST" --version 2>&1 | head -1)"
echo
printf '%-44s %9s %12s %10s %10s\n' "run" "seconds" "events/s" "store CPU" "host CPU"

EMB_RATES=() SRC_RATES=() EMB_CPU=() SRC_CPU=()
for ((r = 1; r <= REPEAT; r++)); do
  # Alternate which side goes first, so neither always meets a warmer broker.
  order=(embedded source)
  ((r % 2 == 0)) && order=(source embedded)
  for side in "${order[@]}"; do
    if [ "$side" = embedded ]; then
      create_connector "$STORE_PORT" "emb-$r" "$RUN_ID-embedded-$r" earliest
      deliver "$STORE_PORT" "emb-$r"
      label="embedded log (connector on the store), run $r"
      EMB_RATES+=("$(awk -v n="$EVENTS" -v s="$RUN_S" 'BEGIN { printf "%.0f", n / s }')")
      EMB_CPU+=("$(awk -v a="$STORE_CPU_S" -v b="$HOST_CPU_S" 'BEGIN { printf "%.2f", a + b }')")
      got="$(topic_count "$RUN_ID-embedded-$r" "$PARTS")"
    else
      create_connector "$HOST_PORT" "src-$r" "$RUN_ID-source-$r" earliest
      deliver "$HOST_PORT" "src-$r"
      label="KurrentDB source (second host), run $r"
      SRC_RATES+=("$(awk -v n="$EVENTS" -v s="$RUN_S" 'BEGIN { printf "%.0f", n / s }')")
      SRC_CPU+=("$(awk -v a="$STORE_CPU_S" -v b="$HOST_CPU_S" 'BEGIN { printf "%.2f", a + b }')")
      got="$(topic_count "$RUN_ID-source-$r" "$PARTS")"
    fi
    [ "$got" -ge "$EVENTS" ] || die "$side run $r: the topic holds $got messages, expected $EVENTS"
    printf '%-44s %9s %12s %9ss %9ss\n' "$label" "$RUN_S" \
      "$(awk -v n="$EVENTS" -v s="$RUN_S" 'BEGIN { printf "%.0f", n / s }')" "$STORE_CPU_S" "$HOST_CPU_S"
  done
done
EMB="$(median "${EMB_RATES[@]}")"
SRC="$(median "${SRC_RATES[@]}")"
echo
printf '%-44s %12s events/s  (CPU, both processes: %s s)\n' "median, embedded log" "$EMB" "$(median "${EMB_CPU[@]}")"
printf '%-44s %12s events/s  (CPU, both processes: %s s)\n' "median, KurrentDB source" "$SRC" "$(median "${SRC_CPU[@]}")"
printf '%-44s %12s  (goal >= 0.80)\n' "KurrentDB source / embedded log" "$(awk -v a="$SRC" -v b="$EMB" 'BEGIN { printf "%.2f", a / b }')"

# ---------------------------------------------------------------------------------------------
# Latency at a steady rate: both connectors live (initialPosition latest), the same appends.

log "latency: $RATE events/s for $SECONDS_LAT s through both"
create_connector "$STORE_PORT" "lat-embedded" "$RUN_ID-latency-embedded" latest
create_connector "$HOST_PORT" "lat-source" "$RUN_ID-latency-source" latest
http "$STORE_PORT" POST "/connectors/lat-embedded/start"
[ "$HTTP_STATUS" = 200 ] || die "start lat-embedded: $HTTP_BODY"
http "$HOST_PORT" POST "/connectors/lat-source/start"
[ "$HTTP_STATUS" = 200 ] || die "start lat-source: $HTTP_BODY"
# Every append's whole HTTP request written to a file before the clock starts, so that the
# paced loop only sends each with one write (bash's printf writes a 12 KB body in pieces, and
# Nagle's algorithm then holds the last piece until the first is acknowledged: ~40 ms per
# request). LAT_BATCH events each, numbered from 0 (the warm-up batch) on, ~250-byte values.
batches=$((RATE * SECONDS_LAT / LAT_BATCH))
mkdir -p "$TMP/latency"
awk -v batches="$batches" -v per="$LAT_BATCH" -v dir="$TMP/latency" '
  BEGIN {
    pad = sprintf("%200s", ""); gsub(/ /, "x", pad)
    for (b = 0; b <= batches; b++) {
      body = "["
      for (i = 0; i < per; i++) {
        n = b * per + i
        body = body (i ? "," : "") sprintf("{\"eventId\":\"eeeeeeee-0000-4000-8000-%012d\",\"eventType\":\"Latency\",\"data\":{\"n\":%d,\"note\":\"%s\"}}", n, n, pad)
      }
      body = body "]"
      stream = b == 0 ? "latency-warmup" : "latency-" (b % 10)
      file = sprintf("%s/%06d", dir, b)
      printf "POST /streams/%s HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s", stream, length(body), body > file
      close(file)
    }
  }'
send_file() {  # send_file PORT FILE: one prepared request on the keep-alive connection -> HTTP_STATUS
  http_connect "$1" || die "cannot connect to port $1"
  cat "$2" >&"$HTTP_FD"
  http_response "$HTTP_FD" || die "no answer to $2"
}
# Warm-up: the first records of each connector wait for the producer's first connections.
send_file "$STORE_PORT" "$TMP/latency/000000"
[ "$HTTP_STATUS" = 201 ] || die "append: $HTTP_STATUS $HTTP_BODY"
nap 2
interval_us=$((1000000 * LAT_BATCH / RATE))
now_us; next=$NOW_US start=$NOW_US late=0
for ((b = 1; b <= batches; b++)); do
  printf -v file '%s/latency/%06d' "$TMP" "$b"
  send_file "$STORE_PORT" "$file"
  [ "$HTTP_STATUS" = 201 ] || die "append: $HTTP_STATUS $HTTP_BODY"
  next=$((next + interval_us))
  now_us
  wait_us=$((next - NOW_US))
  if ((wait_us > 0)); then printf -v nap_s '0.%06d' "$wait_us"; nap "$nap_s"; else late=$((late + 1)); fi
done
now_us
achieved="$(awk -v n=$((batches * LAT_BATCH)) -v a="$start" -v b="$NOW_US" 'BEGIN { printf "%.0f", n / ((b - a) / 1e6) }')"
WANT=$(((batches + 1) * LAT_BATCH))
for side in embedded source; do
  for ((i = 0; i < 600; i++)); do
    [ "$(topic_count "$RUN_ID-latency-$side" 1)" -ge "$WANT" ] && break
    nap 0.1
  done
done
echo
echo "append -> Kafka latency at $RATE events/s (achieved $achieved/s; $late of $batches batches late), warm-up excluded:"
for side in embedded source; do
  # ms of the day of the broker's LogAppendTime minus that of esdb-record-timestamp (the store's
  # commit time), for the timed events only (not the warm-up stream).
  kcat -C -b "$BOOTSTRAP" -t "$RUN_ID-latency-$side" -o beginning -e -q -f '%T %h\n' 2>/dev/null |
    awk '
      {
        ts = $1; h = $0
        if (h !~ /esdb-record-stream-id=latency-[0-9]/) next
        i = index(h, "esdb-record-timestamp=")
        if (i == 0) next
        t = substr(h, i + 22 + 11, 12)   # HH:MM:SS.mmm
        created = ((substr(t, 1, 2) * 60 + substr(t, 4, 2)) * 60 + substr(t, 7, 6)) * 1000
        d = (ts % 86400000) - created
        if (d < -43200000) d += 86400000
        print d
      }' | sort -g >"$TMP/lat-$side.txt"
  awk -v side="$side" '
    { v[NR] = $1 }
    END {
      if (NR == 0) { printf "  %-10s no timed records found\n", side; exit }
      printf "  %-10s p50 %d ms  p99 %d ms  max %d ms  (%d events)\n", side, v[int(NR * 0.5) + 1], v[int(NR * 0.99) + 1], v[NR], NR
    }' "$TMP/lat-$side.txt"
done
