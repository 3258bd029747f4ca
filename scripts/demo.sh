#!/bin/sh
# voxward demo: the main job, end to end, on a generated source.
#
#   scripts/demo.sh BIN            (make demo runs it with bin/voxward)
#   SOURCE='wav:FILE.wav?loop=1' scripts/demo.sh BIN   (make demo-wav)
#
# It makes a state directory (a fresh temporary one, or $STATE_DIR when set;
# it must not hold a vault yet), runs "voxward init", starts "voxward serve
# --source $SOURCE" (default tone, a generated sine) on a free loopback port, and walks through the API: health,
# status with the capture gate closed, refusals, a session that opens the
# gate (levels and fbank frames from live audio), stopping it (the gate
# closes), then SIGTERM and "voxward vault verify". Each step says what it
# proved. It needs only Go: the HTTP calls go through scripts/demo-http.go,
# so curl and jq are not required. Exit status 0 only if every step held.
set -eu

if [ $# -ne 1 ]; then
	echo "usage: $0 path/to/voxward" >&2
	exit 2
fi
case $1 in
/*) BIN=$1 ;;
*) BIN=$(pwd)/$1 ;;
esac
[ -x "$BIN" ] || { echo "demo: $BIN is not an executable (run make build)" >&2; exit 2; }
ROOT=$(cd "$(dirname "$0")/.." && pwd)
WORK=$(mktemp -d "${TMPDIR:-/tmp}/voxward-demo.XXXXXX")
if [ -n "${STATE_DIR:-}" ]; then
	STATE=$STATE_DIR
	KEEP_STATE=1
else
	STATE=$WORK/state
	KEEP_STATE=0
fi
SOURCE=${SOURCE:-tone}
PID=

cleanup() {
	if [ -n "$PID" ] && kill -0 "$PID" 2>/dev/null; then
		kill -TERM "$PID" 2>/dev/null || true
		wait "$PID" 2>/dev/null || true
	fi
	if [ "$KEEP_STATE" = 0 ]; then
		rm -rf "$WORK"
	else
		rm -rf "$WORK/bin" "$WORK/serve.out" "$WORK/serve.log"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

step() { printf '\n== %s\n' "$*"; }
proved() { printf '   proved: %s\n' "$*"; }
die() {
	printf '\nDEMO FAILED: %s\n' "$*" >&2
	if [ -s "$WORK/serve.log" ]; then
		echo "--- daemon log:" >&2
		cat "$WORK/serve.log" >&2
	fi
	exit 1
}

step "build the demo's HTTP client (Go only; no curl needed)"
mkdir -p "$WORK/bin"
(cd "$ROOT" && "${GO:-go}" build -o "$WORK/bin/demo-http" ./scripts/demo-http.go) || die "could not build scripts/demo-http.go"
HTTP=$WORK/bin/demo-http
echo "   $HTTP"

step "voxward init --state-dir $STATE"
"$BIN" init --state-dir "$STATE" >"$WORK/init.out" || die "init failed"
sed 's/^/   /' "$WORK/init.out" | sed '$d'
echo "   [admin token printed once on the last line; kept in \$ADMIN]"
ADMIN=$(tail -n 1 "$WORK/init.out")
rm -f "$WORK/init.out"
if grep -qF "$ADMIN" "$STATE/vault.db"; then
	die "the admin token is stored in the vault file in clear"
fi
ls -l "$STATE" | sed 's/^/   /'
for f in master.key vault.db device.key; do
	mode=$(stat -c %a "$STATE/$f")
	[ "$mode" = 600 ] || die "$STATE/$f has mode $mode, want 600"
done
proved "the vault, the master key and the device's Ed25519 key exist, each mode 0600; the admin token is stored as a hash only"

step "voxward token create --role technician / --role kiosk"
TECH=$("$BIN" token create --state-dir "$STATE" --role technician | tail -n 1)
KIOSK=$("$BIN" token create --state-dir "$STATE" --role kiosk | tail -n 1)
"$BIN" token list --state-dir "$STATE" | sed 's/^/   /'
proved "tokens per role; the list shows ids and roles, never a secret"

step "voxward serve --state-dir $STATE --listen 127.0.0.1:0 --source $SOURCE (in the background)"
"$BIN" serve --state-dir "$STATE" --listen 127.0.0.1:0 --source "$SOURCE" >"$WORK/serve.out" 2>"$WORK/serve.log" &
PID=$!
URL=
i=0
while [ $i -lt 100 ]; do
	URL=$(sed -n 's/^listening on //p' "$WORK/serve.out")
	[ -n "$URL" ] && break
	kill -0 "$PID" 2>/dev/null || die "the daemon exited at start"
	sleep 0.1
	i=$((i + 1))
done
[ -n "$URL" ] || die "the daemon did not report its address within 10 s"
echo "   pid $PID, $URL"
proved "the vault opened and the listener bound on a free loopback port (what READY=1 tells systemd)"

if "$BIN" token list --state-dir "$STATE" >/dev/null 2>"$WORK/locked.err"; then
	die "an offline command opened the vault while the daemon holds it"
fi
sed 's/^/   /' "$WORK/locked.err"
proved "while the daemon runs, offline commands refuse the vault and say why"

step "GET /v1/health (no token)"
"$HTTP" GET "$URL/v1/health" | sed 's/^/   /' || die "health failed"
proved "liveness needs no token"

step "GET /v1/status as technician, before any session"
"$HTTP" -token "$TECH" GET "$URL/v1/status" >"$WORK/status.json" || die "status failed"
sed 's/^/   /' "$WORK/status.json"
[ "$("$HTTP" -token "$TECH" -get capture.open GET "$URL/v1/status")" = false ] || die "the capture gate is open before any session"
proved "the source is closed while no session holds a consent lease (capture.open=false, and why)"

step "refusals"
"$HTTP" -expect 401 GET "$URL/v1/status" >/dev/null || die "status without a token was not refused"
echo "   no token            -> 401"
"$HTTP" -expect 403 -token "$KIOSK" POST "$URL/v1/sessions" '{}' >/dev/null || die "a kiosk token started a session"
echo "   kiosk token session -> 403"
"$HTTP" -expect 421 -host attacker.example -token "$TECH" GET "$URL/v1/status" >/dev/null || die "a foreign Host header was not refused"
echo "   Host: attacker.example (DNS rebinding) -> 421"
proved "bearer tokens with roles; foreign Host names refused"

step "a session without a consenting participant"
"$HTTP" -expect 422 -token "$TECH" POST "$URL/v1/sessions" '{"title":"demo"}' | sed 's/^/   /' || die "a session without consent was not refused"
[ "$("$HTTP" -token "$TECH" -get capture.opens GET "$URL/v1/status")" = 0 ] || die "a refused session opened the source"
proved "no consent, no microphone: the session is refused and the source was never opened"

step "GET /v1/disclosure, then POST /v1/subjects as kiosk (a speaker consents)"
DISC=$("$HTTP" -token "$KIOSK" -get sha256 GET "$URL/v1/disclosure" | tr -d '"') || die "disclosure failed"
"$HTTP" -token "$KIOSK" -get text GET "$URL/v1/disclosure" | head -c 300 | sed 's/^/   /'; echo " …"
"$HTTP" -expect 422 -token "$KIOSK" POST "$URL/v1/subjects" \
	'{"display_name":"Ada Speaker","consent":{"disclosure_sha256":"'"$DISC"'","agreed":false,"signature":"Ada Speaker","purposes":["recognition"]}}' \
	| sed 's/^/   without "agreed": /' || die "a consent without agreement was stored"
SUBJECT=$("$HTTP" -token "$KIOSK" -get subject_id POST "$URL/v1/subjects" \
	'{"display_name":"Ada Speaker","contact":"ada@example.org","consent":{"disclosure_sha256":"'"$DISC"'","agreed":true,"signature":"Ada Speaker","purposes":["recognition"]}}' \
	| tr -d '"') || die "consent failed"
echo "   subject $SUBJECT (a deletion token was shown once to the speaker)"
proved "consent is recorded against the SHA-256 of the disclosure in force, with a typed signature"

step "POST /v1/sessions as technician, with the consenting speaker"
SESSION=$("$HTTP" -token "$TECH" -get session_id POST "$URL/v1/sessions" '{"title":"demo","participants":["'"$SUBJECT"'"]}' | tr -d '"') || die "session start failed"
echo "   session $SESSION"
sleep 1.5
"$HTTP" -token "$TECH" GET "$URL/v1/status" >"$WORK/status.json" || die "status failed"
[ "$("$HTTP" -token "$TECH" -get capture.open GET "$URL/v1/status")" = true ] || die "the capture gate did not open for the session"
for f in capture.open capture.reason levels.rms_dbfs levels.peak_dbfs levels.samples pipeline.state pipeline.frames pipeline.fbank_seconds pipeline.speakers; do
	printf '   %-24s %s\n' "$f" "$("$HTTP" -token "$TECH" -get "$f" GET "$URL/v1/status")"
done
frames=$("$HTTP" -token "$TECH" -get pipeline.frames GET "$URL/v1/status")
[ "$frames" -gt 0 ] || die "no fbank frames were computed from live audio"
proved "a session's consent lease opens the source; live audio is metered and turned into fbank frames in real time, then dropped"

step "GET /metrics (Prometheus text format)"
"$HTTP" -token "$TECH" GET "$URL/metrics" | grep -E '^voxward_(capture_open|capture_samples_total|capture_frames_total|fbank_seconds_total|sessions_live) ' | sed 's/^/   /'
proved "capture state and work done are exported as metrics"

step "POST /v1/sessions/$SESSION/stop"
"$HTTP" -token "$TECH" -get capture POST "$URL/v1/sessions/$SESSION/stop" | sed 's/^/   /' || die "session stop failed"
[ "$("$HTTP" -token "$TECH" -get capture.open GET "$URL/v1/status")" = false ] || die "the capture gate is still open after the last session stopped"
printf '   capture.reason: %s\n' "$("$HTTP" -token "$TECH" -get capture.reason GET "$URL/v1/status")"
proved "stopping the last session closes the source at once (before the reply)"

step "SIGTERM the daemon"
kill -TERM "$PID"
rc=0
wait "$PID" || rc=$?
PID=
[ "$rc" = 0 ] || die "the daemon exited $rc on SIGTERM"
grep -E 'msg="shutting down"|msg=stopped' "$WORK/serve.log" | sed 's/^/   /'
proved "a clean shutdown on SIGTERM, exit 0"

step "voxward vault verify --state-dir $STATE"
"$BIN" vault verify --state-dir "$STATE" | sed 's/^/   /' || die "the vault does not verify"
proved "every record decrypts and the audit chain links after the run; no audio was stored (records: tokens, the subject and consent, the session, audit)"

printf '\nDemo passed.'
if [ "$KEEP_STATE" = 1 ]; then
	printf ' State kept in %s.\n' "$STATE"
else
	printf ' (Set STATE_DIR=DIR to keep the state directory.)\n'
fi
