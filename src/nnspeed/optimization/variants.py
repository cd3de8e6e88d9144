"""The variants the search tries: transforms × runtime × precision, each with its recipe."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace

from ..errors import UnsupportedError
from ..workloads.workload import Workload

PRUNE_RATIO = 0.5
FINE_TUNE_EPOCHS = 10


@dataclass
class Context:
    split: object | None  # labelled data for fine-tuning and calibration, when there is some
    calibration: list[dict] = field(default_factory=list)
    cache: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Candidate:
    name: str
    transforms: tuple[str, ...]
    backend: str
    precision: str = "fp32"
    build: Callable[[Workload, Context], Workload] | None = None
    needs_torch: bool = False
    options: tuple = ()  # backend options, e.g. (("opt_level", "basic"),)
    numbers: str = ""  # what the weights are computed in, when not the runtime's precision (int8)
    # what its speedup compares: the median call, or the mean where latency depends on the input
    statistic: str = "p50"


def _fine_tuned_structured(w: Workload, ctx: Context) -> Workload:
    """Structured pruning, then a short fine-tune on the training split to recover accuracy."""
    if "structured" not in ctx.cache:
        from ..transforms.prune import structured_prune
        from ..workloads.zoo_trained import train_classifier

        pruned = structured_prune(w, PRUNE_RATIO)
        try:
            import torch

            with torch.inference_mode():
                pruned.model(*w.torch_args(2))
        except Exception as e:
            raise UnsupportedError(
                f"structured pruning breaks this architecture ({type(e).__name__}): channel pruning suits "
                "MLP and conv stacks; attention needs head-aware pruning"
            ) from None
        if ctx.split is not None:
            train_classifier(pruned.model, ctx.split, epochs=FINE_TUNE_EPOCHS)
        ctx.cache["structured"] = pruned
    return ctx.cache["structured"]


def _static(w: Workload, ctx: Context) -> Workload:
    from ..transforms.quantize import static_int8_onnx

    return static_int8_onnx(w, ctx.calibration)


def _w8_openvino(w, ctx):
    from ..transforms.quantize import weight_int8_openvino

    if "w8" not in ctx.cache:
        ctx.cache["w8"] = weight_int8_openvino(w)
    return ctx.cache["w8"]


def _static_openvino(w, ctx):
    from ..transforms.quantize import static_int8_openvino

    return static_int8_openvino(w, ctx.calibration)


def _q_dyn_torch(w, ctx):
    from ..transforms.quantize import dynamic_int8_torch

    return dynamic_int8_torch(w)


def _q_dyn_onnx(w, ctx):
    from ..transforms.quantize import dynamic_int8_onnx

    return dynamic_int8_onnx(w)


def _unstructured(w, ctx):
    from ..transforms.prune import magnitude_prune

    return magnitude_prune(w, PRUNE_RATIO)


def _heads(w, ctx):
    from ..transforms.prune import head_prune

    if "heads" not in ctx.cache:
        ctx.cache["heads"] = head_prune(w, PRUNE_RATIO)
    return ctx.cache["heads"]


def _fold(w, ctx):
    from ..transforms.fuse import fold_conv_bn

    return fold_conv_bn(w)


def _tflite(quantization: str):
    def build(w, ctx):
        from ..transforms.tflite import to_tflite_all

        if "tflite" not in ctx.cache:  # every LiteRT variant from one converter process
            ctx.cache["tflite"] = to_tflite_all(w, calibration=ctx.calibration)
        made = ctx.cache["tflite"][quantization]
        if isinstance(made, Exception):
            raise made
        return made

    return build


STRUCT = (
    f"structured prune {int(100 * PRUNE_RATIO)}% (Torch-Pruning), "
    f"then a {FINE_TUNE_EPOCHS}-epoch fine-tune when --data gives labels"
)
CANDIDATES = [
    Candidate("eager bf16", ("autocast bf16",), "torch-eager", "bf16", needs_torch=True),
    Candidate("eager conv+bn folded", ("fold conv+bn (torch.fx)",), "torch-eager", build=_fold, needs_torch=True),
    Candidate("torch.compile", ("torch.compile default",), "torch-compile", needs_torch=True),
    Candidate(
        "torch.compile max-autotune",
        ("torch.compile max-autotune-no-cudagraphs",),
        "torch-compile",
        needs_torch=True,
        options=(("compile_mode", "max-autotune-no-cudagraphs"),),
    ),
    Candidate("onnxruntime", ("ONNX export", "ORT graph optimization all"), "onnxruntime"),
    Candidate(
        "onnxruntime basic graph optimization",
        ("ONNX export", "ORT graph optimization basic"),
        "onnxruntime",
        options=(("opt_level", "basic"),),
    ),
    Candidate(
        "onnxruntime int8 dynamic",
        ("ONNX export", "int8 dynamic (onnxruntime)"),
        "onnxruntime",
        build=_q_dyn_onnx,
        numbers="int8",
    ),
    Candidate(
        "onnxruntime int8 static",
        ("ONNX export", "int8 static QDQ per-channel, calibrated (onnxruntime)"),
        "onnxruntime",
        build=_static,
        numbers="int8",
    ),
    Candidate("openvino", ("ONNX export", "OpenVINO f32"), "openvino"),
    Candidate("openvino bf16", ("ONNX export", "OpenVINO bf16"), "openvino", "bf16"),
    Candidate(
        "openvino int8 weights",
        ("ONNX export", "int8 weight-only (NNCF compress_weights)", "OpenVINO f32"),
        "openvino",
        build=_w8_openvino,
        numbers="int8 weights",
    ),
    Candidate(
        "openvino int8 weights + bf16",
        ("ONNX export", "int8 weight-only (NNCF compress_weights)", "OpenVINO bf16"),
        "openvino",
        "bf16",
        build=_w8_openvino,
        numbers="int8 weights/bf16",
    ),
    Candidate(
        "openvino int8 static",
        ("ONNX export", "int8 static, calibrated (NNCF quantize)", "OpenVINO"),
        "openvino",
        build=_static_openvino,
        numbers="int8",
    ),
    Candidate(
        "eager int8 dynamic",
        ("int8 dynamic (torch.ao)",),
        "torch-eager",
        build=_q_dyn_torch,
        needs_torch=True,
        numbers="int8",
    ),
    Candidate(
        "eager pruned 50% unstructured",
        ("magnitude prune 50% (torch.nn.utils.prune)",),
        "torch-eager",
        build=_unstructured,
        needs_torch=True,
    ),
    Candidate("eager pruned 50% structured", (STRUCT,), "torch-eager", build=_fine_tuned_structured, needs_torch=True),
    Candidate(
        "eager pruned 50% heads",
        ("attention head prune 50% (L1 of output projection)",),
        "torch-eager",
        build=_heads,
        needs_torch=True,
    ),
    Candidate(
        "openvino bf16 pruned 50% heads",
        ("attention head prune 50%", "ONNX export", "OpenVINO bf16"),
        "openvino",
        "bf16",
        build=_heads,
        needs_torch=True,
    ),
    Candidate(
        "onnxruntime pruned 50% structured + int8 static",
        (STRUCT, "ONNX export", "int8 static (onnxruntime)"),
        "onnxruntime",
        build=lambda w, ctx: _static(_fine_tuned_structured(w, ctx), ctx),
        needs_torch=True,
        numbers="int8",
    ),
    Candidate(
        "openvino pruned 50% structured",
        (STRUCT, "ONNX export", "OpenVINO f32"),
        "openvino",
        build=_fine_tuned_structured,
        needs_torch=True,
    ),
]


TO_TFLITE = "convert to .tflite (TFLiteConverter, from a SavedModel)"
TORCH_TO_TFLITE = "rebuild the nn.Sequential in Keras (weights copied, outputs checked)"


# name, conversion step (after the converter), quantization, what the numbers are
LITERT_QUANTIZED = (
    ("litert fp16 weights", "float16 weights (target_spec.supported_types)", "fp16", "fp16 weights"),
    ("litert int8 dynamic-range", "int8 dynamic range (Optimize.DEFAULT)", "dynamic-int8", "int8 weights"),
    ("litert int8 full", "full int8, calibrated on real data (representative_dataset)", "int8", "int8"),
)


def litert_candidates(first: tuple[str, ...], without_xnnpack: bool = True) -> list[Candidate]:
    """The LiteRT variants of a model that converts to .tflite (``first``: the steps before the
    converter): fp32 with and without XNNPACK, fp16 weights, dynamic-range and full int8."""
    conv = (*first, TO_TFLITE)
    made = [Candidate("litert fp32", (*conv, "LiteRT + XNNPACK"), "litert", build=_tflite("float"))]
    if without_xnnpack:
        builtin = (*conv, "LiteRT builtin kernels")
        options = (("xnnpack", False),)
        made.append(
            Candidate("litert fp32 without XNNPACK", builtin, "litert", build=_tflite("float"), options=options)
        )
    for name, step, quantization, numbers in LITERT_QUANTIZED:
        steps = (*conv, step, "LiteRT + XNNPACK")
        made.append(Candidate(name, steps, "litert", build=_tflite(quantization), numbers=numbers))
    return made


# A torch model reaches LiteRT through its Keras twin: nn.Sequential stacks only (others fail
# with the reason), and only where the tf extra is installed.
CANDIDATES += [replace(c, needs_torch=True) for c in litert_candidates((TORCH_TO_TFLITE,), without_xnnpack=False)]


def _early_exit(exits: str, rule: str, tau: float):
    def build(w, ctx):
        from ..transforms.early_exit import EarlyExits

        if ctx.split is None:
            raise UnsupportedError("early exits train their heads on labelled data: give --data")
        key = ("early-exit", exits)
        if key not in ctx.cache:  # the heads are trained once, for every threshold and runtime
            ctx.cache[key] = EarlyExits(w, ctx.split, exits)
        return ctx.cache[key].variant(rule, tau)

    return build


def early_exit_candidates(exits: str, rule: str, taus: tuple[float, ...]) -> list[Candidate]:
    """Early-exit variants over a sweep of thresholds, on eager torch and torch.compile; their
    speedups compare mean latencies (a sample's latency depends on where it exits)."""
    from ..transforms.exit_rules import RULES

    made = []
    for tau in taus:
        steps = (
            f"exit heads after {exits} blocks, trained with the backbone frozen",
            f"exit when {RULES[rule]}".replace("τ", f"{tau:g}"),
        )
        build = _early_exit(exits, rule, tau)
        made.append(
            Candidate(
                f"eager early exit {rule} {tau:g}",
                steps,
                "torch-eager",
                build=build,
                needs_torch=True,
                statistic="mean",
            )
        )
        made.append(
            Candidate(
                f"torch.compile early exit {rule} {tau:g}",
                (*steps, "torch.compile default (a graph per segment)"),
                "torch-compile",
                build=build,
                needs_torch=True,
                statistic="mean",
            )
        )
    return made


@dataclass(frozen=True)
class Baseline:
    """What every variant is compared with: the model as its own framework runs it, in fp32."""

    name: str
    backend: str


TORCH_BASELINE = Baseline("eager fp32", "torch-eager")
KERAS_BASELINE = Baseline("tensorflow fp32 (tf.function)", "tensorflow")
KERAS_CANDIDATES = [
    Candidate("tensorflow eager", ("Keras called eagerly",), "tensorflow", options=(("tf_mode", "eager"),)),
    Candidate("tensorflow XLA", ("tf.function(jit_compile=True)",), "tensorflow", options=(("tf_mode", "xla"),)),
    *litert_candidates(()),
]


# A model file is compared with its own runtime as the file's users run it.
FILE_BASELINES = {
    "onnx": Baseline("onnxruntime fp32", "onnxruntime"),
    "openvino-ir": Baseline("openvino fp32", "openvino"),
}


def baseline_for(w: Workload) -> Baseline:
    if w.kind in FILE_BASELINES:
        return FILE_BASELINES[w.kind]
    return KERAS_BASELINE if w.kind in ("keras", "tf-saved-model") else TORCH_BASELINE


def candidates_for(w: Workload) -> list[Candidate]:
    """The variants that apply to ``w``'s framework: for a model file, those of its runtimes
    that need no torch model, the baseline itself left out; the ONNX it was exported to is the
    file itself."""
    if w.kind in ("keras", "tf-saved-model"):
        return KERAS_CANDIDATES
    if w.kind in FILE_BASELINES:
        base = FILE_BASELINES[w.kind]
        return [
            replace(c, transforms=tuple(t for t in c.transforms if t != "ONNX export"))
            for c in CANDIDATES
            if not c.needs_torch
            and not (c.backend == base.backend and c.precision == "fp32" and not c.build and not c.options)
        ]
    return CANDIDATES
