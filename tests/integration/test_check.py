"""nnspeed check: exit codes, CI files, baselines by name, and bad input that stores nothing."""

import json
import xml.etree.ElementTree as ET

import pytest
import sqlalchemy as sa

from nnspeed.cli.app import main
from nnspeed.store import schema
from nnspeed.store.store import Store

FAST = ["--max-time", "8", "--threads", "1"]
# A 25% threshold in the tests: the 5% gate's false-alarm rate is measured by
# benchmarks/ab_calibration.py, not asserted by a timed test on a shared machine.
GATE = ["--max-slowdown", "25%"]


def runs(url) -> int:
    return len(Store(url).list_runs(100))


def test_unchanged_model_passes_and_a_slower_one_fails(tmp_path, store_url, capsys):
    md, xml = tmp_path / "summary.md", tmp_path / "junit.xml"
    assert (
        main(
            [
                "check",
                "zoo:mlp",
                "zoo:mlp",
                *FAST,
                *GATE,
                "--summary",
                str(md),
                "--junit",
                str(xml),
                "--store",
                store_url,
                "--json",
            ]
        )
        == 0
    )
    doc = json.loads(capsys.readouterr().out)
    assert doc["verdict"] in ("within", "faster", "inconclusive") and not doc["regression"]
    assert doc["rounds"] >= 8 and doc["ci95"][0] <= doc["ratio"] <= doc["ci95"][1]
    assert "interleaved rounds" in doc["method"]
    assert "| `A=zoo:mlp` | `B=zoo:mlp` | p50 |" in md.read_text() and "+25%" in md.read_text()
    suite = ET.parse(xml).getroot().find("testsuite")
    assert suite.get("tests") == "1" and suite.get("failures") == "0"

    # Six more layers of 128: about twice the time or more, far past the threshold.
    assert (
        main(["check", "zoo:mlp?depth=2", "zoo:mlp?depth=8", *FAST, *GATE, "--junit", str(xml), "--store", store_url])
        == 1
    )
    out = capsys.readouterr().out
    assert "regression" in out and "slower by more than 25%" in out
    case = ET.parse(xml).getroot().find("testsuite/testcase")
    assert case.find("failure") is not None and case.find("failure").get("type") == "regression"
    assert runs(store_url) == 2


def test_one_model_under_two_settings(store_url, cli_json, tmp_path, report_page):
    doc = cli_json(["check", "zoo:mlp", "--backend", "torch-eager,onnxruntime", *FAST, "--store", store_url, "--json"])
    assert doc["candidate"].endswith("backend=onnxruntime") and doc["ratio"] < 1  # a graph runtime is faster here
    assert doc["verdict"] in ("faster", "within")
    # the stored check reports later with its figures: the verdict and the ratio's interval
    report_page(doc["run_id"], store_url, "check")  # reported later from the store, in a browser
    page = (tmp_path / "check-report.html").read_text()
    assert "The check document&#39;s figures" in page
    figures = page.split('<section id="figures">')[1].split("</section>")[0]
    lo, hi = doc["ci95"]
    for name, text in (
        ("verdict", doc["verdict"]),
        ("ratio", f"{doc['ratio']:.4g}"),
        ("ci95", f"[{lo:.4g}, {hi:.4g}]"),
    ):
        assert f'<td><code>{name}</code></td><td class="num">{text}</td>' in figures, name


def test_named_baseline_round_trip(store_url, cli_json, capsys):
    saved = cli_json(["check", "zoo:mlp", "--save-baseline", "main", *FAST, "--store", store_url, "--json"])
    assert Store(store_url).tagged("main") == saved["run_id"]
    # Measured apart, so the machine's drift between the runs is in the ratio: the exit code is
    # not asserted, the plumbing is.
    code = main(["check", "zoo:mlp", "--baseline", "main", *FAST, "--store", store_url, "--json"])
    doc = json.loads(capsys.readouterr().out)
    assert code == doc["exit_code"] in (0, 1) and doc["baseline_run"]["run_id"] == saved["run_id"]
    assert "measured apart" in doc["notes"][0] and "nnspeed check A B" in doc["notes"][0]
    assert main(["tag", doc["run_id"], "main", "--store", store_url]) == 0
    assert f"it named run {saved['run_id']} before" in capsys.readouterr().err
    assert Store(store_url).tagged("main") == doc["run_id"]


def _forge_other_machine(url, run_id):
    db = Store(url)
    with db.engine.begin() as conn:
        conn.execute(schema.runs.update().where(schema.runs.c.id == run_id).values(machine_id="0123456789abcdef"))


@pytest.mark.parametrize(
    "argv, message",
    [
        (["zoo:mlp", "--baseline", "nope"], "no baseline named 'nope'"),
        (["zoo:mlp", "zoo:mlp", "--stat", "p75"], "unknown --stat 'p75'"),
        (["zoo:mlp", "zoo:mlp", "--max-slowdown", "-5%"], "must be a slowdown of 0% or more"),
        (["zoo:mlp", "zoo:mlp", "--max-slowdown", "five"], "takes a percentage"),
        (["zoo:mlp", "zoo:cnn"], "take different inputs"),
        (["zoo:mlp"], "needs two things to compare"),
        (["zoo:mlp", "--backend", "torch-eager,onnxruntime", "--precision", "fp32,bf16"], "check compares two things"),
    ],
)
def test_bad_check_input_stores_nothing(argv, message, store_url, capsys):
    assert main(["check", *argv, "--store", store_url]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("error:") == 1
    assert runs(store_url) == 0


def test_baseline_from_another_machine_is_refused(store_url, cli_json, capsys):
    saved = cli_json(["check", "zoo:mlp", "--save-baseline", "theirs", *FAST, "--store", store_url, "--json"])
    _forge_other_machine(store_url, saved["run_id"])
    with Store(store_url).engine.connect() as conn:
        before = conn.execute(sa.select(sa.func.count()).select_from(schema.results)).scalar_one()
    assert main(["check", "zoo:mlp", "--baseline", "theirs", "--store", store_url]) == 2
    err = capsys.readouterr().err
    assert "measured on another machine" in err and "--any-machine" in err
    assert runs(store_url) == 1
    with Store(store_url).engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(schema.results)).scalar_one() == before
    # Accepted with --any-machine. Measured apart, as above: the exit code is the verdict on a
    # ratio that carries the drift between the two runs, so only the plumbing is asserted.
    code = main(["check", "zoo:mlp", "--baseline", "theirs", "--any-machine", *FAST, "--store", store_url, "--json"])
    doc = json.loads(capsys.readouterr().out)
    assert code == doc["exit_code"] in (0, 1) and doc["baseline_run"]["run_id"] == saved["run_id"]
