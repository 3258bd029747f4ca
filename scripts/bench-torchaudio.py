#!/usr/bin/python3
"""Speed peer for `voxward bench`: torchaudio.compliance.kaldi fbank-80 and
MFCC-13 on one thread, in 60-second chunks (its best case), printing one
JSON object with real-time factors (median of --rounds).

Run it as scripts/bench-peer.sh does, with
MALLOC_MMAP_THRESHOLD_=33554432 MALLOC_TRIM_THRESHOLD_=4294967296, or it
measures malloc more than the features.
"""
import argparse
import json
import statistics
import time
import wave

import torch
import torchaudio
import torchaudio.compliance.kaldi as K

p = argparse.ArgumentParser()
p.add_argument("--seconds", type=float, default=600)
p.add_argument("--rounds", type=int, default=5)
p.add_argument("--chunk", type=float, default=60, help="seconds per call")
p.add_argument("--wav", help="16 kHz WAV to use (repeated to --seconds)")
a = p.parse_args()

torch.set_num_threads(1)
torch.set_num_interop_threads(1)
n = int(a.seconds * 16000)
if a.wav:
    with wave.open(a.wav) as w:
        assert w.getframerate() == 16000 and w.getsampwidth() == 2, "need 16 kHz 16-bit"
        s = torch.frombuffer(bytearray(w.readframes(w.getnframes())), dtype=torch.int16)
        s = s.reshape(-1, w.getnchannels())[:, 0].float()
    x = s.repeat(n // len(s) + 1)[:n]
else:
    g = torch.Generator().manual_seed(1)
    x = torch.randn(n, generator=g) * 3000
step = int(a.chunk * 16000)
chunks = [x[i : i + step].unsqueeze(0).contiguous() for i in range(0, n, step)]


def xrt(fn):
    fn()  # warm up
    times = []
    for _ in range(a.rounds):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return a.seconds / statistics.median(times)


res = {
    "fbank80_xrt": xrt(lambda: [K.fbank(c, num_mel_bins=80, dither=0.0) for c in chunks]),
    "mfcc13_xrt": xrt(lambda: [K.mfcc(c, dither=0.0) for c in chunks]),
    "seconds": a.seconds,
    "rounds": a.rounds,
    "chunk_seconds": a.chunk,
    "threads": torch.get_num_threads(),
    "torch": torch.__version__,
    "torchaudio": torchaudio.__version__,
}
print(json.dumps(res))
