import numpy as np
from proto import D
def eer(s, l):
    s = np.asarray(s); l = np.asarray(l)
    o = np.argsort(s); l = l[o]
    nt = l.sum(); nn = len(l) - nt
    fr = np.hstack([0, np.cumsum(l) / nt]); fa = np.hstack([1, 1 - np.cumsum(1 - l) / nn])
    i = np.argmin(np.abs(fr - fa)); e = (fr[i] + fa[i]) / 2
    c = np.min(0.01 * fr + 0.99 * fa) / 0.01
    return e * 100, c
def trials(name):
    T = []
    for line in open(f'{D}/trials/{name}'):
        a, b, c = line.split(); T.append((int(a), b.split(','), c))
    return T
