#!/usr/bin/python3
import sys, os, glob, time, numpy as np
sys.path.insert(0, os.path.dirname(__file__))
from proto import *

def eer(s, l):
    s = np.asarray(s); l = np.asarray(l)
    o = np.argsort(s); l = l[o]
    nt = l.sum(); nn = len(l) - nt
    fr = np.cumsum(l) / nt; fa = 1 - np.cumsum(1 - l) / nn
    i = np.argmin(np.abs(fr - fa)); e = (fr[i] + fa[i]) / 2
    c = np.min(0.01 * (1 - np.hstack([0, fr])) * 0 + 0.01 * np.hstack([0, fr]) + 0.99 * np.hstack([1, fa])) / 0.01
    return e * 100, c

def trials(name):
    T = []
    for line in open(f'{D}/trials/{name}'):
        a, b, c = line.split(); T.append((int(a), b.split(','), c))
    return T

cfg = dict(nceps=int(os.environ.get('NCEPS', 20)), nmel=int(os.environ.get('NMEL', 40)))
mode = os.environ.get('MODE', 'cmn')
C = int(os.environ.get('C', 256)); AUG = os.environ.get('AUG', '0') == '1'
TEST_AUG = os.environ.get('TAUG', '')
t0 = time.time()
train = sorted(glob.glob(f'{D}/librispeech/train-clean-100/*/*.wav'))
test = sorted(glob.glob(f'{D}/librispeech/test-other/*/*.wav'))
TR = {}
for i, p in enumerate(train):
    x = load(p); TR[p] = [proc(x, mode, **cfg)]
    if AUG:
        TR[p].append(proc(telephone(x), mode, **cfg)); TR[p].append(proc(noise(x, 10 + 10 * (i % 2), i), mode, **cfg))
TE = {}
for i, p in enumerate(test):
    x = load(p)
    if TEST_AUG == 'tel': x = telephone(x)
    elif TEST_AUG.startswith('noise'): x = noise(x, int(TEST_AUG[5:]), 1000 + i)
    TE[os.path.relpath(p, D)] = proc(x, mode, **cfg)
print('feats', time.time() - t0, file=sys.stderr)
X = np.vstack([f for v in TR.values() for f in v])
X = X[rng.permutation(len(X))[:200000]]
t0 = time.time(); ubm = train_ubm(X.astype(np.float64), C); print('ubm', time.time() - t0, file=sys.stderr)
TOPN = int(os.environ.get('TOPN', 0))
def sv(F): n, f = stats(F, ubm, TOPN); return supervector(n, f, ubm)
# cohort: train first-view supervectors
coh = np.array([sv(v[0]) for v in TR.values()])
if AUG: coh = np.vstack([coh] + [np.array([sv(v[k]) for v in TR.values()]) for k in (1, 2)])
mean = coh.mean(0)
def ln(v): v = v - mean; return v / np.linalg.norm(v)
cohn = np.array([ln(c) for c in coh])
ESV = {k: ln(sv(F)) for k, F in TE.items()}
for tl in ['dev_testother_1v1.txt', 'dev_testother_3v1.txt']:
    T = trials(tl); S = []; SN = []; L = []
    for lab, en, te in T:
        if len(en) == 1: e = ESV[en[0]]
        else:
            F = np.vstack([TE[p] for p in en]); e = ln(sv(F))
        t = ESV[te]; s = e @ t
        ce = cohn @ e; ct = cohn @ t; k = 100
        ce = np.sort(ce)[-k:]; ct = np.sort(ct)[-k:]
        sn = 0.5 * ((s - ce.mean()) / ce.std() + (s - ct.mean()) / ct.std())
        S.append(s); SN.append(sn); L.append(lab)
    print(tl, cfg, mode, C, 'aug', AUG, 'taug', TEST_AUG, 'cos EER %.2f dcf %.3f' % eer(S, L), 'snorm EER %.2f dcf %.3f' % eer(SN, L))
