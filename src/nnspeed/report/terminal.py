"""Rich tables for measurements, runs and comparisons."""

from __future__ import annotations

import math

from rich.table import Table

from ..measure.compare import Comparison
from ..measure.measurement import Measurement


def _ms(x: float) -> str:
    if x is None or math.isnan(x):
        return "–"
    return f"{x:.3f}" if x < 10 else f"{x:.1f}"


def _sps(x: float) -> str:
    return f"{x:,.0f}" if x >= 100 else f"{x:.1f}"


def measurements_table(ms: list[Measurement], title: str = "", best_per_source: bool = True) -> Table:
    """One row per measurement; the lowest latency per sample is highlighted per source
    (or over all rows, for a sweep whose cells are model variants)."""
    with_budget = any(m.budget_ms is not None for m in ms)
    # results from a cluster are grouped by the machine (fingerprint) that measured them
    with_node = any("placement" in m.extra for m in ms)
    if len({m.machine_id for m in ms}) > 1:
        ms = sorted(ms, key=lambda m: m.machine_id)
    t = Table(title=title or None, title_justify="left", header_style="bold")
    if with_node:
        t.add_column("machine", no_wrap=True)
        t.add_column("node", no_wrap=True)
    for name, justify in [
        ("source", "left"),
        ("backend", "left"),
        ("precision", "left"),
        ("batch", "right"),
        ("threads", "right"),
        ("p50 ms", "right"),
        ("95% CI", "right"),
        ("p90", "right"),
        ("p99", "right"),
        ("samples/s", "right"),
        ("first call", "right"),
        ("n", "right"),
    ]:
        t.add_column(name, justify=justify, no_wrap=name != "source")
    if with_budget:
        for name in ("budget", "miss", "max fps", "headroom"):
            t.add_column(name, justify="right")
    # Per source, the configuration with the lowest latency per sample is highlighted.
    best = {}
    group = (lambda m: (m.machine_id, m.source)) if best_per_source else (lambda m: m.machine_id)
    for i, m in enumerate(ms):
        j = best.get(group(m))
        if j is None or m.latency_ms.p50 / m.batch < ms[j].latency_ms.p50 / ms[j].batch:
            best[group(m)] = i
    highlight = {i for i in best.values() if sum(group(m) == group(ms[i]) for m in ms) > 1}
    for i, m in enumerate(ms):
        lat = m.latency_ms
        prec = m.precision if m.effective_precision == m.precision else f"{m.precision}→{m.effective_precision}"
        row = [m.machine_id[:8], m.node_id[:8] or "this one"] if with_node else []
        row += [
            m.source,
            m.backend,
            prec,
            str(m.batch),
            str(m.threads if m.threads is not None else "–"),
            _ms(lat.p50),
            f"{_ms(lat.ci95[0])}–{_ms(lat.ci95[1])}",
            _ms(lat.p90),
            _ms(lat.p99),
            _sps(m.throughput_sps),
            _ms(m.first_call_ms),
            f"{m.n}" + (f"×{m.block_size}" if m.block_size > 1 else ""),
        ]
        if with_budget:
            b = m.budget
            row += (
                [_ms(b.ms), f"{100 * b.miss_rate:.1f}%", f"{b.max_fps:.0f}", f"{100 * b.headroom:+.0f}%"]
                if b
                else ["–"] * 4
            )
        t.add_row(*row, style="bold green" if i in highlight else None)
    return t


def model_lines(ms: list[Measurement]) -> list[str]:
    """One line per source saying what was timed: the task and class of a Hugging Face model,
    each input (name, shape with N the batch, dtype, by keyword), and where the values came from."""
    lines = []
    for source in dict.fromkeys(m.source for m in ms):
        info = next((m.extra.get("model") for m in ms if m.source == source and m.extra.get("model")), None)
        if not info:
            continue
        inputs = ", ".join(
            f"{i['name']}{'=' if i.get('keyword') else ' '}{i['shape']} {i['dtype']}" for i in info.get("inputs", [])
        )
        head = f"{info['model_class']} ({info['task']}) " if info.get("task") else ""
        seq = f", {info['seq_len']} tokens" if info.get("seq_len") else ""
        lines.append(f"{source}: {head}called with {inputs}{seq}; values: {info.get('data', 'seeded random values')}")
    return lines


def warnings_lines(ms: list[Measurement]) -> list[str]:
    lines = []
    for m in ms:
        threads = "" if m.threads is None else f" t{m.threads}"  # runs of several thread counts
        for w in m.warnings:
            lines.append(f"{m.source} {m.backend} {m.precision} b{m.batch}{threads}: {w}")
    return lines


def runs_table(runs: list[dict]) -> Table:
    t = Table(header_style="bold")
    for c in ("run id", "created (UTC)", "kind", "results", "command"):
        t.add_column(c, no_wrap=c != "command")
    for r in runs:
        t.add_row(r["id"], r["created_at"].replace("T", " ")[:19], r["kind"], str(r["n_results"]), r["command"])
    return t


def comparisons_table(cs: list[Comparison], a: str, b: str) -> Table:
    t = Table(title=f"speedup of {b} over {a} (>1: {b} is faster)", title_justify="left", header_style="bold")
    for c in ("configuration", f"p50 {a}", f"p50 {b}", "speedup", "95% CI", "verdict"):
        t.add_column(c, justify="left" if c in ("configuration", "verdict") else "right")
    colors = {"faster": "green", "slower": "red", "same": "yellow"}
    for c in cs:
        t.add_row(
            c.key,
            _ms(c.baseline_p50_ms),
            _ms(c.candidate_p50_ms),
            f"{c.speedup:.3f}×",
            f"{c.ci95[0]:.3f}–{c.ci95[1]:.3f}",
            f"[{colors[c.verdict]}]{c.verdict}[/]",
        )
    return t


def ratios_table(sbs) -> Table:
    """Each arm of an interleaved measurement against the first: time ratio and speedup with CIs."""
    r = sbs.rounds
    t = Table(
        title=f"against {sbs.labels[0]} — {r.n_rounds} interleaved rounds, {r.rule.statistic} "
        f"(ratio < 1: faster than the first)",
        title_justify="left",
        header_style="bold",
    )
    for c in ("configuration", "time ratio", "95% CI", "speedup", "verdict"):
        t.add_column(c, justify="left" if c in ("configuration", "verdict") else "right")
    colors = {"faster": "green", "slower": "red", "same": "yellow"}
    for label, c in zip(sbs.labels[1:], sbs.comparisons):
        lo, hi = c.ci95
        t.add_row(
            label,
            f"{1 / c.speedup:.3f}",
            f"{1 / hi:.3f}–{1 / lo:.3f}",
            f"{c.speedup:.2f}x",
            f"[{colors[c.verdict]}]{c.verdict}[/]",
        )
    return t


def failed_cells_table(outcomes) -> Table:
    t = Table(title="failed cells", title_justify="left", header_style="bold red")
    for c in ("cell", "reason"):
        t.add_column(c, overflow="fold")
    for o in outcomes:
        t.add_row(o.cell.key, o.reason)
    return t


def claims_table(claims: list[dict]) -> Table:
    colors = {"supported": "green", "refuted": "red", "inconclusive": "yellow"}
    t = Table(title="claims checked on this machine", title_justify="left", header_style="bold", show_lines=True)
    t.add_column("#", justify="right")
    t.add_column("claim", ratio=3)
    t.add_column("verdict")
    t.add_column("measured", ratio=4)
    for c in claims:
        t.add_row(
            str(c["id"]), c["claim"], f"[{colors[c['verdict']]}]{c['verdict']}[/]", c["headline"] or c["explanation"]
        )
    return t


def exit_note(o, baseline) -> str:
    """Where an early-exit variant's samples left, and its tail next to the baseline's."""
    ee = (o.score.details if o.score else {}).get("early_exit")
    if not ee or o.measurement is None:
        return ""
    shares = " · ".join(f"{name} {100 * share:.0f}%" for name, share in ee["exit_shares"].items())
    p99, base_p99 = o.measurement.latency_ms.p99, baseline.measurement.latency_ms.p99
    tail = "at full depth" if ee["exit_shares"].get("full model", 0) >= 0.01 else "from the exits"
    note = f"exits: {shares}; p99 {_ms(p99)} ms vs {_ms(base_p99)} ms unexited (the tail is {tail})"
    dropped = ee.get("exits_dropped") or {}
    if dropped:
        left = ", ".join(f"{name} ({100 * share:.0f}% of training samples)" for name, share in dropped.items())
        note += f"; left out, too rarely taken at this threshold: {left}"
    if o.same_batch_speedup is not None and o.measurement.batch != baseline.measurement.batch:
        lo, hi = o.same_batch_ci95
        note += (
            f"; {o.same_batch_speedup:.2f}x [{lo:.2f}, {hi:.2f}] against the plain model at batch {o.measurement.batch}"
        )
    return note


def score_cells(o) -> list[str]:
    """An optimize row's score: value [95% CI], what it is and on how many inputs, and its gate
    (the drop for accuracy; the threshold its interval must reach for fidelity)."""
    s = o.score
    if s is None:
        return ["–", "–", "–"]
    what = s.metric
    if s.outputs:  # fidelity: the deciding output's metric
        deciding = s.outputs[s.details["deciding"]]
        several = len({d["index"] for d in s.outputs}) > 1
        what = deciding["metric"] + (f" (output {deciding['index']})" if several else "")
    digits = 4 if what.startswith("cosine") else 2
    value = f"{s.value:.{digits}f}" + ("" if s.ci95 is None else f" [{s.ci95[0]:.{digits}f}, {s.ci95[1]:.{digits}f}]")
    what += f" · n={s.n}" if s.n is not None else " · n unknown"
    if s.threshold is not None:
        gate = f"≥ {s.threshold:.{digits}f}"
    else:
        gate = "–" if o.accuracy_drop is None else f"drop {o.accuracy_drop:+.2f}"
    return [value, what, gate]


def optimize_table(baseline, outcomes, chosen, metric: str) -> Table:
    t = Table(title=f"variants (score: {metric})", title_justify="left", header_style="bold")
    with_mean = any(o.statistic == "mean" for o in outcomes)
    for c, j in [
        ("variant", "left"),
        ("runtime", "left"),
        ("p50 ms", "right"),
        *([("mean ms", "right")] if with_mean else []),
        ("speedup [95% CI]", "right"),
        ("score [95% CI]", "right"),
        ("metric · inputs", "left"),
        ("gate", "right"),
        ("status", "left"),
        ("notes", "left"),
    ]:
        t.add_column(c, justify=j, overflow="fold")
    colors = {"ok": "green", "rejected": "yellow", "failed": "red"}
    for o in [baseline, *outcomes]:
        m = o.measurement
        notes = "; ".join(x for x in (o.reason, exit_note(o, baseline), getattr(o, "choice_note", "")) if x)
        if o.flagged_classes:
            notes = (notes + "; " if notes else "") + "classes hit hardest: " + ", ".join(o.flagged_classes)
        of_mean = " (mean)" if o.statistic == "mean" else ""
        t.add_row(
            o.name + (" ★" if o is chosen else ""),
            f"{o.backend} {o.precision}",
            "–" if m is None else _ms(m.latency_ms.p50),
            *(["–" if m is None else _ms(m.latency_ms.mean)] if with_mean else []),
            "–"
            if o.speedup is None
            else f"{o.speedup:.2f}x [{o.speedup_ci95[0]:.2f}, {o.speedup_ci95[1]:.2f}]{of_mean}",
            *score_cells(o),
            f"[{colors[o.status]}]{o.status}[/]",
            notes,
            style="bold green" if o is chosen else None,
        )
    return t


def scenario_lines(ms: list[Measurement]) -> list[str]:
    """One line per load-scenario result: what the scenario was judged on."""
    lines = []
    for m in ms:
        head = f"{m.source} {m.backend} b{m.batch}"
        if "realtime" in m.extra:
            r = m.extra["realtime"]
            mode = "dropping late frames" if r["drop_late"] else "queueing frames"
            sure = "" if r["max_fps_check"]["confirmed"] else " (not confirmed by a real run)"
            lines.append(
                f"{head}: {r['fps']:g} fps {mode}: {100 * r['miss_rate']:.1f}% of {r['frames']} frames missed "
                f"({r['late']} late, {r['dropped']} dropped, {r['unserved']} unserved), jitter "
                f"{r['jitter_ms']:.3f} ms; highest rate with ≤1% misses {r['max_fps']:.1f} fps{sure}"
            )
        if "server" in m.extra:
            s = m.extra["server"]
            slo = (
                ""
                if s["slo_p99_ms"] is None
                else (f" against an SLO of {s['slo_p99_ms']:g} ms: {'held' if s['passed'] else 'MISSED'}")
            )
            lines.append(
                f"{head}: {s['qps']:g} requests/s, p50 {s['p50_ms']:.3f} ms, p99 {s['p99_ms']:.3f} ms{slo}; "
                f"goodput {s['goodput']:,.0f}/s, mean batch {s['mean_batch']:.1f}"
            )
        if "offline" in m.extra:
            o = m.extra["offline"]
            lines.append(f"{head}: {o['samples_per_s']:,.0f} samples/s offline over {o['streams']} stream(s)")
    return lines


def history_table(h) -> Table:
    changed = {c["index"]: c for c in h.changes}
    t = Table(title=f"{h.source} · {h.config} · {len(h.runs)} runs", title_justify="left", header_style="bold")
    for c in ("created (UTC)", "run id", "kind", "backend", "batch", "threads", "p50 ms", "95% CI", "p99", "change"):
        t.add_column(c, justify="right" if c in ("batch", "threads", "p50 ms", "95% CI", "p99") else "left")
    for i, p in enumerate(h.runs):
        c = changed.get(i)
        mark = "" if c is None else f"[{'red' if c['ratio'] > 1 else 'green'}]{c['ratio']:.2f}x[/]"
        t.add_row(
            p["created_at"].replace("T", " ")[:19],
            p["run_id"],
            p["kind"],
            p["backend"],
            str(p["batch"]),
            str(p["threads"] if p["threads"] is not None else "–"),
            _ms(p["p50_ms"]),
            f"{_ms(p['ci95_ms'][0])}–{_ms(p['ci95_ms'][1])}",
            _ms(p["p99_ms"]),
            mark,
        )
    return t
