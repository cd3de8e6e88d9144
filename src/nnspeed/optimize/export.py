"""Write the chosen variant in a form a user can deploy, with a README of how it was made."""

from __future__ import annotations

import shutil
from pathlib import Path

from ..errors import InputError


def export(outcome, baseline, source: str, out_dir: Path, metric: str) -> list[Path]:
    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise InputError(f"--export {out_dir} is a file; give a directory")
    out_dir.mkdir(parents=True, exist_ok=True)
    w = outcome.workload
    written = []
    if outcome.backend in ("onnxruntime", "openvino"):
        target = out_dir / "model.onnx"
        shutil.copyfile(w.onnx_path(), target)
        how = f"onnxruntime.InferenceSession('{target.name}')" if outcome.backend == "onnxruntime" else (
            f"openvino.Core().compile_model('{target.name}', 'CPU', {{'INFERENCE_PRECISION_HINT': "
            f"'{ {'fp32': 'f32', 'bf16': 'bf16', 'fp16': 'f16'}[outcome.precision] }'}})"
        )
    else:
        import torch

        target = out_dir / "model.pt"
        example = w.torch_args(1)
        try:
            with torch.inference_mode(False), torch.no_grad():
                torch.jit.save(torch.jit.trace(w.model.eval(), example), str(target))
            how = f"torch.jit.load('{target.name}')"
        except Exception:
            target = out_dir / "state_dict.pt"
            torch.save(w.model.state_dict(), target)
            how = f"model.load_state_dict(torch.load('{target.name}')) on the architecture of {source}"
        if outcome.precision != "fp32":
            how += f", called under torch.autocast('cpu', torch.{ {'bf16': 'bfloat16', 'fp16': 'float16'}[outcome.precision] })"
        if outcome.backend == "torch-compile":
            how += ", wrapped in torch.compile(model)"
    written.append(target)
    m, b = outcome.measurement, baseline.measurement
    lo, hi = outcome.speedup_ci95
    readme = out_dir / "README.md"
    readme.write_text(
        f"# {outcome.name} — optimized from {source}\n\n"
        f"Made by `nnspeed optimize`. Transforms, in order: {', '.join(outcome.transforms) or 'none'}.\n"
        f"Runtime: {outcome.backend}, precision {outcome.precision}, batch {m.batch}, threads {m.threads}.\n\n"
        f"| | baseline (eager fp32) | this model |\n|---|---|---|\n"
        f"| p50 latency (ms) | {b.latency_ms.p50:.4g} | {m.latency_ms.p50:.4g} |\n"
        f"| p99 latency (ms) | {b.latency_ms.p99:.4g} | {m.latency_ms.p99:.4g} |\n"
        f"| {metric} | {baseline.score.value:.2f} | {outcome.score.value:.2f} |\n\n"
        f"Speedup {outcome.speedup:.2f}x (95% CI {lo:.2f}–{hi:.2f}), measured on {m.env.get('cpu')} "
        f"({m.env.get('cores_physical')} cores).\n\nLoad it with: `{how}`.\n"
    )
    written.append(readme)
    return written
