"""The recorded-contract check itself: it sees a key lost, renamed or added, and nothing else."""

import json

from tests import contracts


def shapes(doc, kind="bench"):
    return contracts.shapes([(kind, doc)])


DOC = {"run_id": "x", "results": [{"p50": 1.0, "budget": None}, {"p50": 2.0, "budget": {"ms": 3}}]}


def test_values_aside_the_same_document_passes():
    other = {"run_id": "y", "results": [{"p50": 9.0, "budget": {"ms": 1}}]}
    assert contracts.compare(shapes(DOC), shapes(other)) == []


def test_a_renamed_key_fails_both_ways():
    renamed = {"run_id": "x", "results": [{"median": 1.0, "budget": None}]}
    found = contracts.compare(shapes(DOC), shapes(renamed))
    assert "bench: doc.results[].p50 is no longer there" in found
    assert "bench: doc.results[].median is new" in found


def test_a_key_deep_in_a_list_of_mappings_is_seen():
    lost = {"run_id": "x", "results": [{"p50": 1.0, "budget": {"milliseconds": 3}}]}
    assert contracts.compare(shapes(DOC), shapes(lost)) == [
        "bench: doc.results[].budget.ms is no longer there",
        "bench: doc.results[].budget.milliseconds is new",
    ]


def test_a_document_kind_missing_or_new_fails():
    assert contracts.compare(shapes(DOC), {}) == ["bench: the test made a bench document when recorded and none now"]
    assert contracts.compare({}, shapes(DOC)) == ["bench: a bench document is new to this test"]


def test_machine_dependent_keys_are_not_the_contract():
    busy = {**DOC, "results": [{"p50": 1.0, "budget": None, "contention": {"load1": 1.0}}]}
    assert contracts.compare(shapes(DOC), shapes(busy)) == []
    here = {"env": {"packages": {"torch": "2.13.0"}}}
    there = {"env": {"packages": {"torch": "2.13.0", "tensorflow": "2.20"}}}
    assert contracts.compare(shapes(here), shapes(there)) == []


def test_the_record_covers_the_commands():
    recorded = json.loads(contracts.RECORD.read_text())
    kinds = {kind for shapes_ in recorded.values() for kind in shapes_}
    expected = {"bench", "sweep", "study", "capacity", "train", "generate", "check", "compare"}
    assert expected | {"optimize", "predict", "fleet", "explain", "machine", "adaptive", "show"} <= kinds
