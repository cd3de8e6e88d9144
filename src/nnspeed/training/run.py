"""``nnspeed train`` end to end: validate, run every variant, the optional parts, store, report."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ..errors import InputError, UnsupportedError


def _recipes(batches, precisions, workers, compile, channels_last, device) -> tuple[list, list[str]]:
    from ..backends.base import check_hardware_precision
    from ..errors import NnspeedError
    from .step import Recipe

    b0, w0 = batches[0], workers[0]
    notes = []
    out = [Recipe(f"fp32 b{b0}", b0, "fp32", workers=w0)]
    for p in precisions:
        if p == "fp32":
            continue
        if p not in ("bf16", "fp16"):
            raise InputError(f"unknown training precision '{p}'; use fp32, bf16 or fp16")
        if p == "fp16" and device != "cuda":
            notes.append("fp16 training with grad scaling needs a GPU; skipped on cpu")
            continue
        try:
            check_hardware_precision(p, device)
        except NnspeedError as e:
            notes.append(f"{p} skipped: {e}")
            continue
        out.append(Recipe(f"{p} autocast b{b0}", b0, p, workers=w0))
    if compile:
        out.append(Recipe(f"torch.compile b{b0}", b0, "fp32", compile=True, workers=w0))
    if channels_last:
        out.append(Recipe(f"channels-last b{b0}", b0, "fp32", channels_last=True, workers=w0))
    out += [Recipe(f"fp32 b{b}", b, "fp32", workers=w0) for b in batches[1:]]
    out += [Recipe(f"fp32 b{b0} workers {w}", b0, "fp32", workers=w) for w in workers[1:]]
    return out, notes


def _whole(text: str, flag: str) -> int:
    if not text.isdigit():
        raise InputError(f"{flag} takes whole numbers ≥ 0 (a comma list), got '{text}'")
    return int(text)


def _synthetic(workload, batch: int):
    args = workload.torch_args(batch)
    while True:
        yield args


@dataclass(frozen=True)
class TrainOptions:
    """What ``train`` measures, as the command's options name it.  ``plan()`` validates them
    without measuring or writing anything."""

    data: str | None = None  # digits, or py:module:function returning (train_loader, test_loader)
    batch: str | int = "64"  # comma list of batch sizes (variants)
    steps: int = 200  # timed steps per variant
    precision: str = "fp32,bf16"
    compile: bool = False
    channels_last: bool = False
    workers: str | int = "0"  # comma list of DataLoader worker counts
    threads: int | None = None
    device: str = "cpu"
    target_accuracy: float | None = None
    max_epochs: int = 50
    stream: bool = False
    rate: float = 500.0
    drift: str = "none"
    passes: int = 2
    nproc: int | None = None
    epochs: int = 10
    dataset_size: int | None = None
    gco2_per_kwh: float | None = None
    country: str | None = None

    def plan(self) -> TrainPlan:
        """The recipes to time and the figures the options resolve to; an InputError names the
        first option that cannot be run."""
        from ..axes import int_values, split
        from ..backends.base import check_device

        batches = int_values(split(str(self.batch), "--batch"), "--batch")
        worker_counts = [_whole(x, "--workers") for x in split(str(self.workers), "--workers")] or [0]
        check_device(self.device)
        if (self.target_accuracy is not None or self.stream) and not self.data:
            raise InputError(
                "--target-accuracy and --stream need labelled data: pass --data digits or --data py:mod:fn"
            )
        if self.stream and (self.data or "").startswith("py:"):
            raise InputError("--stream replays a built-in data set (--data digits); py: loaders are not replayable")
        if not isinstance(self.steps, int) or self.steps < 2:
            raise InputError(f"--steps must be a whole number ≥ 2, got {self.steps}")
        if self.nproc is not None:
            from .ddp import check_nproc

            check_nproc(self.nproc, self.device)
        if self.target_accuracy is not None and not 0 < self.target_accuracy <= 1:
            raise InputError(f"--target-accuracy must be a fraction in (0, 1], got {self.target_accuracy}")
        if self.stream:
            from .stream import DRIFTS

            if self.drift not in DRIFTS:
                raise InputError(f"--drift must be one of {', '.join(DRIFTS)}, got '{self.drift}'")
            if not (self.rate > 0) or self.passes < 1:
                raise InputError("--rate must be a positive number of samples per second and --passes at least 1")
        gco2_per_kwh, grid = self.gco2_per_kwh, None
        if self.country is not None and gco2_per_kwh is not None:
            raise InputError("give either --country or --gco2-per-kwh, not both")
        if self.country is not None:
            from .energy import grid_intensity

            gco2_per_kwh, grid = grid_intensity(self.country)
        elif gco2_per_kwh is not None and not gco2_per_kwh >= 0:
            raise InputError(f"--gco2-per-kwh must be ≥ 0, got {gco2_per_kwh}")
        if self.epochs < 1 or (self.dataset_size is not None and self.dataset_size < 1):
            raise InputError("--epochs and --dataset-size must be whole numbers ≥ 1")
        recipes, notes = _recipes(
            batches, split(self.precision), worker_counts, self.compile, self.channels_last, self.device
        )
        return TrainPlan(recipes, notes, gco2_per_kwh, grid)


@dataclass(frozen=True)
class TrainPlan:
    recipes: list  # step.Recipe, the fp32 baseline first
    notes: list[str]  # what the options asked for that this machine skips, and why
    gco2_per_kwh: float | None
    grid: str | None  # where the carbon intensity came from, for --country


def train_run(
    source: str,
    options: TrainOptions,
    store=None,
    command: str = "nnspeed train",
    say: Callable[[str], None] | None = None,
) -> dict:
    """Every variant of ``options`` on ``source``, then the optional parts (time to accuracy,
    streaming, DDP, projection); the run is stored and its document returned.  ``say(text)``
    hears each step as it starts."""
    from ..backends.base import torch_threads
    from ..measure.harness import call_ms
    from ..measure.stoprule import StopRule
    from ..store.store import Store
    from ..workloads.sources import load
    from .data import batches_forever, loaders
    from .energy import EnergyMeter, per, with_carbon
    from .step import STATISTIC, Trainer, breakdown, fresh_model, iqm, measure_steps

    o = options
    plan = o.plan()
    recipes, notes, gco2_per_kwh, grid = plan.recipes, list(plan.notes), plan.gco2_per_kwh, plan.grid
    data, steps, threads, device = o.data, o.steps, o.threads, o.device
    target_accuracy, max_epochs, stream = o.target_accuracy, o.max_epochs, o.stream
    rate, drift, passes, nproc, epochs, dataset_size = o.rate, o.drift, o.passes, o.nproc, o.epochs, o.dataset_size
    db = Store.of(store)
    w = load(source)
    if w.model is None:
        raise UnsupportedError("training needs a torch model (zoo: or py:); an ONNX file cannot be trained")
    say = say or (lambda text: None)
    docs, measurements = [], []
    if threads is None and device == "cpu":
        threads = _threads_that_fit(notes)
    with torch_threads(threads) as used:
        if device == "cuda":
            import torch

            torch.cuda.reset_peak_memory_stats()
        run_meter = EnergyMeter(device)
        run_meter.start()
        t_run = time.perf_counter()
        train_size = None
        for r in recipes:
            say(f"{w.source}: {r.name}, {steps} steps")
            d = loaders(data, r.batch, r.workers) if data else None
            train_size = train_size or (d.train_size if d else None)
            trainer = Trainer(fresh_model(w.model), r, device)
            meter = EnergyMeter(device)
            meter.start()
            t0 = time.perf_counter()
            timed = measure_steps(trainer, batches_forever(d.train) if d else _synthetic(w, r.batch), steps)
            doc = breakdown(timed, r.batch, r.name)
            n_steps = timed["run"]
            e = meter.stop(time.perf_counter() - t0, used)
            doc.update(
                name=r.name,
                precision=r.precision,
                batch=r.batch,
                workers=r.workers,
                compile=r.compile,
                channels_last=r.channels_last,
                energy_j_per_step=per(e, n_steps),
                energy_j_per_sample=per(e, n_steps * r.batch),
            )
            docs.append(doc)
            measurements.append(_measurement(w, r, used, device, timed, doc))
        base = docs[0]
        say(f"{w.source}: inference at batch {recipes[0].batch}")
        infer_ms = _inference_ms(
            w, recipes[0].batch, device, lambda fn, stop: call_ms(fn, stop, iqm), StopRule(min_time=0.3, max_time=2.0)
        )
        tta = _tta(w, data, recipes[0], device, target_accuracy, max_epochs, say) if target_accuracy else None
        stream_doc = _stream(w, data, recipes[0], device, rate, drift, passes, say) if stream else None
        energy = with_carbon(run_meter.stop(time.perf_counter() - t_run, used), gco2_per_kwh, grid)
    ddp_doc = None
    if nproc:
        from .ddp import ddp

        say(f"{w.source}: data-parallel over {nproc} processes")
        per_proc = max(1, (threads or used) // nproc)
        ddp_doc = ddp(
            nproc,
            {
                "source": w.source,
                "data": data,
                "batch": recipes[0].batch,
                "precision": "fp32",
                "steps": steps,
                "threads": per_proc,
                "device": device,
            },
        )
    size = dataset_size or train_size
    projection = None
    if size:
        seconds = epochs * size / base["samples_per_s_overall"]  # wall time: stalls included
        joules = (base["energy_j_per_sample"] or 0.0) * epochs * size
        projection = {
            "epochs": epochs,
            "dataset_size": size,
            "seconds": seconds,
            "kwh": joules / 3.6e6,
            "energy_method": energy["method"].split(";")[0],
            "rate": "samples_per_s_overall (the plain steps' whole time, stalls included)",
        }
    doc = {
        "source": w.source,
        "data": data or "synthetic (the model's random inputs, mean-square loss)",
        "device": device,
        "threads": used,
        "statistic": STATISTIC,
        "step_ms": base["step_ms"],
        "breakdown_ms": base["breakdown_ms"],
        "shares": base["shares"],
        "sum_over_step": base["sum_over_step"],
        "adds_up": base["adds_up"],
        "samples_per_s": base["samples_per_s"],
        "step_ms_mean": base["step_ms_mean"],
        "samples_per_s_overall": base["samples_per_s_overall"],
        "first_step_ms": base["first_step_ms"],
        "steps": base["steps"],
        "peak_rss_mb": measurements[0].extra["memory"].get("process_peak_rss_mb"),
        "peak_gpu_mb": _gpu_peak_mb() if device == "cuda" else None,
        "variants": [
            {
                k: v[k]
                for k in (
                    "name",
                    "statistic",
                    "step_ms",
                    "samples_per_s",
                    "breakdown_ms",
                    "shares",
                    "sum_over_step",
                    "adds_up",
                    "step_ms_mean",
                    "samples_per_s_overall",
                    "first_step_ms",
                    "batch",
                    "precision",
                    "energy_j_per_sample",
                    "mismatch_cause",
                )
            }
            for v in docs
        ],
        "train_vs_inference": {
            "inference_ms": infer_ms,
            "train_step_ms": base["step_ms"],
            "ratio_per_sample": base["step_ms"] / infer_ms if infer_ms else None,
        },
        "time_to_accuracy": tta,
        "stream": stream_doc,
        "energy": energy,
        "projection": projection,
        "ddp": ddp_doc,
        "notes": notes,
        "warnings": [line for v in docs for line in v["warnings"]],
    }
    doc["run_id"] = db.save_run("train", command, measurements, documents={"train": doc})
    doc["store"] = db.display_url
    doc["lines"] = summary_lines(doc)
    return doc


def _threads_that_fit(notes: list[str]) -> int | None:
    """torch's thread count, or fewer when other processes hold cores: threads that must wait
    for a core stall their peers at every barrier, and the steps split into fast and very slow
    ones that no statistic of a few hundred steps can pin down (None: torch's own)."""
    import torch

    from ..measure.contention import threads_that_fit

    default = torch.get_num_threads()
    fit, fig = threads_that_fit(default)
    if fit >= default or fig is None:
        return None
    notes.append(
        f"other processes used {fig['other_cores']:.2f} of this machine's {fig['cores']} cores before the run: "
        f"training runs {fit} thread{'s' if fit != 1 else ''} instead of {default}, as threads waiting for a core "
        f"would stall every step; pass --threads {default} to use them anyway"
    )
    return fit


def _gpu_peak_mb() -> float:
    import torch

    return torch.cuda.max_memory_allocated() / 2**20


def _measurement(w, r, used, device, timed, doc):
    from ..backends.base import Settings
    from ..measure.harness import Timing
    from ..measure.stoprule import StopRule
    from ..scenarios.record import to_measurement

    plain = timed["plain"]
    timing = Timing(
        samples_s=plain,
        block_size=1,
        first_call_s=timed["first_s"],
        warmup_calls=0,
        warmup_s=0.0,
        steady=True,
        overhead_ns=0.0,
        stop_reason="steps",
        elapsed_s=float(plain.sum()),
        clock="perf_counter",
    )
    settings = Settings(
        "torch-train",
        r.precision,
        r.batch,
        used,
        device,
        {"compile": r.compile, "channels_last": r.channels_last, "workers": r.workers},
    )
    effective = {"precision": r.precision, "threads": used, "device": device, "optimizer": "Adam"}
    extra = {"scenario": "train", "train": {k: v for k, v in doc.items() if k != "steps"}}
    return to_measurement(w, settings, StopRule(min_time=0.0, max_time=1e9), timing, effective, extra=extra)


def _inference_ms(w, batch, device, call_ms, stop) -> float:
    import torch

    model = w.model.to(device).eval()
    args = tuple(a.to(device) for a in w.torch_args(batch))

    def fwd():
        with torch.inference_mode():
            model(*args)
        if device == "cuda":
            torch.cuda.synchronize()

    return call_ms(fwd, stop)


def _tta(w, data, recipe, device, target, max_epochs, say):
    from .accuracy import time_to_accuracy
    from .data import loaders
    from .step import Trainer, fresh_model

    d = loaders(data, recipe.batch, recipe.workers)
    trainer = Trainer(fresh_model(w.model), recipe, device)
    return time_to_accuracy(
        trainer, d, target, max_epochs, on_epoch=lambda e, s, a: say(f"epoch {e}: {100 * a:.1f}% after {s:.1f} s")
    )


def _stream(w, data, recipe, device, rate, drift, passes, say):
    from ..workloads import datasets
    from .step import Recipe, Trainer, fresh_model
    from .stream import drift_figures, run_stream, stream_arrays

    split = datasets.get(data)
    x, y, at = stream_arrays(split.x_train, split.y_train, passes, drift, len(split.classes))
    say(f"{w.source}: {len(x)} samples streaming at {rate:g}/s")
    micro = min(recipe.batch, 8)
    trainer = Trainer(fresh_model(w.model), Recipe("stream", micro), device)
    doc = run_stream(trainer, x, y, rate, micro)
    doc.update(drift=drift, drift_at=at, recovery=drift_figures(doc["accuracy_curve"], at))
    return doc


def summary_lines(doc: dict) -> list[str]:
    """The lines printed under the table: notes, the stall-inclusive figures, the optional parts."""
    # the phases that do not add up are printed with the result's other disagreements
    lines = [f"note: {n}" for n in doc["notes"]]
    lines.append(
        f"stalls included: mean step {doc['step_ms_mean']:.2f} ms, {doc['samples_per_s_overall']:,.0f} samples/s "
        f"over the {doc['steps']['plain']} plain steps' whole time (the table: {doc['statistic']})"
    )
    tv = doc["train_vs_inference"]
    if tv["ratio_per_sample"]:
        lines.append(f"a training step costs {tv['ratio_per_sample']:.1f}× an inference call at the same batch")
    t = doc["time_to_accuracy"]
    if t:
        lines.append(
            f"time to {100 * t['target']:.0f}% accuracy: "
            + (
                f"{t['seconds']:.2f} s of training ({t['epochs']} epochs)"
                if t["reached"]
                else f"not reached in {len(t['curve'])} epochs (best {100 * t['best_accuracy']:.1f}%)"
            )
            + f"; evaluation took {t['eval_seconds']:.2f} s more, not counted"
        )
    s = doc["stream"]
    if s:
        lat = s["update_latency_ms"] or {}
        lines.append(
            f"stream at {s['rate']:g}/s: {s['update_rate']:.0f} updates/s, "
            f"{'keeps up' if s['keeps_up'] else 'falls behind'} (max backlog {s['max_backlog']}), "
            f"update latency p50 {lat.get('p50', np.nan):.1f} ms p99 {lat.get('p99', np.nan):.1f} ms, "
            f"prequential accuracy {100 * (s['prequential_accuracy'] or 0):.1f}%"
        )
        r = s["recovery"]
        if r["before"] is not None:
            lines.append(
                f"{s['drift']} drift at sample {s['drift_at']}: accuracy {100 * r['before']:.0f}% → "
                f"{100 * r['lowest_after']:.0f}%, back to 90% of it after "
                f"{r['recovered_after'] if r['recovered_after'] is not None else 'never'} samples"
            )
    e = doc["energy"]
    co2 = f"; {e['gco2']:.3g} g CO2 at {e['gco2_per_kwh']:g} g/kWh ({e['grid']})" if e.get("gco2") is not None else ""
    lines.append(f"energy {e['joules']:.0f} J ({e['method']}){co2}")
    p = doc["projection"]
    if p:
        lines.append(
            f"projection: {p['epochs']} epochs of {p['dataset_size']:,} samples ≈ {p['seconds']:.1f} s, "
            f"{p['kwh'] * 1000:.3f} Wh ({p['energy_method']})"
        )
    dd = doc["ddp"]
    if dd:
        sp = dd["split"]
        lines.append(
            f"DDP over {dd['nproc']} processes (torchrun, {dd['backend']}, {dd['threads_per_process']} "
            f"thread each): {dd['samples_per_s']:,.0f} samples/s vs {dd['single_process_samples_per_s']:,.0f} "
            f"alone, efficiency {100 * dd['efficiency']:.0f}% (step {dd['step_ms']:.2f} ms, "
            f"{dd['step_overhead_ms']:+.2f} ms over one process)"
        )
        lines.append(
            f"  all-reduce after the backward pass, unoverlapped: {sp['samples_per_s']:,.0f} samples/s, "
            f"efficiency {100 * sp['efficiency']:.0f}%, all-reduce {dd['allreduce_ms']:.2f} ms per step"
        )
    return lines
