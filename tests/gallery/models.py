"""Users' models unlike the zoo, built offline with random weights: what nnspeed must measure
as carefully as its own.  Each factory returns a model; ``<name>_inputs(batch)`` its inputs."""

from __future__ import annotations

import torch
import torch.nn as nn

SEED = 0


def _block(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(cin, cout, 3, padding=1, bias=False),
        nn.BatchNorm2d(cout),
        nn.ReLU(inplace=True),
        nn.Conv2d(cout, cout, 3, padding=1, bias=False),
        nn.BatchNorm2d(cout),
        nn.ReLU(inplace=True),
    )


class UNet(nn.Module):
    """A small UNet: three levels, skip connections joined with torch.cat, a per-pixel class map."""

    def __init__(self, classes: int = 4, width: int = 16):
        super().__init__()
        w = width
        self.enc1, self.enc2, self.enc3 = _block(3, w), _block(w, 2 * w), _block(2 * w, 4 * w)
        self.pool = nn.MaxPool2d(2)
        self.up2 = nn.ConvTranspose2d(4 * w, 2 * w, 2, stride=2)
        self.dec2 = _block(4 * w, 2 * w)
        self.up1 = nn.ConvTranspose2d(2 * w, w, 2, stride=2)
        self.dec1 = _block(2 * w, w)
        self.head = nn.Conv2d(w, classes, 1)

    def forward(self, x):
        e1 = self.enc1(x)
        e2 = self.enc2(self.pool(e1))
        e3 = self.enc3(self.pool(e2))
        d2 = self.dec2(torch.cat([self.up2(e3), e2], dim=1))
        d1 = self.dec1(torch.cat([self.up1(d2), e1], dim=1))
        return self.head(d1)


def unet() -> nn.Module:
    torch.manual_seed(SEED)
    model = UNet().eval()
    with torch.no_grad():  # a random head's bias alone would pick one class for every pixel
        model.head.bias.zero_()
    return model


def unet_inputs(batch: int = 1):
    return torch.randn(batch, 3, 64, 64)


class Fusion(nn.Module):
    """Two inputs: an image and a row of tabular features, joined before the classifier."""

    def __init__(self, features: int = 10, classes: int = 5):
        super().__init__()
        self.image = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(4), nn.Flatten())
        self.table = nn.Sequential(nn.Linear(features, 16), nn.ReLU())
        self.head = nn.Linear(8 * 16 + 16, classes)

    def forward(self, image, table):
        return self.head(torch.cat([self.image(image), self.table(table)], dim=1))


def fusion() -> nn.Module:
    torch.manual_seed(SEED)
    return Fusion().eval()


def fusion_inputs(batch: int = 1):
    return torch.randn(batch, 3, 32, 32), torch.randn(batch, 10)


class Heads(nn.Module):
    """Returns a dict: class logits and an embedding from one trunk."""

    def __init__(self):
        super().__init__()
        self.trunk = nn.Sequential(nn.Linear(32, 64), nn.GELU())
        self.logits = nn.Linear(64, 7)
        self.embed = nn.Linear(64, 16)

    def forward(self, x):
        h = self.trunk(x)
        return {"logits": self.logits(h), "embedding": nn.functional.normalize(self.embed(h), dim=-1)}


def dict_out() -> nn.Module:
    torch.manual_seed(SEED)
    return Heads().eval()


def dict_out_inputs(batch: int = 1):
    return torch.randn(batch, 32)


class Detector(nn.Module):
    """Detector-style: a conv trunk and three heads per anchor cell (boxes, objectness, classes)."""

    def __init__(self, classes: int = 6, anchors: int = 3):
        super().__init__()
        self.a, self.c = anchors, classes
        self.trunk = nn.Sequential(
            nn.Conv2d(3, 16, 3, stride=2, padding=1), nn.SiLU(), nn.Conv2d(16, 32, 3, stride=2, padding=1), nn.SiLU()
        )
        self.boxes = nn.Conv2d(32, anchors * 4, 1)
        self.objectness = nn.Conv2d(32, anchors, 1)
        self.classes = nn.Conv2d(32, anchors * classes, 1)

    def forward(self, x):
        h = self.trunk(x)
        n = x.shape[0]
        boxes = self.boxes(h).permute(0, 2, 3, 1).reshape(n, -1, 4)
        obj = self.objectness(h).permute(0, 2, 3, 1).reshape(n, -1)
        cls = self.classes(h).permute(0, 2, 3, 1).reshape(n, -1, self.c)
        return boxes, obj.sigmoid(), cls


def detector() -> nn.Module:
    torch.manual_seed(SEED)
    return Detector().eval()


def detector_inputs(batch: int = 1):
    return torch.randn(batch, 3, 64, 64)


class MaskedEncoder(nn.Module):
    """Keyword inputs: token ids and an attention mask, as a tokenizer returns them."""

    def __init__(self, vocab: int = 1000, width: int = 32):
        super().__init__()
        self.embed = nn.Embedding(vocab, width)
        layer = nn.TransformerEncoderLayer(width, 2, 64, batch_first=True)
        self.encoder = nn.TransformerEncoder(layer, 1, enable_nested_tensor=False)

    def forward(self, input_ids, attention_mask):
        h = self.encoder(self.embed(input_ids), src_key_padding_mask=attention_mask == 0)
        mask = attention_mask.unsqueeze(-1).to(h.dtype)
        return (h * mask).sum(1) / mask.sum(1).clamp(min=1.0)


def masked_encoder() -> nn.Module:
    torch.manual_seed(SEED)
    return MaskedEncoder().eval()


def masked_encoder_inputs(batch: int = 1):
    ids = torch.randint(0, 1000, (batch, 16))
    mask = torch.ones(batch, 16, dtype=torch.int64)
    mask[:, 12:] = 0  # padding at the end, as a batch of unequal sentences has
    return {"input_ids": ids, "attention_mask": mask}


def export_dynamic_onnx(path) -> None:
    """The fusion model written as ONNX with a dynamic batch axis, by torch's own exporter."""
    model = fusion()
    with torch.no_grad():
        torch.onnx.export(
            model,
            fusion_inputs(2),
            str(path),
            input_names=["image", "table"],
            output_names=["scores"],
            dynamic_axes={"image": {0: "batch"}, "table": {0: "batch"}, "scores": {0: "batch"}},
            dynamo=False,
        )
