"""FLOP counts through torch.utils.flop_counter, with formulas for ops it does not know."""

from __future__ import annotations

import math


def _rnn_layer_flops(input_shape, w_ih_shape, w_hh_shape, *args, out_shape=None, **kwargs) -> int:
    # One fused LSTM layer on CPU (oneDNN): every step multiplies the input and the hidden
    # state by all gate weights.  Element-wise gate math is ignored, as for every other op.
    steps = math.prod(input_shape[:-1])
    gates = w_ih_shape[0]
    return 2 * steps * gates * (w_ih_shape[1] + w_hh_shape[1])


def custom_mapping() -> dict:
    import torch

    mapping = {}
    op = getattr(torch.ops.aten, "mkldnn_rnn_layer", None)
    if op is not None:
        mapping[op] = _rnn_layer_flops  # the counter keys formulas by overload packet
    return mapping


def count_flops(model, args: tuple) -> int:
    """FLOPs of one forward call of ``model(*args)`` (a multiply-add counts as two)."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    # Autograd stays on: under inference_mode the encoder and RNN layers take fused fast
    # paths whose FLOPs the counter cannot see.  Nothing is run backwards.
    counter = FlopCounterMode(display=False, custom_mapping=custom_mapping())
    with torch.enable_grad(), counter:
        model(*args)
    return int(counter.get_total_flops())
