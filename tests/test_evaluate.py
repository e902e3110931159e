"""Evaluation: metrics on hand-made arrays, baselines, the evaluate step's files, and the small-preset acceptance."""
import importlib.util
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from click.testing import CliRunner

from tfvocab import baselines as BL
from tfvocab import evaluate as E
from tfvocab.cli import main
from tfvocab.data import write_synthetic

torch.set_num_threads(1)
ROOT = Path(__file__).resolve().parents[1]


def test_best_f1_threshold_and_binary_metrics():
    y = np.array([1, 1, 0, 1, 0, 0, 0, 0])
    s = np.array([0.9, 0.8, 0.7, 0.6, 0.3, 0.2, 0.1, 0.05])
    t = E.best_f1_threshold(y, s)
    assert t == pytest.approx(0.6)           # take the first 4: P = 3/4, R = 1, F1 = 6/7
    m = E.binary_metrics(y, s, t)
    assert m["precision"] == pytest.approx(0.75) and m["recall"] == 1.0
    assert m["f1"] == pytest.approx(6 / 7) and m["accuracy"] == pytest.approx(7 / 8)
    assert m["auprc"] == pytest.approx((1 + 1 + 0.75) / 3)
    assert m["precision_at_npos"] == pytest.approx(2 / 3)
    assert np.isnan(m["precision_at_10"]) and m["n_pos"] == 3


def test_precision_at_k_and_quartiles():
    y = np.array([0, 1, 1, 0])
    assert E.precision_at_k(y, np.array([4.0, 3.0, 2.0, 1.0]), 2) == 0.5
    q = E.quartile_bins(np.arange(8.0))
    assert list(q) == ["Q1", "Q1", "Q2", "Q2", "Q3", "Q3", "Q4", "Q4"]


def test_oracle_scores(tmp_path):
    (tmp_path / "modules.tsv").write_text("module\tgene_id\nM1\tA\nM1\tB\nM2\tC\nM2\tA\n")
    s = E.oracle_scores(tmp_path, ["A", "A", "B", "D"], ["B", "C", "C", "A"])
    assert s.tolist() == [1.0, 1.0, 0.0, 0.0]


def test_baseline_features_are_symmetric_and_cosine_exact():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(5, 3))
    ia, ib = np.array([0, 1, 2]), np.array([3, 4, 0])
    assert np.array_equal(BL.symmetric_features(x, ia, ib), BL.symmetric_features(x, ib, ia))
    cos = BL.cosine_scores(x, ia, ib)
    assert cos[0] == pytest.approx(x[0] @ x[3] / np.linalg.norm(x[0]) / np.linalg.norm(x[3]))
    vals = np.zeros((2, 3, 2))
    vals[0, 0] = [2, 4]
    vals[0, 1] = [9, 9]
    wm = np.array([[False, True, False], [False, False, False]])
    assert BL.mean_profiles(vals, wm)[0].tolist() == [1.0, 2.0]   # masked window excluded
    f = BL.token_frequencies(np.array([[0, 1, 1, 3]]), 4, mask_token=3)
    assert f.tolist() == [[1 / 3, 2 / 3, 0.0, 0.0]]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    from tfvocab import train

    d = tmp_path_factory.mktemp("ev")
    synth = write_synthetic(d / "data", n_genes=160, n_windows=20, seed=0)
    paths = train.run(tokens=synth["tokens"], normalized=synth["normalized"], pairs=synth["pairs"],
                      outdir=d / "train", input="tokens", epochs=20, lr=2e-3, d_model=32, n_layers=1,
                      n_heads=2, head_width=32, patience=20)
    return synth, paths


def test_evaluate_step_writes_all_models(trained, tmp_path):
    synth, tp = trained
    res = CliRunner().invoke(main, ["evaluate", "--model", str(tp["model"]), "--tokens", str(synth["tokens"]),
                                    "--normalized", str(synth["normalized"]), "--pairs", str(synth["pairs"]),
                                    "--outdir", str(tmp_path), "--promoters", str(synth["promoters"]),
                                    "--truth", str(synth["truth"])])
    assert res.exit_code == 0, res.output
    m = json.loads((tmp_path / "metrics.json").read_text())
    names = {"transformer", "cosine_profile", "logreg_profile", "bag_of_tokens", "oracle"}
    assert set(m["models"]) == names and {r["model"] for r in m["summary"]} == names
    tr = m["models"]["transformer"]
    for key in ("auprc", "auroc", "f1", "precision", "recall", "accuracy", "precision_at_10", "threshold"):
        assert key in tr
    assert m["models"]["oracle"]["auprc"] == pytest.approx(1.0)    # synthetic labels are the truth
    assert tr["auprc"] > tr["pos_fraction"] + 0.2                   # planted signal is learned
    assert {s["stratum"] for s in tr["strata"]} == {"gc_quartile", "degree"}
    pred = pd.read_csv(tmp_path / "predictions.tsv", sep="\t")
    pairs = pd.read_csv(synth["pairs"], sep="\t")
    assert len(pred) == int(pairs["split"].isin(["val", "test"]).sum())
    assert {f"score_{n}" for n in names} <= set(pred.columns)
    assert pred["score_transformer"].between(0, 1).all()
    assert (tmp_path / "pr_curve.png").read_bytes()[:4] == b"\x89PNG"
    assert (tmp_path / "roc_curve.png").stat().st_size > 1000
    # the test metrics are those of the test rows of predictions.tsv
    t = pred[pred.split == "test"]
    from sklearn.metrics import average_precision_score
    assert tr["auprc"] == pytest.approx(average_precision_score(t["label"], t["score_transformer"]), abs=1e-4)


@pytest.mark.slow
def test_small_preset_acceptance(small_chain, tmp_path):
    """On the `small` preset (held-out genes, `--split gene`, `tfvocab train` defaults) the
    transformer beats every baseline by >= 0.05 test AUPRC and reaches >= 80 % of the oracle
    AUPRC (truth modules); trained on shuffled labels it stays at chance (bench/small_acceptance.py,
    which also checks seeds 1 and 2)."""
    spec = importlib.util.spec_from_file_location("small_acceptance", ROOT / "bench" / "small_acceptance.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    fig = mod.acceptance(tmp_path, seed=0, chain=small_chain)
    mod.print_figures(fig)
    assert fig["config"]["pooling"] == "flatten" and fig["config"]["epochs"] <= 30   # the defaults, CPU-sized
    assert set(fig["baselines"]) == {"cosine_profile", "logreg_profile", "bag_of_tokens"}
    assert fig["n_test_pos"] >= 100
    assert fig["transformer"] >= fig["best_baseline"] + 0.05, fig
    assert fig["transformer"] >= 0.8 * fig["oracle"], fig
    assert abs(fig["shuffled"] - fig["pos_fraction"]) < 0.1, fig
    assert mod.passes(fig)
