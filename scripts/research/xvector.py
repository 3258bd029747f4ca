#!/usr/bin/python3
"""A small neural speaker extractor (x-vector style), for measurement only.

Issue 13 asks to weigh a compact back end against "a small neural extractor
trained with heavy augmentation" and to measure each against the peers
rather than assume. This trains one on the same 200 training speakers the
shipped model learns from, in the same nine channels, and scores the dev
lists' trials with it, so that `voxward eval --against` compares it with
the model and the peers on the same trials. Nothing here ships; the result
is in dsp/voiceprint/model/README.md ("A small neural extractor").

Input: the shipped front end's speech frames, dumped by

    go test -tags research -run TestExpNeuralDump -v ./dsp/voiceprint/train/

(20 MFCC + deltas, 60 values a frame, in DUMP = /tmp/vxexp/neural).

    /usr/bin/python3 scripts/research/xvector.py train --dump DUMP --out NET.pt
    /usr/bin/python3 scripts/research/xvector.py score --dump DUMP --net NET.pt \\
        --like PEER.scores --channel CH [--augment-enrol] --out NET.scores

    /usr/bin/python3 scripts/research/xvector.py fuse --a MODEL.scores --b NET.scores \
        [--weights 0.1,0.5] [--out FUSED.scores --write 0.5]
    /usr/bin/python3 scripts/research/xvector.py import --go DUMP/go-w64.bin --dump DUMP --out NET.pt

`score` reads the trials, in order, and the condition line from a score
file another system wrote for the same run (voxward eval --scores), so the
two files hold the same trials; CH names the dump's channel of the test
side ("short" for eval --test-seconds 3), and with --augment-enrol the
enrolment side's too.

Network: five TDNN layers (1-D convolutions over frames, contexts 5, 3
dilated by 2, 3 dilated by 3, 1, 1), statistics pooling (mean and standard
deviation over frames), one affine layer to the embedding, trained with an
additive angular margin softmax over the training speakers on random 2-s
crops. Scoring: cosine of the embeddings after removing the training
embeddings' mean, enrolments of several files averaged; with --snorm K,
adaptive s-norm against the training speakers' clean embeddings (top K).
`fuse` prints the EER of A, of B and of A + w·B for each weight (same
trials, same order), and can write the fusion at one weight as a score
file for voxward eval --against.

Needs Debian's python3-torch (apt-get install python3-torch); single
process, --threads threads (default 2).
"""
import argparse
import math
import sys
import time

import numpy as np

try:
    import torch
    import torch.nn as nn
    import torch.nn.functional as F
except ImportError:
    sys.exit("xvector.py needs PyTorch: apt-get install python3-torch, and run it with /usr/bin/python3")


def load_index(dump, part):
    """Records (name, channel, first row, rows) and the values a frame."""
    recs = []
    try:
        f = open(f"{dump}/{part}.tsv")
    except OSError as e:
        sys.exit(f"xvector.py: {e} (the dump: go test -tags research -run TestExpNeuralDump ./dsp/voiceprint/train/)")
    with f:
        head = f.readline()
        dim = int(head.split("(dim ")[1].split(")")[0])
        for line in f:
            name, ch, first, rows = line.rstrip("\n").split("\t")
            recs.append((name, ch, int(first), int(rows)))
    return recs, dim


def load(dump, part):
    """Records (name, channel, first row, rows) and the frame matrix."""
    recs, dim = load_index(dump, part)
    x = np.fromfile(f"{dump}/{part}.f32", dtype="<f4").reshape(-1, dim)
    return recs, x


def embeddings(net, ck, x, recs):
    """The records' embeddings, centred and of unit length."""
    out = []
    with torch.no_grad():
        for _, _, f, n in recs:
            v = embed_one(net, x, f, n, ck["args"]["norm"], ck["mu"], ck["sd"]) - ck["centre"]
            out.append(v / np.linalg.norm(v))
    return np.stack(out).astype(np.float32)


def cached_embeddings(a, net, ck, part, keep=lambda r: True):
    """The records of a dump part that keep accepts and their embeddings(),
    computed once per network and kept beside it (NET.pt.PART.npy)."""
    path = f"{a.net}.{part}.npy"
    recs = [r for r in load_index(a.dump, part)[0] if keep(r)]
    try:
        e = np.load(path)
        if len(e) == len(recs):
            return recs, e
    except OSError:
        pass
    _, x = load(a.dump, part)
    e = embeddings(net, ck, x[:, :ck["args"]["dims"]], recs)
    np.save(path, e)
    return recs, e


class XVector(nn.Module):
    def __init__(self, din, width, emb, speakers):
        super().__init__()
        spec = [(din, width, 5, 1), (width, width, 3, 2), (width, width, 3, 3),
                (width, width, 1, 1), (width, 3 * width, 1, 1)]
        self.convs = nn.ModuleList(nn.Conv1d(i, o, k, dilation=d) for i, o, k, d in spec)
        self.norms = nn.ModuleList(nn.BatchNorm1d(o) for _, o, _, _ in spec)
        self.context = 1 + sum((k - 1) * d for _, _, k, d in spec)
        self.emb = nn.Linear(6 * width, emb)
        self.head = nn.Parameter(torch.randn(speakers, emb) * 0.01)

    def embed(self, x):
        """x: batch, dims, frames -> batch, emb."""
        for conv, norm in zip(self.convs, self.norms):
            x = norm(F.relu(conv(x)))
        mean = x.mean(2)
        sd = torch.sqrt(x.var(2, unbiased=False).clamp(min=1e-5))
        return self.emb(torch.cat([mean, sd], 1))

    def loss(self, x, y, margin, scale):
        cos = F.linear(F.normalize(self.embed(x)), F.normalize(self.head))
        theta = torch.acos(cos.clamp(-1 + 1e-6, 1 - 1e-6))
        hot = F.one_hot(y, cos.size(1)).bool()
        logits = scale * torch.where(hot, torch.cos(theta + margin), cos)
        return F.cross_entropy(logits, y), (cos.argmax(1) == y).float().mean()


def normalise(seg, mode, mu, sd):
    if mode == "cmn":
        seg = seg - seg.mean(0, keepdims=True)
    return (seg - mu) / sd


def mask(batch, rng):
    """SpecAugment-style masking, in place: in each crop two spans of up to
    20 frames and one band of up to 10 feature values are set to 0 (the
    normalised mean)."""
    b, t, d = batch.shape
    for i in range(b):
        for _ in range(2):
            w = int(rng.integers(0, 21))
            s = int(rng.integers(0, t - w + 1))
            batch[i, s:s + w] = 0
        w = int(rng.integers(0, 11))
        s = int(rng.integers(0, d - w + 1))
        batch[i, :, s:s + w] = 0


def crop(x, first, rows, length, rng):
    if rows >= length:
        s = first + int(rng.integers(0, rows - length + 1))
        return x[s:s + length]
    reps = math.ceil(length / max(rows, 1))
    return np.tile(x[first:first + rows], (reps, 1))[:length]


def train(a):
    torch.manual_seed(a.seed)
    torch.set_num_threads(a.threads)
    rng = np.random.default_rng(a.seed)
    recs, x = load(a.dump, "train")
    speakers = sorted({r[0] for r in recs}, key=int)
    spk = {s: i for i, s in enumerate(speakers)}
    dims = a.dims
    x = x[:, :dims]
    # Global statistics after the per-utterance normalisation.
    parts = [normalise(x[f:f + n], a.norm, 0, 1) for _, _, f, n in recs]
    allx = np.concatenate(parts)
    mu, sd = allx.mean(0), allx.std(0) + 1e-5
    net = XVector(dims, a.width, a.emb, len(speakers))
    params = sum(p.numel() for p in net.parameters())
    print(f"train: {len(recs)} records of {len(speakers)} speakers, {len(x)} frames; "
          f"{params} parameters ({params - net.head.numel()} without the training head)", flush=True)
    opt = torch.optim.Adam(net.parameters(), lr=a.lr, weight_decay=a.decay)
    steps = a.steps
    start = time.time()
    net.train()
    for step in range(steps):
        frac = step / steps
        for g in opt.param_groups:
            g["lr"] = a.lr * 0.5 * (1 + math.cos(math.pi * frac)) + 1e-5
        margin = a.margin * min(1.0, frac / 0.3)
        idx = rng.integers(0, len(recs), a.batch)
        batch = np.stack([normalise(crop(x, recs[i][2], recs[i][3], a.frames, rng), a.norm, mu, sd) for i in idx])
        if a.mask:
            mask(batch, rng)
        y = torch.tensor([spk[recs[i][0]] for i in idx])
        loss, acc = net.loss(torch.from_numpy(batch).float().transpose(1, 2), y, margin, a.scale)
        opt.zero_grad()
        loss.backward()
        opt.step()
        if step % 100 == 0 or step == steps - 1:
            el = time.time() - start
            print(f"step {step + 1}/{steps} loss {loss.item():.3f} acc {acc.item():.2f} "
                  f"margin {margin:.2f} {el:.0f} s (about {el / (step + 1) * (steps - step - 1):.0f} s to go)", flush=True)
    net.eval()
    with torch.no_grad():
        clean = [embed_one(net, x, f, n, a.norm, mu, sd) for _, ch, f, n in recs if ch == "0"]
    centre = np.mean(clean, 0)
    torch.save({"state": net.state_dict(), "args": vars(a), "mu": mu, "sd": sd, "centre": centre,
                "speakers": len(speakers)}, a.out)
    print(f"wrote {a.out} after {time.time() - start:.0f} s", flush=True)


def embed_one(net, x, first, rows, mode, mu, sd):
    seg = normalise(x[first:first + rows], mode, mu, sd)
    if len(seg) < net.context:
        seg = np.tile(seg, (math.ceil(net.context / max(len(seg), 1)), 1))
    t = torch.from_numpy(np.ascontiguousarray(seg.T[None])).float()
    return net.embed(t)[0].numpy()


def read_scores(path):
    """A score file's comment lines and its trials: (label, score, enrolment
    paths joined by commas, test path)."""
    head, trials = [], []
    with open(path) as f:
        for line in f:
            if line.startswith("#"):
                head.append(line)
                continue
            w = line.split()
            if len(w) == 4:
                trials.append((w[0], float(w[1]), w[2], w[3]))
    return head, trials


def score(a):
    torch.set_num_threads(a.threads)
    ck = torch.load(a.net)
    args = ck["args"]
    net = XVector(args["dims"], args["width"], args["emb"], ck["speakers"])
    net.load_state_dict(ck["state"])
    net.eval()
    recs, embs = cached_embeddings(a, net, ck, "dev")
    where = {(r[0], r[1]): i for i, r in enumerate(recs)}
    head, trials = read_scores(a.like)

    def emb(path, ch):
        return embs[where[(path, ch)]]

    # The s-norm cohort: the training speakers' clean recordings.
    cohort = cached_embeddings(a, net, ck, "train", lambda r: r[1] == "0")[1] if a.snorm else None

    def stats(v):
        c = np.sort(cohort @ v)[-a.snorm:]
        return c.mean(), c.std() + 1e-6

    enrol_ch = a.channel if a.augment_enrol else "none"
    with open(a.out, "w") as out:
        out.write(f"# system {a.name}\n")
        out.writelines(h for h in head if h.startswith("# condition"))
        for label, _, enrol, test in trials:
            e = np.mean([emb(p, enrol_ch) for p in enrol.split(",")], 0)
            e /= np.linalg.norm(e)
            t = emb(test, a.channel)
            sc = float(np.dot(e, t))
            if cohort is not None:
                (me, se), (mt, st) = stats(e), stats(t)
                sc = 0.5 * ((sc - me) / se + (sc - mt) / st)
            out.write(f"{label} {sc:.6f} {enrol} {test}\n")


def eer(labels, scores):
    """Equal error rate: where the miss and false-accept rates cross."""
    order = np.argsort(scores)
    lab = labels[order]
    miss = np.cumsum(lab) / lab.sum()  # targets at or below each score
    fa = 1 - np.cumsum(1 - lab) / (1 - lab).sum()
    i = np.argmin(np.abs(miss - fa))
    return (miss[i] + fa[i]) / 2


def fuse(a):
    """EER of A, of B and of A + w·B for each weight, on the same trials."""
    head, ta = read_scores(a.a)
    _, tb = read_scores(a.b)
    if [(t[0], t[2], t[3]) for t in ta] != [(t[0], t[2], t[3]) for t in tb]:
        sys.exit("fuse: the two files hold other trials")
    lab = np.array([t[0] == "1" for t in ta], float)
    sa = np.array([t[1] for t in ta])
    sb = np.array([t[1] for t in tb])
    out = [f"{100 * eer(lab, sa):.2f}", f"{100 * eer(lab, sb):.2f}"]
    for w in a.weights.split(","):
        out.append(f"{100 * eer(lab, sa + float(w) * sb):.2f}")
    print(" ".join(out))
    if a.out:
        with open(a.out, "w") as f:
            f.write(f"# system {a.name}\n")
            f.writelines(h for h in head if h.startswith("# condition"))
            for (label, x, enrol, test), y in zip(ta, sb):
                f.write(f"{label} {x + a.write * y:.6f} {enrol} {test}\n")


def import_go(a):
    """A checkpoint from a network voxward trained (TestExpNeuralGo): the
    weights of go-w64.bin in PyTorch's layouts, and the embeddings Go
    computed as this network's cache (NET.pt.dev.npy, NET.pt.train.npy).
    Prints how far PyTorch's embeddings of the same weights lie from Go's."""
    import json
    import struct
    b = open(a.go, "rb").read()
    if b[:8] != b"VXTDNN01":
        sys.exit(f"{a.go}: not a voxward network")
    hl = struct.unpack("<I", b[8:12])[0]
    h = json.loads(b[12:12 + hl])
    vals = np.frombuffer(b[12 + hl:], dtype="<f4")
    t, off = {}, 0
    for info in h["tensors"]:
        t[info["name"]] = vals[off:off + info["len"]].copy()
        off += info["len"]
    din, width, emb = h["input"], h["width"], h["dim"]
    net = XVector(din, width, emb, 200)
    state = net.state_dict()
    for i, conv in enumerate(net.convs):
        o, n, k = conv.weight.shape
        w = t[f"layer{i + 1}.weight"].reshape(k, n, o).transpose(2, 1, 0)
        state[f"convs.{i}.weight"] = torch.from_numpy(np.ascontiguousarray(w))
        state[f"convs.{i}.bias"] = torch.from_numpy(t[f"layer{i + 1}.bias"])
        for ours, theirs in (("gamma", "weight"), ("beta", "bias"), ("running_mean", "running_mean"), ("running_var", "running_var")):
            state[f"norms.{i}.{theirs}"] = torch.from_numpy(t[f"layer{i + 1}.{ours}"])
    state["emb.weight"] = torch.from_numpy(np.ascontiguousarray(t["embed.weight"].reshape(6 * width, emb).T))
    state["emb.bias"] = torch.from_numpy(t["embed.bias"])
    net.load_state_dict(state)
    net.eval()
    mu, sd = t["input.mean"], t["input.sd"]
    recs, x = load(a.dump, "train")
    x = x[:, :din]
    with torch.no_grad():
        clean = [embed_one(net, x, f, n, "none", mu, sd) for _, ch, f, n in recs if ch == "0"]
    args = {"dims": din, "width": width, "emb": emb, "norm": "none", "go": a.go}
    ck = {"state": net.state_dict(), "args": args, "mu": mu, "sd": sd, "centre": np.mean(clean, 0), "speakers": 200}
    torch.save(ck, a.out)
    base = a.go[:-len(".bin")]
    for part in ("dev", "train"):
        e = np.fromfile(f"{base}.{part}.f32", dtype="<f4").reshape(-1, emb)
        np.save(f"{a.out}.{part}.npy", e)
    # Parity: PyTorch's embeddings of the same weights for a sample of dev records.
    drecs, dx = load(a.dump, "dev")
    go = np.load(f"{a.out}.dev.npy")
    rng = np.random.default_rng(1)
    pick = rng.choice(len(drecs), size=min(200, len(drecs)), replace=False)
    mine = embeddings(net, ck, dx[:, :din], [drecs[i] for i in pick])
    d = np.abs(mine - go[pick]).max()
    print(f"import: wrote {a.out}; PyTorch's and Go's embeddings of {len(pick)} dev records differ by at most {d:.2e} (unit length)")


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    t = sub.add_parser("train")
    t.add_argument("--dump", required=True)
    t.add_argument("--out", required=True)
    t.add_argument("--dims", type=int, default=60, help="feature values a frame used (20: the static MFCCs)")
    t.add_argument("--norm", choices=["cmn", "none"], default="cmn", help="per-utterance mean removal")
    t.add_argument("--width", type=int, default=256)
    t.add_argument("--emb", type=int, default=256, help="embedding values (the voiceprint)")
    t.add_argument("--frames", type=int, default=200, help="crop length in frames (10 ms)")
    t.add_argument("--batch", type=int, default=64)
    t.add_argument("--steps", type=int, default=3000)
    t.add_argument("--lr", type=float, default=2e-3)
    t.add_argument("--decay", type=float, default=2e-4)
    t.add_argument("--margin", type=float, default=0.2)
    t.add_argument("--scale", type=float, default=30)
    t.add_argument("--mask", action="store_true", help="SpecAugment-style masking of the crops")
    t.add_argument("--seed", type=int, default=1)
    t.add_argument("--threads", type=int, default=2)
    s = sub.add_parser("score")
    s.add_argument("--dump", required=True)
    s.add_argument("--net", required=True)
    s.add_argument("--like", required=True)
    s.add_argument("--channel", required=True)
    s.add_argument("--augment-enrol", action="store_true")
    s.add_argument("--out", required=True)
    s.add_argument("--name", default="xvector")
    s.add_argument("--snorm", type=int, default=0, help="adaptive s-norm against the top K training speakers (0: raw cosine)")
    s.add_argument("--threads", type=int, default=2)
    f = sub.add_parser("fuse")
    f.add_argument("--a", required=True, help="score file of the first system (the model)")
    f.add_argument("--b", required=True, help="score file of the second, same trials")
    f.add_argument("--weights", default="0.1,0.2,0.3,0.5", help="weights w of B to print the EER of A + w·B for")
    f.add_argument("--out", help="write A + w·B at --write w to this score file")
    f.add_argument("--write", type=float, default=0.5, help="the weight of the written fusion")
    f.add_argument("--name", default="fused", help="system name in the written file")
    g = sub.add_parser("import")
    g.add_argument("--go", required=True, help="go-w64.bin from TestExpNeuralGo (its embeddings beside it)")
    g.add_argument("--dump", required=True)
    g.add_argument("--out", required=True)
    a = p.parse_args()
    {"train": train, "score": score, "fuse": fuse, "import": import_go}[a.cmd](a)


if __name__ == "__main__":
    sys.exit(main())
