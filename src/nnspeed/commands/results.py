"""What the commands return: the document of record (``to_dict()``, the JSON contract) with
the headline figures as typed attributes, and the measurements the run stored."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from html import escape
from typing import ClassVar

from ..measure import invariants, notebook
from ..measure.measurement import Measurement
from . import rules as declared

# Scalars of a document without measurements shown by a result's HTML repr, at most.
DOCUMENT_SCALARS = 12


@dataclass
class CommandResult:
    """A command's outcome.  ``document`` is what ``--json`` prints; ``measurements`` are the
    stored records behind it (every per-call sample kept)."""

    document: dict
    measurements: list[Measurement] = field(default_factory=list, repr=False)
    # The invariants this result type declares, beyond those every document shares.
    rules: ClassVar[tuple[invariants.Rule, ...]] = ()

    def __post_init__(self) -> None:
        self.recheck()

    def recheck(self) -> list[invariants.Violation]:
        """Check the document against its invariants; what fails is kept under ``"invariants"``
        in it (with the figures) and returned.  Run again after changing the document."""
        return invariants.attach(self.document, self.rules)

    @property
    def violations(self) -> list[dict]:
        """The figures in this result that disagree with each other (empty when all agree)."""
        return list(self.document.get("invariants", {}).get("violations", []))

    def to_dict(self) -> dict:
        """The document exactly as ``--json`` prints it: plain JSON types only."""
        return json.loads(json.dumps(self.document, default=invariants.plain))

    @property
    def run_id(self) -> str | None:
        return self.document.get("run_id")

    def __repr__(self) -> str:
        ms = self.measurements
        listed = "; ".join(notebook.summary(m) for m in ms[: notebook.LISTED])
        more = f"; … {len(ms) - notebook.LISTED} more" if len(ms) > notebook.LISTED else ""
        body = f"{len(ms)} measurement{'s' if len(ms) != 1 else ''}" + (f": {listed}{more}" if ms else "")
        run = f"run {self.run_id}, " if self.run_id else ""
        return f"{type(self).__name__}({run}{body})"

    def _repr_html_(self) -> str:
        title = type(self).__name__ + (f" — run {self.run_id}" if self.run_id else "")
        if self.measurements:
            return notebook.measurements_html(title, self.measurements)
        scalars = [(k, v) for k, v in self.document.items() if isinstance(v, (str, int, float, bool)) or v is None]
        rows = [(str(k), str(v)) for k, v in scalars[:DOCUMENT_SCALARS]]
        return f"<p><b>{escape(title)}</b></p>" + notebook.table_html(("field", "value"), rows)


# Subclasses keep CommandResult.__repr__ (a generated one would print every field).
@dataclass(repr=False)
class CapacityResult(CommandResult):
    @property
    def max_qps(self) -> dict[str, float | None]:
        """The highest offered rate that held the SLO, by batching mode (None: mode not searched)."""
        return dict(self.document["max_qps"])

    @property
    def curve(self) -> list[dict]:
        """Every trial: offered and achieved rate, p50/p99 and whether the SLO held."""
        return list(self.document["curve"])


@dataclass(repr=False)
class GenerateResult(CommandResult):
    configurations: dict[str, dict] = field(default_factory=dict, repr=False)  # name -> its generate figures

    @property
    def ttft_ms(self) -> dict:
        return dict(self.document["ttft_ms"])

    @property
    def tpot_ms(self) -> dict:
        return dict(self.document["tpot_ms"])

    @property
    def tokens_per_s(self) -> float:
        return float(self.document["tokens_per_s"])

    @property
    def words_per_s(self) -> float:
        return float(self.document["words_per_s"])


@dataclass(repr=False)
class OptimizeResult(CommandResult):
    baseline: object = None  # optimize.search.Outcome of eager fp32
    outcomes: list = field(default_factory=list, repr=False)  # one Outcome per variant tried
    chosen: object = None  # the Outcome chosen, or None when no variant held the tolerance and budget
    metric: str = ""

    @property
    def chosen_name(self) -> str | None:
        return self.document["chosen"]


@dataclass(repr=False)
class SweepResult(CommandResult):
    outcomes: list = field(default_factory=list, repr=False)  # sweep.runner.CellOutcome per cell

    @property
    def sweep_id(self) -> str:
        return self.document["sweep_id"]

    @property
    def failed(self) -> list:
        return [o for o in self.outcomes if o.status == "failed"]

    @property
    def resumed(self) -> int:
        return sum(o.resumed for o in self.outcomes)


@dataclass(repr=False)
class AdaptiveResult(CommandResult):
    @property
    def runs(self) -> dict[str, dict]:
        """By mode ("adaptive", then each variant's name): p99, goodput, accuracy delivered,
        shares per variant and switches."""
        return {r["mode"]: r for r in self.document.get("runs", [])}

    @property
    def capacity(self) -> dict[str, dict]:
        """capacity --adaptive: by mode, the highest load that held the SLO and the accuracy
        delivered there."""
        return dict(self.document.get("capacity", {}))


@dataclass(repr=False)
class FleetResult(CommandResult):
    runs: list = field(default_factory=list, repr=False)  # sweeps.fleet.NodeRun per node

    @property
    def nodes(self) -> list[dict]:
        """One row per node: its machine, latency, throughput and cost per million inferences."""
        return list(self.document["nodes"])

    @property
    def machines(self) -> list[dict]:
        """Nodes of the same fingerprint pooled, fastest first, with their spread."""
        return list(self.document["machines"])

    @property
    def fastest(self) -> dict | None:
        return self.document["fastest"]


@dataclass(repr=False)
class StudyResult(CommandResult):
    paths: dict[str, str] = field(default_factory=dict)  # claims.json and report.html

    @property
    def verdicts(self) -> dict[int, str]:
        return {c["id"]: c["verdict"] for c in self.document["claims"]}


@dataclass(repr=False)
class TrainResult(CommandResult):
    rules: ClassVar[tuple[invariants.Rule, ...]] = (declared.train_breakdown,)

    @property
    def step_ms(self) -> float:
        return float(self.document["step_ms"])

    @property
    def samples_per_s(self) -> float:
        return float(self.document["samples_per_s"])


@dataclass(repr=False)
class ExplainResult(CommandResult):
    rules: ClassVar[tuple[invariants.Rule, ...]] = (declared.explain_accounting,)

    @property
    def layers(self) -> list[dict]:
        """Per layer: time (torch-eager), FLOPs, bytes, intensity, roofline bound and verdict."""
        return list(self.document["layers"])

    @property
    def latency_ms(self) -> float:
        return float(self.document["latency_ms"])


@dataclass(repr=False)
class PredictResult(CommandResult):
    rules: ClassVar[tuple[invariants.Rule, ...]] = (declared.predicted_parts,)

    @property
    def predicted_ms(self) -> float | None:
        """The predicted latency of one call (None for an evaluation of held-out models)."""
        return self.document.get("predicted_ms")


@dataclass(repr=False)
class MachineResult(CommandResult):
    rules: ClassVar[tuple[invariants.Rule, ...]] = (declared.machine_peak,)

    tables: dict = field(default_factory=dict, repr=False)  # operator tables by thread count, as cached
    cached: bool = False  # the peaks came from this machine's cache, not measured now
    exported: str | None = None  # the file the profile was written to

    @property
    def fingerprint(self) -> str:
        return self.document["fingerprint"]


@dataclass(repr=False)
class BenchResult(CommandResult):
    side_by_side: object = None  # scenarios.side_by_side.SideBySide with interleave=True
    store_url: str = ""  # where the run was stored (password hidden)

    @property
    def results(self) -> list[dict]:
        """One document per configuration, as ``bench --json`` prints them."""
        return list(self.document["results"])


@dataclass(repr=False)
class CompareResult(CommandResult):
    comparisons: list = field(default_factory=list, repr=False)  # measure.compare.Comparison per configuration

    @property
    def speedups(self) -> dict[str, float]:
        """Configuration → speedup of the candidate run over the baseline."""
        return {c["key"]: c["speedup"] for c in self.document["comparisons"]}
