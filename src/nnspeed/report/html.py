"""One self-contained HTML report: opens from disk, offline, with no CDN."""

from __future__ import annotations

import html
import json
from pathlib import Path

from .._optional import require
from ..measure.measurement import Measurement
from . import plots

TEMPLATE = "report.html.j2"


def _script_json(obj) -> str:
    """JSON safe inside a <script> element."""
    return json.dumps(obj).replace("</", "<\\/")


FIGURE_DEPTH = 4  # how deep into a document the figures table reads
FIGURE_LIST = 4  # the longest list of numbers shown as one figure (an interval, a few rounds)


def _figure(v) -> str:
    return f"{v:.4g}" if isinstance(v, float) else str(v)


def figure_rows(doc: dict, prefix: str = "", depth: int = FIGURE_DEPTH) -> list[tuple[str, str]]:
    """Every number, word and yes/no in ``doc``, and every short list of them (an interval),
    as (dotted key, text) rows: the figures of a document that has no section of its own.
    Longer lists, and the invariants section, are left out."""
    rows: list[tuple[str, str]] = []
    for k, v in doc.items():
        name = f"{prefix}{k}"
        if k == "invariants" or v is None:
            continue
        if isinstance(v, dict):
            if depth > 1:
                rows += figure_rows(v, f"{name}.", depth - 1)
        elif isinstance(v, list):
            if 0 < len(v) <= FIGURE_LIST and all(isinstance(x, (int, float, str)) for x in v):
                rows.append((name, "[" + ", ".join(_figure(x) for x in v) + "]"))
        else:
            rows.append((name, _figure(v)))
    return rows


def render(
    run: dict,
    ms: list[Measurement],
    claims: dict | None = None,
    failed_cells: list[dict] | None = None,
    optimize: dict | None = None,
    explain: dict | None = None,
    capacity: dict | None = None,
    train: dict | None = None,
    history: dict | None = None,
    fleet: dict | None = None,
    adaptive: dict | None = None,
    document: tuple[str, dict] | None = None,
) -> str:
    """The report page.  Each keyword document fills its own section; ``document`` (kind, body)
    is one without a section of its own, shown as a table of its figures."""
    jinja2 = require("jinja2", "report", "HTML reports")
    require("plotly", "report", "HTML reports")
    from plotly.offline import get_plotlyjs

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(Path(__file__).parent / "templates"),
        autoescape=jinja2.select_autoescape(["html", "j2"]),
    )
    figures = plots.figures(ms) if ms else []
    if optimize:
        figures.insert(
            0, ("accuracy", plots.accuracy_pareto(optimize["variants"], optimize["baseline"], optimize["metric"]))
        )
    if explain:
        figures.insert(0, ("roofline", plots.roofline_plot(explain)))
    if capacity:
        figures.insert(0, ("capacity", plots.capacity_plot(capacity)))
    if history:
        figures.insert(0, ("history", plots.history_plot(history)))
    if fleet:
        figures.insert(0, ("fleet", plots.fleet_plot(fleet)))
    if adaptive:
        figures.insert(0, ("adaptive", plots.adaptive_plot(adaptive)))
    if train:
        for doc in ({**train, "stream": None}, {**train, "time_to_accuracy": None}):
            fig = plots.training_plot(doc)
            if fig is not None:
                figures.insert(0, ("training", fig))
    figs = [(name, _script_json(json.loads(f.to_json()))) for name, f in figures]
    if len({m.machine_id for m in ms}) > 1:  # results of several machines: grouped by machine
        ms = sorted(ms, key=lambda m: m.machine_id)
    rows = [
        {
            "label": plots.label(m),
            "m": m,
            "ci": f"{m.latency_ms.ci95[0]:.4g}–{m.latency_ms.ci95[1]:.4g}",
            "warnings": m.warnings,
        }
        for m in ms
    ]
    env_doc = run.get("env") or (ms[0].env if ms else {})
    scenario_rows = [
        (plots.label(m), name, figure_rows(m.extra[name]))
        for m in ms
        if isinstance(name := m.extra.get("scenario"), str) and isinstance(m.extra.get(name), dict)
    ]
    return env.get_template(TEMPLATE).render(
        run=run,
        env=env_doc,
        rows=rows,
        scenario_rows=scenario_rows,
        by_node=any(m.node_id for m in ms),
        claims=(claims or {}).get("claims"),
        claims_mode=(claims or {}).get("mode"),
        failed_cells=failed_cells or [],
        optimize=optimize,
        explain=explain,
        capacity=capacity,
        fleet=fleet,
        adaptive=adaptive,
        figures_table=None
        if document is None
        else {"title": f"The {document[0].replace('_', ' ')} document's figures", "rows": figure_rows(document[1])},
        figures=figs,
        plotly_js=get_plotlyjs(),
        escape=html.escape,
    )
