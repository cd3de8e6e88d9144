"""What a backend promises: settings in, a Runner out, effective settings recorded."""

from __future__ import annotations

import contextlib
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from ..errors import BackendError, UnsupportedError
from ..measure.environment import cpu_flags
from ..workloads.signature import flatten_outputs

PRECISIONS = ("fp32", "bf16", "fp16")
DEVICES = ("cpu", "cuda")

# Instruction-set flags that give a CPU native kernels for each reduced precision; without
# them a runtime emulates the type and runs slower than fp32.
CPU_PRECISION_FLAGS = {
    "bf16": ("avx512_bf16", "amx_bf16", "bf16"),
    "fp16": ("avx512_fp16", "amx_fp16", "asimdhp"),
}


@dataclass(frozen=True)
class Settings:
    """What the user asked for."""

    backend: str
    precision: str = "fp32"
    batch: int = 1
    threads: int | None = None
    device: str = "cpu"
    options: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return asdict(self)


class Runner(Protocol):
    """Runs prepared inputs.  Never reads a clock: the harness times it."""

    effective: dict

    def prepare(self, inputs: dict[str, np.ndarray]) -> Any:
        """Convert one input batch to the runtime's own form (outside the timed region)."""

    def run(self, prepared: Any) -> Any:
        """One inference call."""

    def sync(self) -> None:
        """Wait for work queued by ``run`` (where the user's program would wait for results)."""

    def outputs(self, result: Any) -> list[np.ndarray]:
        """A call's outputs as numpy arrays, for checking them."""

    def memory(self) -> dict:
        """Peak memory figures the runtime can report (may be empty)."""

    def close(self) -> None: ...

    # Optional: ``activate()`` restores settings the process shares between runners (torch's
    # thread count) before this runner is called again after another one ran.
    # Optional: ``calling()``, a context manager for the state every call runs in (torch's
    # inference mode), entered once around a stretch of calls in one thread: see
    # ``registry.calling``.
    # Optional: ``invoker(prepared)``, for a runtime that keeps one input set between calls
    # (``input_pool = 1``, nothing to wait for after ``run``): sets ``prepared`` once and returns
    # the runtime's own no-argument call, so a µs model pays no wrapper of ours per call. That
    # call runs whatever input was set last: a runner serves one such call at a time.


@dataclass(frozen=True)
class Exported:
    """A model written in its runtime's own format: the files (all of them: an OpenVINO IR is an
    .xml and a .bin), the format's name, and the Python line that loads it."""

    files: list[Path]
    format: str
    load: str


# How a workload's kind reads in a sentence.
KIND_NAMES = {
    "torch": "a torch model",
    "onnx": "an ONNX file",
    "openvino-ir": "an OpenVINO IR file",
    "keras": "a Keras model",
    "tf-saved-model": "a TensorFlow SavedModel",
    "tflite": "a LiteRT .tflite file",
}


class Backend(Protocol):
    name: str
    accepts: frozenset[str]  # workload kinds: see KIND_NAMES
    streams: bool  # each runner has its own thread pool, so several can run side by side

    def prepare(self, workload, settings: Settings) -> Runner: ...

    def export(self, workload, precision: str, out_dir: Path) -> Exported:
        """Write the model as this runtime loads it, into ``out_dir``."""
        ...


def check_accepts(backend, workload) -> None:
    """Refuse a workload whose kind the backend cannot run, naming the backends that can."""
    if workload.kind in backend.accepts:
        return
    from .registry import backends_that_accept

    others = [n for n in backends_that_accept(workload.kind) if n != backend.name]
    raise BackendError(
        f"{backend.name} cannot run {workload.source}, which is {KIND_NAMES[workload.kind]}; "
        f"use --backend {' or '.join(others) or 'of another kind'}"
    )


def check_hardware_precision(precision: str, device: str) -> None:
    """Refuse reduced precisions this hardware can only emulate, instead of a silent slow run."""
    if device == "cuda":
        import torch

        if precision == "bf16" and not torch.cuda.is_bf16_supported():
            raise UnsupportedError("this GPU has no bf16 support; use --precision fp16 or fp32")
        return
    flags = CPU_PRECISION_FLAGS.get(precision)
    if flags and not any(f in cpu_flags() for f in flags):
        raise UnsupportedError(
            f"this CPU has no native {precision} instructions ({' / '.join(flags[:2])}): {precision} would be "
            "emulated and slower than fp32; use --precision fp32, or bf16 where the CPU supports it"
        )


def check_device(device: str) -> None:
    if device not in DEVICES:
        raise UnsupportedError(f"unknown device '{device}'; use cpu or cuda")
    if device == "cuda":
        import torch

        if not torch.cuda.is_available():
            raise UnsupportedError("device cuda was asked for but torch sees no CUDA GPU here; use --device cpu")


@contextlib.contextmanager
def torch_threads(threads: int | None):
    """torch's intra-op thread count set for the block (None: unchanged), restored after."""
    import torch

    previous = torch.get_num_threads()
    if threads:
        torch.set_num_threads(threads)
    try:
        yield torch.get_num_threads()
    finally:
        torch.set_num_threads(previous)


def torch_outputs(result: Any) -> list[np.ndarray]:
    """Flatten a torch model's return value (tensor, tuple, dict, ModelOutput) to arrays."""
    return [t.detach().float().cpu().numpy() for _, t in flatten_outputs(result)]
