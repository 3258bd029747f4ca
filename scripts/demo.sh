#!/bin/sh
# voxward demo: the main job, end to end, on recorded speech the
# repository ships (testdata/speakers: LibriSpeech, CC BY 4.0).
#
#   scripts/demo.sh BIN            (make demo runs it with bin/voxward)
#
# It makes a state directory (a fresh temporary one, or $STATE_DIR when set;
# it must not hold a vault yet), runs "voxward init", starts "voxward serve
# --source $SOURCE" (default: a conversation of three readers) on a free
# loopback port, and walks through the API: health, status with the
# capture gate closed, refusals, a session refused without consent, two
# speakers consenting at the kiosk and enrolling from WAV files, a session
# whose live labels name them (and null for the stranger), withdrawal
# closing the gate, then SIGTERM and "voxward vault verify". Each step
# says what it proved. It needs only Go: the HTTP calls go through scripts/demo-http.go,
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
SOURCE=${SOURCE:-wav:$ROOT/testdata/speakers/conversation.wav}
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
# The background job opens its output files after the fork: create them
# first, or the loop below can read before they exist (it did, on a
# loaded machine).
: >"$WORK/serve.out"
: >"$WORK/serve.log"
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

step "GET /v1/disclosure, then POST /v1/subjects as kiosk: two speakers consent"
DISC=$("$HTTP" -token "$KIOSK" -get sha256 GET "$URL/v1/disclosure" | tr -d '"') || die "disclosure failed"
"$HTTP" -token "$KIOSK" -get text GET "$URL/v1/disclosure" | head -n 7 | sed 's/^/   | /'; echo "   | …"
"$HTTP" -expect 422 -token "$KIOSK" POST "$URL/v1/subjects" \
	'{"display_name":"Ada (reader 1688)","consent":{"disclosure_sha256":"'"$DISC"'","agreed":false,"signature":"Ada","purposes":["recognition"]}}' \
	>/dev/null || die "a consent without agreement was stored"
echo "   without \"agreed\": true -> 422, nothing stored"
consent() {
	"$HTTP" -token "$KIOSK" -get subject_id POST "$URL/v1/subjects" \
		'{"display_name":"'"$1"'","consent":{"disclosure_sha256":"'"$DISC"'","agreed":true,"signature":"'"$1"'","purposes":["recognition"]}}' \
		| tr -d '"'
}
ADA=$(consent "Ada (reader 1688)") || die "consent failed"
BEN=$(consent "Ben (reader 1998)") || die "consent failed"
echo "   Ada: subject $ADA"
echo "   Ben: subject $BEN   (each was shown a deletion token once)"
proved "consent is recorded against the SHA-256 of the disclosure in force, with a typed signature"

if "$BIN" --version | grep -q "voiceprint model none"; then
	step "enrolment and live labels: skipped"
	echo "   this build has no voiceprint model: it is made from the shared speech data (../shared/data)"
	echo "   by \"make voiceprint-model\", and is not kept in the repository (3.9 MiB). Without it the daemon"
	echo "   still gates capture on consent, but enrols nobody and names nobody."
	SESSION=$("$HTTP" -token "$TECH" -get session_id POST "$URL/v1/sessions" '{"title":"demo","participants":["'"$ADA"'","'"$BEN"'"]}' | tr -d '"') || die "session start failed"
	[ "$("$HTTP" -token "$TECH" -get capture.open GET "$URL/v1/status")" = true ] || die "the capture gate did not open for the session"
	echo "   session $SESSION: the source is open for Ada and Ben's session"
	proved "a session with consenting participants opens the source"
else
	step "POST /v1/subjects/{id}/enrollments as technician: their voices, from WAV files"
	"$HTTP" -expect 422 -token "$TECH" -wav "$ROOT/testdata/dsp/signal16000.wav" -get quality POST "$URL/v1/subjects/$ADA/enrollments" \
		| sed 's/^/   a synthetic signal, refused: /' || die "a recording without enough speech was enrolled"
	for who in "ADA 1688" "BEN 1998"; do
		set -- $who
		eval id=\$$1
		"$HTTP" -token "$TECH" -wav "$ROOT/testdata/speakers/enrol-$2.wav" -get quality.speech_seconds POST "$URL/v1/subjects/$id/enrollments" \
			| sed "s/^/   $1: enrolled from testdata\/speakers\/enrol-$2.wav, speech seconds: /" || die "enrolment failed"
	done
	[ "$("$HTTP" -token "$TECH" -get capture.opens GET "$URL/v1/status")" = 0 ] || die "enrolment from files opened the source"
	proved "quality is judged before anything is stored (reasons and figures); voiceprints go into the encrypted vault"

	step "POST /v1/sessions with Ada and Ben; GET /v1/sessions/{id}/events (the captioning software's stream)"
	SESSION=$("$HTTP" -token "$TECH" -get session_id POST "$URL/v1/sessions" '{"title":"demo","participants":["'"$ADA"'","'"$BEN"'"]}' | tr -d '"') || die "session start failed"
	echo "   session $SESSION; the source plays testdata/speakers/conversation.wav in real time (25 s):"
	echo "   Ada, Ben, a stranger who never consented, Ada, Ben, the stranger"
	"$HTTP" -token "$TECH" -sse "$URL/v1/sessions/$SESSION/events" >"$WORK/events.txt" 2>&1 &
	SSE=$!
	i=0
	while [ $i -lt 400 ]; do
		[ "$("$HTTP" -token "$TECH" -get pipeline.state GET "$URL/v1/status")" = "source ended" ] && break
		sleep 0.1
		i=$((i + 1))
	done
	sleep 1
	sed 's/^/   /' "$WORK/events.txt"
	[ "$(grep -c 'Ada (reader 1688)' "$WORK/events.txt")" -ge 1 ] || die "Ada was never named"
	[ "$(grep -c 'Ben (reader 1998)' "$WORK/events.txt")" -ge 1 ] || die "Ben was never named"
	grep -q 'null' "$WORK/events.txt" || die "the stranger was named"
	"$HTTP" -token "$TECH" GET "$URL/metrics" | grep -E '^voxward_label_(segments_total|matches_total|unknown_total|latency_seconds_(sum|count)) ' | sed 's/^/   /'
	proved "live turns are matched in memory against the session's enrolled participants; the stranger is labelled null and never stored"

fi

step "POST /v1/subjects/{id}/withdraw as kiosk: Ben, then Ada"
"$HTTP" -token "$KIOSK" -get receipt.erased POST "$URL/v1/subjects/$BEN/withdraw" | sed 's/^/   Ben withdraws; erased: /' || die "withdrawal failed"
printf '   capture.open: %s (Ada still consents)\n' "$("$HTTP" -token "$TECH" -get capture.open GET "$URL/v1/status")"
"$HTTP" -token "$KIOSK" -get sessions_stopped POST "$URL/v1/subjects/$ADA/withdraw" | sed 's/^/   Ada withdraws; sessions stopped: /' || die "withdrawal failed"
[ "$("$HTTP" -token "$TECH" -get capture.open GET "$URL/v1/status")" = false ] || die "the gate is open with nobody consenting"
printf '   capture.open: false, reason %s\n' "$("$HTTP" -token "$TECH" -get capture.reason GET "$URL/v1/status")"
if [ -n "${SSE:-}" ]; then
	wait "$SSE" 2>/dev/null || true
	tail -n 1 "$WORK/events.txt" | sed 's/^/   event stream: /'
fi
proved "withdrawal is as easy as consent: the session with nobody consenting stops and the microphone closes before the answer; their data is erased with a receipt"

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
for name in "Ada (reader 1688)" "Ben (reader 1998)"; do
	if grep -qaF "$name" "$STATE/vault.db"; then die "$name is in the vault file in clear"; fi
done
proved "every record decrypts and the audit chain links after the run; no name is in the vault file in clear; no audio was stored"

printf '\nDemo passed.'
if [ "$KEEP_STATE" = 1 ]; then
	printf ' State kept in %s.\n' "$STATE"
else
	printf ' (Set STATE_DIR=DIR to keep the state directory.)\n'
fi
