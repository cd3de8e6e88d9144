"""``nnspeed generate`` on real (tiny) causal LMs: the JSON contract, the variants, hf:PATH."""

import pytest

from nnspeed.store.store import Store

FAST = ["--prompt-len", "8", "--new-tokens", "6", "--requests", "3"]


def test_generate_json_contract(cli_json, store_url, tmp_path, report_page):
    d = cli_json(
        [
            "generate",
            "zoo:gpt2-tiny",
            *FAST,
            "--qps",
            "50",
            "--load-requests",
            "5",
            "--ttft-slo-ms",
            "1000",
            "--json",
            "--store",
            store_url,
        ]
    )
    for key in ("ttft_ms", "tpot_ms", "itl_ms", "e2e_ms"):
        assert {"p50", "p90", "p99"} <= set(d[key]) and d[key]["p50"] > 0, key
    assert d["tokens_per_s"] > 0 and d["words_per_s"] == pytest.approx(
        d["tokens_per_s"] / d["tokens_per_word"]["value"]
    )
    assert 1.0 < d["tokens_per_word"]["value"] < 2.0 and "MiniLM" in d["tokens_per_word"]["method"]
    on, off = d["kv_cache"]["on"], d["kv_cache"]["off"]
    assert on["requests"] == 3 and off["requests"] == 1
    assert on["itl_ms"]["n"] == 3 * 5  # n_out − 1 gaps per request
    # TPOT is (e2e − TTFT) / (n_out − 1) for every request, so its mean is the mean ITL
    assert on["tpot_ms"]["mean"] == pytest.approx(on["itl_ms"]["mean"], rel=1e-6)
    assert d["kv_cache"]["speedup"] == pytest.approx(on["tokens_per_s"] / off["tokens_per_s"])
    assert d["int8"]["speedup"] > 0
    assert d["load"]["requests"] == 5 and 0 <= d["load"]["attainment"] <= 1
    assert "TTFT" not in d["definitions"]["itl_ms"] or "not one of them" in d["definitions"]["itl_ms"]
    _, stored = Store(store_url).get_run(d["run_id"])
    assert [m.backend for m in stored] == ["torch-generate", "torch-generate-nokv", "torch-generate"]
    assert [m.precision for m in stored] == ["fp32", "fp32", "int8"]
    # a stored generation shows every token figure it was stored with, and its steps with the samples
    shown = cli_json(["show", d["run_id"], "--json", "--samples", "--store", store_url])["results"]
    assert [r["generate"] for r in shown] == [m.extra["generate"] for m in stored]
    assert all(r["new_tokens"] > 0 and r["prompt_len"] > 0 and len(r["step_ms"]) > r["n"] for r in shown)
    # and its report, later, carries the token figures
    report_page(d["run_id"], store_url, "generate")  # reported later from the store, in a browser
    figures = (tmp_path / "generate-report.html").read_text().split('<section id="figures">')[1].split("</section>")[0]
    assert "<code>kv_cache.on.ttft_ms.p50</code>" in figures
    assert f'<td><code>tokens_per_s</code></td><td class="num">{d["tokens_per_s"]:.4g}</td>' in figures


def test_generate_from_a_local_hf_directory(cli_json, tmp_path, store_url):
    from nnspeed._silence import quiet_transformers

    t = quiet_transformers()
    t.GPT2LMHeadModel(t.GPT2Config(n_layer=1, n_embd=64, n_head=2)).save_pretrained(tmp_path / "lm")
    d = cli_json(
        ["generate", f"hf:{tmp_path / 'lm'}", *FAST, "--kv-cache", "on", "--no-int8", "--json", "--store", store_url]
    )
    assert d["kv_cache"]["off"] is None and d["int8"] is None
    assert d["source"].startswith("hf:") and d["tokens_per_s"] > 0
