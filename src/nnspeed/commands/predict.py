"""``nnspeed.predict``: a model's latency before running it, and how good those predictions are."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ..errors import InputError, UnsupportedError
from ..store.store import Store
from ..workloads.sources import load
from .events import QUIET, Events
from .results import PredictResult

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
    from ..prediction.profile import operator_table

    phase = Phase(on_progress, f"operator tables at {threads} threads (once per machine)")
    return operator_table(threads, scale=scale, progress=phase.step, on_total=phase.of)


def fitted_models(
    threads: int,
    machine: str | Path | None = None,
    scale: float = 1.0,
    anchor: bool = True,
    on_progress: Progress | None = None,
):
    """The fitted per-operator models and where their tables came from.  This machine's tables,
    cached or just measured, are re-anchored to how fast it runs whole models now (a few of their
    training architectures measured again); another machine's profile is used as it is."""
    from ..prediction.calibration import measure_drift
    from ..prediction.models import Models
    from ..prediction.profile import from_file

    if machine is not None:
        table = from_file(Path(machine), threads)
        origin = {"machine_id": table["machine_id"], "cpu": table.get("cpu"), "from": str(machine), "drift": None}
        return Models.from_table(table), origin
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
    return models, origin


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
    fitted, origin = fitted_models(
        t, r.machine, r.scale, r.anchor and not r.evaluate, events.progress
    )  # evaluate anchors itself
    if r.evaluate:
        return _evaluate(fitted, t, r.models, r.seed, r.rounds, r.anchor, db, r.command, events.progress)
    from ..prediction.pricing import predict_trace
    from ..prediction.trace import trace_model

    w = load(
        str(r.source), **{k: v for k, v in {"input_shape": r.input_shape, "input_dtype": r.input_dtype}.items() if v}
    )
    if w.model is None:
        raise UnsupportedError(f"{r.source} is an ONNX file; predict needs a torch model (zoo: or py:)")
    p = predict_trace(fitted, trace_model(w.model, w.torch_args(r.batch)), t)
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
            "profile": origin,
        }
    )


def predict(
    source: str | None = None, *, store: Store | str | None = None, events: Events = QUIET, **options
) -> PredictResult:
    """``nnspeed.predict``: ``run`` on a ``PredictRequest`` of ``source`` and ``options``."""
    return run(PredictRequest(source=source, **options), store=store, events=events)


def _evaluate(fitted, threads: int, n: int, seed: int, rounds: int, anchor: bool, db, command, on_progress):
    from ..prediction.calibration import ANCHORS
    from ..prediction.evaluate import evaluate

    phase = Phase(on_progress, f"predicting, then measuring {n} held-out architectures ({rounds} rounds)")
    summary, measurements = evaluate(
        fitted, threads, n, seed, rounds, ANCHORS if anchor else 0, progress=phase.step, on_total=phase.of
    )
    summary["threads"] = threads
    summary["seed"] = seed
    summary["run_id"] = db.save_run("predict-eval", command, measurements, {"predict_eval": summary})
    return PredictResult(summary, measurements)
