"""The variants the search tries: transforms × runtime × precision, each with its recipe."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

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
        from ..transforms.tflite import to_tflite

        key = f"tflite-{quantization}"
        if key not in ctx.cache:
            ctx.cache[key] = to_tflite(w, quantization, ctx.calibration)
        return ctx.cache[key]

    return build


STRUCT = f"structured prune {int(100 * PRUNE_RATIO)}% (Torch-Pruning) + {FINE_TUNE_EPOCHS}-epoch fine-tune"
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


@dataclass(frozen=True)
class Baseline:
    """What every variant is compared with: the model as its own framework runs it, in fp32."""

    name: str
    backend: str


TORCH_BASELINE = Baseline("eager fp32", "torch-eager")
KERAS_BASELINE = Baseline("tensorflow fp32 (tf.function)", "tensorflow")
TO_TFLITE = "convert to .tflite (TFLiteConverter, from a SavedModel)"

KERAS_CANDIDATES = [
    Candidate("tensorflow eager", ("Keras called eagerly",), "tensorflow", options=(("tf_mode", "eager"),)),
    Candidate("tensorflow XLA", ("tf.function(jit_compile=True)",), "tensorflow", options=(("tf_mode", "xla"),)),
    Candidate("litert fp32", (TO_TFLITE, "LiteRT + XNNPACK"), "litert", build=_tflite("float")),
    Candidate(
        "litert fp32 without XNNPACK",
        (TO_TFLITE, "LiteRT builtin kernels"),
        "litert",
        build=_tflite("float"),
        options=(("xnnpack", False),),
    ),
    Candidate(
        "litert fp16 weights",
        (TO_TFLITE, "float16 weights (target_spec.supported_types)", "LiteRT + XNNPACK"),
        "litert",
        build=_tflite("fp16"),
        numbers="fp16 weights",
    ),
    Candidate(
        "litert int8 dynamic-range",
        (TO_TFLITE, "int8 dynamic range (Optimize.DEFAULT)", "LiteRT + XNNPACK"),
        "litert",
        build=_tflite("dynamic-int8"),
        numbers="int8 weights",
    ),
    Candidate(
        "litert int8 full",
        (TO_TFLITE, "full int8, calibrated on real data (representative_dataset)", "LiteRT + XNNPACK"),
        "litert",
        build=_tflite("int8"),
        numbers="int8",
    ),
]


def baseline_for(w: Workload) -> Baseline:
    return KERAS_BASELINE if w.kind in ("keras", "tf-saved-model") else TORCH_BASELINE


def candidates_for(w: Workload) -> list[Candidate]:
    """The variants that apply to ``w``'s framework."""
    return KERAS_CANDIDATES if w.kind in ("keras", "tf-saved-model") else CANDIDATES
