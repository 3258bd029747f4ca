#!/usr/bin/python3
"""Speed peer for `voxward bench`: torchaudio.compliance.kaldi fbank-80 and
MFCC-13, printing one JSON object with real-time factors (median of
--rounds, after one warm-up call that is not timed).

It gives torchaudio its best case by itself, whatever the caller's
environment, because each of these was measured to move its figure
(2-core AMD EPYC VM, 600 s of LibriSpeech, settings interleaved):

- BLAS, the one that explains the published 772x/877x against the
  3,100-3,300x others got from this script. Debian's torch links
  libblas.so.3, which is whatever the alternatives system points at:
  apt installs the reference BLAS (libblas3) with python3-torchaudio when
  nothing else provides it. The 80-bin mel product, a (frames x 257) by
  (257 x 80) matmul, is then 60-70 % of fbank's time, and fbank-80 runs at
  520-820x real time against 1,860-3,470x on OpenBLAS in the same round
  (3.2-4.2x each time; MFCC-13, 23 bins, 1.6-1.9x). The script re-executes itself
  with an OpenBLAS directory first on LD_LIBRARY_PATH (serial, else
  pthread, else openmp: the three measured alike on one thread) and
  refuses the reference BLAS unless --blas system asks for it. "blas"
  in the output names the library actually mapped.
- malloc: MALLOC_MMAP_THRESHOLD_=33554432 MALLOC_TRIM_THRESHOLD_=4294967296
  keep the per-call buffers (about 12 MB for a 60 s chunk) on the heap
  instead of a fresh mmap per call. Without them a run took 15,000-85,000
  page faults and fbank-80 ran 2-4x slower; with them about none ("minflt"
  counts the faults in the timed runs). Chunks of 300 s exceed the
  threshold and fault again (130-180x); 5, 10 and 60 s measured alike.
- Threads: one core each. torch.set_num_threads(1) and OMP_NUM_THREADS=1,
  OPENBLAS_NUM_THREADS=1. Two intra-op threads unpinned use the second
  core (not a one-core figure) and collapse to ~500x when it is busy;
  two threads pinned to one core cost 0-30 %.
- Not worth it: inference_mode/no_grad (no change); float64 halves it.

What still moves the figure from run to run is the machine: on the VM
used, the same setting with the other core idle went from 3,470x to
1,860x within minutes, and voxward moved with it. Measure interleaved
with voxward (scripts/bench-peer.sh) and publish the per-pair ratio.

The environment is set before exec because glibc reads the malloc
variables, and the dynamic linker LD_LIBRARY_PATH, only at process start.
"""
import argparse
import glob
import json
import os
import resource
import statistics
import sys
import sysconfig
import time
import wave

BEST_ENV = {
    "MALLOC_MMAP_THRESHOLD_": "33554432",
    "MALLOC_TRIM_THRESHOLD_": "4294967296",
    "OMP_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
}
REEXEC = "VOXWARD_BENCH_TORCHAUDIO_EXEC"

p = argparse.ArgumentParser()
p.add_argument("--seconds", type=float, default=600)
p.add_argument("--rounds", type=int, default=5)
p.add_argument("--chunk", type=float, default=60, help="seconds per call")
p.add_argument("--wav", help="16 kHz WAV to use (repeated to --seconds)")
p.add_argument(
    "--blas",
    choices=["openblas", "system"],
    default="openblas",
    help="openblas: force an installed OpenBLAS (best case); system: whatever libblas.so.3 points at",
)
a = p.parse_args()


def openblas_dir():
    arch = sysconfig.get_config_var("MULTIARCH") or "x86_64-linux-gnu"
    for v in ("serial", "pthread", "openmp"):
        for d in glob.glob(f"/usr/lib/{arch}/openblas-{v}"):
            if os.path.exists(os.path.join(d, "libblas.so.3")):
                return d
    return None


if os.environ.get(REEXEC) != "1":
    env = dict(os.environ, **BEST_ENV)
    env[REEXEC] = "1"
    if a.blas == "openblas":
        d = openblas_dir()
        if d is None:
            sys.exit(
                "bench-torchaudio: no OpenBLAS; torchaudio on the reference BLAS is about "
                "4x slower than its best case: apt-get install -y libopenblas0-serial "
                "(or pass --blas system to measure it anyway)"
            )
        env["LD_LIBRARY_PATH"] = d + (":" + env["LD_LIBRARY_PATH"] if env.get("LD_LIBRARY_PATH") else "")
    os.execve(sys.executable, [sys.executable] + sys.argv, env)

import torch  # noqa: E402
import torchaudio  # noqa: E402
import torchaudio.compliance.kaldi as K  # noqa: E402

torch.set_num_threads(1)
torch.set_num_interop_threads(1)


def mapped_blas():
    with open("/proc/self/maps") as f:
        libs = {line.split()[-1] for line in f if "blas" in line.split()[-1]}
    return ",".join(sorted(libs))


blas = mapped_blas()
if a.blas == "openblas" and "openblas" not in blas:
    sys.exit(f"bench-torchaudio: asked for OpenBLAS but {blas or 'no BLAS'} is mapped")

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
faults = 0


def xrt(fn):
    global faults
    fn()  # warm up: lazy init, first allocations
    times = []
    f0 = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(a.rounds):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    faults += resource.getrusage(resource.RUSAGE_SELF).ru_minflt - f0
    return a.seconds / statistics.median(times)


res = {
    "fbank80_xrt": xrt(lambda: [K.fbank(c, num_mel_bins=80, dither=0.0) for c in chunks]),
    "mfcc13_xrt": xrt(lambda: [K.mfcc(c, dither=0.0) for c in chunks]),
    "seconds": a.seconds,
    "rounds": a.rounds,
    "chunk_seconds": a.chunk,
    "threads": torch.get_num_threads(),
    "blas": blas,
    "minflt": faults,
    "torch": torch.__version__,
    "torchaudio": torchaudio.__version__,
}
print(json.dumps(res))
