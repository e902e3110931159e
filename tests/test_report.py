"""report.html: Summary first with the verdict, warnings, captions, folded raw JSON, module
agreement on simulated data; self-contained; renders in headless Chromium (screenshot)."""
from __future__ import annotations

import json
import os
import re
import shutil
import struct
import subprocess
import zlib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from tfvocab import formats
from tfvocab.report import data_qc as report_data_qc
from tfvocab.report import network as report_network
from tfvocab.report import page as report
from tfvocab.cli import main
from tfvocab.io import provenance, write_json, write_table

CHROMIUM = "/usr/bin/chromium"
BASELINES = ("window_correlation", "position_logreg", "binding_mass", "cosine_profile", "bag_of_tokens")


def _png(path: Path, w: int = 40, h: int = 30) -> None:
    """A tiny valid PNG (gradient) without matplotlib."""
    raw = b"".join(b"\x00" + bytes((x * 6) % 256 for x in range(w)) * 3 for _ in range(h))

    def chunk(t, d):
        return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d) & 0xFFFFFFFF)

    data = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))
    path.write_bytes(data)


# ----------------------------------------------------------------------------- contract-3 JSON
# Realistic figures in the shape of docs/formats.md: the `small` preset (481 held-out genes and
# 115,440 pairs per fold, prevalence ~0.0023) and a demo-sized run (5 genes, 10 pairs).

BETTER = {"transformer": (0.158, 0.851), "window_correlation": (0.061, 0.930),
          "position_logreg": (0.094, 0.882), "binding_mass": (0.009, 0.611),
          "cosine_profile": (0.031, 0.702), "bag_of_tokens": (0.027, 0.688)}
SAME = {"transformer": (0.0052, 0.512), "window_correlation": (0.0055, 0.520),
        "position_logreg": (0.0049, 0.505), "binding_mass": (0.0044, 0.498),
        "cosine_profile": (0.0047, 0.503), "bag_of_tokens": (0.0046, 0.501)}


def _record(auprc, auroc, n_genes, n_pairs, n_pos, width=0.25):
    prev = n_pos / n_pairs
    lo, hi = auprc * (1 - width), auprc * (1 + width)
    return {"auprc": auprc, "auroc": auroc, "prevalence": prev, "n_pairs": n_pairs, "n_genes": n_genes,
            "n_pos": n_pos, "auprc_ci": [lo, hi], "auroc_ci": [auroc - 0.03, min(auroc + 0.03, 1.0)],
            "auprc_over_prevalence": auprc / prev, "pauroc_fpr01": 0.6 * auroc,
            "precision_at": {"10": min(1.0, 20 * auprc), "100": min(1.0, 8 * auprc), "n_pos": auprc}}


def verdict_sentence(kind, diff, lo, hi, k, n_pos, base="window_correlation"):
    if kind == "better":
        return f"better than {base} by ΔAUPRC = {diff:.3f} [{lo:.3f}, {hi:.3f}] over {k} folds"
    if kind == "not_distinguishable":
        return f"not distinguishable from {base} (ΔAUPRC = {diff:.3f} [{lo:.3f}, {hi:.3f}] over {k} folds)"
    return f"too few held-out positives for a verdict (n = {n_pos})"


def contract_metrics(fold, n_folds, table=BETTER, kind="better", n_genes=481, n_pos=265,
                     truth=True, base="window_correlation"):
    """One fold's metrics.json (contract 3), with the older sampled-pair table beside it."""
    n_pairs = n_genes * (n_genes - 1) // 2
    uni = {m: _record(a, r, n_genes, n_pairs, n_pos) for m, (a, r) in table.items()}
    diff = uni["transformer"]["auprc"] - uni[base]["auprc"]
    out = {"universe": uni, "best_baseline": base, "fold": fold, "n_folds": n_folds,
           "verdict": verdict_sentence(kind, diff, diff - 0.02, diff + 0.02, 1, n_pos, base),
           "verdict_kind": kind,
           "control": {"name": "shuffled labels", **_record(n_pos / n_pairs * 1.05, 0.501, n_genes,
                                                            n_pairs, n_pos, width=0.5)},
           "summary": [{"model": m, "auprc": 0.9 - 0.1 * i, "auroc": 0.95 - 0.05 * i, "n": 1040, "n_pos": 260}
                       for i, m in enumerate(table)],
           "provenance": provenance("evaluate", {"fold": fold})}
    if truth:
        out["truth_universe"] = {m: _record(min(1.0, 1.3 * a), min(1.0, r + 0.01), n_genes, n_pairs,
                                            int(n_pos * 1.2)) for m, (a, r) in table.items()}
        out["truth_universe"]["oracle"] = _record(0.62, 0.97, n_genes, n_pairs, int(n_pos * 1.2))
    return out


def contract_summary(folds: list[dict], kind="better"):
    """summary.json (contract 3) aggregating ``folds``."""
    k = len(folds)
    models = {}
    for m in folds[0]["universe"]:
        models[m] = {}
        for metric in ("auprc", "auroc", "prevalence", "auprc_over_prevalence", "pauroc_fpr01", "n_pos",
                       "n_genes", "n_pairs"):
            per = [f["universe"][m][metric] for f in folds]
            mean = float(np.mean(per))
            hi = min(mean * 1.2, 1.0) if metric in ("auprc", "auroc", "prevalence") else mean * 1.2
            models[m][metric] = {"mean": mean, "ci": [mean * 0.8, hi], "per_fold": per}
    base = folds[0]["best_baseline"]
    per = [f["universe"]["transformer"]["auprc"] - f["universe"][base]["auprc"] for f in folds]
    d = float(np.mean(per))
    lo, hi = (d - 0.03, d + 0.03) if kind == "better" else (d - 0.004, d + 0.004)
    n_pos = sum(f["universe"]["transformer"]["n_pos"] for f in folds)
    return {"n_folds": k, "models": models, "best_baseline": base,
            "difference": {"metric": "auprc", "mean": d, "ci": [lo, hi], "per_fold": per},
            "verdict": verdict_sentence(kind, d, lo, hi, k, n_pos, base), "verdict_kind": kind,
            "provenance": provenance("summarize", {})}


def write_evaluation(root: Path, kind="better", n_folds=5, table=BETTER, n_genes=481, n_pos=265,
                     with_summary=True):
    folds = [contract_metrics(f, n_folds, table, kind, n_genes, n_pos) for f in range(n_folds)]
    for f, m in enumerate(folds):
        (root / "evaluate" / f"fold{f}").mkdir(parents=True, exist_ok=True)
        write_json(root / "evaluate" / f"fold{f}" / "metrics.json", m)
    if with_summary:
        (root / "summarize").mkdir(exist_ok=True)
        write_json(root / "summarize" / "summary.json", contract_summary(folds, kind))
    return folds


# ----------------------------------------------------------------------------- a fake run

@pytest.fixture
def results(tmp_path) -> Path:
    """A fake simulated run: one folder per step with the files the report knows, small and fast."""
    root = tmp_path / "results"
    rng = np.random.default_rng(0)
    genes = [f"AT1G{i:05d}" for i in range(20)]
    tfs = ["ABF1", "WRKY2", "MYB3"]
    (root / "promoters").mkdir(parents=True)
    prom = pd.DataFrame({"gene_id": genes, "chrom": "Chr1", "start": np.arange(20) * 5000,
                         "end": np.arange(20) * 5000 + 2501, "strand": ["+", "-"] * 10,
                         "start_codon": np.arange(20) * 5000 + 2000, "transcript_id": genes,
                         "gc": 0.4, "clipped": [False] * 19 + [True]})
    write_table(root / "promoters" / "promoters.tsv", prom, provenance("promoters", {"upstream": 2000}))
    write_json(root / "promoters" / "promoters.report.json",
               {"genes_seen": 21, "promoters_written": 20, "clipped": 1, "skipped_pseudogene": 1})
    (root / "normalize").mkdir()
    sig = rng.normal(size=(20, 50, 3)).astype(np.float32)
    mask = np.zeros_like(sig, dtype=bool)
    mask[:3, :, 1] = True
    sig[mask] = np.nan
    stats = {"tfs": tfs, "arrays": {"mean": np.zeros(3), "sd": np.ones(3)},
             "attrs": {"low_signal_tfs": "MYB3"}}
    with formats.NormalizedWriter(root / "normalize" / "normalized.h5", genes=genes, tfs=tfs,
                                  geometry=formats.Geometry(), stats=stats,
                                  lineage={"promoters": "p", "signal": "s"},
                                  attrs={"low_signal_tfs": json.dumps(["MYB3"])},
                                  prov=provenance("normalize", {"pseudocount": 1.0})) as w:
        w.write(0, sig, mask)
    (root / "tokenize").mkdir()
    write_table(root / "tokenize" / "vocabulary.tsv", pd.DataFrame(
        {"token": [0, 1, 2, 3], "kind": ["mask", "unbound", "cluster", "cluster"], "count": [5, 500, 90, 40],
         "frequency": [0.01, 0.78, 0.15, 0.06], "top_tfs": ["", "", "ABF1,MYB3", "WRKY2"],
         "top_weights": ["", "", "1.2,0.8", "1.5"], "mean_offset": [0, -1000, -300, -120]}))
    _png(root / "tokenize" / "vocabulary.png")
    (root / "pairs").mkdir()
    write_json(root / "pairs" / "pairs.report.json", {
        "input": {"layout": "partners", "id_map": {"ids_unmapped": 12, "ids_in_data": 420,
                                                   "rows_dropped_unmapped": 5000}},
        "counts": {"rows_read": 900, "positives_listed": 450, "genes_listed": 19,
                   "positives_before_split": 450, "pairs_dropped_crossing_partitions": 300,
                   "positives_kept": 150, "genes_without_promoters": 0, "pairs_without_promoters_dropped": 0}})
    (root / "train").mkdir()
    write_table(root / "train" / "train_log.tsv", pd.DataFrame(
        {"epoch": [1, 2, 3], "train_loss": [0.7, 0.5, 0.4], "val_loss": [0.69, 0.6, 0.55],
         "val_auprc": [0.3, 0.5, 0.6], "val_auroc": [0.6, 0.7, 0.8], "lr": 1e-3, "seconds": 1.0}))
    write_evaluation(root, "better")
    _png(root / "evaluate" / "fold0" / "pr_curve.png")
    _png(root / "evaluate" / "fold0" / "roc_curve.png")
    (root / "interpret").mkdir()
    write_table(root / "interpret" / "tf_knockout.tsv", pd.DataFrame(
        {"pair": ["a|b", "a|b"], "gene_a": ["a", "a"], "gene_b": ["b", "b"], "tf": ["ABF1", "MYB3"],
         "score": [0.2, 0.8], "delta": [-0.6, 0.0]}))
    write_table(root / "interpret" / "token_importance.tsv", pd.DataFrame(
        {"token": [2], "importance": [0.5], "n_windows": [10], "top_tfs": ["ABF1,MYB3"]}))
    _png(root / "interpret" / "ig_pair01_AT1G00001_AT1G00002.png")
    (root / "predict").mkdir()
    write_table(root / "predict" / "modules.tsv", pd.DataFrame({"gene_id": genes, "module": [0] * 12 + [1] * 8}))
    write_table(root / "predict" / "hubs.tsv", pd.DataFrame(
        {"gene_id": genes[:3], "degree": [5, 4, 3], "weighted_degree": [4.1, 3.2, 2.0],
         "betweenness": [0.3, 0.2, 0.1]}))
    write_table(root / "predict" / "predicted_pairs.tsv", pd.DataFrame(
        {"gene_a": genes[:3], "gene_b": genes[3:6], "score": [0.9, 0.8, 0.7], "rank": [1, 2, 3]}))
    truth = root / "simulate" / "truth"
    truth.mkdir(parents=True)
    pd.DataFrame({"module": ["M01"] * 10 + ["M02"] * 8, "gene_id": genes[:10] + genes[12:20]}).to_csv(
        truth / "modules.tsv", sep="\t", index=False)
    return root


def _sections(text: str) -> list[str]:
    return re.findall(r"<h2>([^<]+)</h2>", text)


def _section(text: str, sid: str) -> str:
    return text.split(f'id="{sid}"')[1].split("</section>")[0]


def _outside_details(text: str) -> str:
    return re.sub(r"<details>.*?</details>", "", text, flags=re.S)


# ----------------------------------------------------------------------------- tests

def test_summary_first_with_verdict_n_and_interval(results, tmp_path):
    text = report.run([results], tmp_path / "rep")["report"].read_text()
    assert _sections(text) == report.SECTIONS and report.SECTIONS[0] == "Summary"
    summ = _section(text, "summary")
    assert 'class="verdict v-better"' in summ
    assert "better than window_correlation by ΔAUPRC = 0.097" in summ
    assert "over 5 folds" in summ and "95% intervals" in summ
    assert "n = 2,405 held-out genes" in summ                       # 5 gene-disjoint folds of 481
    assert "Source: summary.json" in summ
    assert "Simulated data" in summ and "20 genes with a promoter" in summ and "3 DAP-seq TF tracks" in summ
    assert "450 co-expressed pairs listed among 19 genes (read as partners)" in summ
    assert "What to look at next" in summ and "Interpretation:" in summ
    # key numbers: transformer first, then the best baseline, with intervals
    rows = re.findall(r"<tr[^>]*><td>([a-z_:]+[^<]*)</td>", summ)
    assert rows[:2] == ["transformer", "window_correlation"]
    assert "0.158 [0.126, 0.190]" in summ
    # the verdict is better: no caution notes, and the warnings are only the data ones
    assert 'class="caution"' not in text
    warn = summ.split('class="warnings"')[1].split("</div>")[0]
    assert "Low-signal tracks: 1 TF(s)" in warn and "MYB3" in warn
    assert "Dropped pairs: 300 of 450" in warn and "Unmapped IDs: 12 of 420" in warn
    assert "verdict is not" not in warn and "Tiny test set" not in warn


def test_not_better_verdict_warns_and_marks_model_sections(results, tmp_path):
    shutil.rmtree(results / "evaluate")
    shutil.rmtree(results / "summarize")
    write_evaluation(results, "not_distinguishable", table=SAME)
    text = report.run([results], tmp_path / "rep")["report"].read_text()
    summ = _section(text, "summary")
    assert 'class="verdict v-not_distinguishable"' in summ
    assert "not distinguishable from window_correlation" in summ
    assert "The verdict is not “better”" in summ
    for sid in ("interpretation", "predicted-network"):
        sec = _section(text, sid)
        assert '<p class="caution"><b>Read with care:</b> the transformer is not distinguishable' in sec
    assert "Data QC:" in summ.split("What to look at next")[1]


def test_tiny_run_warns_too_few_positives_tiny_test_set_and_below_chance(results, tmp_path):
    shutil.rmtree(results / "evaluate")
    shutil.rmtree(results / "summarize")
    tiny = dict(SAME, transformer=(0.70, 0.381))
    write_evaluation(results, "too_few_positives", n_folds=1, table=tiny, n_genes=5, n_pos=7,
                     with_summary=False)
    text = report.run([results], tmp_path / "rep")["report"].read_text()
    summ = _section(text, "summary")
    assert 'class="verdict v-too_few_positives"' in summ and "n = 7" in summ
    assert "Source: metrics.json (fold 0)" in summ
    warn = summ.split('class="warnings"')[1].split("</div>")[0]
    assert "Too few positives: 7 held-out positive pairs" in warn
    assert "Tiny test set: 5 held-out genes, 10 pairs" in warn
    assert "ranks worse than chance (AUROC 0.381" in warn
    assert 'class="caution"' in _section(text, "interpretation")


def test_control_away_from_chance_is_a_warning(results, tmp_path):
    m = json.loads((results / "evaluate" / "fold0" / "metrics.json").read_text())
    s = json.loads((results / "summarize" / "summary.json").read_text())
    s["control"] = {"name": "shuffled labels", "auprc": 0.05, "auprc_ci": [0.04, 0.06],
                    "prevalence": m["universe"]["transformer"]["prevalence"]}
    write_json(results / "summarize" / "summary.json", s)
    text = report.run([results], tmp_path / "rep")["report"].read_text()
    assert "The control: shuffled labels is not at chance" in _section(text, "summary")


def test_raw_json_is_folded_and_figures_are_captioned(results, tmp_path):
    text = report.run([results], tmp_path / "rep")["report"].read_text()
    visible = _outside_details(text)
    # no raw JSON dumps outside <details>: the metrics keys appear only folded
    assert '"verdict_kind"' not in visible and '"auprc_ci"' not in visible
    assert text.count("<summary>raw ") >= 8            # promoters, pairs, summary, 5 folds
    # every figure has a caption that says what it shows and how to read it
    figures = re.findall(r"<figure>.*?</figure>", text, flags=re.S)
    assert len(figures) >= 8
    for fig in figures:
        cap = re.search(r"<figcaption><b>([^<]+)</b>(.*?)</figcaption>", fig, flags=re.S)
        assert cap and "How to read it:" in cap.group(2) and len(cap.group(2)) > 60, fig[:200]
        assert not cap.group(1).endswith(".png.")        # a title, not a file name
    titles = re.findall(r"<figcaption><b>([^<]+)\.</b>", text)
    for t in ("Models on the held-out universe", "Signal per TF", "TF vocabulary", "Training curves",
              "Precision-recall curves", "ROC curves", "Predicted vs planted modules"):
        assert t in titles, titles


def test_modules_compared_with_the_planted_ones(results, tmp_path):
    text = report.run([results], tmp_path / "rep")["report"].read_text()
    net = _section(text, "predicted-network")
    # predicted 0 = genes 0..11, 1 = 12..19; truth M01 = 0..9, M02 = 12..19: perfect on the 18 shared
    assert "Adjusted Rand index <b>1</b>" in net and "normalised mutual information <b>1</b>" in net
    assert "over the 18 genes" in net
    pred = pd.DataFrame({"gene_id": list("abcdefgh"), "module": [0, 0, 1, 1, 2, 2, 3, 3]})
    truth = pd.DataFrame({"gene_id": list("abcdefgh"), "module": ["x", "y"] * 4})
    agree = report_network.module_agreement(pred, truth)
    assert agree["ari"] < 0.1 and agree["n_genes"] == 8
    same = report_network.module_agreement(pred, pred.assign(module=pred.module.map(lambda m: f"T{m}")))
    assert same["ari"] == pytest.approx(1.0) and same["nmi"] == pytest.approx(1.0)


def test_truth_files_do_not_shadow_step_outputs(results, tmp_path):
    truth = tmp_path / "aaa_simulate" / "truth"
    truth.mkdir(parents=True)
    pd.DataFrame({"module": ["M01"], "gene_id": ["TRUTHGENE"]}).to_csv(truth / "modules.tsv", sep="\t", index=False)
    text = report.run([tmp_path / "aaa_simulate", results], tmp_path / "rep")["report"].read_text()
    net = _section(text, "predicted-network")
    assert "AT1G00000" in net and "TRUTHGENE" not in net


def test_full_report_is_self_contained(results, tmp_path):
    out = report.run([results], tmp_path / "rep")["report"]
    text = out.read_text()
    for ref in re.findall(r'(?:src|href)="([^"]*)"', text):
        assert ref.startswith(("data:image/png;base64,", "#")), ref
    assert "http://" not in text and "https://" not in text
    assert "<script" not in text
    assert "AT1G00000" in text and "ABF1" in text          # modules / knock-out tables
    assert "4 tokens (2 special)" in text
    assert "Missing:" not in text.split('id="interpretation"')[0].split('id="vocabulary"')[1]
    assert (tmp_path / "rep" / "report.html.json").exists()


def test_legacy_metrics_json_has_no_verdict_but_its_tables(results, tmp_path):
    shutil.rmtree(results / "evaluate")
    shutil.rmtree(results / "summarize")
    (results / "evaluate").mkdir()
    # the tiny preset's metrics.json before the universe evaluation: 10 test pairs of 5 genes
    write_json(results / "evaluate" / "metrics.json",
               {"summary": [{"model": "transformer", "auprc": 0.704, "auroc": 0.381, "n": 10, "n_pos": 7},
                            {"model": "cosine_profile", "auprc": 0.869, "auroc": 0.619, "n": 10, "n_pos": 7}],
                "n_test_pairs": 10, "n_test_genes": 5})
    text = report.run([results], tmp_path / "rep")["report"].read_text()
    summ = _section(text, "summary")
    assert "No verdict: metrics.json has no universe evaluation" in summ
    assert "No verdict (no summary.json" in summ
    assert "Too few positives: 7 held-out positive pairs" in summ
    assert "Tiny test set: 5 held-out genes, 10 pairs" in summ
    assert "ranks worse than chance on the sampled test pairs (AUROC 0.381" in summ
    assert 'class="caution"' in _section(text, "predicted-network")
    ev = _section(text, "evaluation")
    assert "Sampled test pairs (secondary)" in ev and "cosine_profile" in ev


def test_missing_inputs_are_explained_not_fatal(tmp_path):
    empty = tmp_path / "nothing"
    empty.mkdir()
    (empty / "unrelated.txt").write_text("x")
    text = report.run([empty], tmp_path / "rep")["report"].read_text()
    assert _sections(text) == report.SECTIONS
    assert "No verdict: no summary.json or metrics.json among the inputs" in _section(text, "summary")
    assert "Real data" in _section(text, "summary")
    for what in ("train_log.tsv", "metrics.json", "vocabulary.tsv", "modules.tsv", "tf_knockout.tsv",
                 "normalized.h5"):
        assert f"Missing: {what}" in text or what in text.split("Missing:", 1)[1]
    assert text.count("Missing:") >= 7


def _health(lost, masked=None, nan=0):
    return {"windows": 1000, "masked_windows": int(1000 * (lost if masked is None else masked)),
            "masked_fraction": lost if masked is None else masked, "nan_records": nan, "posinf_records": 0,
            "nonfinite_windows": 0 if masked is None else int(1000 * (lost - masked)), "lost_fraction": lost,
            "promoters": 20, "promoters_with_signal": 18, "promoters_with_signal_fraction": 0.9}


def test_track_health_from_extract_manifests_warns_on_the_outlier(tmp_path):
    """extract's manifests (as the pipeline stages them) give each track's health: a table in
    Data QC, a line in the Summary's data, and a warning naming only the track that loses far
    more windows (beyond MAX_EXCESS_LOSS over the median of the others)."""
    health = {"ABF1": _health(0.01), "WRKY2": _health(0.02), "MYB3": _health(0.31, masked=0.05, nan=420),
              "input": _health(0.015)}
    assert [k for k, _, _ in report_data_qc.health_outliers(health)] == ["MYB3"]
    assert report_data_qc.health_outliers({"only": _health(0.9)}) == []              # nothing to compare with
    ex = tmp_path / "extract"
    ex.mkdir()
    for k, h in health.items():
        write_json(ex / f"extract.{k}.manifest.json", {"step": "extract", "health": {k: h}, "files": {}})
    text = report.run([ex], tmp_path / "rep")["report"].read_text()
    summary = _section(text, "summary")
    assert "Track losing windows: MYB3 loses 31% of its windows, the other tracks a median 2%" in summary
    assert summary.count("Track losing windows") == 1
    assert "Track health (extract, 4 tracks)" in summary and "most MYB3 31.0%" in summary
    qc = _section(text, "data-qc")
    assert "Track health (extract)" in qc and qc.index("MYB3") < qc.index("ABF1") and "420" in qc


def test_broken_input_only_breaks_its_section(results, tmp_path):
    (results / "train" / "train_log.tsv").write_text("not\ta\nlog\n")
    (results / "summarize" / "summary.json").write_text("{not json")
    text = report.run([results], tmp_path / "rep")["report"].read_text()
    assert "Missing:" in _section(text, "training")
    assert "cosine_profile" in _section(text, "evaluation")     # the folds still render
    assert 'class="verdict' in _section(text, "summary")


def test_cli(results, tmp_path):
    res = CliRunner().invoke(main, ["report", "--outdir", str(tmp_path / "o"), str(results)])
    assert res.exit_code == 0, res.output
    assert (tmp_path / "o" / "report.html").exists()
    res = CliRunner().invoke(main, ["report", "--outdir", str(tmp_path / "o"), str(tmp_path / "nope")])
    assert res.exit_code == 2


# ----------------------------------------------------------------------------- headless Chromium

def _chromium_or_skip() -> str:
    if Path(CHROMIUM).exists():
        return CHROMIUM
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{CHROMIUM} missing in CI (.ci/install_tools.sh installs the Debian package)")
    pytest.skip(f"{CHROMIUM} not installed (apt-get install chromium)")


FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--hide-scrollbars", "--enable-logging=stderr", "--v=0"]


def test_report_renders_in_headless_chromium_summary_first(results, tmp_path):
    """Renders the page, finds the Summary first with the verdict in it, and takes a screenshot of
    the first screen (kept in $TFVOCAB_REPORT_SCREENSHOT_DIR when set)."""
    chromium = _chromium_or_skip()
    shutil.rmtree(results / "evaluate")
    shutil.rmtree(results / "summarize")
    write_evaluation(results, "not_distinguishable", table=SAME)
    page = report.run([results], tmp_path / "rep")["report"]
    shot = tmp_path / "shot.png"
    env = {**os.environ, "HOME": str(tmp_path)}
    r1 = subprocess.run([chromium, *FLAGS, f"--user-data-dir={tmp_path / 'ud1'}", "--dump-dom",
                         page.as_uri()], capture_output=True, text=True, timeout=120, env=env)
    assert r1.returncode == 0, r1.stderr[-2000:]
    dom = r1.stdout
    assert re.findall(r"<h2>([^<]+)</h2>", dom) == report.SECTIONS
    first = dom.split("<h2>Summary</h2>")[1].split("</section>")[0]
    assert "Verdict:" in first and "not distinguishable from window_correlation" in first
    r2 = subprocess.run([chromium, *FLAGS, f"--user-data-dir={tmp_path / 'ud2'}",
                         f"--screenshot={shot}", "--window-size=1280,1000", page.as_uri()],
                        capture_output=True, text=True, timeout=120, env=env)
    assert r2.returncode == 0, r2.stderr[-2000:]
    assert shot.exists() and shot.stat().st_size > 20_000   # a rendered page, not a blank one
    keep = os.environ.get("TFVOCAB_REPORT_SCREENSHOT_DIR")
    if keep:
        Path(keep).mkdir(parents=True, exist_ok=True)
        shutil.copy(shot, Path(keep) / "report_first_screen.png")
    from matplotlib.image import imread
    img = imread(shot)[..., :3]
    assert img.shape[:2] == (1000, 1280) and img.std() > 0.05
    # the verdict box (#fff3cd, amber) and the warnings box (#fff8e1) are on the first screen
    amber = np.all(np.abs(img - np.array([0xff, 0xf3, 0xcd]) / 255) < 0.02, axis=-1)
    rows = np.flatnonzero(amber.sum(axis=1) > 600)
    assert rows.size > 20 and rows.min() < 400, "verdict box not near the top"
    warn = np.all(np.abs(img - np.array([0xff, 0xf8, 0xe1]) / 255) < 0.02, axis=-1)
    assert (warn.sum(axis=1) > 600).sum() > 40, "warnings box not on the first screen"
    for log_text in (r1.stderr, r2.stderr):
        assert "Uncaught" not in log_text
        assert "ERROR:CONSOLE" not in log_text
        assert not re.search(r"Failed to load resource", log_text)


def test_normalize_guard_shown_in_data_qc_and_summary(results, tmp_path):
    """normalize's guard warnings (root attr ``normalize_warnings``) reach the data section and
    the warnings at the top."""
    import h5py

    msg = "WRKY2: called enriched in 61% of its windows (calling error rate 1.7%)"
    with h5py.File(results / "normalize" / "normalized.h5", "a") as f:
        f.attrs["normalize_warnings"] = json.dumps([msg])
    text = report.run([results], tmp_path / "rep")["report"].read_text()
    assert f"<li>{msg}</li>" in _section(text, "data-qc")
    assert "Normalisation guard: 1 warning(s)" in _section(text, "summary")
