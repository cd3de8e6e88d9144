"""PyTorch eager and torch.compile."""

from __future__ import annotations

import contextlib
import copy
import threading
from pathlib import Path

from ..errors import UnsupportedError
from .base import PRECISIONS, Exported, Settings, check_accepts, check_device, check_hardware_precision, torch_outputs

DTYPES = {"bf16": "bfloat16", "fp16": "float16"}
# torch's thread count before any runner changed it: what "threads: auto" means for a runner
# that is activated again after another one set its own.
process_threads: list[int] = []


class TorchRunner:
    def __init__(self, model, settings: Settings, compiled: bool):
        import torch

        self._torch = torch
        self._device = torch.device(settings.device)
        self._prev_threads = torch.get_num_threads()
        if not process_threads:
            process_threads.append(self._prev_threads)
        torch.set_num_threads(settings.threads if settings.threads is not None else process_threads[0])
        self._threads = torch.get_num_threads()
        # .to() moves a module in place: a GPU run gets its own copy so the workload stays on CPU.
        self.model = (copy.deepcopy(model) if self._device.type != "cpu" else model).to(self._device).eval()
        self._autocast = None
        self._local = threading.local()  # .on: this thread is inside calling()
        if settings.precision != "fp32":
            self._autocast = (self._device.type, getattr(torch, DTYPES[settings.precision]))
        mode = settings.options.get("compile_mode", "default")
        if compiled:
            self.model = torch.compile(self.model, mode=None if mode == "default" else mode, dynamic=False)
        if self._device.type == "cuda":
            torch.cuda.reset_peak_memory_stats(self._device)
        self.effective = {
            "precision": settings.precision,
            "precision_mode": "autocast" if self._autocast else "native",
            "threads": torch.get_num_threads(),
            "device": str(self._device),
            "torch": torch.__version__,
        }
        if compiled:
            self.effective["compile_mode"] = mode

    def activate(self):
        """Take back this runner's thread count: torch's is one per process, shared by every
        runner in it, and another runner prepared since may have changed it."""
        self._torch.set_num_threads(self._threads)

    def prepare(self, inputs):
        torch = self._torch
        return tuple(torch.from_numpy(a).to(self._device) for a in inputs.values())

    def _call_state(self) -> contextlib.ExitStack:
        stack = contextlib.ExitStack()
        stack.enter_context(self._torch.inference_mode())
        if self._autocast:
            stack.enter_context(self._torch.autocast(*self._autocast))
        return stack

    @contextlib.contextmanager
    def calling(self):
        """Inference mode (and autocast) entered once for the calls this thread makes inside."""
        if getattr(self._local, "on", False):
            yield
            return
        with self._call_state():
            self._local.on = True
            try:
                yield
            finally:
                self._local.on = False

    def run(self, args):
        if getattr(self._local, "on", False):
            return self.model(*args)
        with self._call_state():
            return self.model(*args)

    def sync(self):
        if self._device.type == "cuda":
            self._torch.cuda.current_stream(self._device).synchronize()

    def outputs(self, result):
        return torch_outputs(result)

    def memory(self) -> dict:
        if self._device.type == "cuda":
            return {"cuda_peak_mb": self._torch.cuda.max_memory_allocated(self._device) / 2**20}
        return {}

    def close(self):
        self._torch.set_num_threads(self._prev_threads)


class TorchEager:
    name = "torch-eager"
    accepts = frozenset({"torch"})
    streams = False  # one intra-op thread pool per process
    compiled = False

    def prepare(self, workload, settings: Settings) -> TorchRunner:
        check_accepts(self, workload)
        if settings.precision not in PRECISIONS:
            raise UnsupportedError(f"unknown precision '{settings.precision}'; use one of {', '.join(PRECISIONS)}")
        check_device(settings.device)
        check_hardware_precision(settings.precision, settings.device)
        return TorchRunner(workload.model, settings, self.compiled)

    def export(self, workload, precision: str, out_dir: Path) -> Exported:
        """TorchScript (traced on one example), or the state dict when the model cannot be traced."""
        import torch

        check_accepts(self, workload)
        target, fmt = Path(out_dir) / "model.pt", "torchscript"
        try:
            with torch.inference_mode(False), torch.no_grad():
                torch.jit.save(torch.jit.trace(workload.model.eval(), workload.torch_args(1)), str(target))
            how = f"torch.jit.load('{target.name}')"
        except Exception:
            target, fmt = Path(out_dir) / "state_dict.pt", "state-dict"
            torch.save(workload.model.state_dict(), target)
            how = f"model.load_state_dict(torch.load('{target.name}')) on the architecture of {workload.source}"
        if precision != "fp32":
            how += f", called under torch.autocast('cpu', torch.{DTYPES[precision]})"
        if self.compiled:
            how += ", wrapped in torch.compile(model)"
        return Exported([target], fmt, how)


class TorchCompile(TorchEager):
    name = "torch-compile"
    compiled = True


class TorchTrainRunner(TorchRunner):
    """One SGD training step per call on a copy of the model: forward, loss, backward, update.
    The loss is the mean square of the output, which exercises the same backward pass as any
    loss on that output."""

    def __init__(self, model, settings: Settings, lr: float = 0.01):
        super().__init__(copy.deepcopy(model), settings, compiled=False)
        self.model.train()
        self._opt = self._torch.optim.SGD(self.model.parameters(), lr=lr)
        self.effective["optimizer"] = "SGD"
        self.effective["mode"] = "training step"

    def calling(self):
        return contextlib.nullcontext()  # a training step needs autograd: no inference mode

    def run(self, args):
        self._opt.zero_grad(set_to_none=True)
        loss = self.model(*args).float().pow(2).mean()
        loss.backward()
        self._opt.step()
        return loss.detach()


class TorchTrain(TorchEager):
    """Training-step latency (``--backend torch-train``): what one optimizer step costs."""

    name = "torch-train"

    def prepare(self, workload, settings: Settings) -> TorchTrainRunner:
        check_accepts(self, workload)
        if settings.precision != "fp32":
            raise UnsupportedError(
                f"{self.name} times fp32 training steps; for mixed precision use nnspeed train --precision {settings.precision}"
            )
        check_device(settings.device)
        return TorchTrainRunner(workload.model, settings)
