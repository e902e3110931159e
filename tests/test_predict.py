"""predict: blockwise all-vs-all top-k equals brute force; outputs, network, determinism, CLI."""
from __future__ import annotations

import networkx as nx
import numpy as np
import pandas as pd
import pytest
import torch
from click.testing import CliRunner

from tfvocab.evaluation import predict
from tfvocab.cli import main
from tfvocab.model.model import ModelConfig, SiameseTransformer

torch.set_num_threads(1)


def _head(d=8, seed=0):
    torch.manual_seed(seed)
    m = SiameseTransformer(ModelConfig(input="continuous", n_tfs=3, n_windows=4, d_model=d, n_heads=2,
                                       head_width=16, pooling="cls", grammar_bag=0)).eval()
    return predict.model_scorer(m)


def _brute(emb, score, k):
    G = emb.shape[0]
    ia, ib = torch.meshgrid(torch.arange(G), torch.arange(G), indexing="ij")
    full = score(emb[ia.reshape(-1)], emb[ib.reshape(-1)]).reshape(G, G)
    full.fill_diagonal_(float("-inf"))
    return torch.topk(full, k, dim=1)


@pytest.mark.parametrize("block", [1, 7, 16, 100])
def test_blockwise_topk_matches_brute_force(block):
    g = torch.Generator().manual_seed(1)
    emb = torch.randn(37, 8, generator=g)
    score = _head()
    s, i = predict.topk_all_vs_all(emb, score, k=5, block_size=block, pair_chunk=50)
    bs, bi = _brute(emb, score, 5)
    assert torch.allclose(s, bs, atol=1e-6)
    # same partner sets (order may differ only between exactly tied scores)
    assert all(set(a.tolist()) == set(b.tolist()) for a, b in zip(i, bi))
    assert not (i == torch.arange(37)[:, None]).any()          # never its own partner


@pytest.mark.parametrize("head_layers,features", [(1, "full"), (2, "full"), (3, "full"), (2, "similarity")])
def test_fused_head_scorer_equals_model_score(head_layers, features):
    torch.manual_seed(3)
    m = SiameseTransformer(ModelConfig(input="continuous", n_tfs=3, n_windows=4, d_model=8, n_heads=2,
                                       head_width=16, head_layers=head_layers, pooling="cls",
                                       pair_features=features, grammar_bag=0)).eval()
    emb = torch.randn(29, 8)
    fused = predict.FusedHeadScorer(m, emb, rows=3)
    ri, rj = torch.arange(5, 17), torch.arange(29)
    ref = predict.score_block(predict.model_scorer(m), emb[ri], emb[rj])
    assert torch.allclose(fused(ri, rj), ref, atol=1e-6)
    s, i = predict.topk_all_vs_all(emb, predict.model_scorer(m), k=6, block_size=10, block_score=fused)
    bs, bi = _brute(emb, predict.model_scorer(m), 6)
    assert torch.allclose(s, bs, atol=1e-6)


@pytest.mark.parametrize("kw", [
    {},                                                         # the train defaults: flatten pooling
    {"pair_features": "similarity"},
    {"head_layers": 1}, {"head_layers": 3, "activation": "relu"},
    {"pooling": "mean", "pair_features": "similarity"},
    {"pair_features": "cosine"},
    {"grammar_bag": 12, "pair_features": "cosine"},
    {"grammar_bag": 12, "pair_features": "similarity"},
    {"grammar_bag": 12, "pair_features": "full"},
])
def test_fused_head_scorer_default_model_equals_head(kw):
    """Flatten-pooled models (D = W * pool_dim [+ grammar bag]): fused block scores ==
    sigmoid(model.score), for MLP and cosine heads, with and without the grammar bag."""
    torch.manual_seed(5)
    m = SiameseTransformer(ModelConfig(input="continuous", n_tfs=6, n_windows=10, **kw)).eval()
    with torch.no_grad():                                   # real tower embeddings, not random ones
        # z-like values with peaks above the event threshold (2.4 at 6 TFs): the bag is not empty
        emb = m.encode(values=3.0 * torch.randn(41, 10, 6), mask=torch.rand(41, 10) < 0.1)
    assert emb.shape == (41, m.out_dim)
    if m.bag_dim:
        assert (emb[:, m.tower_dim:] != 0).any(1).float().mean() > 0.5
    fused = predict.FusedHeadScorer(m, emb, rows=4)
    ri, rj = torch.arange(3, 22), torch.arange(41)
    ref = predict.score_block(predict.model_scorer(m), emb[ri], emb[rj], pair_chunk=97)
    got = fused(ri, rj)
    assert got.shape == (19, 41)
    assert (got - ref).abs().max() <= 1e-5
    assert not torch.equal(got[:, 0], got[:, 1])              # not a constant head


def test_fused_head_scorer_rejects_unknown_head():
    m = SiameseTransformer(ModelConfig(input="continuous", n_tfs=3, n_windows=4))
    m.head = torch.nn.Sequential(torch.nn.Linear(3 * m.out_dim, 1), torch.nn.Sigmoid(), torch.nn.Sigmoid())
    with pytest.raises(ValueError):
        predict.FusedHeadScorer(m, torch.randn(5, m.out_dim))


def test_asymmetric_score_uses_all_block_pairs():
    g = torch.Generator().manual_seed(2)
    emb = torch.randn(23, 4, generator=g)
    w = torch.randn(4, generator=g)

    def score(a, b):                                          # deliberately not symmetric
        return (a * w).sum(-1) - 0.5 * b.sum(-1)

    assert not predict.is_symmetric(score, emb)
    s, i = predict.topk_all_vs_all(emb, score, k=4, block_size=5)
    bs, bi = _brute(emb, score, 4)
    assert torch.allclose(s, bs, atol=1e-6)


def test_merge_topk_and_small_gene_count():
    best_s = torch.tensor([[5.0, 1.0]])
    best_i = torch.tensor([[3, 4]])
    s, i = predict.merge_topk(best_s, best_i, torch.tensor([[2.0, 9.0, 0.0]]), torch.tensor([7, 8, 9]), 2)
    assert s.tolist() == [[9.0, 5.0]] and i.tolist() == [[8, 3]]
    emb = torch.randn(3, 8)
    s, i = predict.topk_all_vs_all(emb, _head(), k=50)
    assert s.shape == (3, 2)                                  # k clipped to G - 1


def test_topk_edges_union_is_unordered_and_ranked():
    genes = ["g0", "g1", "g2"]
    scores = np.array([[0.9, 0.2], [0.9, 0.5], [0.5, 0.2]])
    partners = np.array([[1, 2], [0, 2], [1, 0]])
    df = predict.topk_edges(genes, scores, partners)
    assert list(df.itertuples(index=False, name=None)) == [
        ("g0", "g1", 0.9, 1), ("g1", "g2", 0.5, 2), ("g0", "g2", 0.2, 3)]
    assert len(predict.topk_edges(genes, scores, partners, min_score=0.4)) == 2


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    from tfvocab.data.genedata import load_gene_data, write_synthetic
    from tfvocab.model.train import build_model, resolve_params, save_model

    root = tmp_path_factory.mktemp("pred")
    paths = write_synthetic(root, n_genes=90, n_windows=12, n_tfs=5, n_modules=3, module_size=10)
    params = resolve_params(d_model=16, n_heads=2, n_layers=1, head_width=16, seed=0)
    data = load_gene_data(paths["tokens"], paths["normalized"], params["input"])
    torch.manual_seed(0)
    model = build_model(params, data)
    paths["model"] = save_model(root / "model.pt", model, params, data, 0, 0.0)
    return paths


def test_all_vs_all_outputs(dataset, tmp_path):
    out = predict.run(dataset["model"], dataset["tokens"], dataset["normalized"], tmp_path / "a",
                      top_k=4, block_size=32, device="cpu")
    pp = pd.read_csv(out["predicted_pairs"], sep="\t")
    assert list(pp.columns) == ["gene_a", "gene_b", "score", "rank"]
    assert (pp["gene_a"] < pp["gene_b"]).all()
    assert pp["score"].between(0, 1).all() and pp["score"].is_monotonic_decreasing
    assert pp["rank"].tolist() == list(range(1, len(pp) + 1))
    # every gene has its 4 partners in the union: 90 * 4 / 2 <= edges <= 90 * 4
    assert 180 <= len(pp) <= 360
    deg = pd.concat([pp["gene_a"], pp["gene_b"]]).value_counts()
    assert len(deg) == 90 and deg.min() >= 4
    g = nx.read_graphml(out["graphml"])
    assert g.number_of_nodes() == 90 and g.number_of_edges() == len(pp)
    w = {tuple(sorted(e)): d["weight"] for *e, d in g.edges(data=True)}
    r = pp.iloc[0]
    assert w[(r.gene_a, r.gene_b)] == pytest.approx(r.score, rel=1e-5)
    mods = pd.read_csv(out["modules"], sep="\t")
    assert sorted(mods["gene_id"]) == sorted(deg.index) and mods["module"].nunique() >= 2
    hubs = pd.read_csv(out["hubs"], sep="\t")
    assert {"gene_id", "degree", "weighted_degree", "betweenness", "module"} <= set(hubs.columns)
    assert hubs["weighted_degree"].is_monotonic_decreasing
    top = hubs.iloc[0]
    assert top["degree"] == deg[top["gene_id"]]
    assert (hubs["degree"] == hubs["gene_id"].map(deg)).all() and len(hubs) == 90
    # one module per gene, the same in modules.tsv, hubs.tsv and the GraphML node attribute
    mod_of = dict(zip(mods["gene_id"], mods["module"]))
    assert (hubs["module"] == hubs["gene_id"].map(mod_of)).all()
    assert {n: d["module"] for n, d in g.nodes(data=True)} == mod_of
    assert mods.groupby("module").size().is_monotonic_decreasing
    # same inputs + seed -> identical files
    out2 = predict.run(dataset["model"], dataset["tokens"], dataset["normalized"], tmp_path / "b",
                       top_k=4, block_size=32, device="cpu")
    for key in ("predicted_pairs", "modules", "hubs", "graphml"):
        assert out[key].read_bytes() == out2[key].read_bytes(), key
    # another block size: the same edges and scores up to float32 rounding
    out3 = predict.run(dataset["model"], dataset["tokens"], dataset["normalized"], tmp_path / "c",
                       top_k=4, block_size=17, device="cpu")
    pp3 = pd.read_csv(out3["predicted_pairs"], sep="\t")
    merged = pp.merge(pp3, on=["gene_a", "gene_b"], how="outer", suffixes=("", "_3"))
    assert len(merged) == len(pp) and np.allclose(merged["score"], merged["score_3"], atol=1e-5)


def test_pairs_mode_matches_all_vs_all_scores(dataset, tmp_path):
    allv = predict.run(dataset["model"], dataset["tokens"], dataset["normalized"], tmp_path / "a",
                       top_k=3, device="cpu")
    pp = pd.read_csv(allv["predicted_pairs"], sep="\t").head(20)
    given = pp[["gene_b", "gene_a"]].rename(columns={"gene_b": "gene_a", "gene_a": "gene_b"})
    given["note"] = "x"
    given.to_csv(tmp_path / "given.tsv", sep="\t", index=False)
    out = predict.run(dataset["model"], dataset["tokens"], dataset["normalized"], tmp_path / "p",
                      pairs=tmp_path / "given.tsv", device="cpu", min_score=0.0)
    got = pd.read_csv(out["predicted_pairs"], sep="\t")
    assert len(got) == 20 and "note" in got.columns
    m = {frozenset((a, b)): s for a, b, s in zip(pp.gene_a, pp.gene_b, pp.score)}
    for a, b, s in zip(got.gene_a, got.gene_b, got.score):
        assert s == pytest.approx(m[frozenset((a, b))], abs=1e-5)   # symmetric head, same numbers


def test_gene_subset_and_cli(dataset, tmp_path):
    genes = pd.read_csv(dataset["promoters"], sep="\t")["gene_id"].head(30)
    (tmp_path / "genes.txt").write_text("\n".join(genes) + "\n")
    res = CliRunner().invoke(main, ["predict", "--model", str(dataset["model"]), "--tokens",
                                    str(dataset["tokens"]), "--normalized", str(dataset["normalized"]),
                                    "--outdir", str(tmp_path / "c"), "--genes", str(tmp_path / "genes.txt"),
                                    "--top-k", "5", "--block-size", "8"])
    assert res.exit_code == 0, res.output
    pp = pd.read_csv(tmp_path / "c" / "predicted_pairs.tsv", sep="\t")
    assert set(pp["gene_a"]) | set(pp["gene_b"]) <= set(genes)
    (tmp_path / "bad.txt").write_text("NOT_A_GENE\n")
    res = CliRunner().invoke(main, ["predict", "--model", str(dataset["model"]), "--tokens",
                                    str(dataset["tokens"]), "--normalized", str(dataset["normalized"]),
                                    "--outdir", str(tmp_path / "d"), "--genes", str(tmp_path / "bad.txt")])
    assert res.exit_code == 2 and "NOT_A_GENE" in res.output


def test_streamed_inputs_equal_loaded_inputs(tmp_path):
    """load_gene_data(stream=True) reads gene blocks from normalized.h5: same values and masks,
    also when normalized.h5 lists the genes in another order and for scattered gene subsets."""
    import h5py

    from tfvocab.data.genedata import NormalizedRows, StreamedValues, load_gene_data, write_synthetic
    paths = write_synthetic(tmp_path, n_genes=70, n_windows=9, n_tfs=4, missing_frac=0.2, seed=3)
    from tfvocab.formats import NormalizedFile, NormalizedWriter

    with NormalizedFile(paths["normalized"]) as nf:            # a gene-shuffled copy of normalized.h5
        genes, tfs, geo, stats, lineage = nf.genes, nf.tfs, nf.geometry, nf.stats, nf.lineage
        sig, msk = nf.block(0, len(genes))
    sig[5, 2, 1] = np.nan                                      # NaN outside the mask -> 0, missing
    perm = np.random.default_rng(0).permutation(len(genes))
    shuffled = tmp_path / "shuffled.h5"
    with NormalizedWriter(shuffled, genes=[genes[i] for i in perm], tfs=tfs, geometry=geo,
                          stats=stats, lineage={k: v for k, v in lineage.items() if k != "stats"}) as w:
        w.write(0, sig[perm], msk[perm])
    for norm in (paths["normalized"], shuffled):
        for mode in ("continuous", "both"):
            full = load_gene_data(paths["tokens"], norm, mode)
            lazy = load_gene_data(paths["tokens"], norm, mode, stream=True, block_genes=8)
            assert isinstance(lazy.values, StreamedValues) and lazy.values.shape == tuple(full.values.shape)
            assert torch.equal(lazy.mask, full.mask) and torch.equal(lazy.value_mask, full.value_mask)
            for idx in (torch.arange(70), torch.tensor([69, 0, 33, 33, 2]), torch.tensor([4, 60]),
                        torch.arange(10, 30)):
                assert torch.equal(lazy.values[idx], full.values[idx])
    assert full.values[5, 2, 1] == 0 and full.values.abs().sum() > 0
    # the reader on its own: whole file, file order, window mask = every TF missing
    rows = NormalizedRows(paths["normalized"], block_genes=16)
    v, m = rows.read_all()
    assert v.shape == (70, 9, 4) and v.dtype == np.float32 and m.shape == (70, 9)
    assert np.array_equal(m, msk.all(axis=2)) and m.any()
    rows.close()


def test_streamed_predict_equals_in_memory(dataset, tmp_path):
    a = predict.run(dataset["model"], dataset["tokens"], dataset["normalized"], tmp_path / "s",
                    top_k=3, block_size=20, device="cpu")
    b = predict.run(dataset["model"], dataset["tokens"], dataset["normalized"], tmp_path / "m",
                    top_k=3, block_size=20, device="cpu", stream=False)
    for key in ("predicted_pairs", "modules", "hubs", "graphml"):
        assert a[key].read_bytes() == b[key].read_bytes(), key
    import json

    sec = json.loads(a["summary"].read_text())["seconds"]
    assert {"load", "embed", "score", "edges", "network", "total"} <= set(sec)
    assert sec["total"] >= sec["score"] >= 0
