"""interpret: rollout, integrated gradients (completeness), knock-outs, truth check, outputs, CLI."""
from __future__ import annotations

import json

import h5py
import numpy as np
import pandas as pd
import pytest
import torch
from click.testing import CliRunner

from tfvocab.evaluation import attribution, interpret
from tfvocab.cli import main
from tfvocab.model.model import ModelConfig, SiameseTransformer

torch.set_num_threads(1)


def test_rollout_of_uniform_attention_is_uniform_and_identity_passes_through():
    B, H, L = 2, 3, 5
    uniform = [torch.full((B, H, L, L), 1.0 / L) for _ in range(2)]
    kpm = torch.zeros(B, L, dtype=torch.bool)
    r = attribution.attention_rollout(uniform, kpm, "cls", has_cls=True)
    assert r.shape == (B, L - 1)
    assert torch.allclose(r, torch.full_like(r, 1 / (L - 1)))
    # attention that only looks at itself: the CLS row keeps nothing from the windows but the
    # renormalised residual -> still a distribution; a "look at window 2" layer concentrates there
    focus = torch.zeros(B, H, L, L)
    focus[..., 2] = 1.0
    r = attribution.attention_rollout([focus], kpm, "cls", has_cls=True)
    assert torch.allclose(r.sum(-1), torch.ones(B))
    assert (r.argmax(-1) == 1).all() and r[0, 1] == pytest.approx(1.0)     # window index 1 = position 2
    rm = attribution.attention_rollout([focus], kpm, "mean", has_cls=False)
    assert rm.shape == (B, L) and (rm.argmax(-1) == 2).all()


def _model(mode="continuous", pooling="cls", seed=0):
    torch.manual_seed(seed)
    return SiameseTransformer(ModelConfig(input=mode, n_tokens=7, n_tfs=4, n_windows=6, d_model=16, n_heads=2,
                                          n_layers=2, head_width=16, pooling=pooling, dropout=0.0,
                                          attn_dropout=0.0)).eval()


@pytest.mark.parametrize("pooling", ["cls", "mean"])
def test_gene_rollout_ignores_masked_windows(pooling):
    m = _model(pooling=pooling)
    vals = torch.randn(3, 6, 4)
    mask = torch.zeros(3, 6, dtype=torch.bool)
    mask[0, 4:] = True
    r = attribution.gene_rollout(m, None, vals, mask)
    assert r.shape == (3, 6)
    assert torch.allclose(r.sum(-1), torch.ones(3), atol=1e-5)
    if pooling == "cls":
        assert r[0, 4:].abs().max() < 1e-6


@pytest.mark.parametrize("mode", ["continuous", "tokens", "both"])
def test_integrated_gradients_completeness(mode):
    m = _model(mode)
    for p in m.parameters():
        p.requires_grad_(False)
    g = torch.Generator().manual_seed(1)
    mk = lambda: {"tokens": torch.randint(2, 7, (6,), generator=g) if mode != "continuous" else None,  # noqa: E731
                  "values": 2 * torch.randn(6, 4, generator=g) if mode != "tokens" else None,
                  "mask": torch.tensor([False, False, False, False, False, True])}
    a, b = mk(), mk()
    if mode == "tokens":
        base = m.tok_emb(torch.ones(6, dtype=torch.long))
        r = attribution.integrated_gradients(m, a, b, base, base, "embedding", steps=64)
        assert r["attr_a"].shape == (6, 16)
    else:
        r = attribution.integrated_gradients(m, a, b, torch.zeros(6, 4), torch.zeros(6, 4), "values", steps=64)
        assert r["attr_a"].shape == (6, 4)
    gap = r["logit"] - r["baseline_logit"]
    assert abs(gap) > 1e-3
    assert r["delta_sum"] == pytest.approx(gap, rel=0.05, abs=1e-3)         # completeness
    with torch.no_grad():
        ref = m.score(m.encode(None if a["tokens"] is None else a["tokens"][None],
                               None if a["values"] is None else a["values"][None], a["mask"][None]),
                      m.encode(None if b["tokens"] is None else b["tokens"][None],
                               None if b["values"] is None else b["values"][None], b["mask"][None]))
    assert r["logit"] == pytest.approx(float(ref), abs=1e-4)                  # f(x) is the model's logit
    assert not hasattr(m.__dict__, "embed_windows")                             # override removed


def test_knockout_values_sets_one_tf_to_null_where_observed():
    x = np.arange(12, dtype=np.float32).reshape(3, 4)
    obs = np.ones((3, 4), bool)
    obs[1, 2] = False
    null = np.array([-1, -2, -3, -4], np.float32)
    k = attribution.knockout_values(x, obs, null)
    assert k.shape == (4, 3, 4)
    assert (k[2][:, 2] == [-3, 6, -3]).all()                                    # window 1 unobserved: kept
    assert (np.delete(k[2], 2, axis=1) == np.delete(x, 2, axis=1)).all()        # other TFs untouched


def test_window_site_overlap_and_enrichment():
    ws = np.arange(-200, 100, 50)                                               # 6 windows
    ov = interpret.window_site_overlap(ws, np.array([-140, 45]), site_width=20, width=50)
    assert ov.tolist() == [False, True, False, False, True, True]               # [-150,-130), [35,55)
    assert interpret.window_site_overlap(ws, np.array([-100]), 20, 50).tolist() == [False, True, True, False, False, False]
    # the window width comes from the data's geometry: 100 bp windows every 50 bp
    assert interpret.window_site_overlap(ws, np.array([-140]), 20, 100).tolist() == [True, True, False, False, False, False]
    imp = np.array([[0.1, 5.0, 0.2, 0.1, 0.3, 0.0, 0, 0, 0, 0]])
    overlap = np.zeros((1, 10), bool)
    overlap[0, 1] = True
    valid = np.ones((1, 10), bool)
    e = interpret.site_enrichment(imp, overlap, valid, top_frac=0.1)
    assert e["top_windows"] == 1 and e["frac_top_on_site"] == 1.0
    assert e["enrichment"] == pytest.approx(10.0)


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory):
    from tfvocab.data.genedata import load_gene_data, write_synthetic
    from tfvocab.model.train import build_model, resolve_params, save_model

    root = tmp_path_factory.mktemp("interp")
    paths = write_synthetic(root, n_genes=80, n_windows=12, n_tfs=5, n_modules=3, module_size=10)
    for mode in ("continuous", "tokens"):
        params = resolve_params(d_model=16, n_heads=2, n_layers=1, head_width=16, seed=0, input=mode)
        data = load_gene_data(paths["tokens"], paths["normalized"], mode)
        torch.manual_seed(0)
        paths[f"model_{mode}"] = save_model(root / f"model_{mode}.pt", build_model(params, data), params,
                                            data, 0, 0.0)
    return paths


@pytest.mark.parametrize("mode", ["continuous", "tokens"])
def test_run_outputs(synthetic, tmp_path, mode):
    out = interpret.run(synthetic[f"model_{mode}"], synthetic["tokens"], synthetic["normalized"],
                        synthetic["pairs"], tmp_path, n_pairs=4, n_plots=2, steps=16)
    pairs = pd.read_csv(synthetic["pairs"], sep="\t")
    test_pos = pairs[(pairs.label == 1) & (pairs.split == "test")]
    P = min(4, len(test_pos))
    assert P >= 2
    with h5py.File(out["attributions"], "r") as f:
        assert len(f["gene_a"]) == P
        if mode == "continuous":
            assert f["ig"].shape == (P, 2, 12, 5)
        else:
            assert f["ig_tokens"].shape == (P, 2, 12)
        assert np.all(np.abs(f["completeness_error"][()]) <= 0.05 * np.abs(f["logit"][()] - f["baseline_logit"][()]) + 1e-3)
        ga = [x.decode() for x in f["gene_a"][()]]
    assert set(ga) <= set(test_pos.gene_a)                                      # the positive test pairs
    with h5py.File(out["attention"], "r") as f:
        roll = f["rollout"][()]
        assert roll.shape[1] == 12 and np.allclose(roll.sum(1), 1, atol=1e-5)
        assert len(f["window_start"]) == 12
        genes = [x.decode() for x in f["genes"][()]]
        assert [genes[i] for i in f["pair_genes"][:, 0]] == ga
    ko = pd.read_csv(out["tf_knockout"], sep="\t")
    assert list(ko.columns[:6]) == ["pair", "gene_a", "gene_b", "tf", "score", "delta"]
    assert len(ko) == P * 5
    assert np.allclose(ko["score"] - ko["base_score"], ko["delta"], atol=1e-5)
    ti = pd.read_csv(out["token_importance"], sep="\t")
    assert {"token", "n_windows", "mean_abs_ig", "top_tfs"} <= set(ti.columns)
    assert ti["n_windows"].sum() == P * 2 * 12
    pngs = sorted(p.name for p in tmp_path.glob("*.png"))
    assert len([p for p in pngs if p.startswith("ig_pair")]) == 2
    assert "token_importance.png" in pngs and "attention_profile.png" in pngs
    summary = json.loads(out["summary"].read_text())
    assert summary["n_pairs"] == P and "completeness" in summary


def test_knockout_of_an_unbound_tf_changes_nothing(synthetic, tmp_path):
    """A TF whose signal is already at its null level everywhere: knock-out delta exactly 0."""
    import shutil

    norm = tmp_path / "normalized.h5"
    shutil.copy(synthetic["normalized"], norm)
    with h5py.File(norm, "r+") as f:
        s = f["signal"][()]
        s[:, :, 4] = np.where(np.isnan(s[:, :, 4]), np.nan, 0.0)
        f["signal"][...] = s
    out = interpret.run(synthetic["model_continuous"], synthetic["tokens"], norm, synthetic["pairs"],
                        tmp_path / "o", n_pairs=3, n_plots=0, steps=8)
    ko = pd.read_csv(out["tf_knockout"], sep="\t")
    assert np.allclose(ko.loc[ko.tf == "TF4", "delta"], 0.0, atol=1e-6)
    assert ko.loc[ko.tf != "TF4", "delta"].abs().max() > 0
    # deterministic: same inputs + seed -> same files
    out2 = interpret.run(synthetic["model_continuous"], synthetic["tokens"], norm, synthetic["pairs"],
                         tmp_path / "o2", n_pairs=3, n_plots=0, steps=8)
    assert out["tf_knockout"].read_bytes() == out2["tf_knockout"].read_bytes()


def test_cli(synthetic, tmp_path):
    args = ["interpret", "--model", str(synthetic["model_continuous"]), "--tokens", str(synthetic["tokens"]),
            "--normalized", str(synthetic["normalized"]), "--pairs", str(synthetic["pairs"]),
            "--outdir", str(tmp_path / "c"), "--n-pairs", "2", "--n-plots", "1", "--steps", "8"]
    res = CliRunner().invoke(main, args)
    assert res.exit_code == 0, res.output
    assert (tmp_path / "c" / "tf_knockout.tsv").exists()
    res = CliRunner().invoke(main, args + ["--truth", str(tmp_path)])
    assert res.exit_code == 2 and "truth folder lacks" in res.output


# ------------------------------------------------------------------------------------------------
# acceptance on the `small` preset: the whole chain, a small model, interpret --truth

SMALL_TRAIN = {"input": "continuous", "d_model": 32, "n_layers": 1, "n_heads": 2, "head_width": 64,
               "dropout": 0.1, "batch_size": 1024, "lr": 1e-3, "epochs": 12, "patience": 4, "seed": 0}


@pytest.mark.slow
def test_small_preset_ig_finds_planted_sites_and_module_tf_knockouts_hurt(small_chain, tmp_path):
    """Top-10% IG windows of true co-expressed test pairs overlap planted module sites >= 3x more
    than chance; knocking out the pair's module TFs lowers its score more than a random non-module TF."""
    from dataclasses import fields

    from tfvocab.model import train
    from tfvocab.model.model import ModelConfig

    torch.set_num_threads(1)
    prom, norm, tok, pp = (small_chain[k] for k in ("promoters", "normalized", "tokens", "pairs"))
    cfg = dict(SMALL_TRAIN)
    if "pool_dim" in {f.name for f in fields(ModelConfig)}:
        cfg.update(pooling="flatten", pool_dim=8)     # keeps window positions (model.py)
    model = train.run(tokens=tok, normalized=norm, pairs=pp, outdir=tmp_path / "train", **cfg)["model"]
    out = interpret.run(model, tok, norm, pp, tmp_path / "interpret", promoters=prom, truth=small_chain["truth"],
                        n_pairs=50, n_plots=2)
    tc = json.loads(out["summary"].read_text())["truth_check"]
    print(f"\nsmall preset: top-10% IG windows on planted module sites {tc['ig_site_frac_top_on_site']:.1%} "
          f"vs {tc['ig_site_frac_all_on_site']:.1%} by chance -> x{tc['ig_site_enrichment']:.2f}; "
          f"knock-out mean delta: module TFs {tc['ko_module_tf_mean_delta']:+.4f}, random non-module TF "
          f"{tc['ko_random_non_module_tf_mean_delta']:+.4f} (all non-module {tc['ko_non_module_tf_mean_delta']:+.4f})")
    assert tc["n_pairs"] >= 20
    assert tc["ig_site_enrichment"] >= 3.0
    assert tc["ko_module_tf_mean_delta"] < tc["ko_random_non_module_tf_mean_delta"]
    assert tc["ko_module_tf_mean_delta"] < tc["ko_non_module_tf_mean_delta"]
    summary = json.loads(out["summary"].read_text())
    c = summary["completeness"]
    print(f"IG completeness ({c['steps']} steps): max |sum(attr) - (f(x) - f(baseline))| = {c['max_abs_error']:.4f} "
          f"logit, mean |f(x) - f(baseline)| = {c['mean_abs_gap']:.3f}")
    # the trapezoid rule's error: the default cosine head bends the logit sharply along the path
    # (64 steps: 28 % of the mean gap, 256 steps - the default - 5.6 %, bench chain of the small
    # preset); the bag's pairs are found without gradient, but their weights ramp in from 0
    assert c["max_abs_error"] < 0.10 * c["mean_abs_gap"]
