#!/usr/bin/python3
import sys, os, glob, time, pickle, numpy as np
sys.path.insert(0, os.path.dirname(__file__))
from proto import *
from run_util import *
cfg = dict(nceps=int(os.environ.get('NCEPS', 20)), nmel=int(os.environ.get('NMEL', 40)))
mode = os.environ.get('MODE', 'cmn'); C = int(os.environ.get('C', 256)); DD = os.environ.get('DD', '1') == '1'
key = f"{cfg['nceps']}_{cfg['nmel']}_{mode}"
cache = f'/tmp/vp_{key}.pkl'
train = sorted(glob.glob(f'{D}/librispeech/train-clean-100/*/*.wav'))
test = sorted(glob.glob(f'{D}/librispeech/test-other/*/*.wav'))
if os.path.exists(cache):
    TR, TE = pickle.load(open(cache, 'rb'))
else:
    TR = {}; TE = {}
    for i, p in enumerate(train):
        x = load(p); h = len(x) // 2
        TR[p] = dict(clean=proc(x, mode, **cfg), tel=proc(telephone(x), mode, **cfg), n10=proc(noise(x, 10, i), mode, **cfg),
                     a=proc(x[:h], mode, **cfg), b=proc(x[h:], mode, **cfg), ta=proc(telephone(x[:h]), mode, **cfg), nb=proc(noise(x[h:], 15, i), mode, **cfg))
    for i, p in enumerate(test):
        x = load(p); k = os.path.relpath(p, D)
        TE[k] = dict(clean=proc(x, mode, **cfg), tel=proc(telephone(x), mode, **cfg), n10=proc(noise(x, 10, 1000 + i), mode, **cfg), n20=proc(noise(x, 20, 2000 + i), mode, **cfg))
    pickle.dump((TR, TE), open(cache, 'wb'))
nd = 3 * cfg['nceps'] if DD else 2 * cfg['nceps']
def sel(F): return F[:, :nd]
AUG = os.environ.get('AUG', '1') == '1'
ukey = f'/tmp/ubm_{key}_{C}_{AUG}_{DD}.pkl'
if os.path.exists(ukey): ubm = pickle.load(open(ukey, 'rb'))
else:
    X = np.vstack([sel(v[k]) for v in TR.values() for k in (['clean', 'tel', 'n10'] if AUG else ['clean'])])
    X = X[rng.permutation(len(X))[:200000]]
    t0 = time.time(); ubm = train_ubm(X.astype(np.float64), C); print('ubm', time.time() - t0, file=sys.stderr)
    pickle.dump(ubm, open(ukey, 'wb'))
TOPN = int(os.environ.get('TOPN', 0)); R = float(os.environ.get('R', 16))
def stat(F): return stats(sel(F), ubm, TOPN)
def sv(st): return supervector(st[0], st[1], ubm, R)
TRS = {p: {k: stat(F) for k, F in v.items()} for p, v in TR.items()}
TES = {p: {k: stat(F) for k, F in v.items()} for p, v in TE.items()}
coh = np.array([sv(v['clean']) for v in TRS.values()])
mean = coh.mean(0)
NAP = int(os.environ.get('NAP', 0))
U = None
if NAP:
    # nuisance: differences within a speaker across halves / channels
    diffs = []
    for v in TRS.values():
        vs = [sv(v[k]) for k in ('clean', 'tel', 'n10', 'a', 'b', 'ta', 'nb')]
        vs = [x / np.linalg.norm(x - mean) for x in vs]
        m = np.mean(vs, 0); diffs += [x - m for x in vs]
    Dm = np.array(diffs)
    _, s, Vt = np.linalg.svd(Dm, full_matrices=False); U = Vt[:NAP].T
def ln(v):
    v = v - mean
    if U is not None: v = v - U @ (U.T @ v)
    return v / np.linalg.norm(v)
cohn = np.array([ln(c) for c in coh] + ([ln(sv(v['tel'])) for v in TRS.values()] if AUG else []))
for tv in os.environ.get('TV', 'clean').split(','):
    for tl in ['dev_testother_1v1.txt', 'dev_testother_3v1.txt']:
        T = trials(tl); S = []; SN = []; L = []
        cache_e = {}
        for lab, en, te in T:
            k = ','.join(en)
            if k not in cache_e:
                n = sum(TES[p]['clean'][0] for p in en); f = sum(TES[p]['clean'][1] for p in en)
                cache_e[k] = ln(sv((n, f)))
            e = cache_e[k]; t = ln(sv(TES[te][tv])); s = e @ t
            ce = np.sort(cohn @ e)[-100:]; ct = np.sort(cohn @ t)[-100:]
            SN.append(0.5 * ((s - ce.mean()) / ce.std() + (s - ct.mean()) / ct.std())); S.append(s); L.append(lab)
        print(tl[:-4], key, C, 'DD', DD, 'aug', AUG, 'R', R, 'NAP', NAP, 'TOPN', TOPN, 'test', tv, '| cos %.2f %.3f' % eer(S, L), '| snorm %.2f %.3f' % eer(SN, L), flush=True)
