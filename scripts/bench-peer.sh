#!/usr/bin/env bash
# Measures voxward and torchaudio.compliance.kaldi (the reference and speed
# peer) in the same run, on the same audio, one core each (taskset -c CPU),
# as PAIRS interleaved pairs (ours, peer, ours, peer, ...), and prints a
# row per pair as it goes, then min/median/max of each figure, the median
# of the per-pair ratios, and the machine (CPU, cores, load at start and
# end). A peer figure that moves from pair to pair is a thing to explain
# before a ratio is published.
#
# The peer gets its best case from scripts/bench-torchaudio.py itself
# (OpenBLAS, one thread, the malloc thresholds, 60 s chunks, warm-up not
# timed; its header says why each). Needs Debian's python3-torchaudio and
# an OpenBLAS: apt-get install -y python3-torchaudio libopenblas0-serial
#
# Usage: scripts/bench-peer.sh BIN [SECONDS]
#   PAIRS=3   interleaved pairs
#   CPU=0     the core both run on
#   JSON=FILE also write every pair's raw figures and the summary as JSON
set -euo pipefail
bin=${1:-bin/voxward}
seconds=${2:-600}
pairs=${PAIRS:-3}
cpu=${CPU:-0}
py=/usr/bin/python3
here=$(dirname "$0")
if ! $py -c 'import torchaudio' 2>/dev/null; then
  echo "bench-peer: torchaudio missing: apt-get install -y python3-torchaudio libopenblas0-serial" >&2
  exit 1
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# The same audio for both: real speech when the shared data is there.
wavarg=()
audio="synthetic voiced signal (no shared data)"
shared=${VOXWARD_SHARED:-$here/../../shared}/data/librispeech/test-other
if [ -d "$shared" ]; then
  $py - "$shared" "$tmp/speech.wav" <<'PY'
import glob, sys, wave
files = sorted(glob.glob(sys.argv[1] + "/*/*.wav"))
with wave.open(sys.argv[2], "wb") as out:
    out.setnchannels(1); out.setsampwidth(2); out.setframerate(16000)
    for f in files:
        with wave.open(f) as w:
            out.writeframes(w.readframes(w.getnframes()))
PY
  wavarg=(--wav "$tmp/speech.wav")
  audio="LibriSpeech test-other, concatenated, repeated to ${seconds} s"
fi

loadavg() { cut -d' ' -f1-3 /proc/loadavg; }
echo "machine: $(grep -m1 '^model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'), $(nproc --all) cores; both on core $cpu"
echo "audio:   $audio"
echo "load at start: $(loadavg)"
load_start=$(loadavg)
echo "real-time factors (xRT); ratio = voxward / torchaudio"
printf '%-4s | %-28s | %-28s | %s\n' "" "fbank-80" "MFCC-13" ""
printf '%-4s | %8s %10s %7s | %8s %10s %7s | %s\n' pair voxward torchaudio ratio voxward torchaudio ratio "load 1 min"
for i in $(seq 1 "$pairs"); do
  taskset -c "$cpu" "$bin" bench --seconds "$seconds" "${wavarg[@]}" >"$tmp/ours.$i.json"
  taskset -c "$cpu" $py "$here/bench-torchaudio.py" --seconds "$seconds" "${wavarg[@]}" >"$tmp/peer.$i.json"
  $py - "$tmp/ours.$i.json" "$tmp/peer.$i.json" "$i" "$(loadavg)" <<'PY'
import json, sys
o, p = (json.load(open(f)) for f in sys.argv[1:3])
print("%-4s | %7.0f× %9.0f× %6.2f× | %7.0f× %9.0f× %6.2f× | %s" % (
    sys.argv[3], o["fbank80_xrt"], p["fbank80_xrt"], o["fbank80_xrt"] / p["fbank80_xrt"],
    o["mfcc13_xrt"], p["mfcc13_xrt"], o["mfcc13_xrt"] / p["mfcc13_xrt"], sys.argv[4].split()[0]), flush=True)
PY
done
load_end=$(loadavg)
$py - "$tmp" "$pairs" "$load_start" "$load_end" "${JSON:-}" <<'PY'
import json, statistics, sys
tmp, n, load_start, load_end, out = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
ours = [json.load(open(f"{tmp}/ours.{i}.json")) for i in range(1, n + 1)]
peer = [json.load(open(f"{tmp}/peer.{i}.json")) for i in range(1, n + 1)]
rows = {
    "voxward fbank-80": [o["fbank80_xrt"] for o in ours],
    "torchaudio fbank-80": [p["fbank80_xrt"] for p in peer],
    "fbank-80 ratio": [o["fbank80_xrt"] / p["fbank80_xrt"] for o, p in zip(ours, peer)],
    "voxward MFCC-13": [o["mfcc13_xrt"] for o in ours],
    "torchaudio MFCC-13": [p["mfcc13_xrt"] for p in peer],
    "MFCC-13 ratio": [o["mfcc13_xrt"] / p["mfcc13_xrt"] for o, p in zip(ours, peer)],
    "voxward voiceprint": [o["voiceprint_xrt"] for o in ours if o.get("voiceprint_xrt")],
}
print("%-22s%11s%11s%11s" % (f"summary, {n} pairs", "min", "median", "max"))
summary = {}
for k, v in rows.items():
    if not v:
        continue
    s = {"min": min(v), "median": statistics.median(v), "max": max(v)}
    summary[k] = s
    f = "%10.2f×" if "ratio" in k else "%10.0f×"
    print("%-22s" % k + "".join(f % s[x] for x in ("min", "median", "max")))
p0 = peer[0]
print("median ratio: fbank-80 %.2f×, MFCC-13 %.2f× (voxward kernels %s; torch %s, torchaudio %s, %d thread, %g s chunks, %s)" % (
    summary["fbank-80 ratio"]["median"], summary["MFCC-13 ratio"]["median"], ours[0]["kernels"],
    p0["torch"], p0["torchaudio"], p0["threads"], p0["chunk_seconds"],
    p0["blas"].split(",")[0].rsplit("/", 2)[-2]))
print(f"load at end: {load_end} (start {load_start})")
if out:
    with open(out, "w") as f:
        json.dump({"pairs": [{"voxward": o, "torchaudio": p} for o, p in zip(ours, peer)],
                   "summary": summary, "load_start": load_start, "load_end": load_end}, f, indent=1)
PY
