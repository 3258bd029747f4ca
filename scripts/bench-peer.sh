#!/usr/bin/env bash
# Measures voxward and torchaudio.compliance.kaldi (the reference and speed
# peer) in the same run, on the same audio and one core each, and prints
# both and their ratio as JSON. Needs Debian's python3-torchaudio
# (apt-get install -y python3-torchaudio). Usage: scripts/bench-peer.sh BIN [SECONDS]
set -euo pipefail
bin=${1:-bin/voxward}
seconds=${2:-600}
py=/usr/bin/python3
if ! $py -c 'import torchaudio' 2>/dev/null; then
  echo "bench-peer: torchaudio missing: apt-get install -y python3-torchaudio" >&2
  exit 1
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# The same audio for both: real speech when the shared data is there.
wavarg=()
shared=${VOXWARD_SHARED:-$(dirname "$0")/../../shared}/data/librispeech/test-other
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
fi
# One core each, one after the other.
ours=$(taskset -c 0 "$bin" bench --seconds "$seconds" "${wavarg[@]}")
peer=$(MALLOC_MMAP_THRESHOLD_=33554432 MALLOC_TRIM_THRESHOLD_=4294967296 OMP_NUM_THREADS=1 \
  taskset -c 0 $py "$(dirname "$0")/bench-torchaudio.py" --seconds "$seconds" "${wavarg[@]}")
$py - "$ours" "$peer" <<'PY'
import json, sys
ours, peer = json.loads(sys.argv[1]), json.loads(sys.argv[2])
print(json.dumps({
    "voxward": {k: ours[k] for k in ("fbank80_xrt", "mfcc13_xrt", "voiceprint_xrt", "kernels")},
    "torchaudio": peer,
    "fbank80_ratio": ours["fbank80_xrt"] / peer["fbank80_xrt"],
    "mfcc13_ratio": ours["mfcc13_xrt"] / peer["mfcc13_xrt"],
}, indent=1))
PY
