"""The winner: the fastest, unless the measurements cannot tell it from a simpler variant."""

from types import SimpleNamespace

from nnspeed.optimization.choice import choose, simplicity


def variant(name, speedup, ci, precision="fp32", transforms=("ONNX export", "ORT")):
    return SimpleNamespace(name=name, speedup=speedup, speedup_ci95=ci, precision=precision, transforms=transforms)


def test_a_quantized_variant_no_faster_than_its_fp32_runtime_loses():
    fp32 = variant("onnxruntime", 1.96, (1.90, 2.02))
    int8 = variant("onnxruntime int8 dynamic", 1.98, (1.93, 2.04), "int8", ("ONNX export", "int8 dynamic"))
    chosen, tied = choose([fp32, int8])
    assert chosen is fp32 and [t.name for t in tied] == ["onnxruntime", "onnxruntime int8 dynamic"]


def test_a_clearly_faster_variant_wins_however_complex():
    fp32 = variant("onnxruntime", 1.96, (1.90, 2.02))
    int8 = variant("openvino int8 static", 5.3, (5.1, 5.5), "int8")
    assert choose([fp32, int8])[0] is int8


def test_simplicity_ranks_exact_numbers_first():
    base = variant("eager fp32", 1.0, (1.0, 1.0), transforms=())
    pruned = variant("pruned", 1.0, (1.0, 1.0), transforms=("structured prune 50%",))
    bf16 = variant("bf16", 1.0, (1.0, 1.0), "bf16", ("autocast bf16",))
    assert simplicity(base) < simplicity(bf16) < simplicity(pruned)
