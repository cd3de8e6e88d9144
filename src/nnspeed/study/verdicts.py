"""Claims, evidence and the rules that turn comparisons into verdicts."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

import numpy as np

from ..measure.compare import Comparison, compare_samples
from ..measure.measurement import Measurement

# The claims the study checks, by id: the text that claims.json and the report show.
CLAIMS = {
    1: 'Deeper networks are slower at inference (MLP depth 2 vs 8, width 128, batch 1).',
    2: 'Wider hidden layers are slower (MLP width 128 vs 1024, depth 4, batch 1).',
    3: 'The activation function matters less than depth or width (relu, gelu, sigmoid, tanh at equal shape).',
    4: 'Recurrent layers (LSTM/GRU) are slower than attention layers of similar size, because of their sequential dependency.',
    5: 'Larger batches raise throughput (samples/s) while per-call latency grows.',
    6: 'Lower precision (bf16, int8 dynamic quantization) speeds inference up, with little change in outputs.',
    7: 'Optimized runtimes (ONNX Runtime, OpenVINO, torch.compile) beat plain eager execution.',
    8: 'More threads speed inference on multi-core CPUs (1 vs all cores), until it stops paying.',
    9: 'Training costs far more than inference per sample (a training step vs an inference call, same model and batch).',
    10: 'Pruning and quantization together give 2–5x faster inference.',
    11: 'Common vision models meet a real-time video budget of 33 ms per frame (30 fps) on this machine.',
    12: 'A GPT-2-sized language model generates 50–100 words per second.',
}

SUPPORTED, REFUTED, INCONCLUSIVE = "supported", "refuted", "inconclusive"
# Claims are about material effects: a speedup or slowdown under 10% is not what "deeper is
# slower" or "int8 is faster" means, however significant statistically.
MATERIAL = 1.10


@dataclass
class ClaimResult:
    id: int
    claim: str
    verdict: str
    evidence: dict
    explanation: str
    headline: str = ""
    config: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return asdict(self)


def ev(m: Measurement) -> dict:
    """The numbers of one measurement that a claim cites."""
    lat = m.latency_ms
    return {
        "config": f"{m.source} {m.backend} {m.precision} batch={m.batch} threads={m.threads}",
        "p50_ms": lat.p50,
        "ci95_ms": list(lat.ci95),
        "p99_ms": lat.p99,
        "throughput_sps": m.throughput_sps,
        "n": m.n,
    }


def per_sample(m: Measurement) -> np.ndarray:
    """Per-call latencies divided by the batch: what throughput comparisons compare."""
    return m.samples / m.batch


def compare(baseline: Measurement, candidate: Measurement, per_item: bool = False) -> Comparison:
    """Speedup of ``candidate`` over ``baseline`` (>1: candidate faster), with a 95% CI."""
    a, b = (per_sample(baseline), per_sample(candidate)) if per_item else (baseline.samples, candidate.samples)
    return compare_samples(f"{baseline.source} → {candidate.source}", a, b)


def ratio_ev(c: Comparison) -> dict:
    return {"speedup": c.speedup, "ci95": list(c.ci95), "verdict": c.verdict}


def slowdown(c: Comparison) -> tuple[float, list[float]]:
    """The same comparison read the other way: how many times slower the candidate is."""
    lo, hi = c.ci95
    return 1 / c.speedup, [1 / hi if hi else math.inf, 1 / lo if lo else math.inf]


def expect(c: Comparison, direction: str) -> str:
    """Supported when the candidate is materially ``direction`` (faster|slower: by ≥10%, CI
    excluding 1); refuted when it is materially the opposite or the whole CI lies within ±10%
    (no material effect); inconclusive otherwise (a small effect, or too wide an interval)."""
    lo, hi = c.ci95
    faster = c.speedup >= MATERIAL and lo > 1.0
    slower = c.speedup <= 1 / MATERIAL and hi < 1.0
    if (faster and direction == "faster") or (slower and direction == "slower"):
        return SUPPORTED
    if faster or slower or (1 / MATERIAL < lo and hi < MATERIAL):
        return REFUTED
    return INCONCLUSIVE


def fmt_ci(ci) -> str:
    return f"[{ci[0]:.2f}, {ci[1]:.2f}]"


def ms(m: Measurement) -> str:
    lat = m.latency_ms
    return f"{lat.p50:.3g} ms [{lat.ci95[0]:.3g}, {lat.ci95[1]:.3g}]"
