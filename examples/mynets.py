"""A user's own classifier with named blocks and its own labelled data, for trying early exits:

    cd examples && nnspeed optimize py:mynets:net --input-shape 1x1x8x8 --data py:mynets:data \\
        --early-exit --exits body --variants "eager early exit"
"""

from collections import OrderedDict

import torch
import torch.nn as nn
from sklearn.datasets import load_digits


def data():
    d = load_digits()
    x = (d.images / 16.0)[:, None].astype("float32")
    return {"x_train": x[:1400], "y_train": d.target[:1400], "x_test": x[1400:], "y_test": d.target[1400:]}


def net():
    """A small CNN with named blocks, trained here for 15 epochs (seconds)."""
    torch.manual_seed(0)
    m = nn.Sequential(
        OrderedDict(
            stem=nn.Sequential(nn.Conv2d(1, 32, 3, padding=1), nn.ReLU()),
            body=nn.Sequential(nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2)),
            deep=nn.Sequential(nn.Conv2d(64, 64, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten()),
            classifier=nn.Linear(64, 10),
        )
    )
    d = data()
    x, y = torch.from_numpy(d["x_train"]), torch.from_numpy(d["y_train"]).long()
    opt = torch.optim.Adam(m.parameters(), 3e-3)
    for _ in range(15):
        for i in range(0, len(x), 64):
            opt.zero_grad()
            nn.functional.cross_entropy(m(x[i : i + 64]), y[i : i + 64]).backward()
            opt.step()
    return m.eval()
