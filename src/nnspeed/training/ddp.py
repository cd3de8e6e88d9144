"""Data-parallel training over ``nproc`` processes on this machine, started by torchrun (gloo on
CPU, nccl on GPU; rendezvous and collectives on 127.0.0.1 only).

Each process loads the model itself and draws its own batches of ``--batch`` samples (its own
shuffling seed; the global batch is nproc × batch).  Gradients are averaged two ways, each a
launch of its own:

- ``ddp``: torch's ``DistributedDataParallel`` wrapper, which all-reduces gradient buckets while
  the backward pass is still running.  Its communication sits inside the backward phase; what
  shows is the step time.
- ``split``: one all-reduce of the flattened gradients after the backward pass, timed as its
  own phase (no overlap), so the all-reduce time can be read directly.

The scaling efficiency is the total samples/s of N processes over N times that of one process
(launched the same way, same threads per process).
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from .._files import write_text
from ..errors import InputError

ADDR = "127.0.0.1"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((ADDR, 0))
        return s.getsockname()[1]


def loopback_interface() -> str:
    """The loopback interface's name ('lo' on Linux, 'lo0' on macOS)."""
    names = [n for _, n in socket.if_nameindex()]
    return next((n for n in ("lo", "lo0") if n in names), "lo")


def check_nproc(nproc: int, device: str) -> None:
    """Before any training runs: a process count that can run here."""
    if not isinstance(nproc, int) or nproc < 2:
        raise InputError(f"--nproc must be a whole number ≥ 2 (1 is the plain run), got {nproc}")
    if device == "cuda":
        import torch

        if torch.cuda.device_count() < nproc:
            raise InputError(f"--nproc {nproc} on cuda needs {nproc} GPUs; torch sees {torch.cuda.device_count()}")


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


def worker(job_path: str, out_dir: str) -> None:
    """One process under torchrun: RANK, WORLD_SIZE and MASTER_ADDR/PORT come from it."""
    import torch
    import torch.distributed as dist

    rank, world = int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"])
    job = json.loads(Path(job_path).read_text())
    torch.set_num_threads(job["threads"])
    cuda = job["device"] == "cuda"
    dist.init_process_group("nccl" if cuda else "gloo", rank=rank, world_size=world)
    try:
        from ..workloads.sources import load
        from .data import batches_forever, loaders
        from .step import Recipe, Trainer, breakdown, fresh_model, measure_steps

        w = load(job["source"])
        device = f"cuda:{rank}" if cuda else "cpu"
        data = loaders(job["data"], job["batch"], seed=rank) if job["data"] else None
        recipe = Recipe(job["mode"], job["batch"], job["precision"])
        model = fresh_model(w.model)
        if world > 1 and job["mode"] == "ddp":
            from torch.nn.parallel import DistributedDataParallel

            model = DistributedDataParallel(model.to(device), device_ids=[rank] if cuda else None)
            trainer = Trainer(model, recipe, device)
        else:
            trainer = Trainer(model, recipe, device, allreduce_grads(world) if world > 1 else None)
        batches = batches_forever(data.train) if data else (w.torch_args(job["batch"]) for _ in iter(int, 1))
        doc = breakdown(measure_steps(trainer, batches, job["steps"], seed=job.get("seed")), job["batch"])
    except Exception as e:  # the parent turns this into one clear error
        doc = {"error": f"{type(e).__name__}: {e}", "error_at": time.time()}
    finally:
        dist.destroy_process_group()
    write_text(Path(out_dir) / f"rank{rank}.json", json.dumps(doc))  # whole, or absent: the parent reads it


def launch(nproc: int, job: dict, timeout_s: float = 600.0) -> list[dict]:
    """Run ``job`` in ``nproc`` processes started by torchrun; their step documents by rank."""
    iface = loopback_interface()
    env = dict(
        os.environ,
        OMP_NUM_THREADS=str(job["threads"]),
        GLOO_SOCKET_IFNAME=iface,
        NCCL_SOCKET_IFNAME=iface,
        PYTHONPATH=os.pathsep.join(p for p in sys.path if p),
    )
    with tempfile.TemporaryDirectory(prefix="nnspeed-ddp-") as tmp:
        job_path = Path(tmp) / "job.json"
        # one order of instrumented and plain steps for every rank, so their steps meet in kind
        job_path.write_text(json.dumps({"seed": int.from_bytes(os.urandom(4), "little"), **job}))
        cmd = [
            sys.executable,
            "-m",
            "torch.distributed.run",
            "--nnodes",
            "1",
            "--nproc-per-node",
            str(nproc),
            "--master-addr",
            ADDR,
            "--master-port",
            str(free_port()),
            "--local-addr",
            ADDR,
            "--log-dir",
            str(Path(tmp) / "logs"),
            "-m",
            __name__,
            str(job_path),
            tmp,
        ]
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout_s, env=env, cwd=os.getcwd())
        except subprocess.TimeoutExpired:
            raise InputError(
                f"the {nproc} DDP processes did not finish within {timeout_s:.0f} s; try fewer --steps"
            ) from None
        files = [Path(tmp) / f"rank{r}.json" for r in range(nproc)]
        docs = [json.loads(f.read_text()) if f.exists() else None for f in files]
    # a rank that fails first leaves its peers waiting in a collective, which then fails with a
    # transport error ("Connection closed by peer"): the earliest error is the cause
    failed = sorted((d for d in docs if d and "error" in d), key=lambda d: d["error_at"])
    if failed:
        raise InputError(f"a DDP process failed: {failed[0]['error']}")
    if proc.returncode != 0 or None in docs:
        tail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        raise InputError(f"torchrun exited with {proc.returncode} before every DDP process reported: {tail}")
    return docs


def _summary(nproc: int, docs: list[dict], single: dict) -> dict:
    total = sum(d["samples_per_s"] for d in docs)
    return {
        "samples_per_s": total,
        "per_process_samples_per_s": [d["samples_per_s"] for d in docs],
        "efficiency": total / (nproc * single["samples_per_s"]),
        "step_ms": sum(d["step_ms"] for d in docs) / nproc,
        "breakdown_ms": {p: sum(d["breakdown_ms"][p] for d in docs) / nproc for p in docs[0]["breakdown_ms"]},
    }


def ddp(nproc: int, job: dict) -> dict:
    """Samples/s with ``nproc`` processes under the DDP wrapper and with the split all-reduce,
    against one process alone (``check_nproc`` has passed)."""
    single = launch(1, job | {"mode": "split"})[0]
    wrapped = _summary(nproc, launch(nproc, job | {"mode": "ddp"}), single)
    split = _summary(nproc, launch(nproc, job | {"mode": "split"}), single)
    split["allreduce_ms"] = split["breakdown_ms"]["allreduce"]
    return {
        "nproc": nproc,
        "launcher": "torchrun",
        "backend": "nccl" if job["device"] == "cuda" else "gloo",
        "threads_per_process": job["threads"],
        "single_process_samples_per_s": single["samples_per_s"],
        "single_process_step_ms": single["step_ms"],
        **wrapped,
        # the wrapped step's time beyond one process's: communication the backward pass did not
        # hide, plus the processes' contention for the machine
        "step_overhead_ms": wrapped["step_ms"] - single["step_ms"],
        "allreduce_ms": split["allreduce_ms"],
        "split": split,
    }


if __name__ == "__main__":
    worker(*sys.argv[1:3])
