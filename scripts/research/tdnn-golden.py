#!/usr/bin/python3
"""Golden values for dsp/voiceprint/tdnn's tests, from PyTorch in float64.

Writes dsp/voiceprint/tdnn/testdata/golden.json: a small network of
xvector.py's shape with random weights, a batch of crops, a gradient for
the embeddings, and what PyTorch computes from them: the training-mode
embeddings, every parameter's gradient, the running statistics after that
batch and the inference-mode embedding of the first crop. The Go network
must agree up to float32 rounding (TestGolden). Weights keep PyTorch's
layouts (a convolution's weight is out × in × context, a linear layer's
out × in).

    /usr/bin/python3 scripts/research/tdnn-golden.py dsp/voiceprint/tdnn/testdata/golden.json

Needs Debian's python3-torch. The file is committed; run this again only
when the network's definition changes.
"""
import importlib.util
import json
import os
import sys

import torch

here = os.path.dirname(os.path.abspath(__file__))
spec = importlib.util.spec_from_file_location("xvector", os.path.join(here, "xvector.py"))
xvector = importlib.util.module_from_spec(spec)
spec.loader.exec_module(xvector)


def flat(t):
    return [float(v) for v in t.detach().reshape(-1).tolist()]


def main():
    torch.manual_seed(11)
    din, width, emb, crops, frames = 6, 8, 5, 3, 40
    net = xvector.XVector(din, width, emb, 2).double()
    with torch.no_grad():
        for norm in net.norms:  # non-trivial affine parameters
            norm.weight.uniform_(0.5, 1.5)
            norm.bias.uniform_(-0.5, 0.5)
    x = torch.randn(crops, frames, din, dtype=torch.float64)
    demb = torch.randn(crops, emb, dtype=torch.float64)
    params = {"convs": [], "norms": []}
    for conv, norm in zip(net.convs, net.norms):
        params["convs"].append({"weight": flat(conv.weight), "bias": flat(conv.bias)})
        params["norms"].append({"weight": flat(norm.weight), "bias": flat(norm.bias)})
    params["emb"] = {"weight": flat(net.emb.weight), "bias": flat(net.emb.bias)}
    net.train()
    e = net.embed(x.transpose(1, 2))
    (e * demb).sum().backward()
    grads = {"convs": [], "norms": []}
    for conv, norm in zip(net.convs, net.norms):
        grads["convs"].append({"weight": flat(conv.weight.grad), "bias": flat(conv.bias.grad)})
        grads["norms"].append({"weight": flat(norm.weight.grad), "bias": flat(norm.bias.grad)})
    grads["emb"] = {"weight": flat(net.emb.weight.grad), "bias": flat(net.emb.bias.grad)}
    running = [{"mean": flat(n.running_mean), "var": flat(n.running_var)} for n in net.norms]
    net.eval()
    with torch.no_grad():
        infer = net.embed(x[:1].transpose(1, 2))
    out = {"input": din, "width": width, "dim": emb, "crops": crops, "frames": frames,
           "x": flat(x), "demb": flat(demb), "params": params,
           "embeddings": flat(e), "grads": grads, "running": running, "inference": flat(infer)}
    with open(sys.argv[1], "w") as f:
        json.dump(out, f)


if __name__ == "__main__":
    main()
