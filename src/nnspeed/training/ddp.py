"""Data-parallel training over ``nproc`` processes on this machine (gloo on CPU, nccl on GPU,
rendezvous on 127.0.0.1 only).

Each process loads the model itself and draws its own batches of ``--batch`` samples (its own
shuffling seed; the global batch is nproc × batch).  After the backward pass it averages the
gradients with one all-reduce of the flattened gradients, timed as its own phase (no overlap
with the backward pass).  The scaling
efficiency is the total samples/s of N processes over N times that of one process with the
same threads per process.
"""

from __future__ import annotations

import socket

from ..errors import InputError

ADDR = "127.0.0.1"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((ADDR, 0))
        return s.getsockname()[1]


def allreduce_grads(world: int):
    """Average every gradient across processes with one all-reduce of their concatenation."""
    import torch
    import torch.distributed as dist

    def reduce(model) -> None:
        grads = [p.grad for p in model.parameters() if p.grad is not None]
        if not grads:
            return
        flat = torch.cat([g.reshape(-1) for g in grads])
        dist.all_reduce(flat)
        flat /= world
        offset = 0
        for g in grads:
            g.copy_(flat[offset : offset + g.numel()].view_as(g))
            offset += g.numel()

    return reduce


def _worker(rank: int, world: int, port: int, job: dict, results) -> None:
    import os

    import torch
    import torch.distributed as dist

    os.environ.update(MASTER_ADDR=ADDR, MASTER_PORT=str(port))
    torch.set_num_threads(job["threads"])
    backend = "nccl" if job["device"] == "cuda" else "gloo"
    dist.init_process_group(backend, rank=rank, world_size=world)
    try:
        from ..workloads.sources import load
        from .data import batches_forever, loaders
        from .step import Recipe, Trainer, breakdown, fresh_model, measure_steps

        w = load(job["source"])
        device = f"cuda:{rank}" if job["device"] == "cuda" else "cpu"
        data = loaders(job["data"], job["batch"], seed=rank) if job["data"] else None
        recipe = Recipe("ddp", job["batch"], job["precision"])
        trainer = Trainer(fresh_model(w.model), recipe, device, allreduce_grads(world) if world > 1 else None)
        batches = batches_forever(data.train) if data else (w.torch_args(job["batch"]) for _ in iter(int, 1))
        doc = breakdown(measure_steps(trainer, batches, job["steps"]), job["batch"])
        results.put((rank, doc))
    except Exception as e:  # the parent turns this into one clear error
        results.put((rank, {"error": f"{type(e).__name__}: {e}"}))
    finally:
        dist.destroy_process_group()


def run_processes(nproc: int, job: dict, timeout_s: float = 600.0) -> list[dict]:
    """Start ``nproc`` processes (spawned), each running ``job``; their step documents by rank."""
    import torch.multiprocessing as mp

    ctx = mp.get_context("spawn")
    results = ctx.Queue()
    port = free_port()
    procs = [ctx.Process(target=_worker, args=(r, nproc, port, job, results), daemon=True) for r in range(nproc)]
    for p in procs:
        p.start()
    docs = {}
    try:
        for _ in range(nproc):
            rank, doc = results.get(timeout=timeout_s)
            docs[rank] = doc
    finally:
        for p in procs:
            p.join(timeout=30)
            if p.is_alive():
                p.terminate()
    errors = [d["error"] for d in docs.values() if "error" in d]
    if errors:
        raise InputError(f"a DDP process failed: {errors[0]}")
    return [docs[r] for r in range(nproc)]


def ddp(nproc: int, job: dict) -> dict:
    """Per-process and total samples/s with ``nproc`` processes, against one process alone."""
    if not isinstance(nproc, int) or nproc < 2:
        raise InputError(f"--nproc must be a whole number ≥ 2 (1 is the plain run), got {nproc}")
    if job["device"] == "cuda":
        import torch

        if torch.cuda.device_count() < nproc:
            raise InputError(f"--nproc {nproc} on cuda needs {nproc} GPUs; torch sees {torch.cuda.device_count()}")
    single = run_processes(1, job)[0]
    many = run_processes(nproc, job)
    total = sum(d["samples_per_s"] for d in many)
    return {
        "nproc": nproc,
        "backend": "nccl" if job["device"] == "cuda" else "gloo",
        "threads_per_process": job["threads"],
        "samples_per_s": total,
        "per_process_samples_per_s": [d["samples_per_s"] for d in many],
        "single_process_samples_per_s": single["samples_per_s"],
        "efficiency": total / (nproc * single["samples_per_s"]),
        "allreduce_ms": sum(d["breakdown_ms"]["allreduce"] for d in many) / nproc,
        "step_ms": sum(d["step_ms"] for d in many) / nproc,
        "breakdown_ms": {p: sum(d["breakdown_ms"][p] for d in many) / nproc for p in many[0]["breakdown_ms"]},
    }
