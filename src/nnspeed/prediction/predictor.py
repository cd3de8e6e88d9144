"""The predictor a user holds: per-operator models fitted for one machine and thread count
(``Predictor.for_machine``), a model's latency from them without running it (``predict``), and
how good those predictions are on held-out random architectures (``evaluate``)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from .models import Models

# (what is being measured, steps done, steps in all or None while unknown)
Progress = Callable[[str, int, "int | None"], None]


class Phase:
    """Counts the steps of one phase of work for an ``on_progress`` callback."""

    def __init__(self, on_progress: Progress | None, text: str):
        self.on_progress, self.text, self.done = on_progress, text, 0
        self.total: int | None = None
        self.tell()

    def tell(self) -> None:
        if self.on_progress is not None:
            self.on_progress(self.text, self.done, self.total)

    def step(self) -> None:
        self.done += 1
        self.tell()

    def of(self, total: int) -> None:
        self.total = total
        self.tell()


def operator_tables(threads: int, scale: float = 1.0, on_progress: Progress | None = None) -> tuple[dict, bool]:
    """This machine's operator table at ``threads`` (cached, or measured now): (table, cached)."""
    from .profile import operator_table

    phase = Phase(on_progress, f"operator tables at {threads} threads (once per machine)")
    return operator_table(threads, scale=scale, progress=phase.step, on_total=phase.of)


@dataclass
class Predictor:
    """Fitted per-operator models (``models``) at ``threads``, and where their tables came from
    (``origin``: the machine, cache or file, and the drift measured)."""

    models: Models
    threads: int
    origin: dict

    @classmethod
    def for_machine(
        cls,
        threads: int,
        machine: str | Path | None = None,
        scale: float = 1.0,
        anchor: bool = True,
        on_progress: Progress | None = None,
    ) -> Predictor:
        """This machine's tables (cached or measured now, ``scale`` of the full budget),
        re-anchored to how fast it runs whole models now (a few training architectures measured
        again) unless ``anchor`` is off; or ``machine``, a profile file, used as it is."""
        from .calibration import measure_drift
        from .profile import from_file

        if machine is not None:
            table = from_file(Path(machine), threads)
            origin = {"machine_id": table["machine_id"], "cpu": table.get("cpu"), "from": str(machine), "drift": None}
            return cls(Models.from_table(table), threads, origin)
        table, cached = operator_tables(threads, scale, on_progress)
        models = Models.from_table(table)
        if anchor:
            phase = Phase(on_progress, "re-measuring reference models for the machine's drift")
            models.drift = measure_drift(models, threads, progress=phase.step)
        origin = {
            "machine_id": table["machine_id"],
            "cpu": table.get("cpu"),
            "from": "cache" if cached else "measured now",
            "drift": models.drift.to_dict() if models.drift is not None else None,
        }
        return cls(models, threads, origin)

    def predict(self, model, args: tuple):
        """The predicted latency of ``model`` called on ``args`` (a ``pricing.Prediction``)."""
        from .pricing import predict_trace
        from .trace import trace_model

        return predict_trace(self.models, trace_model(model, args), self.threads)

    def evaluate(self, n: int, seed: int, rounds: int, anchor: bool = True, on_progress: Progress | None = None):
        """Predict, then measure ``n`` held-out architectures drawn from ``seed`` in ``rounds``
        interleaved passes (with reference models for the drift when ``anchor``): the summary
        and the measurements."""
        from .calibration import ANCHORS
        from .evaluate import evaluate

        phase = Phase(on_progress, f"predicting, then measuring {n} held-out architectures ({rounds} rounds)")
        summary, measurements = evaluate(
            self.models, self.threads, n, seed, rounds, ANCHORS if anchor else 0, progress=phase.step, on_total=phase.of
        )
        return {**summary, "threads": self.threads, "seed": seed}, measurements
