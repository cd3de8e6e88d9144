"""``nnspeed.predict``: a model's latency before running it, and how good those predictions are."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..errors import InputError, UnsupportedError
from ..prediction.predictor import Predictor
from ..store.store import Store
from ..workloads.sources import load
from .events import QUIET, Events
from .results import PredictResult


@dataclass(frozen=True, kw_only=True)
class PredictRequest:
    """Predict the latency of ``source`` on torch-eager at fp32 from per-operator models fitted on
    this machine's microbenchmarks (or on ``machine``, a profile from ``nnspeed machine --operators
    --export``), without running it.  With ``evaluate`` instead of a source: predict, then measure
    ``models`` held-out random architectures drawn from ``seed`` in ``rounds`` interleaved passes,
    and store the run.  ``scale`` (0, 1] is the share of the full microbenchmark budget."""

    source: str | None = None
    backend: str = "torch-eager"
    precision: str = "fp32"
    batch: int = 1
    threads: int | None = None
    machine: str | Path | None = None
    evaluate: bool = False
    models: int = 100
    seed: int = 1
    rounds: int = 3
    anchor: bool = True
    scale: float = 1.0
    input_shape: str | None = None
    input_dtype: str | None = None
    command: str = "nnspeed predict"

    def validate(self) -> None:
        """Check every option before anything is measured or loaded."""
        if self.backend != "torch-eager" or self.precision != "fp32":
            raise UnsupportedError(
                f"predict models torch-eager at fp32 so far, not {self.backend} at {self.precision}; "
                "use --backend torch-eager --precision fp32"
            )
        if (
            self.batch < 1
            or (self.threads is not None and self.threads < 1)
            or self.models < 1
            or self.rounds < 1
            or not 0 < self.scale <= 1
        ):
            raise InputError("--batch, --threads, --models and --rounds must be positive integers")
        if self.evaluate == (self.source is not None):
            raise InputError("give a SOURCE to predict, or --evaluate (not both)")
        if self.evaluate and self.machine is not None:
            raise InputError(
                "--evaluate measures on this machine, so it uses this machine's own tables; drop --machine"
            )
        if self.evaluate:
            from ..prediction.evaluate import check_seed

            check_seed(self.seed)


def run(request: PredictRequest, *, store: Store | str | None = None, events: Events = QUIET) -> PredictResult:
    """Predict (or evaluate the predictions); ``events`` hears each phase's steps."""
    r = request
    r.validate()
    import torch

    db = Store.of(store) if r.evaluate else None  # a bad store URL fails before anything is measured
    t = r.threads or torch.get_num_threads()
    # evaluate measures its own reference models in its rounds
    predictor = Predictor.for_machine(t, r.machine, r.scale, r.anchor and not r.evaluate, events.progress)
    if r.evaluate:
        summary, measurements = predictor.evaluate(r.models, r.seed, r.rounds, r.anchor, events.progress)
        assert db is not None
        summary["run_id"] = db.save_run("predict-eval", r.command, measurements, {"predict_eval": summary})
        return PredictResult(summary, measurements)
    w = load(
        str(r.source), **{k: v for k, v in {"input_shape": r.input_shape, "input_dtype": r.input_dtype}.items() if v}
    )
    if w.model is None:
        raise UnsupportedError(f"{r.source} is an ONNX file; predict needs a torch model (zoo: or py:)")
    p = predictor.predict(w.model, w.torch_args(r.batch))
    return PredictResult(
        {
            "source": w.source,
            "backend": r.backend,
            "precision": r.precision,
            "batch": r.batch,
            "threads": t,
            "predicted_ms": p.latency_ms,
            "composition_factor": p.factor,
            "drift_factor": p.drift,
            "by_op": p.by_op,
            # what a call costs beyond its operators (module containers, the runner): by_op + this = predicted
            "per_call_ms": p.base_ms,
            "unmodelled": p.unmodelled,
            "profile": predictor.origin,
        }
    )


def predict(
    source: str | None = None, *, store: Store | str | None = None, events: Events = QUIET, **options
) -> PredictResult:
    """``nnspeed.predict``: ``run`` on a ``PredictRequest`` of ``source`` and ``options``."""
    return run(PredictRequest(source=source, **options), store=store, events=events)
