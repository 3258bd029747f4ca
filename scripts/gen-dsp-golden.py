#!/usr/bin/python3
"""Regenerates testdata/dsp/: golden outputs of torchaudio.compliance.kaldi
(Debian's python3-torchaudio, float64) for option combinations the shared
reference files do not cover, on a generated signal.

Run from the repository root:  /usr/bin/python3 scripts/gen-dsp-golden.py
"""
import json
import math
import os
import struct
import wave

import torch
import torchaudio.compliance.kaldi as K
import torchaudio.functional as F

OUT = "testdata/dsp"
os.makedirs(OUT, exist_ok=True)
torch.manual_seed(7)


def signal(rate, seconds):
    """A chirp, a vowel-like harmonic burst, noise and a DC offset, int16."""
    n = int(rate * seconds)
    t = torch.arange(n, dtype=torch.float64) / rate
    chirp = 6000 * torch.sin(2 * math.pi * (100 * t + 0.5 * (rate / 2.5 - 100) / seconds * t * t))
    vowel = sum(2000 / k * torch.sin(2 * math.pi * 140 * k * t) for k in range(1, 20))
    env = (torch.sin(math.pi * t / seconds) ** 2)
    noise = 300 * torch.randn(n, dtype=torch.float64)
    x = (chirp * env + vowel * (1 - env) + noise + 150).round().clamp(-32768, 32767)
    x[n // 3 : n // 3 + rate // 50] = 0  # a stretch of digital silence
    return x


def write_wav(path, x, rate):
    with wave.open(path, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(x.to(torch.int16).numpy().tobytes())


def write_matrix(path, m):
    with open(path, "w") as f:
        for row in m.tolist():
            f.write(" ".join("%.10g" % v for v in row) + "\n")


cases = []
for rate, secs in ((16000, 0.43), (8000, 0.61), (44100, 0.21), (22050, 0.27)):
    x = signal(rate, secs)
    wav = "signal%d.wav" % rate
    write_wav(os.path.join(OUT, wav), x, rate)
    base = dict(sample_frequency=rate, dither=0.0)
    variants = [
        ("fbank", dict(num_mel_bins=23)),
        ("fbank", dict(num_mel_bins=40, use_energy=True)),
        ("fbank", dict(num_mel_bins=30, use_energy=True, raw_energy=False, htk_compat=True)),
        ("fbank", dict(num_mel_bins=24, use_power=False, window_type="blackman")),
        ("fbank", dict(num_mel_bins=20, use_log_fbank=False, window_type="rectangular", remove_dc_offset=False)),
        ("fbank", dict(num_mel_bins=25, window_type="hanning", preemphasis_coefficient=0.0, low_freq=64, high_freq=-400)),
        ("fbank", dict(num_mel_bins=26, snip_edges=False, frame_length=20, frame_shift=7.5, energy_floor=0.0, use_energy=True)),
        ("fbank", dict(num_mel_bins=23, blackman_coeff=0.3, window_type="blackman", high_freq=rate / 2 * 0.8)),
        ("mfcc", dict()),
        ("mfcc", dict(use_energy=True)),
        ("mfcc", dict(num_ceps=20, num_mel_bins=30, cepstral_lifter=0.0, htk_compat=True)),
        ("mfcc", dict(use_energy=True, htk_compat=True, raw_energy=False, snip_edges=False)),
        ("mfcc", dict(num_ceps=13, num_mel_bins=23, energy_floor=2.0, use_energy=True, window_type="hamming")),
    ]
    for i, (kind, opts) in enumerate(variants):
        o = dict(base, **opts)
        fn = K.fbank if kind == "fbank" else K.mfcc
        m = fn(x.unsqueeze(0), **o)
        name = "%s_%d_%02d.txt" % (kind, rate, i)
        write_matrix(os.path.join(OUT, name), m)
        cases.append(dict(file=name, wav=wav, kind=kind, options=o))

# A float recording with a digitally empty band (harmonics below 5 kHz at
# 44.1 kHz): in float32 its top mel bins are rounding noise, so voxward
# recomputes such frames in float64.
rate = 44100
t = torch.arange(int(rate * 0.3), dtype=torch.float64) / rate
x = sum(3000 / k * torch.sin(2 * math.pi * 180 * k * t + k) for k in range(1, 27))
x = x * (0.6 + 0.4 * torch.sin(2 * math.pi * 3 * t))
wav = "bandlimited44100f.wav"
with open(os.path.join(OUT, wav), "wb") as f:
    data = (x / 32768).to(torch.float32).numpy().tobytes()
    f.write(b"RIFF" + struct.pack("<I", 4 + 8 + 16 + 8 + len(data)) + b"WAVE")
    f.write(b"fmt " + struct.pack("<IHHIIHH", 16, 3, 1, rate, rate * 4, 4, 32))
    f.write(b"data" + struct.pack("<I", len(data)) + data)
xf = (x / 32768).to(torch.float32).double() * 32768  # what the file holds
for i, (kind, opts) in enumerate([("fbank", dict(num_mel_bins=80)), ("mfcc", dict()), ("fbank", dict(num_mel_bins=40, use_energy=True, snip_edges=False))]):
    o = dict(sample_frequency=rate, dither=0.0, **opts)
    m = (K.fbank if kind == "fbank" else K.mfcc)(xf.unsqueeze(0), **o)
    name = "%s_bandlimited_%02d.txt" % (kind, i)
    write_matrix(os.path.join(OUT, name), m)
    cases.append(dict(file=name, wav=wav, kind=kind, options=o))

# Sliding-window CMN and deltas on a random feature matrix.
feats = torch.randn(250, 5, dtype=torch.float64) * 3 + torch.arange(5, dtype=torch.float64)
write_matrix(os.path.join(OUT, "feats.txt"), feats)
cmn = []
for i, o in enumerate([
    dict(cmn_window=600, min_cmn_window=100, center=False, norm_vars=False),
    dict(cmn_window=50, min_cmn_window=10, center=False, norm_vars=True),
    dict(cmn_window=51, min_cmn_window=100, center=True, norm_vars=False),
    dict(cmn_window=40, min_cmn_window=5, center=True, norm_vars=True),
]):
    name = "cmn_%02d.txt" % i
    write_matrix(os.path.join(OUT, name), F.sliding_window_cmn(feats, **o))
    cmn.append(dict(file=name, options=o))
deltas = F.compute_deltas(feats.T.unsqueeze(0), win_length=5).squeeze(0).T
write_matrix(os.path.join(OUT, "deltas1.txt"), deltas)

mel = []
for i, (bins, padded, rate, low, high) in enumerate([(23, 512, 16000, 20, 0), (80, 512, 16000, 20, 0), (40, 256, 8000, 100, -200), (64, 2048, 44100, 0, 8000)]):
    banks, _ = K.get_mel_banks(bins, padded, float(rate), float(low), float(high), 100.0, -500.0, 1.0)
    name = "mel_%02d.txt" % i
    write_matrix(os.path.join(OUT, name), banks)
    mel.append(dict(file=name, bins=bins, padded=padded, rate=rate, low=low, high=high))

with open(os.path.join(OUT, "cases.json"), "w") as f:
    json.dump(dict(features=cases, cmn=cmn, mel=mel, torchaudio=__import__("torchaudio").__version__), f, indent=1)
print("wrote", len(cases), "feature cases,", len(cmn), "cmn cases,", len(mel), "mel banks to", OUT)
