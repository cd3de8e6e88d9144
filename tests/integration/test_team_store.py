"""The history commands on a team's PostgreSQL store work as on the default SQLite one."""

from nnspeed.cli.app import main

FAST = ["--min-time", "0", "--max-time", "0.2"]


def test_runs_show_compare_and_report_on_either_store(any_store_url, cli_json, capsys, tmp_path):
    a = cli_json(["bench", "zoo:mlp?depth=1", "--store", any_store_url, "--json", *FAST])["run_id"]
    b = cli_json(["bench", "zoo:mlp?depth=1", "--store", any_store_url, "--json", *FAST])["run_id"]
    runs = cli_json(["runs", "--store", any_store_url, "--json"])["runs"]
    assert {r["id"] for r in runs} == {a, b} and all(
        r["n_results"] == 1 for r in runs
    )  # newest first; a tie within one second falls either way
    shown = cli_json(["show", a, "--store", any_store_url, "--json", "--samples"])
    assert shown["run_id"] == a and shown["env"]["machine_id"] and shown["results"][0]["samples_ms"]
    compared = cli_json(["compare", a, b, "--store", any_store_url, "--json"])
    assert len(compared["comparisons"]) == 1 and compared["comparisons"][0]["verdict"] in ("faster", "slower", "same")
    assert main(["report", b, "-o", str(tmp_path / "r.html"), "--store", any_store_url]) == 0
    capsys.readouterr()
    assert "zoo:mlp?depth=1" in (tmp_path / "r.html").read_text()
