"""The grammar preset end to end (bench/grammar.py, seed 0, fold 0 of `pairs --folds 5`): the
default transformer (`tfvocab train` defaults: gene batches, ordered-pair bag learnt from 0, cosine
head) tells module
members from decoys carrying the module's TFs reversed or spaced out, where bag-of-TFs baselines
cannot, and ranks the held-out universe better than every baseline of `tfvocab evaluate`."""
from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _bench():
    spec = importlib.util.spec_from_file_location("grammar_bench", ROOT / "bench" / "grammar.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.mark.slow
def test_grammar_preset_order_and_spacing(tmp_path):
    """Seed 0 (bench/grammar.py variant ``default``: universe AUPRC 0.207, reversed / spaced decoy
    AUROC 0.854 / 0.816; ``ordered_pairs_lr`` 0.137, 0.865 / 0.813): member-vs-reversed and
    member-vs-spaced decoy AUROC >= 0.80 and >= 0.15 above the position-resolved window
    correlation against reversed decoys (the issue's 0.90 is not reached: docs/evaluation.md,
    "Training batches"); bag-of-TFs baselines 0.5 +- 0.1 on both; universe AUPRC >= 2x the best
    baseline without the grammar bag and above ``ordered_pairs_lr`` (the bag with a linear
    reader); the same bags with the planted sites' positions (bench/grammar.py
    ``position_ceiling``) reach the issue's 0.90 on both, and the model is within 0.03 of its
    bags' ceiling."""
    import torch

    g = _bench()
    torch.set_num_threads(1)
    chain = g.build_chain(tmp_path / "seed0", seed=0, stride=50)
    data = g.gene_inputs(chain, ("mean",), "continuous")
    sp = g.make_split(chain, data, fold=0)
    uni = g.universe(data.genes, sp["split"], chain["truth"])
    dec = g.decoy_pairs(data.genes, sp["split"], chain["truth"])
    assert all(y.sum() >= 200 and (1 - y).sum() >= 400 for _, _, y in dec.values())
    base = {k: g.score_metrics(fn, uni, dec, ci=False)
            for k, fn in g.baseline_scorers(data, sp["split"], 0).items()}
    for name in ("cosine_profile", "logreg_profile"):
        assert abs(base[name]["auroc_reversed"] - 0.5) < 0.1, (name, base[name])
        assert abs(base[name]["auroc_spaced"] - 0.5) < 0.1, (name, base[name])
    model, _ = g.train_transformer(data, sp, g.VARIANTS["default"][3], 0, tmp_path / "train")
    assert model.bag_dim > 0 and model.config.pair_features == "cosine" and model.config.grammar_init == 0
    m = g.score_metrics(g.transformer_scorer(model, data), uni, dec, ci=False)
    assert m["auroc_reversed"] >= 0.80, m
    assert m["auroc_spaced"] >= 0.80, m
    assert m["auroc_reversed"] >= base["window_correlation"]["auroc_reversed"] + 0.15, (m, base)
    # ordered_pairs_lr reads the same ordered-pair bag with a trained linear reader (seed 0: 0.137)
    assert m["auprc"] >= 2 * max(b["auprc"] for k, b in base.items() if k != "ordered_pairs_lr"), (m, base)
    assert m["auprc"] > base["ordered_pairs_lr"]["auprc"], (m, base)
    # what holds the model below the 0.90 is where its events sit, not how it reads them:
    # the same bags with the planted sites' positions separate the decoys (seed 0: 0.994 / 0.932),
    # and the model is within 0.03 of the oracle of its own bags (0.867 / 0.814)
    ceil = {r["positions"]: r for r in g.position_ceiling(chain, data, dec)}
    assert ceil["planted sites"]["auroc_reversed"] >= 0.97, ceil
    assert ceil["planted sites"]["auroc_spaced"] >= 0.90, ceil
    for kind in ("reversed", "spaced"):
        assert m[f"auroc_{kind}"] >= ceil["z-centroid"][f"auroc_{kind}"] - 0.03, (m, ceil)
