#!/usr/bin/env bash
# http-sink benchmark, side by side in one run against one local nginx: the real sinkhost daemon's
# http-sink delivering a backlog, one record per request and batched, against wrk and curl
# sending the same requests (the method, headers and body sinkhost sent, captured from a real
# request) over the same number of kept-alive connections. Prints numbers and ratios; not a test
# (docs/performance.md has the figures and the command).
#
#   tests/bench/http_compare.sh [--build DIR] [--events N] [--repeat R] [--connections C]
#                               [--batch B] [--no-curl] [--keep-tmp]
#
#   --build DIR        build directory with bin/sinkhost (default ./build)
#   --events N         events in the backlog, records per run (default 100000)
#   --repeat R         runs of sinkhost, wrk and curl per mode (default 3)
#   --connections C    http-sink's maxConnections, wrk's and curl's connections (default 4)
#   --batch B          batching:maxRecords of the batched mode (default 100)
#   --no-curl          skip curl
#   --keep-tmp         keep the temporary directory (data dir, requests, configs, logs)
#
# Ports 23200 (nginx), 23201 (sinkhost's API) and 23202 (the capture listener) must be free.
# Needs: nginx (/usr/sbin/nginx), wrk, curl, python3, awk, /usr/bin/time
# (deploy/install-deps.sh installs them).
set -euo pipefail
export LC_ALL=C

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
BUILD=./build
EVENTS=100000
REPEAT=3
CONNECTIONS=4
BATCH_RECORDS=100
CURL=1
KEEP_TMP=0
APPEND_EVENTS=100  # events per HTTP append, all of one stream (the backlog is not timed)
NGINX_PORT=23200
API_PORT=23201
CAPTURE_PORT=23202
NGINX=/usr/sbin/nginx

BENCH_NAME=http_compare
# shellcheck source=tests/bench/lib.sh
. "$ROOT/tests/bench/lib.sh"

while [ $# -gt 0 ]; do
  case "$1" in
    --build) BUILD="$2"; shift 2 ;;
    --events) EVENTS="$2"; shift 2 ;;
    --repeat) REPEAT="$2"; shift 2 ;;
    --connections) CONNECTIONS="$2"; shift 2 ;;
    --batch) BATCH_RECORDS="$2"; shift 2 ;;
    --no-curl) CURL=0; shift ;;
    --keep-tmp) KEEP_TMP=1; shift ;;
    -h|--help) sed -n '2,21p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown argument '$1' (see --help)" ;;
  esac
done
[[ "$EVENTS" =~ ^[1-9][0-9]*$ ]] || die "--events wants a positive integer"
[[ "$REPEAT" =~ ^[1-9][0-9]*$ ]] || die "--repeat wants a positive integer"
if ! [[ "$CONNECTIONS" =~ ^[1-9][0-9]*$ ]] || ((CONNECTIONS > 64)); then die "--connections wants 1 to 64 (maxConnections)"; fi
if ! [[ "$BATCH_RECORDS" =~ ^[1-9][0-9]*$ ]] || ((BATCH_RECORDS < 2 || BATCH_RECORDS > APPEND_EVENTS)); then
  die "--batch wants 2 to $APPEND_EVENTS (the events of one stream in a row in the backlog)"
fi
SINKHOST="$(cd "$BUILD" 2>/dev/null && pwd)/bin/sinkhost"
[ -x "$SINKHOST" ] || die "no $BUILD/bin/sinkhost (build it: cmake --build $BUILD --target sinkhost)"
for tool in curl wrk python3 awk /usr/bin/time "$NGINX"; do command -v "$tool" >/dev/null || die "needs $tool (deploy/install-deps.sh)"; done
TICKS="$(getconf CLK_TCK)"

TMP="$(mktemp -d /tmp/http-compare.XXXXXX)"
DPID="" NPID="" LPID=""
cleanup() {
  set +e
  [ -n "$LPID" ] && kill "$LPID" 2>/dev/null && wait "$LPID" 2>/dev/null
  [ -n "$DPID" ] && kill "$DPID" 2>/dev/null && wait "$DPID" 2>/dev/null
  # nginx's master stops its worker on TERM (fast shutdown)
  [ -n "$NPID" ] && kill "$NPID" 2>/dev/null && wait "$NPID" 2>/dev/null
  if [ "$KEEP_TMP" = 1 ]; then log "kept $TMP"; else rm -rf "$TMP"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

elapsed_s() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", (b - a) / 1e6 }'; }

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
wait_port() {  # wait_port PORT PID NAME LOG: until something listens on PORT
  local i
  for ((i = 0; i < 1000; i++)); do
    port_free "$1" || return 0
    kill -0 "$2" 2>/dev/null || { tail -20 "$4" >&2; die "$3 exited"; }
    nap 0.01
  done
  die "$3 does not listen on port $1"
}
for port in "$NGINX_PORT" "$API_PORT" "$CAPTURE_PORT"; do port_free "$port" || die "port $port is in use"; done

# ---------------------------------------------------------------------------------------------
# The receiver: nginx, one worker, answering 200 to everything, bodies read and dropped.

start_nginx() {
  local dir="$TMP/nginx" user=""
  mkdir -p "$dir/temp"
  # as root, nginx would hand its worker to "nobody": keep it the current user's
  [ "$(id -u)" = 0 ] && user="user $(id -un) $(id -gn);"
  cat >"$dir/nginx.conf" <<EOF
$user
worker_processes 1;
pid $dir/nginx.pid;
error_log $dir/error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  keepalive_requests 100000000;
  keepalive_timeout 300s;
  client_max_body_size 64m;
  client_body_buffer_size 1m;
  client_body_temp_path $dir/temp/body;
  proxy_temp_path $dir/temp/proxy;
  fastcgi_temp_path $dir/temp/fastcgi;
  uwsgi_temp_path $dir/temp/uwsgi;
  scgi_temp_path $dir/temp/scgi;
  server {
    listen 127.0.0.1:$NGINX_PORT;
    location = /nginx-status { stub_status; }
    location / { return 200; }
  }
}
EOF
  "$NGINX" -p "$dir" -c "$dir/nginx.conf" -e "$dir/error.log" -g 'daemon off;' >>"$dir/stdout.log" 2>&1 &
  NPID=$!
  wait_port "$NGINX_PORT" "$NPID" nginx "$dir/error.log"
}
nginx_counters() {  # -> NGINX_ACCEPTS NGINX_REQUESTS (stub_status; this request counts)
  local status
  status="$(curl -sS -f "http://127.0.0.1:$NGINX_PORT/nginx-status")" || die "nginx status failed"
  read -r NGINX_ACCEPTS _ NGINX_REQUESTS < <(sed -n 3p <<<"$status")
}
# counted RUN...: runs the command; sets SENT_REQUESTS and OPENED_CONNECTIONS at nginx
counted() {
  local a0 r0
  nginx_counters; a0=$NGINX_ACCEPTS r0=$NGINX_REQUESTS
  "$@"
  nginx_counters
  SENT_REQUESTS=$((NGINX_REQUESTS - r0 - 1))
  OPENED_CONNECTIONS=$((NGINX_ACCEPTS - a0 - 1))
}

# ---------------------------------------------------------------------------------------------
# The backlog (lib.sh's write_backlog): EVENTS events of ~250-byte JSON data and two metadata
# entries, appended APPEND_EVENTS at a time, each append to the next of 100 streams, so that
# every stream has APPEND_EVENTS events in a row.

# ---------------------------------------------------------------------------------------------
# The daemon and a keep-alive HTTP client in bash (polling with curl would fork a process every
# few milliseconds on the cores being measured).

start_daemon() {
  "$SINKHOST" --data-dir "$TMP/data" --listen "127.0.0.1:$API_PORT" --grpc-listen none --delivery-nice 0 --log-level warn \
    >>"$TMP/sinkhost.log" 2>&1 &
  DPID=$!
  local i
  for ((i = 0; i < 3000; i++)); do
    curl -sf -o /dev/null "http://127.0.0.1:$API_PORT/health" && return 0
    kill -0 "$DPID" 2>/dev/null || { tail -20 "$TMP/sinkhost.log" >&2; die "sinkhost exited"; }
    nap 0.01
  done
  die "sinkhost does not answer /health"
}
http() {  # http METHOD PATH [BODY] -> HTTP_STATUS HTTP_BODY
  http_request "$API_PORT" "$@" || die "HTTP $1 $2: no answer"
}
# The daemon closes a connection idle for --request-timeout-seconds (30 s: wrk and curl may run
# longer), and a write to it would end this script with SIGPIPE: one connection per run.
close_http() { http_close "$API_PORT"; }
curl_json() {  # curl_json METHOD PATH [BODY]: a REST call outside the clock; fails loudly
  curl -sS -f -X "$1" "http://127.0.0.1:$API_PORT$2" -H 'Content-Type: application/json' ${3:+-d "$3"} >/dev/null \
    || die "$1 $2 failed"
}
connector_json() {  # connector_json URL MAX_RECORDS MAX_CONNECTIONS
  cat <<EOF
{"settings": {"instanceTypeName": "http-sink", "url": "$1",
  "subscription:initialPosition": "earliest", "autocommit:interval": "100",
  "maxConnections": "$3", "batching:maxRecords": "$2"}}
EOF
}

# ---------------------------------------------------------------------------------------------
# The request wrk and curl send: captured from sinkhost itself. A listener answers 200 to a
# capture connector (one connection) and writes the first request that holds RECORDS records
# (esdb-batch-size; none for one record) as it came. It keeps answering until the connector has
# stopped: a connector stopped while it waits to retry would take that wait to stop.

capture_request() {  # capture_request NAME RECORDS OUT
  local name="$1" records="$2" out="$3" i
  python3 - "$CAPTURE_PORT" "$records" "$out" >"$TMP/capture.log" 2>&1 <<'EOF' &
import os, socket, sys
port, records, out = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
server = socket.create_server(("127.0.0.1", port))
while True:
    conn, _ = server.accept()
    stream = conn.makefile("rb")
    while True:
        head = b""
        while not head.endswith(b"\r\n\r\n"):
            line = stream.readline()
            if not line:
                break
            head += line
        if not head.endswith(b"\r\n\r\n"):
            break
        fields = dict(l.split(b":", 1) for l in head.split(b"\r\n")[1:] if b":" in l)
        fields = {k.strip().lower(): v.strip() for k, v in fields.items()}
        body = stream.read(int(fields.get(b"content-length", b"0")))
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
        if int(fields.get(b"esdb-batch-size", b"1")) == records and not os.path.exists(out):
            with open(out + ".part", "wb") as f:
                f.write(head + body)
            os.rename(out + ".part", out)
    conn.close()
EOF
  LPID=$!
  wait_port "$CAPTURE_PORT" "$LPID" "the capture listener" "$TMP/capture.log"
  curl_json POST "/connectors/$name" "$(connector_json "http://127.0.0.1:$CAPTURE_PORT/ingest" "$records" 1)"
  curl_json POST "/connectors/$name/start"
  for ((i = 0; i < 3000; i++)); do
    [ -s "$out" ] && break
    kill -0 "$LPID" 2>/dev/null || { cat "$TMP/capture.log" >&2; die "the capture listener exited"; }
    nap 0.01
  done
  [ -s "$out" ] || die "no request of $records record(s) reached the capture listener"
  curl_json POST "/connectors/$name/stop"
  kill "$LPID"
  wait "$LPID" || true
  LPID=""
}
# request_body REQUEST OUT: the body of a captured request
request_body() { python3 -c 'import sys; d = open(sys.argv[1], "rb").read(); open(sys.argv[2], "wb").write(d[d.index(b"\r\n\r\n") + 4:])' "$1" "$2"; }
# request_headers REQUEST: its header lines but Host and Content-Length
request_headers() { sed -n '2,/^\r$/p' "$1" | tr -d '\r' | grep -v -i -e '^host:' -e '^content-length:' -e '^$'; }

# ---------------------------------------------------------------------------------------------
# The three senders. Each sets RUN_S (wall time) and RUN_CPU_S (its CPU).

# sinkhost_run ID: starts the (created) connector and waits until its committed checkpoint is
# the last event; CPU of the whole daemon.
sinkhost_run() {
  local id="$1" p
  cpu_ticks "$DPID"; local cpu0=$CPU_TICKS
  now_us; local t0=$NOW_US
  http POST "/connectors/$id/start"
  [ "$HTTP_STATUS" = 200 ] || die "start $id: $HTTP_STATUS $HTTP_BODY"
  while :; do
    http GET "/connectors/$id"
    p=0
    [[ "$HTTP_BODY" =~ \"position\":([0-9]+) ]] && p="${BASH_REMATCH[1]}"
    [[ "$HTTP_BODY" =~ errorDetails ]] && die "connector $id failed: $HTTP_BODY"
    ((p >= LAST)) && break
    nap 0.005
  done
  now_us
  cpu_ticks "$DPID"
  RUN_S="$(elapsed_s "$t0" "$NOW_US")"
  RUN_CPU_S="$(awk -v a="$cpu0" -v b="$CPU_TICKS" -v t="$TICKS" 'BEGIN { printf "%.3f", (b - a) / t }')"
  curl_json POST "/connectors/$id/stop"
  close_http
}

# wrk_run REQUEST COUNT: one thread, CONNECTIONS connections, the captured request until COUNT
# answers (tests/bench/wrk_replay.lua ends wrk then); from exec to exit, as curl.
wrk_run() {
  now_us; local t0=$NOW_US
  /usr/bin/time -f '%U %S' -o "$TMP/wrk.time" \
    wrk -t 1 -c "$CONNECTIONS" -d "$((60 + $2 / 500))s" --timeout 10s -s "$ROOT/tests/bench/wrk_replay.lua" \
    "http://127.0.0.1:$NGINX_PORT/ingest" -- "$1" "$2" >"$TMP/wrk.out" 2>&1 || { cat "$TMP/wrk.out" >&2; die "wrk failed"; }
  now_us
  [[ "$(<"$TMP/wrk.out")" =~ replay\ answers=([0-9]+)\ non2xx=([0-9]+) ]] \
    || { cat "$TMP/wrk.out" >&2; die "wrk ended before $2 answers"; }
  ((BASH_REMATCH[2] == 0)) || die "wrk got ${BASH_REMATCH[2]} answers other than 2xx"
  RUN_S="$(elapsed_s "$t0" "$NOW_US")"
  RUN_CPU_S="$(awk '{ printf "%.3f", $1 + $2 }' "$TMP/wrk.time")"
}

# curl_config REQUEST COUNT OUT: one curl operation of COUNT URLs with the request's headers and body
curl_config() {
  local request="$1" count="$2" out="$3" i
  request_body "$request" "$out.body"
  {
    echo "silent"
    echo "show-error"
    echo "parallel"
    echo "parallel-max = $CONNECTIONS"
    echo "parallel-immediate"   # open the connections at once instead of waiting to reuse the first
    printf 'write-out = "%%{http_code}\\n"\n'
    echo "header = \"Expect:\""
    request_headers "$request" | sed 's/^\(.*\)$/header = "\1"/'
    echo "data-binary = \"@$out.body\""
    for ((i = 0; i < count; i++)); do echo "url = \"http://127.0.0.1:$NGINX_PORT/ingest\""; done
  } >"$out"
}
# curl_run CONFIG COUNT: from exec to exit
curl_run() {
  now_us; local t0=$NOW_US
  /usr/bin/time -f '%U %S' -o "$TMP/curl.time" curl -K "$1" >"$TMP/curl.out" 2>"$TMP/curl.err" \
    || { tail -5 "$TMP/curl.err" >&2; die "curl failed"; }
  now_us
  local ok
  ok="$(grep -c '^200$' "$TMP/curl.out" || true)"
  ((ok == $2)) || die "curl got $ok answers 200, expected $2"
  RUN_S="$(elapsed_s "$t0" "$NOW_US")"
  RUN_CPU_S="$(awk '{ printf "%.3f", $1 + $2 }' "$TMP/curl.time")"
}

# ---------------------------------------------------------------------------------------------
# One mode: REPEAT runs of the three, the order rotating from run to run, one row per run and
# the mean.

row() { printf '%-6s %-4s %10s %10s %10s %8s %8s %8s %8s %8s\n' "$@"; }
# run_mode MODE RECORDS: RECORDS per request (1: one record per request)
run_mode() {
  local mode="$1" records="$2"
  local request="$TMP/request-$mode.txt" requests r side order rows=() mean
  local sh_s sh_cpu wrk_s wrk_cpu curl_s=0 curl_cpu=0 sh_requests=0 sh_connections=0 wrk_connections=0 curl_connections=0
  requests=$(((EVENTS + records - 1) / records))
  capture_request "capture-$mode" "$records" "$request"
  [ "$CURL" = 1 ] && curl_config "$request" "$requests" "$TMP/curl-$mode.cfg"
  log "$mode: $(wc -c <"$request") bytes per request as captured; sinkhost $EVENTS records, wrk and curl $requests requests"
  for ((r = 1; r <= REPEAT; r++)); do
    curl_json POST "/connectors/http-$mode-r$r" \
      "$(connector_json "http://127.0.0.1:$NGINX_PORT/ingest" "$records" "$CONNECTIONS")"
    case $((r % 3)) in 1) order="sinkhost wrk curl" ;; 2) order="curl sinkhost wrk" ;; 0) order="wrk curl sinkhost" ;; esac
    for side in $order; do
      case "$side" in
        sinkhost)
          counted sinkhost_run "http-$mode-r$r"; sh_s=$RUN_S sh_cpu=$RUN_CPU_S
          ((SENT_REQUESTS >= requests)) || die "sinkhost sent $SENT_REQUESTS requests, at least $requests expected"
          sh_requests=$((sh_requests + SENT_REQUESTS)) sh_connections=$((sh_connections + OPENED_CONNECTIONS)) ;;
        wrk)
          counted wrk_run "$request" "$requests"; wrk_s=$RUN_S wrk_cpu=$RUN_CPU_S
          wrk_connections=$((wrk_connections + OPENED_CONNECTIONS)) ;;
        curl)
          [ "$CURL" = 1 ] || continue
          counted curl_run "$TMP/curl-$mode.cfg" "$requests"; curl_s=$RUN_S curl_cpu=$RUN_CPU_S
          curl_connections=$((curl_connections + OPENED_CONNECTIONS)) ;;
      esac
    done
    # wrk and curl deliver `records` records per request
    rows+=("$(awk -v n="$EVENTS" -v q="$requests" -v k="$records" -v s="$sh_s" -v w="$wrk_s" -v c="$curl_s" \
      -v sc="$sh_cpu" -v wc="$wrk_cpu" -v cc="$curl_cpu" 'BEGIN {
        rs = n / s; rw = q * k / w
        if (c > 0) { rc = sprintf("%.0f", q * k / c); rsc = sprintf("%.2f", rs * c / (q * k)); uc = sprintf("%.1f", cc * 1e6 / (q * k)) }
        else { rc = rsc = uc = "-" }
        printf "%.0f %.0f %s %.2f %s %.1f %.1f %s\n", rs, rw, rc, rs / rw, rsc, sc * 1e6 / n, wc * 1e6 / (q * k), uc }')")
    # shellcheck disable=SC2086
    row "$mode" "$r" ${rows[-1]}
  done
  mean="$(printf '%s\n' "${rows[@]}" | awk '{ for (i = 1; i <= NF; i++) t[i] += $i } END {
    if (t[3] > 0) { rc = sprintf("%.0f", t[3] / NR); rsc = sprintf("%.2f", t[1] / t[3]); uc = sprintf("%.1f", t[8] / NR) }
    else { rc = rsc = uc = "-" }
    printf "%.0f %.0f %s %.2f %s %.1f %.1f %s\n", t[1] / NR, t[2] / NR, rc, t[1] / t[2], rsc, t[6] / NR, t[7] / NR, uc }')"
  # shellcheck disable=SC2086
  row "$mode" mean $mean
  NOTES+=("$(awk -v m="$mode" -v n="$EVENTS" -v r="$REPEAT" -v q="$sh_requests" -v sc="$sh_connections" -v wc="$wrk_connections" \
    -v cc="$curl_connections" -v curl="$CURL" 'BEGIN {
      printf "%s: sinkhost sent %.0f requests per run (%.1f records each), opened %.1f connections; wrk opened %.1f", m, q / r, n * r / q, sc / r, wc / r
      if (curl) printf ", curl %.1f", cc / r
      printf "\n" }')")
}

# ---------------------------------------------------------------------------------------------

log "writing $EVENTS events"
write_backlog "$EVENTS" "$APPEND_EVENTS" cccccccc
start_nginx
start_daemon
log "appending the backlog over HTTP"
append_backlog "$API_PORT" "$EVENTS"

echo "http-sink against wrk and curl: $EVENTS records of ~250-byte JSON values (100 streams, $APPEND_EVENTS events"
echo "in a row per stream), to nginx $("$NGINX" -v 2>&1 | sed 's:.*/::') (1 worker, return 200) on 127.0.0.1:$NGINX_PORT;"
echo "$CONNECTIONS connections (maxConnections=$CONNECTIONS, wrk -t 1 -c $CONNECTIONS, curl --parallel-max $CONNECTIONS);"
echo "$(nproc) cores; load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "sinkhost: $("$SINKHOST" --version 2>&1 | head -1); $(wrk -v 2>&1 | head -1 | cut -d' ' -f1-2); $(curl --version | head -1 | cut -d' ' -f1-2)"
echo
NOTES=()
row mode run sinkhost wrk curl "sh/wrk" "sh/curl" "sh µs" "wrk µs" "curl µs"
run_mode one 1
run_mode batch "$BATCH_RECORDS"
echo "(records/s; one = one record per request, batch = batching:maxRecords=$BATCH_RECORDS, wrk and curl sending the"
echo " captured batch of $BATCH_RECORDS records: records/s = requests/s x $BATCH_RECORDS; sh/wrk, sh/curl = sinkhost's rate / theirs;"
echo " µs = CPU (utime+stime) per record of the whole daemon, of wrk, of curl. sinkhost timed from POST start to the"
echo " committed checkpoint at the last event, wrk and curl from exec to exit)"
printf '%s\n' "${NOTES[@]}"
