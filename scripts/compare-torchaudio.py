#!/usr/bin/python3
"""Compares `voxward features` with torchaudio.compliance.kaldi (float64) on
any WAV files, as the golden tests do, and prints one line per file and
variant with the mean and maximum absolute difference. Exits 1 if any
exceeds the golden tolerance (mean 1e-3, max 5e-2).

  /usr/bin/python3 scripts/compare-torchaudio.py [--bin bin/voxward] X.wav ...

Input scaling is torchaudio.load(...)[0] * 32768 (the 16-bit integer scale);
--sample-frequency is the file's rate; the first channel is used.
"""
import argparse
import subprocess
import sys

import numpy as np
import torchaudio
import torchaudio.compliance.kaldi as K

VARIANTS = {
    "fbank80": (["fbank", "--num-mel-bins", "80"], lambda w, sr: K.fbank(w, num_mel_bins=80, dither=0.0, sample_frequency=sr)),
    "mfcc13": (["mfcc"], lambda w, sr: K.mfcc(w, dither=0.0, sample_frequency=sr)),
    "fbank40_hamming_nosnip": (
        ["fbank", "--num-mel-bins", "40", "--snip-edges=false", "--window-type", "hamming"],
        lambda w, sr: K.fbank(w, num_mel_bins=40, dither=0.0, snip_edges=False, window_type="hamming", sample_frequency=sr),
    ),
    "mfcc_energy_htk": (
        ["mfcc", "--use-energy", "--htk-compat", "--raw-energy=false"],
        lambda w, sr: K.mfcc(w, dither=0.0, use_energy=True, htk_compat=True, raw_energy=False, sample_frequency=sr),
    ),
}

p = argparse.ArgumentParser()
p.add_argument("--bin", default="bin/voxward")
p.add_argument("wavs", nargs="+")
a = p.parse_args()
bad = False
for path in a.wavs:
    wave, sr = torchaudio.load(path)
    w = (wave[0:1] * 32768).double()
    for name, (args, ref) in VARIANTS.items():
        want = ref(w, float(sr)).numpy()
        out = subprocess.run([a.bin, "features", *args, "--sample-frequency", str(sr), path], capture_output=True, text=True)
        if out.returncode != 0:
            print(f"{path} {name}: voxward failed: {out.stderr.strip()}")
            bad = True
            continue
        got = np.loadtxt(out.stdout.splitlines(), ndmin=2) if out.stdout else np.zeros((0, want.shape[1]))
        if got.shape != want.shape:
            print(f"{path} {name}: shape {got.shape}, torchaudio {want.shape}")
            bad = True
            continue
        d = np.abs(got - want)
        ok = d.mean() <= 1e-3 and d.max() <= 5e-2
        bad |= not ok
        print(f"{path} {name} {sr} Hz {want.shape[0]}x{want.shape[1]}: mean {d.mean():.2e} max {d.max():.2e} {'ok' if ok else 'FAIL'}")
sys.exit(1 if bad else 0)
