"""Claims, evidence and the rules that turn comparisons into verdicts."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

import numpy as np

from ..measure.compare import Comparison
from ..measure.measurement import Measurement

# The claims the study checks, by id: the text that claims.json and the report show.
CLAIMS = {
    1: "Deeper networks are slower at inference (MLP depth 2 vs 8, width 128, batch 1).",
    2: "Wider hidden layers are slower (MLP width 128 vs 1024, depth 4, batch 1).",
    3: "The activation function matters less than depth or width (relu, gelu, sigmoid, tanh at equal shape).",
    4: "Recurrent layers (LSTM/GRU) are slower than attention layers of similar size, because of their sequential dependency.",
    5: "Larger batches raise throughput (samples/s) while per-call latency grows.",
    6: "Lower precision (bf16, int8 dynamic quantization) speeds inference up, with little change in outputs.",
    7: "Optimized runtimes (ONNX Runtime, OpenVINO, torch.compile) beat plain eager execution.",
    8: "More threads speed inference on multi-core CPUs (1 vs all cores), until it stops paying.",
    9: "Training costs far more than inference per sample (a training step vs an inference call, same model and batch).",
    10: "Pruning and quantization together give 2–5x faster inference.",
    11: "Common vision models meet a real-time video budget of 33 ms per frame (30 fps) on this machine.",
    12: "A GPT-2-sized language model generates 50–100 words per second.",
    13: "The Keras tutorial: a deeper Dense stack (8 hidden layers vs 2, 128 units, 100 inputs) is slower at batch 1.",
    14: "The Keras tutorial: TFLite dynamic-range quantization (Optimize.DEFAULT) makes the model faster on LiteRT.",
    15: "The Keras tutorial: larger batches (1 to 1024 of tf.random.normal((batch, 100))) raise throughput.",
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


def ratio_ev(c: Comparison) -> dict:
    return {"speedup": c.speedup, "ci95": list(c.ci95), "verdict": c.verdict, "method": c.method, "rounds": c.rounds}


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


# The rules below turn measured figures into verdicts; each is a pure function, tested alone.


def judge_all_agree(verdicts: list[str]) -> str:
    """One verdict when every part agrees, inconclusive when they differ (claim 4)."""
    return verdicts[0] if verdicts and all(v == verdicts[0] for v in verdicts) else INCONCLUSIVE


def judge_activation(spread: float, spread_ci, effects: dict[str, tuple[float, list]]) -> str:
    """Claim 3: the activation's effect (slowest over fastest activation, with its CI) against
    the smaller of the depth and width effects (slowdowns with CIs).  Supported when the whole
    activation interval lies below that effect's, refuted when wholly above, else inconclusive."""
    if not effects or any(math.isnan(x) for x in spread_ci):
        return INCONCLUSIVE
    _, (lo, hi) = min(effects.values(), key=lambda e: e[0])
    if math.isnan(lo) or math.isnan(hi):
        return INCONCLUSIVE
    if spread_ci[1] < lo:
        return SUPPORTED
    if spread_ci[0] > hi:
        return REFUTED
    return INCONCLUSIVE


def judge_batching(throughput_gain: Comparison, latency_growth: Comparison) -> str:
    """Claim 5: per-sample time falls (throughput rises) and per-call latency grows, both materially."""
    gains, grows = expect(throughput_gain, "faster"), expect(latency_growth, "slower")
    if gains == grows == SUPPORTED:
        return SUPPORTED
    return REFUTED if REFUTED in (gains, grows) else INCONCLUSIVE


FAITHFUL_COSINE = 0.99


def judge_precision(rows: list[tuple[str, Comparison, float]]) -> str:
    """Claim 6: (label, speedup over its own fp32, min cosine to fp32) per variant.  Supported
    when a faithful variant (cosine ≥ 0.99) is materially faster; refuted when every variant is
    refuted (not faster); inconclusive otherwise."""
    if not rows:
        return INCONCLUSIVE
    if any(expect(c, "faster") == SUPPORTED for _, c, cos in rows if cos >= FAITHFUL_COSINE):
        return SUPPORTED
    return REFUTED if all(expect(c, "faster") == REFUTED for _, c, _ in rows) else INCONCLUSIVE


def judge_runtimes(cs: list[Comparison]) -> str:
    """Claim 7: supported when most runtimes are materially faster than eager, refuted when none is."""
    wins = sum(expect(c, "faster") == SUPPORTED for c in cs)
    return SUPPORTED if wins > len(cs) / 2 else (REFUTED if wins == 0 else INCONCLUSIVE)


TRAIN_FAR_MORE = 2.0  # "far more": at least twice an inference call


def judge_training(ratio_ci) -> str:
    """Claim 9: a training step's time over an inference call's, with its CI, against 2x."""
    lo, hi = ratio_ci
    if math.isnan(lo) or math.isnan(hi):
        return INCONCLUSIVE
    return SUPPORTED if lo >= TRAIN_FAR_MORE else (REFUTED if hi < TRAIN_FAR_MORE else INCONCLUSIVE)


def judge_compression(best: Comparison) -> str:
    """Claim 10: the best pruning + quantization speedup's CI against the claimed 2-5x."""
    return judge_range(best.ci95, 2.0, 5.0)


REALTIME_MISS_RATE = 0.01


def meets_budget(m: Measurement) -> bool:
    """At most 1% of calls over the frame budget."""
    return m.budget is not None and m.budget.miss_rate <= REALTIME_MISS_RATE


def judge_realtime(meets: list[bool]) -> str:
    """Claim 11: supported when every model meets the budget, refuted when none does."""
    if not meets:
        return INCONCLUSIVE
    return SUPPORTED if all(meets) else (REFUTED if not any(meets) else INCONCLUSIVE)


def rate_ci(step_ms, batch: int = 1, seed: int = 0) -> tuple[float, list[float]]:
    """Tokens per second per sequence from every generation step's latency: batch × 1000 /
    mean step, with a percentile bootstrap 95% CI of the mean step."""
    from scipy.stats import bootstrap

    x = np.asarray(step_ms, dtype=float)
    if x.size < 2:
        return (batch * 1000 / x.mean() if x.size else math.nan), [math.nan, math.nan]
    res = bootstrap(
        (x,), np.mean, confidence_level=0.95, n_resamples=2000, method="percentile", rng=np.random.default_rng(seed)
    )
    lo, hi = float(res.confidence_interval.low), float(res.confidence_interval.high)
    return batch * 1000 / float(x.mean()), [batch * 1000 / hi, batch * 1000 / lo]


def judge_range(ci, low: float, high: float) -> str:
    """Claim 12: supported when the whole CI lies inside [low, high], refuted when wholly
    outside it, inconclusive when it straddles an end (or is undefined)."""
    lo, hi = ci
    if math.isnan(lo) or math.isnan(hi):
        return INCONCLUSIVE
    if low <= lo and hi <= high:
        return SUPPORTED
    if hi < low or lo > high:
        return REFUTED
    return INCONCLUSIVE
