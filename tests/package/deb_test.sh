#!/usr/bin/env bash
# The Debian package, end to end (ctest label package; docs/operations.md, "The Debian package"):
#   1. builds the .deb (the daemon and plugins if needed, then CPack) and checks what it holds
#   2. lintian: no errors
#   3. dpkg -i on this machine: the sinkhost user, /var/lib/sinkhost, the token; the unit passes
#      systemd-analyze verify
#   4. runs the installed binary as the unit would (systemd is not PID 1 here): the unit's own
#      ExecStart line, as the user sinkhost, with the packaged config and the token handed over
#      in a credentials directory, its READY=1 and STOPPING=1 read from a NOTIFY_SOCKET (the
#      unit is Type=notify); a kafka-sink connector (SCRAM, so its password is a secret
#      encrypted with that token) delivers an appended event to a real broker, checked with kcat
#   5. dpkg -r keeps the data, the token and the user; dpkg -P deletes them
# Whatever happens, the daemon and the broker are stopped and the package is purged again.
#
#   tests/package/deb_test.sh BUILD_DIR
# Needs root (dpkg -i); exits 77 (skipped) otherwise, and for a sanitizer build. Refuses to run
# when a sinkhost package, user or data directory is already on the machine: it would purge them.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd -P)"
PROG="deb_test"
die() { echo "$PROG: FAIL: $*" >&2; exit 1; }
log() { echo "$PROG: $*" >&2; }
skip() { echo "$PROG: SKIPPED: $*" >&2; exit 77; }

[ $# -eq 1 ] || die "usage: $0 BUILD_DIR"
build="$(cd "$1" && pwd -P)"
[ -f "$build/CMakeCache.txt" ] || die "$build is not a configured build directory"
[ "$(id -u)" -eq 0 ] || skip "installing a package needs root"
if grep -Eq '^SINKHOST_(SANITIZE|TSAN|FUZZ):BOOL=ON$' "$build/CMakeCache.txt"; then
  skip "$build is a sanitizer build; the package is built and tested from a plain build"
fi
for tool in dpkg-deb dpkg-shlibdeps lintian systemd-analyze setpriv curl; do
  command -v "$tool" >/dev/null || die "$tool is missing (deploy/install-deps.sh installs it)"
done

# Ports: the broker on nine from 19692 (below the ephemeral range; kafka.sh derives the last three,
# for OAUTHBEARER and its token server, from the first), sinkhost on the next two.
broker_base=19692
http_port=19701
grpc_port=19702
kcat="$root/deploy/bin/kcat"
unit_name=sinkhost.service

# One run at a time on a machine: the package, its user and /var/lib/sinkhost are global.
exec 8>/tmp/sinkhost-package-test.lock
flock 8

if dpkg-query -W -f='${Status}' sinkhost 2>/dev/null | grep -qv "not-installed"; then
  die "a sinkhost package is on this machine already ($(dpkg-query -W -f='${Status} ${Version}' sinkhost)); this test installs and purges its own, so it leaves that one alone"
fi
getent passwd sinkhost >/dev/null && die "a user sinkhost exists already; the test's purge would delete it"
[ -e /var/lib/sinkhost ] && die "/var/lib/sinkhost exists already; the test's purge would delete it"
[ -e /etc/sinkhost ] && die "/etc/sinkhost exists already; the test's purge would delete it"

work="$(mktemp -d /tmp/sinkhost-deb-test.XXXXXX)"
chmod 0755 "$work"
export KAFKA_STATE_DIR="$work/kafka"
export KAFKA_PLAINTEXT_PORT=$broker_base KAFKA_CONTROLLER_PORT=$((broker_base + 1))
export KAFKA_SASL_PLAINTEXT_PORT=$((broker_base + 2)) KAFKA_SSL_PORT=$((broker_base + 3))
export KAFKA_MTLS_PORT=$((broker_base + 4)) KAFKA_SASL_SSL_PORT=$((broker_base + 5))
daemon_pid=""
notify_pid=""
installed=0

cleanup() {
  local rc=$?
  set +e
  if [ -n "$daemon_pid" ] && kill -0 "$daemon_pid" 2>/dev/null; then
    kill -TERM "$daemon_pid"
    for _ in $(seq 1 150); do kill -0 "$daemon_pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$daemon_pid" 2>/dev/null
  fi
  if [ $rc -ne 0 ] && [ -s "$work/sinkhost.log" ]; then
    echo "----- the installed sinkhost's log -----" >&2
    tail -n 60 "$work/sinkhost.log" >&2
  fi
  [ -n "$notify_pid" ] && kill "$notify_pid" 2>/dev/null
  bash "$root/deploy/kafka/kafka.sh" stop >/dev/null 2>&1
  if [ $installed -eq 1 ] && dpkg-query -W -f='${Status}' sinkhost 2>/dev/null | grep -qv "not-installed"; then
    log "cleanup: purging the package"
    dpkg -P sinkhost >/dev/null 2>&1 || log "cleanup: dpkg -P sinkhost failed"
  fi
  rm -rf "$work"
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- 1. the .deb ------------------------------------------------------------------------------
log "building the daemon and its plugins (a no-op when built), then the package"
cmake --build "$build" --target sinkhost >/dev/null
(cd "$build" && cpack -G DEB >"$work/cpack.log" 2>&1) || { cat "$work/cpack.log" >&2; die "cpack failed"; }
deb="$(sed -n 's/^CPack: - package: \(.*\.deb\) generated\.$/\1/p' "$work/cpack.log" | tail -n1)"
[ -f "$deb" ] || { cat "$work/cpack.log" >&2; die "cpack did not name the .deb it wrote"; }
log "package: $deb ($(du -k "$deb" | cut -f1) KiB)"
dpkg-deb --info "$deb" >"$work/info.txt"
dpkg-deb --contents "$deb" >"$work/contents.txt"
depends="$(dpkg-deb --field "$deb" Depends)"
log "Depends: $depends"

unit_path="$(awk '{print $6}' "$work/contents.txt" | sed -n 's:^\./\(.*/systemd/system/sinkhost\.service\)$:/\1:p')"
[ -n "$unit_path" ] || die "the package has no systemd unit sinkhost.service"
for path in ./usr/bin/sinkhost ./usr/lib/sinkhost/plugins/sinkhost-kafka-sink.so \
  ./usr/lib/sinkhost/plugins/sinkhost-logger-sink.so ./etc/sinkhost/sinkhost.yaml \
  ./usr/share/doc/sinkhost/copyright ./usr/share/doc/sinkhost/changelog.Debian.gz \
  ./usr/share/doc/sinkhost/docs/operations.md ./usr/share/man/man1/sinkhost.1.gz; do
  grep -q " $path\$" "$work/contents.txt" || die "the package lacks $path"
done
dpkg-deb --ctrl-tarfile "$deb" | tar -xOf - ./conffiles | grep -qx /etc/sinkhost/sinkhost.yaml \
  || die "/etc/sinkhost/sinkhost.yaml is not a conffile"
# librdkafka: the release's own package, or (when the build linked one from the source prefix)
# carried in /usr/lib/sinkhost; never both, and never a dependency on Debian 12's too-old one.
rdkafka_libdir="$(sed -n 's/^RDKAFKA_LIBDIR:INTERNAL=//p' "$build/CMakeCache.txt")"
if grep -q " ./usr/lib/sinkhost/librdkafka.so.1\$" "$work/contents.txt"; then
  carried=1
  [[ "$depends" != *librdkafka* ]] || die "librdkafka is carried, but Depends names it too: $depends"
  log "librdkafka is carried privately ($rdkafka_libdir is not the system's)"
else
  carried=0
  [[ "$depends" == *librdkafka1* ]] || die "librdkafka is not carried, so Depends must name librdkafka1: $depends"
  log "librdkafka comes from the release's librdkafka1"
fi
[[ "$depends" == *libc6* ]] || die "Depends was not computed from the shared libraries (no libc6): $depends"

# --- 2. lintian -------------------------------------------------------------------------------
log "lintian"
lintian_rc=0
lintian --fail-on error --display-info "$deb" >"$work/lintian.txt" 2>&1 || lintian_rc=$?
sed 's/^/  lintian: /' "$work/lintian.txt" >&2
[ $lintian_rc -eq 0 ] || die "lintian reports errors (exit $lintian_rc)"
grep -q '^E: ' "$work/lintian.txt" && die "lintian reports errors"
log "lintian: no errors ($(grep -c '^W: ' "$work/lintian.txt" || true) warnings, $(grep -c '^I: ' "$work/lintian.txt" || true) infos)"

# --- 3. install ---------------------------------------------------------------------------------
log "dpkg -i"
installed=1
dpkg -i "$deb" >"$work/dpkg-i.log" 2>&1 || { cat "$work/dpkg-i.log" >&2; die "dpkg -i failed"; }
[ -x /usr/bin/sinkhost ] || die "/usr/bin/sinkhost is missing after the installation"
getent passwd sinkhost >/dev/null || die "the user sinkhost was not created"
[ "$(getent passwd sinkhost | cut -d: -f7)" = /usr/sbin/nologin ] || die "the user sinkhost has a login shell"
[ "$(stat -c '%U:%G %a' /var/lib/sinkhost)" = "sinkhost:sinkhost 750" ] \
  || die "/var/lib/sinkhost is $(stat -c '%U:%G %a' /var/lib/sinkhost), not sinkhost:sinkhost 750"
token=/etc/sinkhost/data-protection-token
[ "$(stat -c '%U %a' "$token")" = "root 600" ] || die "$token is $(stat -c '%U %a' "$token"), not root 600"
[ -f "$unit_path" ] || die "$unit_path was not installed"
# Every shared library of the installed files resolves, and nothing points into the build's
# cache: the package works without ~/.cache/sinkhost.
for elf in /usr/bin/sinkhost /usr/lib/sinkhost/plugins/*.so; do
  if ldd "$elf" | grep -q "not found"; then ldd "$elf" >&2; die "$elf has unresolved libraries"; fi
  if ldd "$elf" | grep -q "/.cache/"; then ldd "$elf" >&2; die "$elf loads a library from a build cache"; fi
done
rdkafka_loaded="$(readlink -f "$(ldd /usr/lib/sinkhost/plugins/sinkhost-kafka-sink.so | awk '/librdkafka/ {print $3}')")"
if [ $carried -eq 1 ]; then
  [ "$rdkafka_loaded" = /usr/lib/sinkhost/librdkafka.so.1 ] || die "kafka-sink loads $rdkafka_loaded, not the carried librdkafka"
fi
# The installed programs run with the build's library prefix hidden (an empty tmpfs over it, in
# a mount namespace of their own), as on a machine that never built sinkhost: were anything still
# looked up there, Debian 12's librdkafka 2.0.2 would be loaded instead, or nothing.
deps_prefix="$(sed -n 's/^SINKHOST_DEPS_PREFIX:PATH=//p' "$build/CMakeCache.txt")"
without_prefix=()
if [ -d "$deps_prefix" ] && unshare --mount true 2>/dev/null; then
  without_prefix=(unshare --mount sh -c 'mount -t tmpfs sinkhost-hidden "$0" && exec "$@"' "$deps_prefix")
  log "the installed programs run with $deps_prefix hidden"
elif [ -d "$deps_prefix" ]; then
  log "cannot hide $deps_prefix (no mount namespaces here): the installed programs run beside it"
fi
version_line="$("${without_prefix[@]}" /usr/bin/sinkhost --version | grep '^kafka-sink:')" || die "sinkhost --version names no kafka-sink"
log "installed: $version_line"
[[ "$version_line" =~ librdkafka\ ([0-9]+)\.([0-9]+) ]] || die "no librdkafka version in '$version_line'"
if [ "${BASH_REMATCH[1]}" -lt 2 ] || { [ "${BASH_REMATCH[1]}" -eq 2 ] && [ "${BASH_REMATCH[2]}" -lt 6 ]; }; then
  die "the installed plugin runs on librdkafka older than 2.6.1: $version_line"
fi

log "systemd-analyze verify $unit_path"
verify_rc=0
systemd-analyze verify "$unit_path" >"$work/verify.txt" 2>&1 || verify_rc=$?
sed 's/^/  systemd-analyze: /' "$work/verify.txt" >&2
[ $verify_rc -eq 0 ] || die "systemd-analyze verify failed (exit $verify_rc)"
grep -q "sinkhost" "$work/verify.txt" && die "systemd-analyze verify has remarks on the unit"
# systemd's own rating of the unit's exposure (0 best, 10 worst; 2.9 when this was written):
# a change that loosens the hardening past 4.0 fails here.
systemd-analyze security --offline=true --threshold=40 "$unit_path" >"$work/security.txt" 2>&1 \
  || { cat "$work/security.txt" >&2; die "systemd-analyze security rates the unit above 4.0"; }
log "systemd-analyze security: $(sed -n 's/^→ //p' "$work/security.txt")"
for setting in "User=sinkhost" "ProtectSystem=strict" "NoNewPrivileges=yes" "ReadWritePaths=/var/lib/sinkhost" \
  "Restart=on-failure" "LoadCredential=data-protection-token:$token"; do
  grep -qx "$setting" "$unit_path" || die "the unit lacks $setting"
done

# --- 4. the installed daemon, as the unit runs it -------------------------------------------------
log "starting a Kafka broker on ports $broker_base-$((broker_base + 5))"
bash "$root/deploy/kafka/kafka.sh" start >"$work/kafka-start.log" 2>&1 \
  || { cat "$work/kafka-start.log" >&2; die "the broker did not start"; }
# shellcheck disable=SC1091
. "$KAFKA_STATE_DIR/kafka.env"

# The packaged config as a start would read it: every key accepted, each value from the file.
"${without_prefix[@]}" setpriv --reuid=sinkhost --regid=sinkhost --init-groups \
  env -i PATH=/usr/bin:/bin /usr/bin/sinkhost --config /etc/sinkhost/sinkhost.yaml config check >"$work/config-check.txt" 2>&1 \
  || { cat "$work/config-check.txt" >&2; die "sinkhost config check refuses the packaged /etc/sinkhost/sinkhost.yaml"; }
for key in listen grpc-listen data-dir log-level; do
  grep -Eq "^$key: .*# /etc/sinkhost/sinkhost.yaml line [0-9]+\$" "$work/config-check.txt" \
    || { cat "$work/config-check.txt" >&2; die "config check does not take $key from the packaged config"; }
done
grep -q '^data-dir: "/var/lib/sinkhost"' "$work/config-check.txt" || die "the packaged config's data-dir is not /var/lib/sinkhost"
# Every flag of `sinkhost --help` has its key in the packaged config (set or commented), and the
# commented keys are valid as shown (those naming files are left out: the files do not exist; and
# cluster, which needs the external source the commented config does not set).
/usr/bin/sinkhost --help | sed -n 's/^  --\([a-z-]*\).*/\1/p' | grep -Evx 'config|settings-reference|version' | sort >"$work/flags.txt"
sed -n 's/^#\{0,1\} \{0,1\}\([a-z-]*\): .*/\1/p' /etc/sinkhost/sinkhost.yaml | sort >"$work/keys.txt"
if ! diff "$work/flags.txt" "$work/keys.txt" >"$work/keys.diff"; then
  cat "$work/keys.diff" >&2
  die "the packaged config and sinkhost --help differ (<: a flag without its key in the config; >: a key that is no flag)"
fi
sed -n 's/^# \([a-z-]*: .*\)$/\1/p' /etc/sinkhost/sinkhost.yaml \
  | grep -Ev '^(data-protection-token-file|source-file|tls-cert|tls-key|cluster|cluster-kafka-config):' >"$work/commented.yaml"
/usr/bin/sinkhost --config "$work/commented.yaml" config check >"$work/commented-check.txt" 2>&1 \
  || { cat "$work/commented-check.txt" >&2; die "a commented key of the packaged config is refused as shown"; }
log "sinkhost config check accepts the packaged config; it has a key for each of the $(wc -l <"$work/flags.txt") flags"

# What LoadCredential= does: a copy of the token that only the service's user can read, in a
# directory named by CREDENTIALS_DIRECTORY.
credentials="$work/credentials"
install -d -o sinkhost -g sinkhost -m 0500 "$credentials"
install -o sinkhost -g sinkhost -m 0400 "$token" "$credentials/data-protection-token"

# The unit's ExecStart, ${CREDENTIALS_DIRECTORY} expanded as systemd does; then this test's
# ports, as flags (which win over the config file) so that a service on 2113 is not disturbed.
exec_start="$(sed -n 's/^ExecStart=//p' "$unit_path")"
[ -n "$exec_start" ] || die "the unit has no ExecStart"
exec_start="${exec_start//\$\{CREDENTIALS_DIRECTORY\}/$credentials}"
read -r -a command <<<"$exec_start"
[[ " ${command[*]} " == *" --config /etc/sinkhost/sinkhost.yaml "* ]] || die "the unit does not run with --config /etc/sinkhost/sinkhost.yaml"
command+=(--listen "127.0.0.1:$http_port" --grpc-listen "127.0.0.1:$grpc_port")
grep -qx "Type=notify" "$unit_path" || die "the unit is not Type=notify"
# What Type=notify gives the service: NOTIFY_SOCKET, a datagram socket systemd listens on; here a
# perl listener that writes down each message (one line per datagram) in notify.txt.
notify_socket="$work/notify.sock"
perl -MIO::Socket::UNIX -e '
  umask 0; my $s = IO::Socket::UNIX->new(Type => SOCK_DGRAM(), Local => $ARGV[0]) or die "notify socket: $!";
  open(my $out, ">>", $ARGV[1]) or die; $out->autoflush(1);
  while (defined $s->recv(my $m, 4096)) { $m =~ s/\n/ /g; print $out "$m\n"; }' "$notify_socket" "$work/notify.txt" &
notify_pid=$!
for _ in $(seq 1 50); do [ -S "$notify_socket" ] && break; sleep 0.1; done
[ -S "$notify_socket" ] || die "the notify listener did not start"

log "running as sinkhost: ${command[*]}"
(cd /var/lib/sinkhost && exec "${without_prefix[@]}" setpriv --reuid=sinkhost --regid=sinkhost --init-groups --no-new-privs \
  env -i PATH=/usr/bin:/bin CREDENTIALS_DIRECTORY="$credentials" NOTIFY_SOCKET="$notify_socket" "${command[@]}") >"$work/sinkhost.log" 2>&1 &
daemon_pid=$!
api="http://127.0.0.1:$http_port"
for _ in $(seq 1 300); do
  grep -qx "READY=1" "$work/notify.txt" 2>/dev/null && break
  kill -0 "$daemon_pid" 2>/dev/null || die "the installed sinkhost exited at start"
  sleep 0.1
done
grep -qx "READY=1" "$work/notify.txt" 2>/dev/null || die "the installed sinkhost sent no READY=1 to NOTIFY_SOCKET within 30 s"
curl -sf "$api/ready" >/dev/null || die "READY=1 came, but GET /ready does not answer 200"
[ "$(stat -c %U /proc/$daemon_pid)" = sinkhost ] || die "the daemon does not run as sinkhost"
grep -q "plugin loaded: kafka-sink" "$work/sinkhost.log" || die "the daemon did not load kafka-sink from /usr/lib/sinkhost/plugins"
log "the installed sinkhost is ready on $api"

topic="package-test"
bash "$root/deploy/kafka/kafka.sh" create-topic "$topic" 1 >/dev/null 2>&1 || die "creating the topic failed"
# SCRAM-SHA-512 over SASL_PLAINTEXT: the password is a secret setting, stored encrypted with
# the token, and the login needs librdkafka >= 2.6.1 against Kafka 4.x.
status="$(curl -s -o "$work/create.json" -w '%{http_code}' -X POST "$api/connectors/package-sink" \
  -H 'Content-Type: application/json' \
  -d "{\"settings\": {\"instanceTypeName\": \"kafka-sink\", \"topic\": \"$topic\",
       \"bootstrapServers\": \"$KAFKA_SASL_PLAINTEXT_BOOTSTRAP\",
       \"authentication:securityProtocol\": \"saslPlaintext\", \"authentication:saslMechanism\": \"scramSha512\",
       \"authentication:username\": \"$KAFKA_SASL_USERNAME\", \"authentication:password\": \"$KAFKA_SASL_PASSWORD\",
       \"subscription:initialPosition\": \"earliest\"}}")"
[[ "$status" == 2?? ]] || { cat "$work/create.json" >&2; die "creating the connector answered $status"; }
status="$(curl -s -o "$work/start.json" -w '%{http_code}' -X POST "$api/connectors/package-sink/start")"
[[ "$status" == 2?? ]] || { cat "$work/start.json" >&2; die "starting the connector answered $status"; }
status="$(curl -s -o "$work/append.json" -w '%{http_code}' -X POST "$api/streams/order-42" \
  -H 'Content-Type: application/vnd.eventstore.events+json' \
  -d '[{"eventId": "6f3c2b1a-4d5e-4f60-8a7b-9c0d1e2f3a4b", "eventType": "OrderPlaced",
        "data": {"orderId": "order-42", "package": "deb"}}]')"
[ "$status" = 201 ] || { cat "$work/append.json" >&2; die "appending the event answered $status"; }

log "reading the topic with kcat"
"$kcat" -b "$KAFKA_BOOTSTRAP" -C -t "$topic" -o beginning -c 1 -e -q -m 60 -f '%s\n' >"$work/kcat.txt" 2>"$work/kcat.err" || true
if ! grep -q '"orderId":"order-42"' "$work/kcat.txt" && ! grep -q '"orderId": "order-42"' "$work/kcat.txt"; then
  cat "$work/kcat.txt" "$work/kcat.err" >&2
  curl -s "$api/connectors" >&2 || true
  die "the event did not reach the topic $topic"
fi
log "delivered: $(head -c 200 "$work/kcat.txt")"

kill -TERM "$daemon_pid"
daemon_rc=0
wait "$daemon_pid" || daemon_rc=$?
daemon_pid=""
[ $daemon_rc -eq 0 ] || die "the daemon exited with $daemon_rc on SIGTERM"
for _ in $(seq 1 20); do grep -qx "STOPPING=1" "$work/notify.txt" && break; sleep 0.1; done
grep -qx "STOPPING=1" "$work/notify.txt" || die "the daemon sent no STOPPING=1 when it stopped"
log "readiness: the daemon sent $(tr '\n' ' ' <"$work/notify.txt")to NOTIFY_SOCKET"
[ -f /var/lib/sinkhost/events.db ] && [ -f /var/lib/sinkhost/state.db ] || die "the data directory lacks events.db or state.db"
# The connector's password was accepted, so the token arrived; it is stored encrypted.
if grep -rqaF -- "$KAFKA_SASL_PASSWORD" /var/lib/sinkhost; then die "the SASL password is stored in plain text in /var/lib/sinkhost"; fi
[ -z "$(find /var/lib/sinkhost -not -user sinkhost)" ] || die "files in /var/lib/sinkhost not owned by sinkhost: $(find /var/lib/sinkhost -not -user sinkhost)"

# --- 5. remove, then purge ---------------------------------------------------------------------
log "dpkg -r"
dpkg -r sinkhost >"$work/dpkg-r.log" 2>&1 || { cat "$work/dpkg-r.log" >&2; die "dpkg -r failed"; }
[ ! -e /usr/bin/sinkhost ] || die "/usr/bin/sinkhost is still there after dpkg -r"
[ ! -e /usr/lib/sinkhost ] || die "/usr/lib/sinkhost is still there after dpkg -r"
[ ! -e "$unit_path" ] || die "$unit_path is still there after dpkg -r"
[ -f /var/lib/sinkhost/events.db ] || die "dpkg -r deleted the data directory"
[ -f /etc/sinkhost/sinkhost.yaml ] || die "dpkg -r deleted the config file (a conffile is kept until purge)"
[ -f "$token" ] || die "dpkg -r deleted the data protection token"
getent passwd sinkhost >/dev/null || die "dpkg -r deleted the user sinkhost"

log "dpkg -P"
dpkg -P sinkhost >"$work/dpkg-p.log" 2>&1 || { cat "$work/dpkg-p.log" >&2; die "dpkg -P failed"; }
installed=0
[ ! -e /var/lib/sinkhost ] || die "dpkg -P left /var/lib/sinkhost"
[ ! -e /etc/sinkhost ] || die "dpkg -P left /etc/sinkhost: $(ls -A /etc/sinkhost)"
! getent passwd sinkhost >/dev/null || die "dpkg -P left the user sinkhost"
! getent group sinkhost >/dev/null || die "dpkg -P left the group sinkhost"
leftovers="$(find /etc/systemd/system /var/lib/systemd/deb-systemd-helper-enabled /var/lib/systemd/deb-systemd-helper-masked \
  -name "*$unit_name*" 2>/dev/null || true)"
[ -z "$leftovers" ] || die "dpkg -P left systemd links: $leftovers"
dpkg-query -W -f='${Status}' sinkhost 2>/dev/null | grep -qv "not-installed" && die "dpkg still knows sinkhost after dpkg -P"

log "PASS: built, lintian-clean, installed, delivered an event to Kafka as the user sinkhost, removed (data kept), purged"
