"""report.html: self-contained, every section present, missing inputs explained, renders in Chromium."""
from __future__ import annotations

import os
import re
import struct
import subprocess
import zlib
from pathlib import Path

import h5py
import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from tfvocab import report
from tfvocab.cli import main
from tfvocab.io import provenance, set_h5_provenance, write_json, write_strings, write_table

CHROMIUM = "/usr/bin/chromium"


def _png(path: Path, w: int = 40, h: int = 30) -> None:
    """A tiny valid PNG (gradient) without matplotlib."""
    raw = b"".join(b"\x00" + bytes((x * 6) % 256 for x in range(w)) * 3 for _ in range(h))

    def chunk(t, d):
        return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d) & 0xFFFFFFFF)

    data = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))
    path.write_bytes(data)


@pytest.fixture
def results(tmp_path) -> Path:
    """A fake run: one folder per step with the files the report knows, small and fast."""
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
    write_json(root / "promoters" / "promoters.report.json", {"kept": 20, "dropped": 1, "clipped": 1})
    (root / "normalize").mkdir()
    with h5py.File(root / "normalize" / "normalized.h5", "w") as f:
        write_strings(f, "genes", genes)
        write_strings(f, "tfs", tfs)
        f["window_start"] = np.arange(-2000, 500, 50)
        sig = rng.normal(size=(20, 50, 3)).astype(np.float32)
        mask = np.zeros_like(sig, dtype=bool)
        mask[:3, :, 1] = True
        sig[mask] = np.nan
        f["signal"] = sig
        f["mask"] = mask
        set_h5_provenance(f, provenance("normalize", {"pseudocount": 1.0}))
    (root / "tokenize").mkdir()
    write_table(root / "tokenize" / "vocabulary.tsv", pd.DataFrame(
        {"token": [0, 1, 2], "kind": ["mask", "unbound", "cluster"], "count": [5, 500, 90],
         "frequency": [0.01, 0.8, 0.19], "top_tfs": ["", "", "ABF1,MYB3"],
         "top_weights": ["", "", "1.2,0.8"], "mean_offset": [0, -1000, -300]}))
    _png(root / "tokenize" / "vocabulary.png")
    (root / "train").mkdir()
    write_table(root / "train" / "train_log.tsv", pd.DataFrame(
        {"epoch": [1, 2, 3], "train_loss": [0.7, 0.5, 0.4], "val_loss": [0.69, 0.6, 0.55],
         "val_auprc": [0.3, 0.5, 0.6], "val_auroc": [0.6, 0.7, 0.8], "lr": 1e-3, "seconds": 1.0}))
    (root / "evaluate").mkdir()
    write_json(root / "evaluate" / "metrics.json",
               {"model": {"auprc": 0.61, "auroc": 0.8}, "baselines": {"cosine": {"auprc": 0.4, "auroc": 0.6}},
                "n_test_pairs": 120})
    _png(root / "evaluate" / "pr_curve.png")
    _png(root / "evaluate" / "roc_curve.png")
    (root / "interpret").mkdir()
    write_table(root / "interpret" / "tf_knockout.tsv", pd.DataFrame(
        {"pair": ["a|b", "a|b"], "gene_a": ["a", "a"], "gene_b": ["b", "b"], "tf": ["ABF1", "MYB3"],
         "score": [0.2, 0.8], "delta": [-0.6, 0.0]}))
    write_table(root / "interpret" / "token_importance.tsv", pd.DataFrame(
        {"token": [2], "importance": [0.5], "n_windows": [10], "top_tfs": ["ABF1,MYB3"]}))
    _png(root / "interpret" / "ig_pair001.png")
    (root / "predict").mkdir()
    write_table(root / "predict" / "modules.tsv", pd.DataFrame({"gene_id": genes, "module": [0] * 12 + [1] * 8}))
    write_table(root / "predict" / "hubs.tsv", pd.DataFrame(
        {"gene_id": genes[:3], "degree": [5, 4, 3], "weighted_degree": [4.1, 3.2, 2.0],
         "betweenness": [0.3, 0.2, 0.1]}))
    write_table(root / "predict" / "predicted_pairs.tsv", pd.DataFrame(
        {"gene_a": genes[:3], "gene_b": genes[3:6], "score": [0.9, 0.8, 0.7], "rank": [1, 2, 3]}))
    return root


def test_truth_files_do_not_shadow_step_outputs(results, tmp_path):
    truth = tmp_path / "aaa_simulate" / "truth"
    truth.mkdir(parents=True)
    pd.DataFrame({"module": ["M01"], "gene_id": ["TRUTHGENE"]}).to_csv(truth / "modules.tsv", sep="\t", index=False)
    text = report.run([tmp_path / "aaa_simulate", results], tmp_path / "rep")["report"].read_text()
    net = text.split('id="predicted-network"')[1]
    assert "AT1G00000" in net and "TRUTHGENE" not in net


def _sections(text: str) -> list[str]:
    return re.findall(r"<h2>([^<]+)</h2>", text)


def test_full_report_is_self_contained(results, tmp_path):
    out = report.run([results], tmp_path / "rep")["report"]
    text = out.read_text()
    assert _sections(text) == report.SECTIONS
    # no external resources: every src/href is a data URI or an in-page anchor
    for ref in re.findall(r'(?:src|href)="([^"]*)"', text):
        assert ref.startswith(("data:image/png;base64,", "#")), ref
    assert "http://" not in text and "https://" not in text
    assert "<script" not in text
    # the 4 given PNGs embedded + the generated signal QC and training curve plots
    assert text.count("data:image/png;base64,") == 6
    assert "AT1G00000" in text and "ABF1" in text          # modules / knock-out tables
    assert "3 tokens (2 special)" in text
    assert "Missing:" not in text.split('id="interpretation"')[0].split('id="vocabulary"')[1]
    assert (tmp_path / "rep" / "report.html.json").exists()


def test_missing_inputs_are_explained_not_fatal(tmp_path):
    empty = tmp_path / "nothing"
    empty.mkdir()
    (empty / "unrelated.txt").write_text("x")
    out = report.run([empty], tmp_path / "rep")["report"]
    text = out.read_text()
    assert _sections(text) == report.SECTIONS
    for what in ("train_log.tsv", "metrics.json", "vocabulary.tsv", "modules.tsv", "tf_knockout.tsv",
                 "normalized.h5"):
        assert f"Missing: {what}" in text or what in text.split("Missing:", 1)[1]
    assert text.count("Missing:") >= 7


def test_broken_input_only_breaks_its_section(results, tmp_path):
    (results / "train" / "train_log.tsv").write_text("not\ta\nlog\n")
    text = report.run([results], tmp_path / "rep")["report"].read_text()
    training = text.split('id="training"')[1].split("</section>")[0]
    assert "Missing:" in training
    assert "cosine" in text  # the evaluation section still rendered


def test_cli(results, tmp_path):
    res = CliRunner().invoke(main, ["report", "--outdir", str(tmp_path / "o"), str(results)])
    assert res.exit_code == 0, res.output
    assert (tmp_path / "o" / "report.html").exists()
    res = CliRunner().invoke(main, ["report", "--outdir", str(tmp_path / "o"), str(tmp_path / "nope")])
    assert res.exit_code == 2


def _chromium_or_skip() -> str:
    if Path(CHROMIUM).exists():
        return CHROMIUM
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{CHROMIUM} missing in CI (.ci/install_tools.sh installs the Debian package)")
    pytest.skip(f"{CHROMIUM} not installed (apt-get install chromium)")


def test_report_renders_in_headless_chromium(results, tmp_path):
    chromium = _chromium_or_skip()
    page = report.run([results], tmp_path / "rep")["report"]
    shot = tmp_path / "shot.png"
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             "--enable-logging=stderr", "--v=0"]
    env = {**os.environ, "HOME": str(tmp_path)}
    r1 = subprocess.run([chromium, *flags, f"--user-data-dir={tmp_path / 'ud1'}", "--dump-dom",
                         page.as_uri()], capture_output=True, text=True, timeout=120, env=env)
    assert r1.returncode == 0, r1.stderr[-2000:]
    dom = r1.stdout
    assert re.findall(r"<h2>([^<]+)</h2>", dom) == report.SECTIONS
    r2 = subprocess.run([chromium, *flags, f"--user-data-dir={tmp_path / 'ud2'}",
                         f"--screenshot={shot}", "--window-size=1280,4000", page.as_uri()],
                        capture_output=True, text=True, timeout=120, env=env)
    assert r2.returncode == 0, r2.stderr[-2000:]
    assert shot.exists() and shot.stat().st_size > 20_000  # a rendered page, not a blank one
    from matplotlib.image import imread
    img = imread(shot)
    assert img.shape[1] == 1280 and img[..., :3].std() > 0.05  # not a uniform image
    for log_text in (r1.stderr, r2.stderr):
        assert "Uncaught" not in log_text
        assert "ERROR:CONSOLE" not in log_text
        assert not re.search(r"Failed to load resource", log_text)
