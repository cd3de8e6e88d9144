"""Operator fusion on the torch model itself."""

from __future__ import annotations

from ..errors import UnsupportedError
from ..workloads.workload import Workload
from .base import copied_model, variant


def fold_conv_bn(w: Workload) -> Workload:
    """Fold every BatchNorm into the convolution before it (torch.fx's inference fuser)."""
    import torch
    from torch.fx.experimental.optimization import fuse

    if not any(isinstance(m, torch.nn.BatchNorm2d) for m in w.model.modules()):
        raise UnsupportedError("the model has no BatchNorm to fold")
    try:
        model = fuse(copied_model(w).eval())
    except Exception as e:
        raise UnsupportedError(f"torch.fx could not trace the model to fold conv+bn ({type(e).__name__})") from None
    return variant(w, "conv-bn-folded", model=model, model_file=None)
