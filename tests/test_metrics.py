"""Ranking metrics (against scikit-learn), weights, ties, the gene bootstrap, the permutation
null and the universe enumeration/scoring."""
import numpy as np
import pytest
import torch
from sklearn.metrics import average_precision_score, roc_auc_score

from tfvocab.model import metrics as M
from tfvocab.data import universe as U


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_metrics_equal_sklearn_with_ties_and_weights(seed):
    rng = np.random.default_rng(seed)
    n = 3000
    y = rng.random(n) < 0.05
    s = np.round(rng.normal(size=n) + 1.5 * y, 1)          # many ties
    w = rng.integers(0, 4, n).astype(float)
    r = M.Ranked(s, y)
    assert r.auprc() == pytest.approx(average_precision_score(y, s), abs=1e-12)
    assert r.auroc() == pytest.approx(roc_auc_score(y, s), abs=1e-12)
    assert r.pauroc(0.01) == pytest.approx(roc_auc_score(y, s, max_fpr=0.01), abs=1e-12)
    assert r.auprc(w) == pytest.approx(average_precision_score(y, s, sample_weight=w), abs=1e-12)
    assert r.auroc(w) == pytest.approx(roc_auc_score(y, s, sample_weight=w), abs=1e-12)
    assert r.pauroc(0.05, w) == pytest.approx(roc_auc_score(y, s, max_fpr=0.05, sample_weight=w), abs=1e-12)
    # integer weights = repeated pairs
    rep = np.repeat(np.arange(n), w.astype(int))
    assert r.both(w) == pytest.approx(M.Ranked(s[rep], y[rep]).both(), abs=1e-12)


def test_precision_at_k_is_the_expectation_over_random_tie_order():
    y = np.array([1, 0, 1, 0, 0, 1])
    s = np.array([5.0, 3, 3, 3, 3, 1])               # k=3 cuts a 4-way tie holding 1 positive
    assert M.precision_at_k(y, s, 1) == 1.0
    assert M.precision_at_k(y, s, 3) == pytest.approx((1 + 2 * 0.25) / 3)
    assert M.precision_at_k(y, s, 6) == pytest.approx(0.5)
    assert np.isnan(M.precision_at_k(y, s, 7))
    # a binary oracle with ties: no fake 1.0 when the positives are not first in input order
    oracle = np.array([0, 0, 1, 1, 1, 1.0])
    labels = np.array([0, 0, 0, 0, 1, 1])
    assert M.precision_at_k(labels, oracle, 2) == pytest.approx(0.5)


def test_threshold_metrics_and_best_f1():
    y = np.array([1, 1, 0, 1, 0, 0, 0, 0])
    s = np.array([0.9, 0.8, 0.7, 0.6, 0.3, 0.2, 0.1, 0.05])
    t = M.best_f1_threshold(y, s)
    assert t == pytest.approx(0.6)           # the first 4: P = 3/4, R = 1, F1 = 6/7
    m = M.binary_metrics(y, s, t)
    assert m["precision"] == pytest.approx(0.75) and m["recall"] == 1.0
    assert m["f1"] == pytest.approx(6 / 7) and m["accuracy"] == pytest.approx(7 / 8)
    assert m["auprc"] == pytest.approx((1 + 1 + 0.75) / 3)
    assert m["precision_at_npos"] == pytest.approx(2 / 3)
    assert np.isnan(m["precision_at_10"]) and m["n_pos"] == 3
    assert np.isnan(M.ranking_metrics([0, 0], [1, 2])["auprc"])


def test_universe_indexing_round_trips_and_scores_blockwise():
    for n in (2, 3, 7, 50):
        t = np.arange(U.n_pairs(n))
        i, j = U.tri_pairs(t, n)
        ii, jj = np.triu_indices(n, 1)
        assert (i == ii).all() and (j == jj).all() and (U.tri_index(j, i, n) == t).all()
    n = 27_000                                         # genome scale: exact in float64
    t = np.random.default_rng(0).integers(0, U.n_pairs(n), 100_000)
    assert (U.tri_index(*U.tri_pairs(t, n), n) == t).all()
    x = torch.randn(23, 5)
    s = U.score_universe(lambda a, b: x[a] @ x[b].T, 23, block=4)
    ii, jj = np.triu_indices(23, 1)
    assert np.allclose(s, (x @ x.T).numpy()[ii, jj], atol=1e-5)
    lab = U.pair_labels(23, [0, 5, 4], [3, 2, 4])       # (4, 4) is a self-pair: ignored
    assert lab.sum() == 2 and lab[U.tri_index(3, 0, 23)] and lab[U.tri_index(2, 5, 23)]
    pa, pb = U.local_pairs(np.array([2, 5, 9]), np.array([5, 2, 9, 1]), np.array([9, 9, 5, 2]))
    assert sorted(zip(pa.tolist(), pb.tolist())) == [(0, 2), (1, 2), (2, 1)]


def test_weighted_sample_of_a_universe_estimates_its_metrics():
    rng = np.random.default_rng(3)
    N = 400_000
    y = rng.random(N) < 0.002
    s = rng.normal(size=N) + 2.0 * y
    idx, w = U.sample_pairs(y, 40_000, rng)
    assert y[idx].sum() == y.sum() and len(idx) == y.sum() + 40_000
    full = M.Ranked(s, y).both()
    est = M.Ranked(s[idx], y[idx], w).both()
    assert est[0] == pytest.approx(full[0], abs=0.03) and est[1] == pytest.approx(full[1], abs=0.005)
    assert U.sample_pairs(y, N, rng)[1] is None


def test_gene_bootstrap_interval_covers_and_is_paired():
    """Universe of 120 genes whose positives are within 6 planted modules; a score that sees
    the modules through noise. The bootstrap interval of its AUPRC contains the point value,
    and the paired difference with itself is exactly 0 in every resample."""
    rng = np.random.default_rng(0)
    n = 120
    mod = rng.integers(0, 6, n)
    i, j = U.tri_pairs(np.arange(U.n_pairs(n)), n)
    y = (mod[i] == mod[j]) & (rng.random(len(i)) < 0.5)
    s = (mod[i] == mod[j]) + rng.normal(0, 0.7, len(i))
    mult = M.gene_bootstrap(n, 100, seed=1)
    assert mult.shape == (100, n) and (mult.sum(1) == n).all()
    r = M.Ranked(s, y)
    rep = M.bootstrap_replicates(r, i.astype(np.int64), j.astype(np.int64), mult)
    lo, hi = M.percentile_ci(rep["auprc"])
    assert lo < r.auprc() < hi and hi - lo < 0.2
    rep2 = M.bootstrap_replicates(M.Ranked(s, y), i.astype(np.int64), j.astype(np.int64), mult)
    assert np.array_equal(rep["auprc"], rep2["auprc"])
    # an unrelated score: interval lies lower, and contains the prevalence
    noise = rng.normal(size=len(i))
    rn = M.bootstrap_replicates(M.Ranked(noise, y), i.astype(np.int64), j.astype(np.int64), mult)
    lo_n, hi_n = M.percentile_ci(rn["auprc"])
    assert hi_n < lo and lo_n <= y.mean() <= hi_n


def test_permutation_null_from_ranks_equals_relabelled_universe():
    rng = np.random.default_rng(2)
    n = 40
    N = U.n_pairs(n)
    s = np.round(rng.normal(size=N), 1).astype(np.float32)
    pa, pb = U.tri_pairs(rng.choice(N, 25, replace=False), n)
    pa, pb = pa.astype(np.int64), pb.astype(np.int64)
    null = M.permutation_null(s, n, pa, pb, n_perm=5, seed=0)
    rng2 = np.random.default_rng([0, 7])                      # the same permutations
    for r in range(5):
        pi = rng2.permutation(n)
        lab = U.pair_labels(n, pi[pa], pi[pb])
        ref = M.ranking_metrics(lab, s)
        assert null["auprc"][r] == pytest.approx(ref["auprc"], abs=1e-12)
        assert null["auroc"][r] == pytest.approx(ref["auroc"], abs=1e-12)


def test_verdict_sentences():
    assert M.verdict("window_correlation", 0.08, [0.05, 0.11], 500, 5) == (
        "better than window_correlation by ΔAUPRC = +0.080 [+0.050, +0.110] over 5 folds", "better")
    assert M.verdict("x", 0.01, [-0.02, 0.04], 500, 5)[1] == "not_distinguishable"
    assert M.verdict("x", -0.05, [-0.09, -0.01], 500, 5)[0].startswith("worse than x by ΔAUPRC = -0.050")
    assert M.verdict("x", 0.3, [0.2, 0.4], 7, 5) == ("too few held-out positives for a verdict (n = 7)",
                                                      "too_few_positives")


def test_stratified_metrics_and_quartile_codes():
    y = np.array([1, 0, 0, 1, 0, 1, 0, 0])
    s = np.arange(8.0)[::-1]
    codes = np.array([0, 0, 1, 1, 2, 2, -1, -1])
    rows = M.stratified_metrics(M.Ranked(s, y), codes, "degree")
    assert [r["bin"] for r in rows] == ["Q1", "Q2", "Q3"]
    assert rows[0]["auprc"] == pytest.approx(1.0) and rows[1]["n"] == 2 and rows[1]["n_pos"] == 1
    assert M.quartile_codes(np.arange(8.0)).tolist() == [0, 0, 1, 1, 2, 2, 3, 3]
    assert list(M.quartile_bins(np.arange(8.0))) == ["Q1", "Q1", "Q2", "Q2", "Q3", "Q3", "Q4", "Q4"]
