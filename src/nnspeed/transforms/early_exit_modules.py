"""The torch modules of an early-exit network (imported only when one is built: torch is
heavy, and ``import nnspeed`` stays light)."""

from __future__ import annotations

import torch
import torch.nn as nn

from ..errors import InputError
from .exit_rules import RULES


def confident(logits: torch.Tensor, rule: str, tau: float) -> torch.Tensor:
    """Per sample: is this head sure enough to stop here?  max-prob: the largest softmax
    probability is at least ``tau``; entropy: the softmax's entropy (nats) is at most ``tau``."""
    p = torch.softmax(logits.float(), dim=-1)
    if rule == "max-prob":
        return p.amax(dim=-1) >= tau
    if rule == "entropy":
        return -(p * torch.log(p.clamp_min(1e-12))).sum(dim=-1) <= tau
    raise InputError(f"unknown exit rule '{rule}'; use one of {', '.join(RULES)}")


class PooledHead(nn.Module):
    """A feature map averaged down to ``pool``×``pool``, then one linear layer: an exit must
    cost little next to the blocks it saves, yet keep enough of where things are to be sure."""

    def __init__(self, channels: int, n_classes: int, pool: int = 2):
        super().__init__()
        self.pool = pool
        self.linear = nn.Linear(channels * pool * pool, n_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear(torch.nn.functional.adaptive_avg_pool2d(x, self.pool).flatten(1))


class EarlyExitNet(nn.Module):
    """Segments of a backbone with a head after each but the last.

    One sample stops at its first confident exit.  In a batch every sample keeps the logits of
    its own first confident exit (the outputs of batch 1), and the batch stops once all its
    samples are confident."""

    def __init__(self, segments, heads, rule: str, tau: float):
        super().__init__()
        self.segments, self.heads = nn.ModuleList(segments), nn.ModuleList(heads)
        self.rule, self.tau = rule, tau

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[0] == 1:  # nothing else to track
            for seg, head in zip(self.segments[:-1], self.heads):
                x = seg(x)
                logits = head(x)
                if self._sure(logits):
                    return logits
            return self.segments[-1](x)
        out: torch.Tensor | None = None
        done = torch.zeros(x.shape[0], dtype=torch.bool)
        for seg, head in zip(self.segments[:-1], self.heads):
            x = seg(x)
            logits = head(x)
            ok = confident(logits, self.rule, self.tau)
            out = logits if out is None else torch.where((ok & ~done)[:, None], logits, out)
            done = done | ok
            if bool(done.all()):
                return out
        final = self.segments[-1](x)
        return final if out is None else torch.where(done[:, None], out, final)

    def _sure(self, logits: torch.Tensor) -> bool:
        """``confident`` for one sample, in as few operations as it takes (an exit's decision is
        paid at every exit a sample passes: ~3 µs this way, ~9 µs through tensor comparisons)."""
        p = torch.softmax(logits, dim=-1)
        if self.rule == "max-prob":
            return p.max().item() >= self.tau
        return -(p * torch.log(p.clamp_min(1e-12))).sum().item() <= self.tau

    def exit_index(self, x: torch.Tensor) -> torch.Tensor:
        """Where each sample stops: 0 for the first exit … len(heads) for the full model."""
        n = len(self.heads)
        where = torch.full((x.shape[0],), n, dtype=torch.long)
        for k, (seg, head) in enumerate(zip(self.segments[:-1], self.heads)):
            x = seg(x)
            ok = confident(head(x), self.rule, self.tau) & (where == n)
            where[ok] = k
        return where
