"""tfvocab.data.vocabulary: planted TF combinations are recovered as tokens; file layout; bad input."""
from __future__ import annotations

import json

import h5py
import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from tfvocab.data import normalize as nz
from tfvocab.data import vocabulary as vb
from tfvocab.formats import Geometry, NormalizedWriter, SignalWriter, read_tokens
from tfvocab.data.tokens import run as tokenize_run
from tfvocab.cli import main
from tfvocab.errors import TfvocabError
from tfvocab.io import read_strings, sha256_array

RECALL = 0.8


def planted(seed=0, G=300, W=50, T=30, n_mod=10):
    """Raw DAP-seq-like signal (G, W, T) with planted TF combinations (and single-TF decoys).

    Each gene belongs to one module; 1-3 instances of its 2-4 TF combination are planted, the
    peak split between two adjacent windows (a site straddling a window border), on top of
    gamma background, with per-TF sequencing depth and 1 % missing entries.
    """
    rng = np.random.default_rng(seed)
    sig = rng.gamma(1.0, 0.3, size=(G, W, T)).astype(np.float32)
    combos = []
    while len(combos) < n_mod:
        c = tuple(sorted(int(t) for t in rng.choice(T, size=rng.integers(2, 5), replace=False)))
        if c not in combos:
            combos.append(c)
    module = rng.integers(0, n_mod, G)
    for g in range(G):
        c = list(combos[module[g]])
        for _ in range(rng.integers(1, 4)):
            w = int(rng.integers(0, W - 1))
            h = rng.uniform(10, 40, len(c))
            frac = rng.uniform(0.5, 1.0)
            sig[g, w, c] += h * frac
            sig[g, w + 1, c] += h * (1 - frac)
        for _ in range(rng.integers(0, 6)):
            sig[g, rng.integers(0, W), rng.integers(0, T)] += rng.uniform(10, 40)
    sig *= rng.uniform(0.5, 3.0, T).astype(np.float32)
    mask = rng.random(sig.shape) < 0.01
    return sig, mask, combos


def recall(vocab: vb.Vocabulary, combos) -> float:
    tops = {frozenset(vocab.tfs[j] for j in t) for t in vb.top_tfs(vocab.scores()[vb.N_SPECIAL:])}
    return float(np.mean([frozenset(c) in tops for c in combos]))


def write_normalized(path, x, mask=None, tfs=None):
    """A normalized.h5 through tfvocab.formats (W windows of 50 bp from -2000)."""
    x = np.asarray(x, np.float32)
    G, W, T = x.shape
    mask = np.isnan(x) if mask is None else np.asarray(mask, bool)
    tfs = tfs or [f"TF{i}" for i in range(T)]
    geo = Geometry(upstream=2000, downstream=50 * W - 2001)
    stats = {"tfs": tfs, "arrays": {"mean": np.zeros(T)}, "attrs": {}}
    with NormalizedWriter(path, genes=[f"G{i}" for i in range(G)], tfs=tfs, geometry=geo,
                          stats=stats, lineage={"promoters": "p"}) as w:
        w.write(0, np.where(mask, np.nan, x).astype(np.float32), mask)
    return path


@pytest.fixture(scope="module")
def planted_norm():
    sig, mask, combos = planted()
    st = nz.fit_stats(sig, mask)
    z, m = nz.apply(sig, mask, st)
    return z, m, [[f"tf{t}" for t in c] for c in combos]


# ------------------------------------------------------------------ method

def test_planted_combinations_recovered(planted_norm):
    z, m, combos = planted_norm
    T = z.shape[-1]
    vocab = vb.fit_vocabulary(z.reshape(-1, T), m.reshape(-1, T), vocab_size=64, seed=0,
                              calibrated=True, n_windows=z.shape[1])
    assert vocab.n_tokens == 66
    assert recall(vocab, combos) >= RECALL
    # single-TF decoys give single-TF tokens too, so the top-TF sets are not all combinations
    sizes = [len(t) for t in vb.top_tfs(vocab.scores()[vb.N_SPECIAL:])]
    assert 1 in sizes and max(sizes) >= 3


def test_tokens_seeded_and_deterministic(planted_norm):
    z, m, _ = planted_norm
    X, M = z.reshape(-1, z.shape[-1]), m.reshape(-1, z.shape[-1])
    kw = dict(calibrated=True, n_windows=z.shape[1])
    a = vb.fit_vocabulary(X, M, vocab_size=32, seed=3, **kw)
    b = vb.fit_vocabulary(X, M, vocab_size=32, seed=3, **kw)
    c = vb.fit_vocabulary(X, M, vocab_size=32, seed=4, **kw)
    assert a.vocab_hash == b.vocab_hash and a.vocab_hash != c.vocab_hash
    np.testing.assert_array_equal(vb.assign(X, M, a), vb.assign(X, M, b))


def test_null_and_mask_tokens_by_hand():
    # background 0 with robust scale 1 (hand-set); threshold 3
    v = vb.Vocabulary(tfs=["a", "b"], codebook=np.array([[0, 0], [0, 0], [8, 0], [0, 8], [8, 8]],
                                                         np.float32),
                      center=np.zeros(2, np.float32), scale=np.ones(2, np.float32),
                      bound=np.full(2, 8.0, np.float32), null_threshold=3.0)
    X = np.array([[1, 2.9],        # both below 3 SD -> null
                  [np.nan, np.nan],  # nothing observed -> mask
                  [7, 0.5],        # a only -> token 2
                  [0, 9],          # b only -> token 3
                  [6, 7],          # both -> token 4
                  [np.nan, 6],     # b observed bound, a missing: nearest over b only -> 3 or 4
                  [np.nan, 1]],    # only observed TF unbound -> null (not mask)
                 np.float32)
    tok = vb.assign(X, None, v)
    assert list(tok[:5]) == [vb.NULL_TOKEN, vb.MASK_TOKEN, 2, 3, 4]
    assert tok[5] in (3, 4) and tok[6] == vb.NULL_TOKEN


def test_summit_rule_by_hand():
    """Calibrated scores (z): a call needs z >= threshold and >= summit_frac of the highest z of
    that TF within summit_reach windows of the same gene; other genes' windows do not count."""
    z = np.array([[0, 4, 10, 6, 3.5, 0],       # gene 0, TF a: a peak at window 2, tails at 1, 3, 4
                  [0, 0, 0, 3.5, 0, 0]],       # gene 1: a weak isolated peak at window 3
                 np.float32)[..., None]
    X = z.reshape(-1, 1)
    M = np.zeros_like(X, bool)
    on = vb.calls(X, M, np.zeros(1), np.ones(1), 3.0, n_windows=6, summit_frac=0.7, summit_reach=2)
    # gene 0: 4 < 7, 10 ok, 6 < 7, 3.5 < 7; gene 1: 3.5 is its own summit
    assert list(np.flatnonzero(on[:, 0])) == [2, 9]
    plain = vb.calls(X, M, np.zeros(1), np.ones(1), 3.0)
    assert list(np.flatnonzero(plain[:, 0])) == [1, 2, 3, 4, 9]


def test_calibrated_run_uses_stats_and_binding_vectors(tmp_path):
    """normalized.h5 from the enrichment transform: tokenize reads its stats (calibrated, alpha,
    stride), records the call rule in tokens.h5, and the codebook rows are binding vectors
    (TFs never called in the fit windows have centroid 0)."""
    sig, mask, _ = planted(G=120, W=40, T=12, n_mod=5)
    src_sig = tmp_path / "signal.h5"
    geo = Geometry(upstream=2000, downstream=-1, window=50, stride=50)
    assert geo.n_windows == 40
    sig = np.where(mask, np.nan, sig).astype(np.float32)
    with SignalWriter(src_sig, genes=[f"G{i}" for i in range(120)],
                      tfs=[f"tf{i}" for i in range(12)], geometry=geo, controls=[],
                      tf_control=None, lineage={"promoters": "p"}) as w:
        w.write(0, signal=sig, max=sig, mask=mask)
    norm = nz.run(src_sig, tmp_path / "n")["normalized"]
    paths = tokenize_run(norm, tmp_path / "t", vocab_size=16, seed=0)
    with h5py.File(paths["tokens"], "r") as f:
        assert f.attrs["calibrated"] and f.attrs["summit_frac"] == vb.SUMMIT_FRAC
        assert f.attrs["summit_reach"] == 2 and f.attrs["n_windows"] == 40
        assert f.attrs["null_threshold"] == pytest.approx(vb.auto_null_threshold(12, 0.05))
        cb = f["codebook"][()]
    vocab = vb.vocabulary_from_tokens(read_tokens(paths["tokens"]))
    assert vocab.calibrated and (cb[vb.NULL_TOKEN] == 0).all() and (cb >= 0).all()
    with h5py.File(norm, "r") as f:
        z, m = f["signal"][()], f["mask"][()]
    on = vb.vocab_calls(z.reshape(-1, 12), m.reshape(-1, 12), vocab)
    tok = vb.assign(z.reshape(-1, 12), m.reshape(-1, 12), vocab)
    np.testing.assert_array_equal(tok >= vb.N_SPECIAL, on.any(1) & ~m.reshape(-1, 12).all(1))


def test_masked_nearest_matches_brute_force():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((500, 6)).astype(np.float32)
    M = rng.random(X.shape) < 0.3
    M[:, 0] = False
    C = rng.standard_normal((9, 6)).astype(np.float32)
    d = (((X[:, None, :] - C[None]) ** 2) * ~M[:, None, :]).sum(-1)
    np.testing.assert_array_equal(vb.nearest(X, C, M, chunk=64), d.argmin(1))


def test_top_tfs_definition():
    center = np.zeros(4, np.float32)
    bound = np.array([2, 4, 10, 1], np.float32)
    cent = np.array([[1.5, 3.0, 4.0, 0.2]], np.float32)   # scores 0.75, 0.75, 0.4, 0.2
    s = vb.binding_scores(cent, center, bound)
    np.testing.assert_allclose(s[0], [0.75, 0.75, 0.4, 0.2])
    assert list(vb.top_tfs(s)[0]) == [0, 1]


def test_background_robust_scale():
    X = np.zeros((100, 2), np.float32)
    X[:, 1] = np.arange(100) % 10
    X[:5, 0] = 10.0                         # sparse peaks over an all-zero background
    center, scale, bound = vb.background(X, np.zeros_like(X, bool), 3.0)
    assert center[0] == 0 and scale[0] == pytest.approx(X[:, 0].std())  # MAD 0 -> SD fallback
    assert bound[0] == pytest.approx(10.0)
    assert center[1] == pytest.approx(4.5)


def test_vocab_size_clamped_to_distinct_windows(caplog):
    X = np.zeros((330, 3), np.float32)                 # mostly unbound background
    X[:10] = [9, 0, 0]
    X[10:20] = [0, 9, 0]
    X[20:30] = [9, 9, 0]
    v = vb.fit_vocabulary(X, vocab_size=16, seed=0)
    assert v.n_tokens == 3 + vb.N_SPECIAL
    assert "clamped" in caplog.text


def test_vocab_size_below_2():
    with pytest.raises(TfvocabError, match="vocab-size"):
        vb.fit_vocabulary(np.ones((10, 3)), vocab_size=1)


# ------------------------------------------------------------------ files and CLI

def test_run_outputs(tmp_path, planted_norm):
    z, m, combos = planted_norm
    z, m = z[:120], m[:120].copy()
    m[0, :5] = True                                            # 5 fully missing windows
    src = write_normalized(tmp_path / "normalized.h5", z, m, tfs=[f"tf{i}" for i in range(30)])
    paths = tokenize_run(src, tmp_path / "a", vocab_size=24, seed=0)
    with h5py.File(paths["tokens"], "r") as f:
        tok = f["tokens"][()]
        cb = f["codebook"][()]
        assert tok.dtype == np.int32 and tok.shape == (120, 50)
        assert cb.shape == (26, 30) and cb.dtype == np.float32
        assert f.attrs["n_tokens"] == 26 and f.attrs["mask_token"] == 0
        assert f.attrs["null_token"] == 1
        assert f.attrs["vocab_hash"] == sha256_array(cb)
        assert read_strings(f["tfs"])[:2] == ["tf0", "tf1"]
        assert "tfvocab_provenance" in f.attrs
    assert (tok[0, :5] == 0).all() and (tok[~m.all(-1)] != 0).all()
    assert tok.min() >= 0 and tok.max() < 26
    tab = pd.read_csv(paths["vocabulary"], sep="\t", keep_default_na=False)
    assert list(tab.columns) == ["token", "kind", "count", "frequency", "top_tfs", "top_weights",
                                 "mean_offset", "offset_hist", "enriched_frac", "top_tfs_called"]
    enr = pd.to_numeric(tab.enriched_frac, errors="coerce")
    top = pd.to_numeric(tab.top_tfs_called, errors="coerce")
    assert (enr[tab.kind == "cluster"].dropna() == 1).all()                    # clusters = calls
    assert enr[1] == 0                                                        # null = no call
    assert top[tab.kind == "cluster"].dropna().between(0, 1).all()
    assert list(tab.kind[:3]) == ["mask", "unbound", "cluster"]
    assert tab["count"].sum() == tok.size and tab["count"][0] == 5
    np.testing.assert_array_equal(tab["count"], np.bincount(tok.ravel(), minlength=26))
    hist = np.array([[int(c) for c in h.split(";")] for h in tab.offset_hist])
    np.testing.assert_array_equal(hist.sum(1), tab["count"])
    sidecar = json.loads((tmp_path / "a" / "vocabulary.tsv.json").read_text())
    assert len(sidecar["offset_bin_edges"]) == 11
    assert paths["vocabulary_png"].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # same seed, same outputs; codebook reuse reproduces the tokens
    again = tokenize_run(src, tmp_path / "b", vocab_size=24, seed=0)
    reuse = tokenize_run(src, tmp_path / "c", codebook=paths["tokens"])
    for p in (again, reuse):
        with h5py.File(p["tokens"], "r") as f:
            np.testing.assert_array_equal(f["tokens"][()], tok)
            np.testing.assert_array_equal(f["codebook"][()], cb)


def test_codebook_tf_mismatch(tmp_path):
    x = np.random.default_rng(0).standard_normal((20, 10, 3)).astype(np.float32)
    a = write_normalized(tmp_path / "a.h5", x, tfs=["A", "B", "C"])
    b = write_normalized(tmp_path / "b.h5", x, tfs=["A", "B", "D"])
    cb = tokenize_run(a, tmp_path / "oa", vocab_size=4)["tokens"]
    with pytest.raises(TfvocabError, match="codebook TFs do not match.*D"):
        tokenize_run(b, tmp_path / "ob", codebook=cb)


def test_cli(tmp_path):
    x = np.random.default_rng(0).standard_normal((20, 10, 3)).astype(np.float32)
    x[::2, ::3] += 20                                      # bound windows
    src = write_normalized(tmp_path / "n.h5", x)
    bad = CliRunner().invoke(main, ["tokenize", "--normalized", str(src), "--outdir",
                                    str(tmp_path / "o"), "--vocab-size", "1"])
    assert bad.exit_code == 2 and "vocab-size" in bad.output and "Traceback" not in bad.output
    ok = CliRunner().invoke(main, ["tokenize", "--normalized", str(src), "--outdir",
                                   str(tmp_path / "o"), "--vocab-size", "5", "--seed", "1"])
    assert ok.exit_code == 0, ok.output
    with h5py.File(tmp_path / "o" / "tokens.h5", "r") as f:
        assert f.attrs["n_tokens"] == 7


# ------------------------------------------------------------------ acceptance: the real chain

def test_small_preset_combinations_are_tokens(small_chain):
    """On the simulator's truth (`small` preset): >= 80 % of the planted TF combinations have a
    token whose centroid's top TFs are exactly that combination."""
    with h5py.File(small_chain["signal"], "r") as f:
        assert "control_signal" in f       # the input control is used by normalize
    grammar = json.loads((small_chain["truth"] / "grammar.json").read_text())
    combos = [m["tfs"] for m in grammar["modules"]]
    vocab = vb.vocabulary_from_tokens(read_tokens(small_chain["tokens"]))
    assert recall(vocab, combos) >= RECALL
    # the same definition is written to vocabulary.tsv
    tab = pd.read_csv(small_chain["tokens"].parent / "vocabulary.tsv", sep="\t", keep_default_na=False)
    listed = {frozenset(s.split(",")) for s in tab.top_tfs if s}
    assert np.mean([frozenset(c) in listed for c in combos]) >= RECALL


def test_small_preset_bound_windows_match_planted_sites(small_chain):
    """Bound windows against the planted truth (bench/binding.py): >= 80 % of bound windows have
    every called TF within 60 bp of a planted site of that TF, and >= 95 % of the windows holding
    a planted site are bound."""
    from tfvocab.formats import NormalizedFile, read_promoters
    from tfvocab.simulate.grammar import call_accuracy, site_windows

    vocab = vb.vocabulary_from_tokens(read_tokens(small_chain["tokens"]))
    with NormalizedFile(small_chain["normalized"]) as nf:
        X, M = nf.block(0, nf.shape[0])
        genes, tfs, ws = nf.genes, nf.tfs, nf.geometry.window_start
    G, W, T = X.shape
    assert vocab.calibrated and vocab.n_windows == W
    on = vb.vocab_calls(X.reshape(-1, T), M.reshape(-1, T), vocab).reshape(G, W, T)
    sites = pd.read_csv(small_chain["truth"] / "sites.tsv", sep="\t", keep_default_na=False,
                        na_values=[""])
    holding, near = site_windows(sites, read_promoters(small_chain["promoters"]), genes, ws, 50, tfs)
    acc = call_accuracy(on, holding, near)
    assert acc["window_precision"] >= 0.8 and acc["window_recall"] >= 0.95, acc
    assert acc["bound_frac"] < 0.6
