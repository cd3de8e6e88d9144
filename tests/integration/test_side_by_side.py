"""Real runners side by side: thread counts per arm, the re-entered fallback, bench --interleave."""

import torch

import nnspeed
from nnspeed.backends.base import Settings
from nnspeed.measure.interleave import RoundRule
from nnspeed.scenarios.side_by_side import side_by_side
from nnspeed.workloads.sources import workload_from_module

QUICK = RoundRule(min_rounds=6, max_rounds=6, window_s=0.01)


class ThreadSpy(torch.nn.Module):
    """Records torch's thread count at every call."""

    def __init__(self):
        super().__init__()
        self.seen = set()
        self.lin = torch.nn.Linear(8, 8)

    def forward(self, x):
        self.seen.add(torch.get_num_threads())
        return self.lin(x)


def test_each_torch_arm_runs_with_its_own_thread_count():
    one, two = ThreadSpy(), ThreadSpy()
    w1 = workload_from_module(one, torch.randn(1, 8))
    w2 = workload_from_module(two, torch.randn(1, 8))
    one.seen.clear()  # loading calls each model once, untimed, to check what it returns
    two.seen.clear()
    before = torch.get_num_threads()
    sbs = side_by_side([(w1, Settings("torch-eager", threads=1)), (w2, Settings("torch-eager", threads=2))], QUICK)
    assert one.seen == {1} and two.seen == {2}
    assert [m.effective["threads"] for m in sbs.measurements] == [1, 2]
    assert torch.get_num_threads() == before  # closing the runners gives the count back


def test_reentered_arms_give_the_same_answer_and_say_so():
    w = nnspeed.load("zoo:mlp")
    s = Settings("torch-eager", threads=1)
    sbs = side_by_side([(w, s), (w, s)], QUICK, resident=False)
    m = sbs.measurements[0]
    assert not m.extra["interleave"]["resident"] and any("A-B-A-B" in n for n in m.notes)
    assert len(m.extra["interleave"]["round_values_ms"]) == 6 and sum(m.extra["interleave"]["round_sizes"]) == m.n
    c = sbs.comparisons[0]
    assert c.rounds == 6 and c.ci95[0] <= c.speedup <= c.ci95[1]
    assert 0.5 < c.speedup < 2.0  # the same model: wide, honest bounds on a shared machine


def test_bench_interleave_reports_ratios(cli_json, store_url):
    doc = cli_json(
        [
            "bench",
            "zoo:mlp",
            "--precision",
            "fp32",
            "--threads",
            "1,2",
            "--interleave",
            "--max-time",
            "2",
            "--store",
            store_url,
            "--json",
        ]
    )
    assert doc["rounds"] >= 6 and len(doc["results"]) == 2 and len(doc["ratios"]) == 1
    assert "interleaved rounds" in doc["ratios"][0]["method"] and doc["ratios"][0]["rounds"] == doc["rounds"]
    assert [r["threads"] for r in doc["results"]] == [1, 2]
    run = nnspeed.Store(store_url).get_run(doc["run_id"])[1]
    assert all(len(m.samples) == m.n > 0 for m in run)
