"""The gallery of users' models (tests/gallery) through every command, each run with the real
command line in a fresh process: bench on torch-eager, onnxruntime and openvino (or the
sentence saying why a backend cannot run it), explain, optimize and check. Writes one row per
model and command to results/gallery.json and prints a table.

    .venv/bin/python benchmarks/gallery.py [NAME ...]      # all nine by default

A command that exits 0 (bench: 0 or 3, some backends not applicable) with its JSON passes; its
headline figures are kept. What each row must show:
- bench: a p50 for every backend that can run the model, a reason for every one that cannot;
- explain: no efficiency above 100%, FLOPs against torch.utils.flop_counter, time outside layers;
- optimize: the chosen variant, its speedup's CI, and every row's metric, n and CI;
- check: a ratio with its 95% CI (a second runtime against the model's own).
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.record import write_result

NNSPEED = str(Path(sys.executable).with_name("nnspeed"))
TORCH = ("unet", "fusion", "dict_out", "detector", "masked_encoder")
QUICK = ["--min-time", "0.2", "--max-time", "1"]


def build(d: Path) -> dict[str, tuple[str, str]]:
    """name -> (source, kind): the gallery, written under ``d``."""
    from tests.gallery.hf import save_encoder, save_t5, save_vit
    from tests.gallery.models import export_dynamic_onnx

    export_dynamic_onnx(d / "fusion.onnx")
    out = {n: (f"py:tests.gallery.models:{n}", "torch") for n in TORCH}
    out["hf-encoder"] = (str(save_encoder(d / "encoder")), "torch")
    out["hf-vit"] = (str(save_vit(d / "vit")), "torch")
    out["hf-t5"] = (str(save_t5(d / "t5")), "torch")
    out["onnx-dynamic"] = (str(d / "fusion.onnx"), "onnx")
    keras = subprocess.run(
        [
            sys.executable,
            "-c",
            f"from tests.gallery.keras_models import save_two_input_keras as s; s({str(d / 'two.keras')!r})",
        ],
        capture_output=True,
        text=True,
    )
    if keras.returncode == 0:
        out["keras-two-inputs"] = (str(d / "two.keras"), "keras")
    return out


def run(args: list[str], ok=(0,)) -> tuple[dict | None, str]:
    p = subprocess.run([NNSPEED, *args, "--json"], capture_output=True, text=True)
    if p.returncode not in ok:
        return None, " ".join(p.stderr.split())[-300:]
    text = p.stdout
    return json.loads(text[text.index("{") :]), ""


def disagree(doc: dict | None) -> list[str]:
    """What the result found when it checked its own figures (``"invariants"``), one line each."""
    found = (doc or {}).get("invariants", {}).get("violations", [])
    return [f"{v['kind']} {v['rule']} {v['where']}: {v['message']}" for v in found]


def flop_reference(source: str) -> int | None:
    from torch.utils.flop_counter import FlopCounterMode

    import nnspeed

    w = nnspeed.load(source)
    with FlopCounterMode(display=False) as counter:
        w.model(*w.torch_args(1))
    return counter.get_total_flops()


def one(name: str, source: str, kind: str, store: str) -> list[dict]:
    rows = []
    backends = {"torch": "torch-eager,onnxruntime,openvino", "onnx": "torch-eager,onnxruntime,openvino"}
    backends["keras"] = "tensorflow,litert,torch-eager,onnxruntime,openvino"
    doc, err = run(
        ["bench", source, "--backend", backends[kind], "--threads", "1", *QUICK, "--store", store], ok=(0, 3)
    )
    rows.append(
        {
            "model": name,
            "command": "bench",
            "ok": doc is not None,
            "p50_ms": {r["backend"]: r["latency_ms"]["p50"] for r in doc["results"]} if doc else None,
            "cannot_run": {f["backend"]: f["error"] for f in doc["failed"]} if doc else None,
            "error": err,
            "disagreements": disagree(doc),
        }
    )
    own = {"torch": "torch-eager", "onnx": "onnxruntime", "keras": "tensorflow"}[kind]
    other = {"torch": "onnxruntime", "onnx": "openvino", "keras": "litert"}[kind]
    if kind == "onnx":  # a file has no layers to break down: one sentence, exit 2
        p = subprocess.run([NNSPEED, "explain", source], capture_output=True, text=True)
        said = " ".join(p.stderr.split())
        rows.append({"model": name, "command": "explain", "ok": p.returncode == 2, "not_applicable": said})
    else:
        doc, err = run(["explain", source, "--threads", "1"])
        row = {"model": name, "command": "explain", "ok": doc is not None, "error": err, "disagreements": disagree(doc)}
        if doc and kind == "keras":
            row.update(flops=doc["total_flops"], efficiency=doc.get("efficiency"))
        elif doc:
            effs = [x.get("efficiency") for x in doc["layers"] + doc.get("outside", []) if x.get("efficiency")]
            ref = flop_reference(source)
            row.update(
                max_efficiency=max(effs) if effs else None,
                flops=doc["total_flops"],
                flops_vs_flop_counter=doc["total_flops"] / ref if ref else None,
                outside_ms=doc.get("outside_ms"),
                accounted_ratio=doc.get("accounted_ratio"),
                warnings=doc.get("warnings", []),
            )
        rows.append(row)
    doc, err = run(["optimize", source, "--threads", "1", "--time-limit", "120", *QUICK, "--store", store])
    row = {"model": name, "command": "optimize", "ok": doc is not None, "error": err, "disagreements": disagree(doc)}
    if doc:
        chosen = next((v for v in doc["variants"] if v["name"] == doc["chosen"]), None)
        row.update(
            chosen=doc["chosen"],
            speedup=chosen and chosen["speedup"],
            speedup_ci95=chosen and chosen["speedup_ci95"],
            score=chosen and {k: chosen["score"].get(k) for k in ("metric", "value", "ci95", "n")},
            variants=[
                {
                    "name": v["name"],
                    "status": v["status"],
                    "reason": v.get("reason"),
                    "outputs": [(o["kind"], o["metric"], o["value"], o["ci95"], o["n"]) for o in v["score"]["outputs"]]
                    if v.get("score")
                    else None,
                }
                for v in doc["variants"]
            ],
        )
    rows.append(row)
    doc, err = run(
        ["check", source, "--backend", f"{own},{other}", "--threads", "1", "--max-slowdown", "1000%", "--store", store]
    )
    row = {"model": name, "command": "check", "ok": doc is not None, "error": err, "disagreements": disagree(doc)}
    if doc:
        row.update({k: doc.get(k) for k in ("verdict", "ratio", "ci95")})
    rows.append(row)
    return rows


def main(names: list[str]) -> None:
    rows = []
    with tempfile.TemporaryDirectory(prefix="nnspeed-gallery-") as tmp:
        d = Path(tmp)
        gallery = build(d)
        store = f"sqlite:///{d / 'store.db'}"
        for name, (source, kind) in gallery.items():
            if names and name not in names:
                continue
            for row in one(name, source, kind, store):
                rows.append(row)
                print(json.dumps(row, default=str)[:400], flush=True)
    path = write_result("gallery", {"rows": rows})
    failed = [r for r in rows if not r["ok"]]
    disagreeing = [r for r in rows if r.get("disagreements")]
    print(
        f"{len(rows) - len(failed)} of {len(rows)} commands passed; {len(disagreeing)} results disagree with themselves"
    )
    print(f"wrote {path}")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main(sys.argv[1:])
