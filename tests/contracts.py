"""Every command's JSON document keeps its keys: the documents each test's commands produce,
values aside, are compared with those recorded for the same test (the same inputs) in
``tests/contracts.json``.  A key lost, renamed or added fails the test that made the document.

Re-record after a deliberate change of a contract with ``pytest --record-contracts`` (the tests
that run replace their entries); the file's diff is then the change of the contract.

What is compared is a document's shape: its keys all the way down, a list as the union of its
items' shapes.  A value recorded as a scalar or None on one side and as a mapping on the other
(an absent interval, a budget not asked for) is not compared further, and neither is an empty
list.  Keys that appear only on some machines or some runs are ``CONDITIONAL``."""

from __future__ import annotations

import functools
import json
from pathlib import Path

import pytest

RECORD = Path(__file__).with_name("contracts.json")

# Keys whose presence depends on the machine or the moment, not on the inputs.
CONDITIONAL = frozenset(
    {
        "contention",  # other processes' CPU use, recorded when there was some
        "placement",  # the cluster node a cell ran on
    }
)
# Mappings keyed by data whose keys depend on the machine or on what was measured, not on the
# inputs: only their values' shapes are compared.
DATA_KEYED = frozenset(
    {
        "packages",  # the installed packages' versions
        "batch_hist",  # batch sizes the dynamic batcher happened to form
        "fp32_gflops",  # machine peaks by thread count (1 and all cores)
        "bf16_gflops",
        "bf16_over_fp32",
        "int8_gops",
        "mem_bw_gbs",
        "gemm",  # by precision: those this CPU has kernels for
        "gemm_n",
        "details",  # an optimize variant's own figures: which variants run depends on the CPU
        "exit_shares",  # early exits by head: which heads survive training
        "exits_dropped",
        "head_accuracy",
    }
)

_documents: list[tuple[str, dict]] = []
_collecting = False


def seen(kind: str, doc: dict) -> None:
    """A command made ``doc``; kept while a test's body runs (documents of fixtures are not)."""
    if _collecting:
        _documents.append((kind, doc))


LEAF = ""


def shape(value, key: str = ""):
    """The keys of ``value`` all the way down; a list's items merged into one shape."""
    if isinstance(value, dict):
        if key in DATA_KEYED:
            merged = None
            for v in value.values():
                merged = merge(merged, shape(v))
            return {"*": merged} if value else {}
        return {str(k): shape(v, str(k)) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        merged = None
        for v in value:
            merged = merge(merged, shape(v, key))
        return [] if merged is None else [merged]
    return LEAF


def normalise(recorded, key: str = ""):
    """A recorded shape with its ``DATA_KEYED`` mappings merged as ``shape`` merges them now."""
    if isinstance(recorded, dict):
        if key in DATA_KEYED and "*" not in recorded:
            merged = None
            for v in recorded.values():
                merged = merge(merged, normalise(v))
            return {"*": merged} if recorded else {}
        return {k: normalise(v, k) for k, v in recorded.items()}
    if isinstance(recorded, list):
        return [normalise(recorded[0], key)] if recorded else []
    return recorded


def merge(a, b):
    """One shape holding both (the union of their keys)."""
    if a is None or a == LEAF or a == []:
        return b if b is not None else a
    if b is None or b == LEAF or b == []:
        return a
    if isinstance(a, dict) and isinstance(b, dict):
        return {k: merge(a.get(k), b.get(k)) for k in {**a, **b}}
    if isinstance(a, list) and isinstance(b, list):
        return [merge(a[0], b[0])]
    return a  # a mapping in one, a list in the other: kept as first seen, compared as such


def differences(recorded, now, path: str = "") -> list[str]:
    """Where two shapes disagree: keys lost, keys added, a mapping turned into a list."""
    if recorded in (None, LEAF, []) or now in (None, LEAF, []):
        return []
    if isinstance(recorded, dict) and isinstance(now, dict):
        out = []
        for k in sorted(set(recorded) - set(now) - CONDITIONAL):
            out.append(f"{path}.{k} is no longer there")
        for k in sorted(set(now) - set(recorded) - CONDITIONAL):
            out.append(f"{path}.{k} is new")
        for k in sorted(set(recorded) & set(now)):
            out.extend(differences(recorded[k], now[k], f"{path}.{k}"))
        return out
    if isinstance(recorded, list) and isinstance(now, list):
        return differences(recorded[0], now[0], f"{path}[]")
    return [f"{path} was a {type(recorded).__name__}, is now a {type(now).__name__}"]


def shapes(documents: list[tuple[str, dict]]) -> dict:
    """One merged shape per kind of document (a JSON round trip first, as ``--json`` prints)."""
    from nnspeed.measure.invariants import plain

    out: dict = {}
    for kind, doc in documents:
        plain_doc = json.loads(json.dumps(doc, default=plain))
        out[kind] = merge(out.get(kind), shape(plain_doc))
    return out


def compare(recorded: dict, now: dict) -> list[str]:
    """Every difference between a test's recorded shapes and its shapes now, by kind."""
    out = []
    for kind in sorted(set(recorded) | set(now)):
        if kind not in now:
            out.append(f"{kind}: the test made a {kind} document when recorded and none now")
        elif kind not in recorded:
            out.append(f"{kind}: a {kind} document is new to this test")
        else:
            out.extend(f"{kind}: doc{d}" for d in differences(recorded[kind], now[kind]))
    return out


class Plugin:
    """Collects each test's documents during its body; compares or records them."""

    def __init__(self, record: bool) -> None:
        self.record = record
        recorded = json.loads(RECORD.read_text()) if RECORD.exists() else {}
        self.recorded = {test: {kind: normalise(s) for kind, s in kinds.items()} for test, kinds in recorded.items()}
        self.made: dict[str, dict] = {}

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_call(self, item):
        global _collecting
        _documents.clear()
        _collecting = True
        try:
            outcome = yield
        finally:
            _collecting = False
        if outcome.excinfo is not None or not _documents:
            if outcome.excinfo is None and item.nodeid in self.recorded and not self.record:
                outcome.force_exception(AssertionError(self.missing(item.nodeid)))
            _documents.clear()
            return
        now = shapes(_documents)
        _documents.clear()
        if self.record:
            self.made[item.nodeid] = now
            return
        if item.nodeid in self.recorded:
            found = compare(self.recorded[item.nodeid], now)
            if found:
                outcome.force_exception(AssertionError(self.changed(found)))

    def missing(self, nodeid: str) -> str:
        kinds = ", ".join(sorted(self.recorded[nodeid]))
        return f"this test made {kinds} documents when its contract was recorded, and none now"

    @staticmethod
    def changed(found: list[str]) -> str:
        return (
            "a document's keys differ from the recorded contract (tests/contracts.json; "
            "re-record a deliberate change with pytest --record-contracts):\n  " + "\n  ".join(found)
        )

    def pytest_sessionfinish(self, session):
        if self.record and self.made:
            merged = {**self.recorded, **self.made}
            RECORD.write_text(json.dumps(dict(sorted(merged.items())), indent=1, sort_keys=True) + "\n")


def observe(config) -> None:
    """Register the plugin, and observe ``show`` (a document that is not a CommandResult)."""
    import nnspeed.commands.show as show_module

    show = show_module.run

    @functools.wraps(show)
    def observed_show(*args, **kwargs):
        result = show(*args, **kwargs)
        seen("show", result.to_dict())
        return result

    show_module.run = observed_show
    config.pluginmanager.register(Plugin(config.getoption("--record-contracts")), "nnspeed-contracts")
