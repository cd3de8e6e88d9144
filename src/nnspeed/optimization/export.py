"""Write the chosen variant in a form a user can deploy, with a README of how it was made."""

from __future__ import annotations

from pathlib import Path

from ..backends.registry import get_backend
from ..errors import InputError


def export(outcome, baseline, source: str, out_dir: Path, metric: str) -> list[Path]:
    """The chosen variant in its runtime's own format, and a README of how it was made, how
    fast it ran and how to load it."""
    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise InputError(f"--export {out_dir} is a file; give a directory")
    out_dir.mkdir(parents=True, exist_ok=True)
    exported = get_backend(outcome.backend).export(outcome.workload, outcome.precision, out_dir)
    written = list(exported.files)
    m, b = outcome.measurement, baseline.measurement
    lo, hi = outcome.speedup_ci95
    readme = out_dir / "README.md"
    readme.write_text(
        f"# {outcome.name} — optimized from {source}\n\n"
        f"Made by `nnspeed optimize`. Transforms, in order: {', '.join(outcome.transforms) or 'none'}.\n"
        f"Runtime: {outcome.backend}, precision {outcome.precision}, batch {m.batch}, threads {m.threads}.\n"
        f"Format: {exported.format} ({', '.join(p.name for p in exported.files)}).\n\n"
        f"| | baseline ({baseline.name}) | this model |\n|---|---|---|\n"
        f"| p50 latency (ms) | {b.latency_ms.p50:.4g} | {m.latency_ms.p50:.4g} |\n"
        f"| p99 latency (ms) | {b.latency_ms.p99:.4g} | {m.latency_ms.p99:.4g} |\n"
        f"| {metric} | {baseline.score.value:.2f} | {outcome.score.value:.2f} |\n\n"
        f"Speedup {outcome.speedup:.2f}x (95% CI {lo:.2f}–{hi:.2f}), measured on {m.env.get('cpu')} "
        f"({m.env.get('cores_physical')} cores).\n\nLoad it with: `{exported.load}`.\n"
    )
    written.append(readme)
    return written
