"""The exit rule on synthetic logits, where exits go, and which exit each sample takes."""

import math

import pytest
import torch
import torch.nn as nn

from nnspeed.errors import InputError, UnsupportedError
from nnspeed.transforms.early_exit import exit_points
from nnspeed.transforms.early_exit_modules import EarlyExitNet, confident
from nnspeed.transforms.exit_rules import check_rule


def test_max_prob_rule_on_synthetic_logits():
    logits = torch.tensor([[10.0, 0.0, 0.0], [0.0, 0.0, 0.0], [2.0, 0.0, 0.0]])
    p_top = math.exp(2) / (math.exp(2) + 2)  # 0.787
    assert confident(logits, "max-prob", 0.9).tolist() == [True, False, False]
    assert confident(logits, "max-prob", p_top - 1e-6).tolist() == [True, False, True]
    assert confident(logits, "max-prob", 1 / 3).tolist() == [True, True, True]  # uniform: exactly 1/3


def test_entropy_rule_on_synthetic_logits():
    uniform = torch.zeros(1, 3)  # entropy ln 3 = 1.0986 nats
    peaked = torch.tensor([[20.0, 0.0, 0.0]])  # entropy ~ 0
    assert not bool(confident(uniform, "entropy", 1.09)) and bool(confident(uniform, "entropy", 1.1))
    assert bool(confident(peaked, "entropy", 1e-6))


def test_bad_rules_and_thresholds():
    with pytest.raises(InputError, match="unknown exit rule 'margin'"):
        check_rule("margin", ())
    with pytest.raises(InputError, match="probability in"):
        check_rule("max-prob", (1.5,))
    with pytest.raises(InputError, match="≥ 0 nats"):
        check_rule("entropy", (-0.1,))


def cnn():
    return nn.Sequential(
        nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(),
        nn.Conv2d(4, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(8, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(8, 10),
    )  # fmt: skip


def test_auto_exits_end_blocks_and_keep_the_classifier_last():
    assert exit_points(cnn(), "auto") == [2, 6]  # after relu 1, and after relu 2's pooling
    mlp = nn.Sequential(nn.Flatten(), nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 32), nn.ReLU(), nn.Linear(32, 10))
    assert exit_points(mlp, "auto") == [2]


def test_named_exits_and_the_mistakes_a_user_makes():
    from collections import OrderedDict

    named = nn.Sequential(
        OrderedDict(
            stem=nn.Sequential(nn.Flatten(), nn.Linear(64, 32), nn.ReLU()),
            body=nn.Sequential(nn.Linear(32, 32), nn.ReLU()),
            classifier=nn.Linear(32, 10),
        )
    )
    assert exit_points(named, "stem") == [0] and exit_points(named, "body, stem") == [0, 1]
    with pytest.raises(InputError, match="'neck', which is not a module of the model; its modules are: stem, body"):
        exit_points(named, "neck")
    with pytest.raises(InputError, match="last module"):
        exit_points(named, "classifier")
    with pytest.raises(UnsupportedError, match=r"nn\.Sequential"):
        exit_points(nn.Linear(3, 3), "auto")
    with pytest.raises(UnsupportedError, match="one block only"):
        exit_points(nn.Sequential(nn.Linear(3, 3), nn.ReLU(), nn.Linear(3, 2)), "auto")


class Counted(nn.Module):
    """The identity, counting the samples it sees."""

    def __init__(self):
        super().__init__()
        self.seen = 0

    def forward(self, x):
        self.seen += x.shape[0]
        return x


class Oracle(nn.Module):
    """A head that is sure (logit 10 on class k) of samples whose value is at least ``level``."""

    def __init__(self, level: float, k: int):
        super().__init__()
        self.level, self.k = level, k

    def forward(self, x):
        sure = (x[:, 0] >= self.level).float() * 10.0
        out = torch.zeros(x.shape[0], 3)
        out[:, self.k] = sure
        return out


def scripted_net():
    segs = [Counted(), Counted(), nn.Sequential(Counted(), nn.Linear(1, 3))]
    return EarlyExitNet(segs, [Oracle(0.7, 0), Oracle(0.4, 1)], "max-prob", 0.9), segs


def test_each_sample_takes_its_first_confident_exit_alone_and_in_a_batch():
    net, _segs = scripted_net()
    x = torch.tensor([[0.9], [0.5], [0.1]])  # easy, medium, hard
    assert net.exit_index(x).tolist() == [0, 1, 2]
    with torch.inference_mode():
        batch = net(x)
        alone = torch.cat([net(x[i : i + 1]) for i in range(3)])
    assert torch.equal(batch, alone)  # in a batch a sample keeps its own exit's logits
    assert batch[0].argmax() == 0 and batch[1].argmax() == 1


def test_a_batch_runs_on_until_every_sample_is_confident():
    net, segs = scripted_net()
    with torch.inference_mode():
        net(torch.tensor([[0.9], [0.8]]))  # both easy: the batch stops at the first exit
        assert [s.seen if isinstance(s, Counted) else s[0].seen for s in segs] == [2, 0, 0]
        net(torch.tensor([[0.9], [0.1]]))  # one hard sample keeps the whole batch to the end
        assert [s.seen if isinstance(s, Counted) else s[0].seen for s in segs] == [4, 2, 2]
        net(torch.tensor([[0.1]]))  # alone, a hard sample goes all the way; an easy one stops
        net(torch.tensor([[0.95]]))
        assert [s.seen if isinstance(s, Counted) else s[0].seen for s in segs] == [6, 3, 3]


@pytest.mark.parametrize("rule, tau", [("max-prob", 0.8), ("max-prob", 0.3), ("entropy", 0.5), ("entropy", 1.5)])
def test_the_one_sample_decision_agrees_with_the_batch_rule(rule, tau):
    net = EarlyExitNet([nn.Identity(), nn.Identity()], [nn.Identity()], rule, tau)
    g = torch.Generator().manual_seed(0)
    for _ in range(200):
        logits = torch.randn(1, 5, generator=g) * 3
        assert net._sure(logits) == bool(confident(logits, rule, tau))


def test_auto_exits_leave_out_an_exit_too_rarely_taken():
    from types import SimpleNamespace

    from nnspeed.transforms.early_exit import MIN_EXIT_SHARE, EarlyExits

    ee = EarlyExits.__new__(EarlyExits)  # heads scripted, not trained
    ee.model = nn.Sequential(Counted(), Counted(), nn.Sequential(Counted(), nn.Linear(1, 3)))
    ee.points, ee.exit_names, ee.prune = [0, 1], ["a", "b"], True
    ee.heads = [Oracle(0.7, 0), Oracle(0.4, 1)]
    ee.segments = list(ee.model.children())
    # 2 of 100 training samples are sure at the first exit, 48 at the second, 50 go all the way
    x = torch.tensor([[0.9]] * 2 + [[0.5]] * 48 + [[0.1]] * 50).numpy()
    ee.split = SimpleNamespace(x_train=x)
    assert 0.02 < MIN_EXIT_SHARE
    assert ee.kept("max-prob", 0.9) == ([1], {"a": 0.02})
    ee.split = SimpleNamespace(x_train=torch.tensor([[0.1]] * 10).numpy())  # none leaves early: the best kept
    keep, dropped = ee.kept("max-prob", 0.9)
    assert len(keep) == 1 and len(dropped) == 1
    ee.prune = False  # exits the user named stay, however rarely taken
    assert ee.kept("max-prob", 0.9) == ([0, 1], {})
