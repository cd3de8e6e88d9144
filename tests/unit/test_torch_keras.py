"""The plan that rebuilds a torch nn.Sequential as Keras layers for LiteRT: layouts, weight
layouts and one sentence for each model it cannot rebuild.  No TensorFlow needed: the plan
is read from torch alone (the numbers are checked against LiteRT in test_tensorflow.py)."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")
nn = torch.nn

from nnspeed.errors import SourceError  # noqa: E402
from nnspeed.workloads.torch_keras import keras_plan  # noqa: E402
from nnspeed.workloads.workload import InputSpec  # noqa: E402


def _plan(model, shape):
    return keras_plan(model, [InputSpec("x", shape, "float32")], "py:test:model")


def _classes(plan):
    return [cls for cls, _, _ in plan]


def test_images_go_channels_last_before_the_first_conv_and_back_before_flatten():
    model = nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1, bias=False),
        nn.BatchNorm2d(8),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Linear(8, 4),
    )
    plan = _plan(model, (3, 16, 16))
    assert _classes(plan) == [
        "Permute",
        "ZeroPadding2D",
        "Conv2D",
        "BatchNormalization",
        "ReLU",
        "MaxPooling2D",
        "GlobalAveragePooling2D",
        "Permute",
        "Flatten",
        "Dense",
    ]
    assert plan[0][1] == {"dims": (2, 3, 1)} and plan[7][1] == {"dims": (3, 1, 2)}
    conv_kernel = plan[2][2][0]
    assert conv_kernel.shape == (3, 3, 3, 8)  # kh, kw, in, out
    np.testing.assert_array_equal(conv_kernel[:, :, 1, 5], model[0].weight.detach().numpy()[5, 1])
    _gamma, _beta, _mean, var = plan[3][2]
    np.testing.assert_array_equal(var, model[1].running_var.numpy())


def test_a_flatten_of_torch_order_needs_no_permute_and_dense_kernels_are_transposed():
    model = nn.Sequential(
        nn.Flatten(), nn.Linear(64, 16), nn.GELU(), nn.Dropout(0.1), nn.Linear(16, 10), nn.Softmax(-1)
    )
    plan = _plan(model, (1, 8, 8))
    assert _classes(plan) == ["Flatten", "Dense", "Activation", "Dense", "Softmax"]
    np.testing.assert_array_equal(plan[1][2][0], model[1].weight.detach().numpy().T)
    assert plan[2][1] == {"activation": "gelu"}
    assert plan[4][1] == {"axis": 1}


def test_depthwise_strided_conv_and_softmax_over_channels():
    dw = nn.Conv2d(4, 8, 3, stride=2, groups=4)
    model = nn.Sequential(dw, nn.Softmax(dim=1))
    plan = _plan(model, (4, 9, 9))
    assert _classes(plan) == ["Permute", "DepthwiseConv2D", "Softmax", "Permute"]
    cfg, (kernel, bias) = plan[1][1], plan[1][2]
    assert bias.shape == (8,)
    assert cfg["depth_multiplier"] == 2 and cfg["strides"] == (2, 2) and cfg["padding"] == "valid"
    assert kernel.shape == (3, 3, 4, 2)
    # torch's output channel c*2+m reads input channel c with multiplier m
    np.testing.assert_array_equal(kernel[:, :, 3, 1], dw.weight.detach().numpy()[7, 0])
    assert plan[2][1] == {"axis": 3}  # channels are last there


def test_nested_sequentials_and_a_single_layer_are_chains():
    plan = _plan(nn.Sequential(nn.Sequential(nn.Linear(5, 3), nn.Tanh()), nn.Identity()), (5,))
    assert _classes(plan) == ["Dense", "Activation"]
    assert _classes(_plan(nn.Linear(5, 3), (5,))) == ["Dense"]


class _Custom(nn.Module):
    def forward(self, x):
        return x * 2


class _MySequential(nn.Sequential):
    def forward(self, x):
        return super().forward(x) + 1


@pytest.mark.parametrize(
    "model, shape, words",
    [
        (_Custom(), (4,), "_Custom is not a plain nn.Sequential"),
        (_MySequential(nn.Linear(4, 4)), (4,), "not a plain nn.Sequential"),
        (nn.Sequential(nn.Linear(4, 4), _Custom()), (4,), "_Custom, which is not a torch.nn layer"),
        (nn.Sequential(nn.LSTM(4, 4)), (3, 4), "it holds a LSTM"),
        (nn.Sequential(nn.Conv2d(4, 4, 3, groups=2)), (4, 8, 8), "2 groups"),
        (nn.Sequential(nn.Conv2d(4, 4, 3, padding=1, padding_mode="reflect")), (4, 8, 8), "reflect"),
        (nn.Sequential(nn.MaxPool2d(3, padding=1)), (4, 8, 8), "padding"),
        (nn.Sequential(nn.Conv2d(4, 4, 3)), (4, 8), "N×C×H×W"),
        (nn.Sequential(nn.AdaptiveAvgPool2d(2)), (4, 8, 8), "only to 1"),
        (nn.Sequential(nn.Flatten(2)), (4, 8, 8), "Flatten(2, -1)"),
    ],
)
def test_what_cannot_be_rebuilt_is_one_sentence_naming_it(model, shape, words):
    with pytest.raises(SourceError) as e:
        _plan(model, shape)
    msg = str(e.value)
    assert words in msg and "tflite:PATH" in msg and "\n" not in msg


def test_two_inputs_are_refused():
    with pytest.raises(SourceError, match="2 inputs"):
        keras_plan(nn.Linear(2, 2), [InputSpec("a", (2,), "float32"), InputSpec("b", (2,), "float32")], "py:m:f")
