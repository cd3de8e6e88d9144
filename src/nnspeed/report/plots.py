"""Plotly figures of a run: distributions, throughput vs batch, precision/backend, Pareto front."""

from __future__ import annotations

from collections import defaultdict

import numpy as np

from ..measure.measurement import Measurement

# Points per box in the distribution plot: enough for its shape, small enough for the file.
MAX_POINTS = 1000
COLORS = ["#3366cc", "#dc3912", "#ff9900", "#109618", "#990099", "#0099c6", "#dd4477", "#66aa00"]


def label(m: Measurement) -> str:
    study = m.extra.get("study")
    head = f"[{study['claim']}] {study['label']}" if study else m.source
    return f"{head} · {m.backend} {m.precision} b{m.batch} t{m.threads}"


def _layout(title: str, **kw) -> dict:
    base = dict(
        title=dict(text=title, x=0.01, font=dict(size=16)),
        template="plotly_white",
        margin=dict(l=60, r=20, t=50, b=50),
        font=dict(family="system-ui, -apple-system, Segoe UI, sans-serif", size=12),
        legend=dict(orientation="h", y=-0.2),
    )
    base.update(kw)
    return base


def distribution(ms: list[Measurement]):
    import plotly.graph_objects as go

    fig = go.Figure()
    rng = np.random.default_rng(0)
    for i, m in enumerate(ms):
        x = m.samples
        if x.size > MAX_POINTS:
            x = rng.choice(x, MAX_POINTS, replace=False)
        fig.add_trace(
            go.Box(x=x, name=label(m), boxpoints=False, marker_color=COLORS[i % len(COLORS)], showlegend=False)
        )
    fig.update_layout(
        _layout("Latency distribution per configuration (ms, log scale)", height=max(320, 26 * len(ms) + 120)),
        xaxis=dict(type="log", title="latency per call (ms)"),
        yaxis=dict(automargin=True, autorange="reversed"),
    )
    return fig


def throughput_vs_batch(ms: list[Measurement]):
    import plotly.graph_objects as go

    groups = defaultdict(list)
    for m in ms:
        groups[(m.source, m.backend, m.precision, m.threads)].append(m)
    series = {k: sorted(v, key=lambda m: m.batch) for k, v in groups.items() if len({m.batch for m in v}) > 1}
    if not series:
        return None
    fig = go.Figure()
    for i, ((src, b, p, t), v) in enumerate(series.items()):
        color = COLORS[i % len(COLORS)]
        name = f"{src} {b} {p} t{t}"
        fig.add_trace(
            go.Scatter(
                x=[m.batch for m in v],
                y=[m.throughput_sps for m in v],
                mode="lines+markers",
                name=f"{name}: samples/s",
                line=dict(color=color),
            )
        )
        fig.add_trace(
            go.Scatter(
                x=[m.batch for m in v],
                y=[m.latency_ms.p50 for m in v],
                mode="lines+markers",
                name=f"{name}: p50 ms",
                yaxis="y2",
                line=dict(color=color, dash="dot"),
            )
        )
    fig.update_layout(
        _layout("Throughput and latency vs batch size", height=420),
        xaxis=dict(type="log", title="batch size"),
        yaxis=dict(title="throughput (samples/s)"),
        yaxis2=dict(title="p50 latency per call (ms)", overlaying="y", side="right"),
    )
    return fig


def latency_bars(ms: list[Measurement]):
    """p50 with its 95% CI: one bar colour per backend and precision, models side by side."""
    import plotly.graph_objects as go

    def where(m: Measurement) -> str:
        study = m.extra.get("study")
        return f"[{study['claim']}] {study['label']}" if study else f"{m.source} b{m.batch} t{m.threads}"

    fig = go.Figure()
    by_runtime = defaultdict(list)
    for m in ms:
        by_runtime[f"{m.backend} {m.precision}"].append(m)
    for i, (name, v) in enumerate(by_runtime.items()):
        fig.add_trace(
            go.Bar(
                x=[where(m) for m in v],
                y=[m.latency_ms.p50 for m in v],
                error_y=dict(
                    type="data",
                    symmetric=False,
                    array=[m.latency_ms.ci95[1] - m.latency_ms.p50 for m in v],
                    arrayminus=[m.latency_ms.p50 - m.latency_ms.ci95[0] for m in v],
                ),
                name=name,
                marker_color=COLORS[i % len(COLORS)],
            )
        )
    fig.update_layout(
        _layout("Median latency by backend and precision (bars: p50, whiskers: 95% CI)", height=500),
        yaxis=dict(type="log", title="p50 latency per call (ms)"),
        xaxis=dict(automargin=True, tickangle=-35),
        barmode="group",
    )
    return fig


def pareto(ms: list[Measurement]):
    """Latency against throughput; the front is where no configuration is better on both."""
    import plotly.graph_objects as go

    pts = sorted(ms, key=lambda m: (m.latency_ms.p50, -m.throughput_sps))
    front, best = [], -1.0
    for m in pts:
        if m.throughput_sps > best:
            front.append(m)
            best = m.throughput_sps
    fig = go.Figure()
    fig.add_trace(
        go.Scatter(
            x=[m.latency_ms.p50 for m in ms],
            y=[m.throughput_sps for m in ms],
            mode="markers",
            name="configurations",
            text=[label(m) for m in ms],
            hovertemplate="%{text}<br>p50 %{x:.3g} ms<br>%{y:,.0f} samples/s<extra></extra>",
            marker=dict(size=9, color="#8aa4d6"),
        )
    )
    fig.add_trace(
        go.Scatter(
            x=[m.latency_ms.p50 for m in front],
            y=[m.throughput_sps for m in front],
            mode="lines+markers",
            name="Pareto front",
            text=[label(m) for m in front],
            line=dict(color="#dc3912", shape="hv"),
            hovertemplate="%{text}<br>p50 %{x:.3g} ms<br>%{y:,.0f} samples/s<extra></extra>",
            marker=dict(size=10),
        )
    )
    fig.update_layout(
        _layout("Latency vs throughput: the Pareto front", height=440),
        xaxis=dict(type="log", title="p50 latency per call (ms)"),
        yaxis=dict(type="log", title="throughput (samples/s)"),
    )
    return fig


def figures(ms: list[Measurement]) -> list[tuple[str, object]]:
    figs = [
        ("distribution", distribution(ms)),
        ("throughput", throughput_vs_batch(ms)),
        ("latency", latency_bars(ms)),
        ("pareto", pareto(ms)),
    ]
    return [(name, f) for name, f in figs if f is not None]


def accuracy_pareto(variants: list[dict], baseline: dict, metric: str):
    """Latency against score for every measured variant; the front is what a user can choose."""
    import plotly.graph_objects as go

    pts = [v for v in variants if v.get("latency_ms") and v.get("accuracy") is not None]
    pts.append(
        {
            "name": "eager fp32 (baseline)",
            "latency_ms": baseline["latency_ms"],
            "accuracy": baseline["accuracy"],
            "status": "ok",
        }
    )
    front, best = [], -float("inf")
    for v in sorted(pts, key=lambda v: (v["latency_ms"], -v["accuracy"])):
        if v["accuracy"] > best:
            front.append(v)
            best = v["accuracy"]
    fig = go.Figure()
    colors = {"ok": "#109618", "rejected": "#ff9900", "failed": "#dc3912"}
    for status in ("ok", "rejected"):
        vs = [v for v in pts if v["status"] == status]
        fig.add_trace(
            go.Scatter(
                x=[v["latency_ms"] for v in vs],
                y=[v["accuracy"] for v in vs],
                mode="markers",
                name=status,
                text=[v["name"] for v in vs],
                marker=dict(size=11, color=colors[status]),
                hovertemplate="%{text}<br>p50 %{x:.3g} ms<br>score %{y:.2f}<extra></extra>",
            )
        )
    fig.add_trace(
        go.Scatter(
            x=[v["latency_ms"] for v in front],
            y=[v["accuracy"] for v in front],
            mode="lines",
            name="Pareto front",
            line=dict(color="#3366cc", shape="hv", dash="dot"),
            hoverinfo="skip",
        )
    )
    fig.update_layout(
        _layout(f"Latency vs {metric}: the Pareto front of the variants", height=460),
        xaxis=dict(type="log", title="p50 latency per call (ms)"),
        yaxis=dict(title=metric),
    )
    return fig


def roofline_plot(doc: dict):
    """Layers on the roofline: achieved GFLOP/s against arithmetic intensity, with this
    machine's measured compute and memory ceilings."""
    import plotly.graph_objects as go

    peak, bw = doc["peaks"]["fp32_gflops"], doc["peaks"]["bandwidth_gbs"]
    layers = [layer for layer in doc["layers"] if layer["flops"] > 0 and layer["intensity"] > 0]
    xs = [layer["intensity"] for layer in layers] or [1.0]
    lo, hi = min([*xs, peak / bw]) / 4, max([*xs, peak / bw]) * 4
    ridge = peak / bw
    fig = go.Figure()
    fig.add_trace(
        go.Scatter(
            x=[lo, ridge, hi],
            y=[lo * bw, peak, peak],
            mode="lines",
            name="roofline (measured peaks)",
            line=dict(color="#23395d", width=3),
        )
    )
    colors = {"compute-bound": "#dc3912", "memory-bound": "#3366cc", "overhead-bound": "#ff9900"}
    for verdict, color in colors.items():
        vs = [layer for layer in layers if layer["verdict"] == verdict]
        if vs:
            fig.add_trace(
                go.Scatter(
                    x=[v["intensity"] for v in vs],
                    y=[max(v["gflops"], 1e-3) for v in vs],
                    mode="markers",
                    name=verdict,
                    text=[
                        f"{v['name']} ({v['op']}): {v['time_ms']:.3g} ms, {100 * v['efficiency']:.0f}% of bound"
                        for v in vs
                    ],
                    marker=dict(size=[8 + 30 * v["share"] for v in vs], color=color, line=dict(width=1, color="#fff")),
                    hovertemplate="%{text}<br>%{x:.3g} FLOP/byte, %{y:.3g} GFLOP/s<extra></extra>",
                )
            )
    fig.update_layout(
        _layout(
            f"Roofline of {doc['source']} (fp32 peak {peak:,.0f} GFLOP/s, {bw:.1f} GB/s; marker size: share of time)",
            height=480,
        ),
        xaxis=dict(type="log", title="arithmetic intensity (FLOP/byte)"),
        yaxis=dict(type="log", title="achieved GFLOP/s"),
    )
    return fig


def capacity_plot(doc: dict):
    """p99 latency against offered load, one line per batching mode, with the SLO."""
    import plotly.graph_objects as go

    fig = go.Figure()
    for i, mode in enumerate(("no_batching", "dynamic_batching")):
        pts = [p for p in doc["curve"] if p["batching"] == mode]
        if not pts:
            continue
        fig.add_trace(
            go.Scatter(
                x=[p["offered_qps"] for p in pts],
                y=[p["p99_ms"] for p in pts],
                mode="lines+markers",
                name=f"{mode.replace('_', ' ')} (max {doc['max_qps'][mode]:,.0f} QPS)",
                line=dict(color=COLORS[i]),
                marker=dict(symbol=["circle" if p["passed"] else "x" for p in pts], size=9),
            )
        )
    fig.add_hline(y=doc["slo_p99_ms"], line=dict(dash="dash", color="#888"), annotation_text="SLO p99")
    fig.update_layout(
        _layout(f"Latency vs offered load: {doc['source']} (x: trial over the SLO)", height=460),
        xaxis=dict(type="log", title="offered load (requests/s)"),
        yaxis=dict(type="log", title="p99 latency (ms)"),
    )
    return fig


def fleet_plot(doc: dict):
    """p50 with its 95% CI per node, one colour per machine fingerprint, cost per million on top."""
    import plotly.graph_objects as go

    fig = go.Figure()
    rows = [r for r in doc["nodes"] if r.get("p50_ms") is not None]
    for i, machine in enumerate(dict.fromkeys(r["machine_id"] for r in rows)):
        v = [r for r in rows if r["machine_id"] == machine]
        fig.add_trace(
            go.Bar(
                x=[f"{r['node_id'][:8]} ({r['address']})" for r in v],
                y=[r["p50_ms"] for r in v],
                error_y=dict(
                    type="data",
                    symmetric=False,
                    array=[r["ci95_ms"][1] - r["p50_ms"] for r in v],
                    arrayminus=[r["p50_ms"] - r["ci95_ms"][0] for r in v],
                ),
                text=[f"${r['usd_per_million']:.4g}/M" if r.get("usd_per_million") else "" for r in v],
                textposition="outside",
                name=f"machine {machine[:8]} ({v[0]['cpu']})",
                marker_color=COLORS[i % len(COLORS)],
            )
        )
    fig.update_layout(
        _layout(f"{doc['source']} on every node ({doc['backend']}, batch {doc['batch']}): p50 and 95% CI", height=460),
        yaxis=dict(title="p50 latency per call (ms)", rangemode="tozero"),
        xaxis=dict(title="node", automargin=True),
    )
    return fig


def adaptive_plot(doc: dict):
    """Through the run: p99 latency (top) and accuracy delivered (bottom) per slice of arrival
    time, the adaptive server against every variant alone on the same schedule."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, vertical_spacing=0.08)
    for i, run in enumerate(doc["runs"]):
        t = [p["t_s"] for p in run["timeline"]]
        style = dict(color=COLORS[i % len(COLORS)], width=3 if run["mode"] == "adaptive" else 1.5)
        fig.add_trace(
            go.Scatter(
                x=t, y=[p["p99_ms"] for p in run["timeline"]], name=run["mode"], line=style, legendgroup=run["mode"]
            ),
            row=1,
            col=1,
        )
        fig.add_trace(
            go.Scatter(
                x=t,
                y=[p["accuracy"] for p in run["timeline"]],
                name=run["mode"],
                line=style,
                legendgroup=run["mode"],
                showlegend=False,
            ),
            row=2,
            col=1,
        )
    fig.add_hline(y=doc["slo_p99_ms"], line=dict(dash="dash", color="#888"), annotation_text="SLO p99", row=1, col=1)
    for sw in doc["runs"][0]["switch_log"]:
        fig.add_vline(x=sw["t_s"], line=dict(color="#ccc", width=1), row=1, col=1)
    fig.update_layout(
        _layout(
            f"{doc['source']} at {doc['qps']:g} requests/s (burstiness {doc['burstiness']:g}): "
            "p99 and accuracy through the run (grey: the governor's switches)",
            height=620,
        )
    )
    fig.update_yaxes(type="log", title="p99 latency (ms)", row=1, col=1)
    fig.update_yaxes(title="accuracy delivered (%)", row=2, col=1)
    fig.update_xaxes(title="time since the first arrival (s)", row=2, col=1)
    return fig


def training_plot(doc: dict):
    """Held-out accuracy against training time (time to accuracy), or prequential accuracy over
    the stream's samples when that is what ran."""
    import plotly.graph_objects as go

    fig = go.Figure()
    tta, stream = doc.get("time_to_accuracy"), doc.get("stream")
    if tta:
        fig.add_trace(
            go.Scatter(
                x=[c[0] for c in tta["curve"]],
                y=[c[1] for c in tta["curve"]],
                mode="lines+markers",
                name="held-out accuracy",
                line=dict(color=COLORS[0]),
            )
        )
        fig.add_hline(y=tta["target"], line=dict(dash="dash", color="#888"), annotation_text="target")
        fig.update_layout(
            _layout(f"Accuracy vs training time: {doc['source']} (evaluation time excluded)", height=420),
            xaxis=dict(title="training seconds"),
            yaxis=dict(title="accuracy"),
        )
    elif stream:
        curve = stream["accuracy_curve"]
        fig.add_trace(
            go.Scatter(
                x=[c[0] for c in curve],
                y=[c[1] for c in curve],
                mode="lines",
                name="prequential accuracy",
                line=dict(color=COLORS[1]),
            )
        )
        if stream.get("drift_at") is not None:
            fig.add_vline(x=stream["drift_at"], line=dict(dash="dash", color="#888"), annotation_text="drift")
        fig.update_layout(
            _layout(f"Prequential accuracy over the stream: {doc['source']}", height=420),
            xaxis=dict(title="samples"),
            yaxis=dict(title="accuracy (last 100 samples)"),
        )
    else:
        return None
    return fig


def history_plot(doc: dict):
    """The median latency of each stored run with its 95% CI, change points marked."""
    import plotly.graph_objects as go

    pts = doc["runs"]
    fig = go.Figure(
        go.Scatter(
            x=[p["created_at"] for p in pts],
            y=[p["p50_ms"] for p in pts],
            mode="lines+markers",
            name="p50",
            text=[p["run_id"] for p in pts],
            line=dict(color=COLORS[0]),
            error_y=dict(
                type="data",
                symmetric=False,
                array=[p["ci95_ms"][1] - p["p50_ms"] for p in pts],
                arrayminus=[p["p50_ms"] - p["ci95_ms"][0] for p in pts],
            ),
        )
    )
    for c in doc["changes"]:
        fig.add_vline(x=c["created_at"], line=dict(dash="dash", color="#c33"))
        fig.add_annotation(x=c["created_at"], y=1, yref="paper", text=f"{c['ratio']:.2f}x", showarrow=False)
    fig.update_layout(
        _layout(f"History of {doc['source']} {doc['config']} (dashed: change points)", height=420),
        xaxis=dict(title="run"),
        yaxis=dict(title="p50 latency (ms)"),
    )
    return fig
