"""Profiler recording cost, measured on the model, and the per-call medians it corrects."""

from nnspeed.explanation.layers import Sessions, _median_times, in_situ_costs


def test_median_times_take_off_recording_cost_per_range_and_event():
    # layer a runs once per call, layer b (a shared module) twice per call; (ms, events)
    per_call = {"a": [[(1.0, 4)], [(1.2, 4)], [(9.0, 4)]], "b": [[(0.5, 0), (0.5, 0)]] * 3}
    assert _median_times(per_call) == {"a": 1.2, "b": 1.0}
    corrected = _median_times(per_call, per_range=0.1, per_event=0.05)
    assert abs(corrected["a"] - 0.9) < 1e-9 and abs(corrected["b"] - 0.8) < 1e-9
    assert _median_times({"c": [[(0.01, 9)]]}, 0.1, 0.1) == {"c": 0.0}  # never negative


def test_in_situ_costs_are_hooked_and_traced_calls_over_plain_ones_per_range_and_event():
    # 10 ranges a call; hooks add 0.03 ms, the profiler 0.012 ms over 40 events; one slow call
    # in each arm moves no median
    seen = Sessions({}, {}, [(0.02, 10, 0)] * 5, [1.0, 1.0, 1.0, 1.0, 9.0], [1.03, 1.03, 7.0, 1.03, 1.03])
    seen.traced, seen.traced_events = [1.012] * 4 + [5.0], 40.0
    seen.paired = [1.0, 1.0, 1.0, 1.0, 9.0]
    hook, event = in_situ_costs(seen)
    assert abs(hook - 0.003) < 1e-12 and abs(event - 0.0003) < 1e-12
    crossed = Sessions({}, {}, [(0.02, 10, 0)], [1.0], [0.99], [0.98], 40.0, [1.0])  # noise: never below zero
    assert in_situ_costs(crossed) == (0.0, 0.0)
    assert in_situ_costs(Sessions({}, {}, [], [1.0])) == (0.0, 0.0)  # not measured: nothing taken off


def _reused(k: int):
    """A Linear and a ReLU each run k times per call, an Identity, then a torch.cat outside every layer."""
    import torch

    class Reused(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.fc, self.act, self.same = torch.nn.Linear(8, 8), torch.nn.ReLU(inplace=True), torch.nn.Identity()

        def forward(self, x):
            for _ in range(k):
                x = self.act(self.fc(x))
            return torch.cat([self.same(x), x], dim=1)

    torch.manual_seed(0)
    return Reused().eval(), (torch.randn(4, 8),)


def test_op_bytes_reads_and_writes_each_tensor_once_and_views_move_nothing():
    import torch

    from nnspeed.explanation.work import op_bytes

    aten = torch.ops.aten
    x, y = torch.randn(1024), torch.randn(1024)  # 4 KiB each
    assert op_bytes(aten.relu_.default, (x,), {}, x) == 8192  # in place: read and written
    assert op_bytes(aten.view.default, (x, [32, 32]), {}, x.view(32, 32)) == 0
    assert op_bytes(aten.reshape.default, (x, [32, 32]), {}, x.reshape(32, 32)) == 0  # no copy made
    t = torch.randn(32, 32).t()
    assert op_bytes(aten.reshape.default, (t, [1024]), {}, t.reshape(1024)) == 8192  # a copy
    assert op_bytes(aten.add.Tensor, (x, x), {}, x + x) == 8192  # x read once
    assert op_bytes(aten.cat.default, ([x, y],), {}, torch.cat([x, y])) == 16384
    assert op_bytes(aten.add.out, (x, y), {"out": torch.empty(1024)}, torch.empty(1024)) == 12288  # out: written only


def test_a_module_run_k_times_counts_its_flops_and_bytes_k_times():
    from nnspeed.explanation.layers import layer_ranges
    from nnspeed.explanation.work import count_work

    works = {}
    for k in (1, 3):
        model, args = _reused(k)
        works[k] = count_work(model, args, lambda m=model: layer_ranges(m))
    one, three = works[1], works[3]
    assert one.flops("fc") == 2 * 4 * 8 * 8 and three.flops("fc") == 3 * one.flops("fc")
    assert one.bytes("fc") == 4 * (32 + 64 + 8 + 32)  # input, weight, bias, output (float32)
    assert three.bytes("fc") == 3 * one.bytes("fc") and three.bytes("act") == 3 * one.bytes("act") == 3 * 2 * 128
    assert three.bytes("same") == 0 and three.flops("same") == 0  # an Identity runs no operator: moves nothing
    # the cat in forward() is outside every layer: x read once, the joined tensor written
    assert dict(three.outside) == {"aten::cat": [0, 128 + 256]}


def test_the_profile_times_each_run_and_the_functions_outside_layers():
    from nnspeed.explanation.layers import _between_ms, _profile, _runs, in_situ_costs

    model, args = _reused(3)
    seen = _profile(model, args, calls=4, in_situ=True)
    layers, outside, between, plain = seen.layers, seen.outside, seen.between, seen.plain
    assert len(plain) == 4 and all(t > 0 for t in plain)  # a plain call after each profiled one
    assert len(seen.hooked) == len(seen.paired) == len(seen.traced) == 4 and seen.traced_events > 0
    hook, event = in_situ_costs(seen)
    assert 0 <= hook < 0.2 and 0 <= event < 0.05  # ms: microseconds a hook pair, an event
    assert _runs(layers) == {"fc": 3, "act": 3, "same": 1} and _runs(outside) == {"aten::cat": 1}
    assert [(n, m) for _, n, m in between] == [(7, 1)] * 4  # per call: 7 layer ranges, 1 function
    assert _between_ms(between) > 0 and _between_ms(between, per_gap=1.0) == 0.0  # never negative
    assert all(len(calls) == 4 and all(t > 0 for c in calls for t, _ in c) for calls in outside.values())


def test_a_time_below_the_roofline_bound_shows_the_bound_unknown_and_warns():
    from nnspeed.explanation.checks import violations, warnings
    from nnspeed.explanation.peaks import bandwidth_for
    from nnspeed.explanation.roofline import UNKNOWN, Row, roofline

    peaks_row = {"triad_gbs": 10.0, "ladder": [[1e5, 100.0], [1e6, 50.0], [1e8, 12.0]]}
    rows = [
        Row("fast", "ReLU", 1, 0.001, 0, 10**6),  # 1 MB in 1 µs: faster than any measured rate
        Row("slow", "ReLU", 1, 0.1, 0, 10**6),
        Row("twice", "ReLU", 2, 0.1, 0, 2 * 10**5),  # each run's 100 kB fits the fastest rung
        Row("gone", "ReLU", 1, 0.0, 0, 10**6),  # under the profiler's resolution
    ]
    layers = {r.name: r for r in roofline(rows, 0.5, 100.0, peaks_row)}
    assert layers["fast"].bound_ms is None and layers["fast"].efficiency is None and layers["fast"].verdict == UNKNOWN
    assert layers["slow"].bandwidth_gbs == 50.0 and abs(layers["slow"].bound_ms - 0.02) < 1e-12
    assert layers["twice"].bandwidth_gbs == 100.0 and layers["gone"].efficiency is None
    # between two rungs the one below bounds the rate: 500 kB fit wherever 100 kB's rung ran
    assert [bandwidth_for(peaks_row, b) for b in (5e5, 5e7, 1e9)] == [100.0, 50.0, 12.0]
    shown = [r.to_dict() for r in layers.values()]
    assert all(r["efficiency"] is None or r["efficiency"] <= 1 for r in shown)
    (unknown,) = warnings(shown)
    assert "1 rows ran faster than their roofline bound" in unknown and "fast" in unknown
    assert violations(shown, between_ms=0.299, latency_ms=0.5) == []  # 0.001 + 0.1 + 0.1 + 0 + 0.299
    # the invariants still catch an efficiency above 100% however it got there, and parts off the whole
    over = [dict(shown[1], efficiency=1.2, verdict="memory-bound")]
    found = [str(v) for v in violations(over, between_ms=0.0, latency_ms=0.05)]
    assert any("above 100%" in w for w in found) and any("add up to 0.1, 100% over" in w for w in found)
    assert any("50% under" in str(w) for w in violations([dict(shown[1])], between_ms=0.0, latency_ms=0.2))
    assert violations([dict(shown[1])], between_ms=0.004, latency_ms=0.1) == []
    # a profiler that cost as much as the call: the parts may miss by half its cost more, and it is said
    assert violations([dict(shown[1])], between_ms=0.0, latency_ms=0.08, profiler_cost_ms=0.08) == []
    (off,) = violations([dict(shown[1])], between_ms=0.0, latency_ms=0.06, profiler_cost_ms=0.06)
    assert off.figures["tolerance"] == 0.55 and "66.7% over" in off.message
    (costly, _) = warnings(shown, profiler_cost_ms=0.08, latency_ms=0.1)
    assert costly.startswith("the profiler's own cost was 80% of a call") and "about 40% of the call" in costly
    assert len(warnings(shown, profiler_cost_ms=0.01, latency_ms=0.1)) == 1  # 10%: not worth a line


def test_large_time_outside_layers_gets_advice_named_after_its_functions():
    from nnspeed.explanation.advice import advise
    from nnspeed.explanation.roofline import Row, roofline

    peaks_row = {"triad_gbs": 10.0, "ladder": []}
    outside = roofline([Row("aten::cat", "outside any layer", 2, 0.25, 0, 10**6)], 1.0, 100.0, peaks_row)
    (a,) = advise([], outside, 1.0, 0.0, [], 1, {})
    assert a["text"].startswith("25% of the time is in functions outside any layer (aten::cat 0.250 ms)")
    assert "concatenation copies" in a["text"] and abs(a["estimated_gain"] - (0.25 - 0.1)) < 1e-12
    small = roofline([Row("aten::cat", "outside any layer", 2, 0.05, 0, 10**6)], 1.0, 100.0, peaks_row)
    assert advise([], small, 1.0, 0.0, [], 1, {}) == []  # 5%: not worth a line
