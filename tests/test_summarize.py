"""`tfvocab summarize`: fold means, two-level bootstrap intervals, paired difference, verdict."""
import json

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from tfvocab.evaluation import summarize as S
from tfvocab.cli import main
from tfvocab.errors import TfvocabError


def _fold(k: int, K: int, values: dict, rng, n_boot: int = 100, sd: float = 0.02, n_pos: int = 150) -> dict:
    """A metrics.json of fold ``k``: universe AUPRC/AUROC per model and paired bootstrap
    replicates (a shared fold effect + model noise, so differences are tighter than levels)."""
    shared = rng.normal(0, sd, n_boot)
    uni, boot = {}, {"auprc": {}, "auroc": {}}
    for name, (ap, roc) in values.items():
        uni[name] = {"auprc": ap, "auroc": roc, "prevalence": 0.002, "n_pos": n_pos, "n_pairs": 75000,
                     "auprc_over_prevalence": ap / 0.002, "pauroc_fpr01": 0.6,
                     "precision_at": {"10": 0.5, "100": 0.3, "n_pos": 0.25}}
        boot["auprc"][name] = (ap + shared + rng.normal(0, sd / 4, n_boot)).tolist()
        boot["auroc"][name] = (roc + shared / 4 + rng.normal(0, sd / 16, n_boot)).tolist()
    return {"fold": k, "n_folds": K, "universe": uni, "bootstrap": boot,
            "control": {"permutation": {"auprc_mean": 0.002, "p_value_auprc": 0.005}}}


def _write(tmp_path, folds):
    paths = []
    for f in folds:
        p = tmp_path / f"fold{f['fold']}" / "metrics.json"
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(json.dumps(f))
        paths.append(p)
    return paths


def test_summary_means_intervals_difference_and_verdict(tmp_path):
    rng = np.random.default_rng(0)
    folds = [_fold(k, 5, {"transformer": (0.30 + 0.01 * k, 0.95), "window_correlation": (0.10, 0.93),
                          "window_logreg": (0.22 + 0.01 * k, 0.94), "oracle": (0.70, 0.97)}, rng)
             for k in range(5)]
    paths = _write(tmp_path, folds[::-1])                     # any order
    res = CliRunner().invoke(main, ["summarize", "--outdir", str(tmp_path / "s"), *map(str, paths)])
    assert res.exit_code == 0, res.output
    s = json.loads((tmp_path / "s" / "summary.json").read_text())
    assert s["n_folds"] == 5 and s["folds"] == [0, 1, 2, 3, 4]
    tr = s["models"]["transformer"]["auprc"]
    assert tr["mean"] == pytest.approx(0.32) and tr["per_fold"] == pytest.approx([0.30, 0.31, 0.32, 0.33, 0.34])
    assert tr["ci"][0] < 0.32 < tr["ci"][1]
    assert s["best_baseline"] == "window_logreg"              # highest mean AUPRC; oracle is no baseline
    d = s["difference"]
    assert d["against"] == "window_logreg" and d["mean"] == pytest.approx(0.08)
    assert 0 < d["ci"][0] < 0.08 < d["ci"][1]
    # paired: the shared fold noise cancels, so the difference is tighter than either level
    assert d["ci"][1] - d["ci"][0] < tr["ci"][1] - tr["ci"][0]
    assert s["verdict_kind"] == "better"
    assert s["verdict"].startswith("better than window_logreg by ΔAUPRC = +0.080 [") and s["verdict"].endswith("over 5 folds")
    assert s["models"]["window_logreg"]["prevalence"]["mean"] == pytest.approx(0.002)
    assert "precision_at_100" in s["models"]["transformer"]
    tsv = pd.read_csv(tmp_path / "s" / "summary.tsv", sep="\t", comment=None)
    row = tsv[(tsv.model == "transformer") & (tsv.metric == "auprc") & (tsv.labels == "listed")].iloc[0]
    assert row["mean"] == pytest.approx(0.32) and row["per_fold"].count(",") == 4
    assert (tmp_path / "s" / "summary.png").read_bytes()[:4] == b"\x89PNG"


def test_equal_models_are_not_distinguishable_and_few_positives_give_no_verdict(tmp_path):
    rng = np.random.default_rng(1)
    folds = [_fold(k, 5, {"transformer": (0.2 + rng.normal(0, 0.01), 0.9), "window_correlation": (0.2, 0.9)},
                   rng, sd=0.03) for k in range(5)]
    s = S.summarize(folds)
    assert s["verdict_kind"] == "not_distinguishable" and s["verdict"].startswith("not distinguishable from window_correlation (ΔAUPRC")
    few = [_fold(k, 5, {"transformer": (0.5, 0.9), "binding_mass": (0.1, 0.6)}, rng, n_pos=3) for k in range(5)]
    s = S.summarize(few)
    assert s["verdict_kind"] == "too_few_positives" and s["verdict"] == "too few held-out positives for a verdict (n = 15)"


def test_hierarchical_interval_holds_the_spread_across_folds():
    """Folds that disagree (0.1 vs 0.5) with tight within-fold replicates: the interval spans
    the fold spread, wider than the within-fold intervals alone would give."""
    reps = [np.full(100, 0.1) + np.random.default_rng(k).normal(0, 0.005, 100) for k in range(3)]
    reps += [np.full(100, 0.5) + np.random.default_rng(k).normal(0, 0.005, 100) for k in range(3, 6)]
    lo, hi = S.hierarchical_mean_ci(reps, seed=0)
    assert lo < 0.25 and hi > 0.4
    assert S.t_interval([0.1, 0.1, 0.5, 0.5, 0.1, 0.5])[0] < 0.3


def test_bad_inputs_are_one_line_errors(tmp_path):
    rng = np.random.default_rng(2)
    f0 = _fold(0, 5, {"transformer": (0.3, 0.9), "binding_mass": (0.1, 0.6)}, rng)
    p = _write(tmp_path, [f0])
    with pytest.raises(TfvocabError, match="fold 0 is given twice"):
        S.read_metrics([p[0], p[0]])
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"models": {}}))
    with pytest.raises(TfvocabError, match="no 'universe' in this metrics.json"):
        S.read_metrics([bad])
    f1 = _fold(1, 3, {"transformer": (0.3, 0.9), "binding_mass": (0.1, 0.6)}, rng)
    with pytest.raises(TfvocabError, match="different fold counts"):
        S.read_metrics(_write(tmp_path / "x", [f0, f1]))
    res = CliRunner().invoke(main, ["summarize", "--outdir", str(tmp_path / "o"), str(bad)])
    assert res.exit_code == 2 and "no 'universe'" in res.output
