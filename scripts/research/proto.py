#!/usr/bin/python3
"""Quick prototypes of voiceprint methods on the dev lists (research only)."""
import os, sys, glob, time, numpy as np, torch, torchaudio
import torchaudio.compliance.kaldi as K
D = os.environ.get('VOXWARD_SHARED', '/work/shared') + '/data'
rng = np.random.default_rng(0)

def load(p):
    w, sr = torchaudio.load(p); return (w[0] * 32768).numpy().astype(np.float32)

def telephone(x):
    # 16k -> 8k band 300-3400 -> 16k via torchaudio resample + fft mask
    t = torch.from_numpy(x)[None]
    y = torchaudio.functional.resample(t, 16000, 8000)
    y = torchaudio.functional.highpass_biquad(y, 8000, 300.)
    y = torchaudio.functional.lowpass_biquad(y, 8000, 3400.)
    y = torchaudio.functional.resample(y, 8000, 16000)
    y = torch.clamp(torch.round(y), -32768, 32767)  # keep int16 scale
    return y[0].numpy()

def noise(x, snr, seed):
    r = np.random.default_rng(seed)
    n = r.standard_normal(len(x)).astype(np.float32)
    # pinkish: cumulative filter
    n = np.convolve(n, np.ones(4) / 4, mode='same')
    px = np.mean(x ** 2); pn = np.mean(n ** 2)
    return x + n * np.sqrt(px / pn / 10 ** (snr / 10))

def feats(x, nceps=20, nmel=40, lo=20, hi=0):
    t = torch.from_numpy(np.asarray(x, np.float32))[None]
    m = K.mfcc(t, num_ceps=nceps, num_mel_bins=nmel, dither=0.0, low_freq=lo, high_freq=hi, use_energy=False).numpy()
    e = K.fbank(t, num_mel_bins=nmel, dither=0.0, use_energy=True, low_freq=lo, high_freq=hi).numpy()[:, 0]
    return m, e

def vad(logE):
    # energy VAD: frames above max-? dB and above noise floor percentile
    thr = max(np.percentile(logE, 10) + 2.0, logE.max() - 7.0)
    # logE natural log of energy; 2.0 nat ~ 8.7 dB
    return logE > thr

def deltas(m, w=2):
    T = len(m); p = np.pad(m, ((w, w), (0, 0)), mode='edge')
    d = sum(k * (p[w + k:w + k + T] - p[w - k:w - k + T]) for k in range(1, w + 1)) / (2 * sum(k * k for k in range(1, w + 1)))
    return d

def proc(x, mode='cmn', **kw):
    m, e = feats(x, **kw)
    v = vad(e)
    if v.sum() < 20: v[:] = True
    d = deltas(m); dd = deltas(d)
    F = np.hstack([m, d, dd])
    F = F[v]
    if mode == 'cmn':
        F = F - F.mean(0)
    elif mode == 'cmvn':
        F = (F - F.mean(0)) / (F.std(0) + 1e-3)
    return F.astype(np.float32)

def tf(p):
    return p.split('/')[-1][:-4]

# ---------------- GMM ----------------
def gmm_llk(F, w, mu, var):
    # returns (T, C) log w_c N(x|c)
    prec = 1 / var
    c = np.log(w) - 0.5 * (np.log(2 * np.pi * var).sum(1) + (mu ** 2 * prec).sum(1))
    return c[None] + F @ (mu * prec).T - 0.5 * (F ** 2) @ prec.T

def train_ubm(X, C=256, iters=10):
    # binary splitting + EM
    mu = X.mean(0, keepdims=True); var = X.var(0, keepdims=True); w = np.ones(1)
    floor = 0.01 * X.var(0)
    while True:
        for it in range(iters if len(w) == C else 4):
            L = gmm_llk(X, w, mu, var)
            mx = L.max(1, keepdims=True); P = np.exp(L - mx); P /= P.sum(1, keepdims=True)
            n = P.sum(0) + 1e-6
            mu = (P.T @ X) / n[:, None]
            var = np.maximum((P.T @ X ** 2) / n[:, None] - mu ** 2, floor)
            w = n / n.sum()
        if len(w) >= C: break
        sd = np.sqrt(var)
        mu = np.vstack([mu - 0.2 * sd, mu + 0.2 * sd]); var = np.vstack([var, var]); w = np.hstack([w, w]) / 2
    return w, mu, var

def stats(F, ubm, topn=0):
    w, mu, var = ubm
    L = gmm_llk(F, w, mu, var)
    if topn:
        idx = np.argpartition(-L, topn, axis=1)[:, :topn]
        M = np.full_like(L, -np.inf); np.put_along_axis(M, idx, np.take_along_axis(L, idx, 1), 1); L = M
    mx = L.max(1, keepdims=True); P = np.exp(L - mx); P /= P.sum(1, keepdims=True)
    n = P.sum(0); f = P.T @ F
    return n, f

def supervector(n, f, ubm, r=16.0):
    w, mu, var = ubm
    alpha = (n / (n + r))[:, None]
    m = alpha * (f / np.maximum(n, 1e-6)[:, None]) + (1 - alpha) * mu
    # KL-kernel normalisation
    return (np.sqrt(w)[:, None] * (m - mu) / np.sqrt(var)).ravel()
