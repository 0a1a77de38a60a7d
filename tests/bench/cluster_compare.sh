#!/usr/bin/env bash
# Cluster mode benchmark, side by side in one run on one broker: C kafka-sink connectors of one
# store (a sinkhost serving KurrentDB's client protocol) shared by a cluster of 1, 2 and 3
# sinkhost hosts (--cluster kafka://..., a fresh group and fresh data dirs per run), each
# connector delivering the same backlog of E events to a topic of its own. Prints the total
# events/s (C*E / time from the first POST .../start to every committed checkpoint at the
# store's last event), where the connectors ran and the ratio to one host; then, on the last
# (3-host) cluster, failover: events appended at a modest rate, one host owning connectors
# SIGKILLed, the time until a surviving host shows every connector RUNNING on a survivor and
# until every checkpoint passes the events appended up to 1 s after the kill. Not a test
# (docs/performance.md, "Cluster mode: hosts sharing connectors", has the figures and the command).
#
#   tests/bench/cluster_compare.sh [--build DIR] [--events N] [--connectors C] [--repeat R]
#                                  [--hosts "1 2 3"] [--slots N] [--session-timeout-ms MS]
#                                  [--rate EVENTS_PER_S] [--no-failover] [--bootstrap HOST:PORT]
#                                  [--keep-tmp]
#
#   --build DIR             directory with bin/sinkhost and lib/sinkhost/plugins (default: the
#                           repository's build)
#   --events N              events in the store's backlog (default 60000)
#   --connectors C          connectors, each to a 3-partition topic of its own (default 6)
#   --repeat R              rounds of all host counts (and of the failover) (default 1); round r
#                           runs the host counts rotated by r - 1
#   --hosts LIST            host counts, in run order (default "1 2 3"); ratios against the first,
#                           failover on the last
#   --slots N               --cluster-slots (default C; the connector ids are chosen in distinct
#                           slots, so that the group's even split of slots spreads them evenly)
#   --session-timeout-ms MS --cluster-session-timeout-ms of every host (default 6000, sinkhost's)
#   --rate R                events/s appended during the failover (default 200, 10 appends a second)
#   --no-failover           skip the failover
#   --bootstrap H:P         use this running broker (PLAINTEXT) instead of starting a private one
#   --keep-tmp              keep the temporary directory (data dirs, host logs)
#
# Without --bootstrap it starts a private broker with deploy/kafka/kafka.sh (state
# /tmp/bench-kafka, ports 23092-23097) and stops it at the end. Every topic is created before any
# clock starts, and an untimed run of the first host count warms the broker up. Everything
# (store, hosts, broker, this script) shares the machine's cores: with fewer cores than hosts,
# more hosts add no CPU; what the host count changes is how the work is split between processes
# and what the coordination costs. Needs: curl, java 17 (TopicCommand), kcat, awk.
set -euo pipefail
export LC_ALL=C

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
COMMAND_LINE="tests/bench/cluster_compare.sh"
[ $# -eq 0 ] || COMMAND_LINE+="$(printf ' %q' "$@")"
BUILD=""
EVENTS=60000
CONNECTORS=6
REPEAT=1
HOST_COUNTS="1 2 3"
SLOTS=""
SESSION_MS=6000
RATE=200
FAILOVER=1
BOOTSTRAP=""
KEEP_TMP=0
BATCH=1000              # events per HTTP append of the backlog (not timed)
PARTS=3                 # partitions of every delivery topic
START_TIMEOUT=30        # s for a process to answer /health
SETTLE_TIMEOUT=90       # s for a new cluster to place every connector
STOP_TIMEOUT=30         # s after SIGTERM before SIGKILL

BENCH_NAME=cluster_compare
# shellcheck source=tests/bench/lib.sh
. "$ROOT/tests/bench/lib.sh"
HTTP_READ_TIMEOUT=10  # a paused or killed host must not hold the script

while [ $# -gt 0 ]; do
  case "$1" in
    --build) BUILD="$2"; shift 2 ;;
    --events) EVENTS="$2"; shift 2 ;;
    --connectors) CONNECTORS="$2"; shift 2 ;;
    --repeat) REPEAT="$2"; shift 2 ;;
    --hosts) HOST_COUNTS="$2"; shift 2 ;;
    --slots) SLOTS="$2"; shift 2 ;;
    --session-timeout-ms) SESSION_MS="$2"; shift 2 ;;
    --rate) RATE="$2"; shift 2 ;;
    --no-failover) FAILOVER=0; shift ;;
    --bootstrap) BOOTSTRAP="$2"; shift 2 ;;
    --keep-tmp) KEEP_TMP=1; shift ;;
    -h|--help) sed -n '2,39p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown argument '$1' (see --help)" ;;
  esac
done
[ -n "$SLOTS" ] || SLOTS="$CONNECTORS"
for n in "$EVENTS" "$CONNECTORS" "$REPEAT" "$SLOTS" "$SESSION_MS" "$RATE"; do
  [[ "$n" =~ ^[1-9][0-9]*$ ]] || die "'$n' is not a positive integer"
done
read -r -a HOST_LIST <<<"$HOST_COUNTS"
[ "${#HOST_LIST[@]}" -gt 0 ] || die "--hosts wants a list of host counts"
for n in "${HOST_LIST[@]}"; do [[ "$n" =~ ^[1-9][0-9]*$ ]] || die "--hosts: '$n' is not a positive integer"; done
FAILOVER_HOSTS="${HOST_LIST[-1]}"
if [ "$FAILOVER" = 1 ] && [ "$FAILOVER_HOSTS" -lt 2 ]; then
  log "the last host count is $FAILOVER_HOSTS: no failover"
  FAILOVER=0
fi
if [ -z "$BUILD" ]; then
  BUILD="$ROOT/build"
fi
SINKHOST="$(cd "$BUILD" 2>/dev/null && pwd)/bin/sinkhost"
[ -x "$SINKHOST" ] || die "no $BUILD/bin/sinkhost (build it: SINKHOST_BUILD_TARGETS=sinkhost deploy/build.sh $BUILD)"
for tool in curl java awk kcat; do command -v "$tool" >/dev/null || die "needs $tool"; done

CACHE="${SINKHOST_CACHE:-$HOME/.cache/sinkhost}"
KAFKA_VERSION="$(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$ROOT/deploy/kafka/pom.xml" | head -1)"
KAFKA_LIBS="$CACHE/kafka-$KAFKA_VERSION/libs"
TICKS="$(getconf CLK_TCK)"

TMP="$(mktemp -d /tmp/cluster-compare.XXXXXX)"
STORE_PID="" APPENDER_PID=""
declare -a HOST_PID=() HOST_PORT=()

# alive PID: the process exists and is not a zombie (kill -0 succeeds on an unreaped child).
alive() {
  local stat
  stat="$(cat "/proc/$1/stat" 2>/dev/null)" || return 1
  stat="${stat##*) }"
  [ "${stat%% *}" != Z ]
}
# stop_pids SIGNAL PID...: signals every process, waits for each (SIGKILL after STOP_TIMEOUT s);
# sets STOP_S (seconds until the last was gone) and STOP_KILLED (how many needed SIGKILL).
stop_pids() {
  local sig="$1" pid t0 deadline
  shift
  STOP_KILLED=0
  now_us; t0=$NOW_US
  for pid in "$@"; do kill "-$sig" "$pid" 2>/dev/null || true; done
  deadline=$((SECONDS + STOP_TIMEOUT))
  for pid in "$@"; do
    while alive "$pid"; do
      if ((SECONDS >= deadline)); then
        log "pid $pid still running ${STOP_TIMEOUT} s after SIG$sig: SIGKILL"
        kill -KILL "$pid" 2>/dev/null || true
        STOP_KILLED=$((STOP_KILLED + 1))
        deadline=$((SECONDS + 10))
      fi
      nap 0.05
    done
    wait "$pid" 2>/dev/null || true
  done
  now_us
  STOP_S="$(awk -v a="$t0" -v b="$NOW_US" 'BEGIN { printf "%.2f", (b - a) / 1e6 }')"
}

cleanup() {
  set +e
  [ -d "$TMP" ] && touch "$TMP/appender.stop"
  [ -n "$APPENDER_PID" ] && kill "$APPENDER_PID" 2>/dev/null && wait "$APPENDER_PID" 2>/dev/null
  local pids=() p
  for p in "${HOST_PID[@]}"; do [ -n "$p" ] && alive "$p" && pids+=("$p"); done
  [ -n "$STORE_PID" ] && alive "$STORE_PID" && pids+=("$STORE_PID")
  [ "${#pids[@]}" -gt 0 ] && stop_pids TERM "${pids[@]}"
  if [ "$STARTED_BROKER" = 1 ]; then "$ROOT/deploy/kafka/kafka.sh" stop >/dev/null 2>&1; fi
  if [ "$KEEP_TMP" = 1 ]; then log "kept $TMP"; else rm -rf "$TMP"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---------------------------------------------------------------------------------------------
# Broker and topics

start_private_broker /tmp/bench-kafka
kcat -L -b "$BOOTSTRAP" -m 10 >/dev/null 2>&1 || die "no broker answers at $BOOTSTRAP"
BROKER_PID=""
[ "$STARTED_BROKER" = 1 ] && BROKER_PID="$(cat "$KAFKA_STATE_DIR/kafka.pid" 2>/dev/null || true)"

RUN_ID="cc-$(date +%s)"
topic_name() { echo "$RUN_ID-h$1-r$2-c$3"; }  # topic_name HOSTS ROUND CONNECTOR

log "creating $(((${#HOST_LIST[@]} * REPEAT + 1) * CONNECTORS)) topics of $PARTS partitions (TopicCommand, one JVM each)"
for ((c = 0; c < CONNECTORS; c++)); do create_topic "$(topic_name "${HOST_LIST[0]}" 0 "$c")" "$PARTS"; done  # warm-up
for ((r = 1; r <= REPEAT; r++)); do
  for h in "${HOST_LIST[@]}"; do
    for ((c = 0; c < CONNECTORS; c++)); do create_topic "$(topic_name "$h" "$r" "$c")" "$PARTS"; done
  done
done

# ---------------------------------------------------------------------------------------------
# Connector ids: Kafka's murmur2 of the id modulo the slots places a connector
# (runtime/src/cluster/slots.cpp); ids in distinct slots, while there are free slots.

murmur2() {  # murmur2 STRING -> MURMUR
  local s="$1" n=${#1} h k i m=0x5bd1e995 mask=0xffffffff
  local -a b=()
  for ((i = 0; i < n; i++)); do printf -v "b[i]" '%d' "'${s:i:1}"; done
  h=$(((0x9747b28c ^ n) & mask))
  for ((i = 0; i + 4 <= n; i += 4)); do
    k=$((b[i] | b[i + 1] << 8 | b[i + 2] << 16 | b[i + 3] << 24))
    k=$(((k * m) & mask)); k=$((k ^ (k >> 24))); k=$(((k * m) & mask))
    h=$(((h * m) & mask)); h=$((h ^ k))
  done
  case $((n % 4)) in
    3) h=$((h ^ (b[i + 2] << 16) ^ (b[i + 1] << 8) ^ b[i])); h=$(((h * m) & mask)) ;;
    2) h=$((h ^ (b[i + 1] << 8) ^ b[i])); h=$(((h * m) & mask)) ;;
    1) h=$((h ^ b[i])); h=$(((h * m) & mask)) ;;
  esac
  h=$((h ^ (h >> 13))); h=$(((h * m) & mask)); h=$((h ^ (h >> 15)))
  MURMUR=$h
}
IDS=()
declare -A TAKEN_SLOTS=()
for ((n = 0; ${#IDS[@]} < CONNECTORS; n++)); do
  murmur2 "bench-c$n"
  slot=$(((MURMUR & 0x7fffffff) % SLOTS))
  if [ -z "${TAKEN_SLOTS[$slot]-}" ] || ((${#TAKEN_SLOTS[@]} >= SLOTS)); then
    TAKEN_SLOTS[$slot]=1
    IDS+=("bench-c$n")
  fi
done
DISTINCT_SLOTS=${#TAKEN_SLOTS[@]}

# ---------------------------------------------------------------------------------------------
# The store and its backlog (the events of delivery_compare.sh: ~250-byte JSON, 100 streams)

wait_health() {  # wait_health PORT PID LOG
  local deadline=$((SECONDS + START_TIMEOUT))
  until curl -sf -o /dev/null "http://127.0.0.1:$1/health"; do
    alive "$2" || { tail -20 "$3" >&2; die "sinkhost on port $1 exited (log $3)"; }
    ((SECONDS < deadline)) || { tail -20 "$3" >&2; die "sinkhost on port $1 did not answer /health in $START_TIMEOUT s"; }
    nap 0.05
  done
}

log "writing $EVENTS events"
write_backlog "$EVENTS" "$BATCH" cccccccc

free_port; STORE_PORT=$FREE_PORT
free_port; GRPC_PORT=$FREE_PORT
log "starting the store (HTTP $STORE_PORT, gRPC $GRPC_PORT) and appending the backlog over HTTP"
"$SINKHOST" --data-dir "$TMP/store" --listen "127.0.0.1:$STORE_PORT" --grpc-listen "127.0.0.1:$GRPC_PORT" \
  --delivery-nice 0 --log-level warn >>"$TMP/store.log" 2>&1 &
STORE_PID=$!
wait_health "$STORE_PORT" "$STORE_PID" "$TMP/store.log"
append_backlog "$STORE_PORT" "$EVENTS"

# ---------------------------------------------------------------------------------------------
# REST calls over lib.sh's keep-alive client, one connection per port.

http() { http_request "$@"; }  # http PORT METHOD PATH [BODY] -> HTTP_STATUS HTTP_BODY; fails when nobody answers
# read_items: the items of a GET /connectors answer in HTTP_BODY -> IT_HOST, IT_STATE, IT_POS
# (connector id -> host, state, committed position) and IT_ERROR (ids of failed connectors).
declare -A IT_HOST=() IT_STATE=() IT_POS=()
IT_ERROR=""
read_items() {
  local rest="$HTTP_BODY" item id
  IT_HOST=() IT_STATE=() IT_POS=() IT_ERROR=""
  while [[ "$rest" == *'{"connectorId":"'* ]]; do
    rest="${rest#*\{\"connectorId\":\"}"
    item="${rest%%\{\"connectorId\":\"*}"
    id="${item%%\"*}"
    [[ "$item" =~ \"host\":\"([^\"]*)\" ]] && IT_HOST[$id]="${BASH_REMATCH[1]}"
    [[ "$item" =~ \"state\":\"([^\"]*)\" ]] && IT_STATE[$id]="${BASH_REMATCH[1]}"
    [[ "$item" =~ \"position\":([0-9]+) ]] && IT_POS[$id]="${BASH_REMATCH[1]}"
    [[ "$item" =~ errorDetails|CONNECTOR_STATE_FAILED ]] && IT_ERROR+=" $id"
  done
  return 0
}
list_on() {  # list_on HOST_INDEX: GET /connectors there, read_items
  http "${HOST_PORT[$1]}" GET /connectors || die "host-$1 (port ${HOST_PORT[$1]}) does not answer GET /connectors"
  [ "$HTTP_STATUS" = 200 ] || die "GET /connectors on host-$1: $HTTP_STATUS $HTTP_BODY"
  read_items
  [ -z "$IT_ERROR" ] || die "connector(s)$IT_ERROR failed, as host-$1 shows: $HTTP_BODY"
}
rest_json() {  # rest_json HOST_INDEX METHOD PATH [BODY]: a REST call that must answer 200
  http "${HOST_PORT[$1]}" "$2" "$3" "${4-}" || die "$2 $3 on host-$1: no answer"
  [ "$HTTP_STATUS" = 200 ] || die "$2 $3 on host-$1: $HTTP_STATUS $HTTP_BODY"
}
connector_json() {  # connector_json TOPIC
  printf '{"settings":{"instanceTypeName":"kafka-sink","topic":"%s","bootstrapServers":"%s",%s}}' "$1" "$BOOTSTRAP" \
    '"subscription:initialPosition":"earliest","autocommit:interval":"100"'
}
log_problems() {  # log_problems LOG...: warning and error lines of host logs, counted
  cat "$@" 2>/dev/null | grep -E '^[0-9T:.-]+ (warning|error|critical) ' || true
}

# ---------------------------------------------------------------------------------------------
# A cluster of hosts

CL_DIR="" CL_HOSTS=0
# start_cluster HOSTS GROUP DIR: every host at once, as an operator's script would start them
# (the hosts of a new group race to create its topics, which they must survive). Sets CL_EXEC_US
# (after the last exec).
start_host() {  # start_host INDEX GROUP
  local i="$1"
  free_port; HOST_PORT[i]=$FREE_PORT
  "$SINKHOST" --data-dir "$CL_DIR/host-$i" --listen "127.0.0.1:${HOST_PORT[i]}" --grpc-listen none \
    --source "kurrentdb://127.0.0.1:$GRPC_PORT?tls=false" --cluster "kafka://$BOOTSTRAP" --cluster-group "$2" \
    --cluster-host-id "host-$i" --cluster-slots "$SLOTS" --cluster-session-timeout-ms "$SESSION_MS" \
    --log-level info >"$CL_DIR/host-$i.log" 2>&1 &
  HOST_PID[i]=$!
}
start_cluster() {
  local i
  CL_HOSTS="$1" CL_DIR="$3"
  HOST_PID=() HOST_PORT=()
  mkdir -p "$CL_DIR"
  for ((i = 0; i < CL_HOSTS; i++)); do start_host "$i" "$2"; done
  now_us; CL_EXEC_US=$NOW_US
  for ((i = 0; i < CL_HOSTS; i++)); do wait_health "${HOST_PORT[i]}" "${HOST_PID[i]}" "$CL_DIR/host-$i.log"; done
}
stop_cluster() {  # sets STOP_S, STOP_KILLED
  local i pids=()
  for ((i = 0; i < CL_HOSTS; i++)); do
    http_close "${HOST_PORT[i]}"
    [ -n "${HOST_PID[i]}" ] && alive "${HOST_PID[i]}" && pids+=("${HOST_PID[i]}")
  done
  STOP_S=0 STOP_KILLED=0
  if [ "${#pids[@]}" -gt 0 ]; then stop_pids TERM "${pids[@]}"; fi
  HOST_PID=() HOST_PORT=()
  CL_HOSTS=0
}
# placement HOST_INDEX -> PLACEMENT ("id=host ..." as that host shows it; empty when a connector
# has no host yet) and PER_HOST ("host-0:2 host-1:2 ...", sorted)
placement() {
  local id out="" h
  declare -A count=()
  list_on "$1"
  for id in "${IDS[@]}"; do
    h="${IT_HOST[$id]-}"
    [ -n "$h" ] || { PLACEMENT="" PER_HOST=""; return 0; }
    out+="$id=$h "
    count[$h]=$((${count[$h]-0} + 1))
  done
  PLACEMENT="$out"
  PER_HOST="$(for h in "${!count[@]}"; do echo "$h:${count[$h]}"; done | sort | tr '\n' ' ')"
  PER_HOST="${PER_HOST% }"
}
# settle: creates the connectors (not started), each on the next host in turn (a command works on
# any host), and waits until every host shows each placed on a host, the same placement
# everywhere, over as many hosts as the slots allow, unchanged for 1 s. Sets SETTLE_S (from the
# last host's exec) and CREATE_S (the mean time of one POST /connectors/{id}, retries included).
settle() {  # settle HOSTS ROUND
  local i c first want distinct prev="" since=0 deadline=$((SECONDS + SETTLE_TIMEOUT)) t0
  now_us; t0=$NOW_US
  for ((c = 0; c < CONNECTORS; c++)); do
    i=$((c % CL_HOSTS))
    http "${HOST_PORT[i]}" POST "/connectors/${IDS[c]}" "$(connector_json "$(topic_name "$1" "$2" "$c")")" \
      || die "POST /connectors/${IDS[c]} on host-$i: no answer"
    # a host that has not joined its group yet refuses (503): retry until the deadline
    while [ "$HTTP_STATUS" != 200 ]; do
      ((SECONDS < deadline)) || die "creating ${IDS[c]} on host-$i: $HTTP_STATUS $HTTP_BODY"
      nap 0.2
      http "${HOST_PORT[i]}" POST "/connectors/${IDS[c]}" "$(connector_json "$(topic_name "$1" "$2" "$c")")" \
        || die "POST /connectors/${IDS[c]} on host-$i: no answer"
    done
  done
  now_us
  CREATE_S="$(awk -v a="$t0" -v b="$NOW_US" -v n="$CONNECTORS" 'BEGIN { printf "%.2f", (b - a) / 1e6 / n }')"
  want=$((CL_HOSTS < DISTINCT_SLOTS ? CL_HOSTS : DISTINCT_SLOTS))
  while :; do
    placement 0
    first="$PLACEMENT"
    if [ -n "$first" ]; then
      distinct="$(wc -w <<<"$PER_HOST")"
      for ((i = 1; i < CL_HOSTS; i++)); do
        placement "$i"
        [ "$PLACEMENT" = "$first" ] || { first=""; break; }
      done
      [ "$distinct" = "$want" ] || first=""
    fi
    now_us
    if [ -z "$first" ] || [ "$first" != "$prev" ]; then
      prev="$first" since=$NOW_US
    elif ((NOW_US - since >= 1000000)); then
      break
    fi
    if ((SECONDS >= deadline)); then
      for ((i = 0; i < CL_HOSTS; i++)); do placement "$i"; log "host-$i shows: ${PER_HOST:-(some connector without a host)}"; done
      die "the $CL_HOSTS-host cluster did not place the $CONNECTORS connectors over $want host(s) in $SETTLE_TIMEOUT s (logs: $CL_DIR)"
    fi
    nap 0.1
  done
  placement 0
  SETTLE_S="$(awk -v a="$CL_EXEC_US" -v b="$since" 'BEGIN { printf "%.2f", (b - a) / 1e6 }')"
}
# owner_positions: every host's own view of the connectors it runs -> POS (id -> committed
# position, only of connectors whose host shows them as its own).
declare -A POS=()
SKIP_HOST=""
owner_positions() {
  local i id
  POS=()
  for ((i = 0; i < CL_HOSTS; i++)); do
    [ "$i" = "$SKIP_HOST" ] && continue
    list_on "$i"
    for id in "${IDS[@]}"; do
      [ "${IT_HOST[$id]-}" = "host-$i" ] && POS[$id]="${IT_POS[$id]-0}"
    done
  done
  return 0
}
all_at() {  # all_at POSITION: every connector's owner shows its checkpoint at POSITION or past it
  local id
  for id in "${IDS[@]}"; do (("${POS[$id]-0}" >= $1)) || return 1; done
}
positions_text() {
  local id out=""
  for id in "${IDS[@]}"; do out+="$id@${POS[$id]-none} "; done
  echo "${out% }"
}

# deliver: starts every connector (REST calls spread over the hosts) and waits until every
# committed checkpoint is the store's last event. Sets RUN_S, HOSTS_CPU_S, STORE_CPU_S,
# BROKER_CPU_S (empty unless the broker is this script's) and RUN_BUSY (cores busy, every process).
deliver() {
  local c i cpu0=0 cpu1=0 store0 broker0 busy0 all0 t0 deadline=$((SECONDS + 120 + CONNECTORS * EVENTS / 1000))
  for ((i = 0; i < CL_HOSTS; i++)); do cpu_ticks "${HOST_PID[i]}"; cpu0=$((cpu0 + CPU_TICKS)); done
  cpu_ticks "$STORE_PID"; store0=$CPU_TICKS
  broker0=""
  if [ -n "$BROKER_PID" ] && cpu_ticks "$BROKER_PID" 2>/dev/null; then broker0=$CPU_TICKS; fi
  machine_ticks; busy0=$MT_BUSY all0=$MT_ALL
  now_us; t0=$NOW_US
  for ((c = 0; c < CONNECTORS; c++)); do rest_json $((c % CL_HOSTS)) POST "/connectors/${IDS[c]}/start"; done
  while :; do
    owner_positions
    all_at "$LAST" && break
    ((SECONDS < deadline)) || die "not caught up after $((120 + CONNECTORS * EVENTS / 1000)) s: $(positions_text) (last $LAST; logs: $CL_DIR)"
    nap 0.05
  done
  now_us
  for ((i = 0; i < CL_HOSTS; i++)); do cpu_ticks "${HOST_PID[i]}"; cpu1=$((cpu1 + CPU_TICKS)); done
  BROKER_CPU_S=""
  if [ -n "$broker0" ] && cpu_ticks "$BROKER_PID" 2>/dev/null; then
    BROKER_CPU_S="$(awk -v a="$broker0" -v b="$CPU_TICKS" -v t="$TICKS" 'BEGIN { printf "%.2f", (b - a) / t }')"
  fi
  cpu_ticks "$STORE_PID"
  machine_ticks
  RUN_S="$(awk -v a="$t0" -v b="$NOW_US" 'BEGIN { printf "%.3f", (b - a) / 1e6 }')"
  HOSTS_CPU_S="$(awk -v a="$cpu0" -v b="$cpu1" -v t="$TICKS" 'BEGIN { printf "%.2f", (b - a) / t }')"
  STORE_CPU_S="$(awk -v a="$store0" -v b="$CPU_TICKS" -v t="$TICKS" 'BEGIN { printf "%.2f", (b - a) / t }')"
  RUN_BUSY="$(awk -v b="$((MT_BUSY - busy0))" -v a="$((MT_ALL - all0))" -v c="$(nproc)" 'BEGIN { printf "%.2f", (a > 0 ? c * b / a : 0) }')"
}

# ---------------------------------------------------------------------------------------------
# Failover: a steady flow of appends, one host SIGKILLed

# The appender (in the background): RATE events a second in 10 appends, to 10 streams, until
# $TMP/appender.stop exists; each acknowledged append adds "TIME_US LAST_POSITION" to
# $TMP/appended.txt.
appender() {
  local per=$(((RATE + 9) / 10)) k=0 e n=0 body answer next d
  trap - EXIT
  now_us; next=$NOW_US
  while [ ! -e "$TMP/appender.stop" ]; do
    body="["
    for ((e = 0; e < per; e++, n++)); do
      ((e > 0)) && body+=","
      printf -v body '%s{"eventId":"eeeeeeee-0000-4000-8000-%012d","eventType":"OrderPlaced","data":{"n":%d,"note":"live"},"metadata":{}}' "$body" "$n" "$n"
    done
    body+="]"
    answer="$(curl -sS -f -m 10 -X POST "http://127.0.0.1:$STORE_PORT/streams/live-$((k++ % 10))" \
      -H 'Content-Type: application/vnd.eventstore.events+json' --data-binary "$body" 2>&1)" \
      || { echo "$answer" >"$TMP/appender.failed"; exit 1; }
    now_us
    [[ "$answer" =~ \"lastPosition\":([0-9]+) ]] && echo "$NOW_US ${BASH_REMATCH[1]}" >>"$TMP/appended.txt"
    next=$((next + 100000))
    if ((next > NOW_US && next - NOW_US < 1000000)); then printf -v d '0.%06d' $((next - NOW_US)); nap "$d"; fi
  done
}
appended_by() {  # appended_by TIME_US -> the last position acknowledged by then
  awk -v t="$1" '$1 <= t { p = $2 } END { printf "%d\n", p }' "$TMP/appended.txt"
}
# catch_up T0_US [KILLED_INDEX]: polls every surviving host until (a) the first survivor shows
# every connector RUNNING on a survivor and (b) every connector's own host shows its checkpoint
# at or past the last event appended by T0 + 1 s. Sets RUNNING_S and CAUGHT_S (from T0), TARGET.
catch_up() {
  local t0="$1" killed="${2-}" first=0 id ok t_run="" t_caught="" limit=$((60 + 2 * SESSION_MS / 1000))
  local deadline=$((SECONDS + limit))
  TARGET=""
  SKIP_HOST="$killed"
  [ "$killed" = 0 ] && first=1
  while [ -z "$t_run" ] || [ -z "$t_caught" ]; do
    [ -e "$TMP/appender.failed" ] && die "the appender failed: $(cat "$TMP/appender.failed")"
    now_us
    if [ -z "$TARGET" ] && ((NOW_US >= t0 + 1000000)); then TARGET="$(appended_by $((t0 + 1000000)))"; fi
    if [ -z "$t_run" ]; then
      list_on "$first"
      ok=1
      for id in "${IDS[@]}"; do
        if [ "${IT_STATE[$id]-}" != CONNECTOR_STATE_RUNNING ] || [ -z "${IT_HOST[$id]-}" ] ||
          [ "${IT_HOST[$id]}" = "host-$killed" ]; then
          ok=0
          break
        fi
      done
      [ "$ok" = 1 ] && t_run=$NOW_US
    fi
    if [ -z "$t_caught" ] && [ -n "$TARGET" ]; then
      owner_positions
      if all_at "$TARGET"; then now_us; t_caught=$NOW_US; fi
    fi
    if ((SECONDS >= deadline)); then
      owner_positions
      local what="caught up"
      [ -n "$t_run" ] || what="all RUNNING on a survivor (host-$first shows: $HTTP_BODY)"
      die "${killed:+after killing host-$killed: }not $what in $limit s: $(positions_text) (target ${TARGET:-none}; logs: $CL_DIR)"
    fi
    nap 0.02
  done
  SKIP_HOST=""
  RUNNING_S="$(awk -v a="$t0" -v b="$t_run" 'BEGIN { printf "%.2f", (b - a) / 1e6 }')"
  CAUGHT_S="$(awk -v a="$t0" -v b="$t_caught" 'BEGIN { printf "%.2f", (b - a) / 1e6 }')"
}
log_time_us() {  # log_time_us "2026-12-06T15:35:56.459" -> microseconds since the epoch
  date -d "${1/T/ }" +%s%6N
}
# failover ROUND: on the running (caught-up) cluster. Sets FO_* for the tables.
failover() {
  local r="$1" i id best=-1 victim=-1 t_kill line t seen="" final deadline total sum=0 count
  declare -A owned=()
  rm -f "$TMP/appended.txt" "$TMP/appender.stop" "$TMP/appender.failed"
  : >"$TMP/appended.txt"
  appender &
  APPENDER_PID=$!
  nap 2
  # Without a kill, for comparison: the same wait for the events appended by now + 1 s.
  now_us
  catch_up "$NOW_US"
  FO_BASE_S=$CAUGHT_S
  placement 0
  for id in "${IDS[@]}"; do owned[${IT_HOST[$id]}]=$((${owned[${IT_HOST[$id]}]-0} + 1)); done
  for ((i = CL_HOSTS - 1; i >= 0; i--)); do
    if ((${owned[host-$i]-0} > best)); then best=${owned[host-$i]-0}; victim=$i; fi
  done
  ((best > 0)) || die "no host owns a connector: $PER_HOST"
  FO_VICTIM="host-$victim" FO_MOVED=$best FO_BEFORE="$PER_HOST"
  log "round $r: killing host-$victim (SIGKILL; it runs $best of $CONNECTORS connectors; $PER_HOST)"
  http_close "${HOST_PORT[victim]}"
  now_us; t_kill=$NOW_US
  kill -KILL "${HOST_PID[victim]}"
  wait "${HOST_PID[victim]}" 2>/dev/null || true
  HOST_PID[victim]=""
  catch_up "$t_kill" "$victim"
  FO_RUNNING_S=$RUNNING_S FO_CAUGHT_S=$CAUGHT_S
  SKIP_HOST="$victim"
  placement $(((victim + 1) % CL_HOSTS))
  FO_AFTER="$PER_HOST"
  # When the survivors' group took the lost slots (their logs' "slot(s) assigned" after the kill)
  FO_REBALANCE_S="-"
  for ((i = 0; i < CL_HOSTS; i++)); do
    [ "$i" = "$victim" ] && continue
    while IFS= read -r line; do
      [[ "$line" == *"slot(s) assigned"* ]] || continue
      t="$(log_time_us "${line%% *}")"
      if ((t >= t_kill)) && { [ -z "$seen" ] || ((t < seen)); }; then seen=$t; fi
    done <"$CL_DIR/host-$i.log"
  done
  [ -n "$seen" ] && FO_REBALANCE_S="$(awk -v a="$t_kill" -v b="$seen" 'BEGIN { printf "%.2f", (b - a) / 1e6 }')"
  # Stop the flow, let everything arrive, count what the topics hold.
  touch "$TMP/appender.stop"
  wait "$APPENDER_PID" || die "the appender failed: $(cat "$TMP/appender.failed" 2>/dev/null)"
  APPENDER_PID=""
  final="$(tail -1 "$TMP/appended.txt" | awk '{ print $2 }')"
  FO_APPENDED=$((final - LAST))
  deadline=$((SECONDS + 60))
  while owner_positions; ! all_at "$final"; do
    ((SECONDS < deadline)) || die "after the failover, not every connector reached $final in 60 s: $(positions_text)"
    nap 0.1
  done
  SKIP_HOST=""
  FO_LOST=0
  for ((i = 0; i < CONNECTORS; i++)); do
    count="$(topic_count "$(topic_name "$CL_HOSTS" "$r" "$i")" "$PARTS")"
    sum=$((sum + count))
    ((count < final)) && FO_LOST=$((FO_LOST + final - count))
  done
  total=$((CONNECTORS * final))
  FO_DUPLICATES=$((sum - total + FO_LOST))
  ((FO_LOST == 0)) || log "WARNING: the topics hold $FO_LOST messages fewer than the $total events delivered"
  # The store keeps what was appended: later runs deliver it too.
  LAST=$final
}

# ---------------------------------------------------------------------------------------------
# The runs

cores="$(nproc)"
echo "Cluster mode: $CONNECTORS kafka-sink connectors ($PARTS-partition topics, one each), each delivering a backlog"
echo "of $EVENTS events ($VALUE_BYTES-byte JSON values, 100 streams) from one store (sinkhost over KurrentDB's gRPC"
echo "protocol) through a cluster of ${HOST_COUNTS// /, } host(s); --cluster-slots $SLOTS, session timeout $SESSION_MS ms;"
echo "broker Kafka $KAFKA_VERSION at $BOOTSTRAP; $cores cores shared by all; load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "sinkhost: $("$SINKHOST" --version 2>&1 | head -1) ($SINKHOST)"
echo "connectors: ${IDS[*]}"
echo

per_event() { awk -v c="$1" -v n="$((CONNECTORS * LAST))" 'BEGIN { printf "%.1f", c * 1e6 / n }'; }
commas() { sed -E ':a; s/([0-9])([0-9]{3})($|,)/\1,\2\3/; ta' <<<"$1"; }
# The first host count of the list is the reference of the ratios (1 by default).
REF_HOSTS="${HOST_LIST[0]}"
declare -A RATE_OF=() REF_RATE=()
ROWS=() FO_ROWS=() PROBLEMS=()
# Warm-up, not timed: a whole run of the first host count (round 0). A freshly started broker
# spends about twice the CPU per message until its produce path is compiled, which counted
# against whichever host count ran first.
log "warm-up: an untimed run of ${HOST_LIST[0]} host(s)"
start_cluster "${HOST_LIST[0]}" "$RUN_ID-warmup" "$TMP/warmup"
settle "${HOST_LIST[0]}" 0
deliver
stop_cluster
for ((r = 1; r <= REPEAT; r++)); do
  # Round r runs the host counts rotated by r - 1 (1 2 3, then 2 3 1, ...): whatever drifts on
  # the machine during a run does not always favour the same count.
  order=()
  for ((k = 0; k < ${#HOST_LIST[@]}; k++)); do order+=("${HOST_LIST[(k + r - 1) % ${#HOST_LIST[@]}]}"); done
  for h in "${order[@]}"; do
    group="$RUN_ID-h$h-r$r"
    log "round $r: $h host(s), group $group"
    start_cluster "$h" "$group" "$TMP/h$h-r$r"
    settle "$h" "$r"
    deliver
    placement 0
    spread="$PER_HOST"
    for ((c = 0; c < CONNECTORS; c++)); do
      count="$(topic_count "$(topic_name "$h" "$r" "$c")" "$PARTS")"
      ((count >= LAST)) || die "topic $(topic_name "$h" "$r" "$c") holds $count messages, fewer than the $LAST events"
      ((count == LAST)) || log "WARNING: topic $(topic_name "$h" "$r" "$c") holds $count messages for $LAST events"
    done
    total_rate="$(awk -v n="$((CONNECTORS * LAST))" -v s="$RUN_S" 'BEGIN { printf "%.0f", n / s }')"
    run_events=$LAST
    RATE_OF[$h]="${RATE_OF[$h]-} $total_rate"
    [ "$h" = "$REF_HOSTS" ] && REF_RATE[$r]=$total_rate
    hosts_us="$(per_event "$HOSTS_CPU_S")" store_us="$(per_event "$STORE_CPU_S")"
    broker_us="-" others_us="$(per_event "$(awk -v b="$RUN_BUSY" -v s="$RUN_S" -v h="$HOSTS_CPU_S" -v st="$STORE_CPU_S" 'BEGIN { print b * s - h - st }')")"
    if [ -n "$BROKER_CPU_S" ]; then
      broker_us="$(per_event "$BROKER_CPU_S")"
      others_us="$(awk -v o="$others_us" -v b="$broker_us" 'BEGIN { printf "%.1f", o - b }')"
    fi
    log "$h host(s): $RUN_S s, $total_rate events/s, $spread"
    if [ "$FAILOVER" = 1 ] && [ "$h" = "$FAILOVER_HOSTS" ]; then
      failover "$r"
      FO_ROWS+=("$r|$SESSION_MS|$FO_VICTIM ($FO_MOVED of $CONNECTORS)|$FO_REBALANCE_S|$FO_RUNNING_S|$FO_CAUGHT_S|$FO_BASE_S|$FO_APPENDED|$FO_DUPLICATES|$FO_LOST|$FO_BEFORE -> $FO_AFTER")
    fi
    stop_cluster
    stopped="$STOP_S"; ((STOP_KILLED == 0)) || stopped="$STOP_S ($STOP_KILLED SIGKILL)"
    ROWS+=("$h|$r|$RUN_S|$total_rate|$spread|$hosts_us|$store_us|$broker_us|$others_us|$RUN_BUSY|$CREATE_S|$SETTLE_S|$stopped|$run_events")
    mapfile -t problems < <(log_problems "$TMP/h$h-r$r"/host-*.log)
    [ "${#problems[@]}" -eq 0 ] || PROBLEMS+=("$h host(s), round $r: ${#problems[@]} warning/error line(s) in the host logs, e.g.: ${problems[0]}")
  done
done
ratio_of() {  # ratio_of RATE ROUND -> that / the reference count's rate of the round
  if [ -n "${REF_RATE[$2]-}" ]; then awk -v a="$1" -v b="${REF_RATE[$2]}" 'BEGIN { printf "%.2f", a / b }'; else echo "-"; fi
}

row() { printf '%-5s %-5s %7s %8s %10s %8s %-26s %7s %7s %7s %7s %5s %7s %7s %s\n' "$@"; }
row hosts round events seconds "events/s" "vs $REF_HOSTS" "connectors per host" hosts store broker others busy create settle stop
for rw in "${ROWS[@]}"; do
  IFS='|' read -r h r secs rate spread hu su bu ou busy create settled stopped evs <<<"$rw"
  row "$h" "$r" "$evs" "$secs" "$rate" "$(ratio_of "$rate" "$r")" "$spread" "$hu" "$su" "$bu" "$ou" "$busy" "$create" "$settled" "$stopped"
done
echo "(events: per connector, the store's whole log (after a failover it holds that run's appends too);"
echo " events/s: $CONNECTORS x events / time from the first POST .../start to every committed checkpoint at"
echo " the last event; vs $REF_HOSTS: that / the $REF_HOSTS-host rate of the round; hosts, store, broker, others: CPU µs per"
echo " event delivered of all hosts together, the store, the broker (private broker only) and every other process"
echo " (this script, and whatever else ran); busy: cores of the machine busy meanwhile; create: one POST"
echo " /connectors/{id}, mean s; settle: s from the last host's exec to the connectors created and placed, the same on"
echo " every host's view for 1 s; stop: s from SIGTERM to the last host's exit)"
echo

if [ "${#FO_ROWS[@]}" -gt 0 ]; then
  echo "Failover ($FAILOVER_HOSTS hosts, $RATE events/s appended meanwhile, times from the SIGKILL):"
  printf '%-5s %-8s %-16s %10s %12s %12s %12s %9s %6s %5s  %s\n' round "session" "killed" "rebalance" "all RUNNING" "caught up" "no kill" appended dups lost placement
  for fo in "${FO_ROWS[@]}"; do
    IFS='|' read -r a b c d e f g i j k l <<<"$fo"
    printf '%-5s %-8s %-16s %9ss %11ss %11ss %11ss %9s %6s %5s  %s\n' "$a" "${b}ms" "${c%% *}" "$d" "$e" "$f" "$g" "$i" "$j" "$k" "$l"
  done
  echo "(rebalance: the first survivor log line \"slot(s) assigned\" after the kill; all RUNNING: a survivor's"
  echo " GET /connectors shows every connector RUNNING on a survivor; caught up: every checkpoint at or past the"
  echo " last event appended by the kill + 1 s; no kill: the same wait just before, nothing killed; dups: messages"
  echo " in the topics beyond one per event and connector, lost: events missing from a topic)"
  echo
fi

for p in "${PROBLEMS[@]}"; do echo "host logs: $p"; done
[ "${#PROBLEMS[@]}" -eq 0 ] || echo

# ---------------------------------------------------------------------------------------------
# Summary, Markdown

mean_rates() {  # mean_rates HOSTS -> mean events/s of its rounds
  # shellcheck disable=SC2086
  printf '%s\n' ${RATE_OF[$1]} | awk '{ t += $1 } END { printf "%.0f", t / NR }'
}
echo "### Summary"
echo
echo '```sh'
echo "$COMMAND_LINE"
echo '```'
echo
echo "$(date -u +%Y-%m-%d), $cores cores shared by the broker, the store, the hosts and the script; $CONNECTORS connectors x"
echo "$EVENTS events of backlog (later rounds: plus the failovers' appends), --cluster-slots $SLOTS, session timeout $SESSION_MS ms."
echo
echo "| hosts | round | connectors per host | seconds | events/s in total | vs $REF_HOSTS host(s) | CPU µs/event: hosts / store / broker / others | cores busy | create s | settle s | stop s |"
echo "|---:|---:|---|---:|---:|---:|---|---:|---:|---:|---:|"
for rw in "${ROWS[@]}"; do
  IFS='|' read -r h r secs rate spread hu su bu ou busy create settled stopped _ <<<"$rw"
  printf '| %s | %s | %s | %s | %s | %s | %s / %s / %s / %s | %s | %s | %s | %s |\n' "$h" "$r" "${spread// /, }" "$secs" \
    "$(commas "$rate")" "$(ratio_of "$rate" "$r")" "$hu" "$su" "$bu" "$ou" "$busy" "$create" "$settled" "$stopped"
done
if ((REPEAT > 1)); then
  one=""
  for h in "${HOST_LIST[@]}"; do
    m="$(mean_rates "$h")"
    [ -n "$one" ] || one=$m
    printf '| %s | mean | | | %s | %s | | | | | |\n' "$h" "$(commas "$m")" "$(awk -v a="$m" -v b="$one" 'BEGIN { printf "%.2f", a / b }')"
  done
fi
if [ "${#FO_ROWS[@]}" -gt 0 ]; then
  echo
  echo "| failover, $FAILOVER_HOSTS hosts, $RATE events/s | round | session timeout | killed host | rebalance seen | all RUNNING on survivors | caught up to kill + 1 s | same wait without a kill | duplicates | lost |"
  echo "|---|---:|---:|---|---:|---:|---:|---:|---:|---:|"
  for fo in "${FO_ROWS[@]}"; do
    IFS='|' read -r a b c d e f g _ j k _ <<<"$fo"
    printf '| | %s | %s ms | %s | %s s | %s s | %s s | %s s | %s | %s |\n' "$a" "$b" "$c" "$d" "$e" "$f" "$g" "$j" "$k"
  done
fi
