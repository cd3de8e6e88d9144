"""``nnspeed study``: check the usual speed claims on this machine; ``nnspeed report``."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.markup import escape

from .app import StatusEvents, app, command_line, err, out, print_disagreements
from .options import JsonOut, StoreUrl


class VerdictEvents(StatusEvents):
    """Each claim's verdict printed in its colour as it comes."""

    def finished(self, line: str, ok: bool = True) -> None:
        verdict = line.split()[0]
        color = {"supported": "green", "refuted": "red", "inconclusive": "yellow"}.get(verdict, "default")
        head, rest = line[:12], line[12:]  # the verdict, right-aligned in 12 columns
        err.print(f"[{color}]{head}[/]{escape(rest)}", highlight=False)


@app.command()
def study(
    quick: bool = typer.Option(False, "--quick", help="shorter measurements and fewer tokens (under 3 minutes)"),
    out_dir: Path = typer.Option(Path("nnspeed-study"), "--out", help="where claims.json and report.html go"),
    claims: str = typer.Option("", help="only these claim numbers, e.g. 1,5,12 (default: all)"),
    store: StoreUrl = None,
    json_out: JsonOut = False,
):
    """Measure the usual claims about what makes networks fast or slow, and judge each."""
    from ..commands.study import StudyRequest, run
    from ..report.terminal import claims_table

    request = StudyRequest(quick=quick, out_dir=out_dir, claims=claims, command=command_line())
    with err.status("starting", spinner="dots") as status:
        result = run(request, store=store, events=VerdictEvents(status))
    doc = result.to_dict()
    if json_out:
        out.print_json(json.dumps(doc))
        return
    ms, run_id = result.measurements, result.run_id
    claims_path, report_path = result.paths["claims"], result.paths["report"]
    out.print(claims_table(doc["claims"]))
    print_disagreements(doc)
    out.file.flush()
    err.print(
        f"{len(ms)} measurements in {doc['seconds']:.0f} s, stored as run {run_id}; "
        f"wrote {claims_path} and {report_path}",
        highlight=False,
    )


@app.command()
def report(
    run_id: str = typer.Argument(..., help="a run, sweep or study id (or a unique prefix)"),
    output: Path = typer.Option(Path("report.html"), "-o", "--output", help="the HTML file to write"),
    store: StoreUrl = None,
):
    """Write one self-contained HTML report (offline, no CDN) of a stored run, sweep or study."""
    from ..commands.report import ReportRequest
    from ..commands.report import run as write_report

    path = write_report(ReportRequest(run_id=run_id, output=output), store=store)
    err.print(f"wrote {path} ({path.stat().st_size / 2**20:.1f} MiB, self-contained)", highlight=False)
