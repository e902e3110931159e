"""Score gene pairs with a trained model and build the predicted co-expression network.

Every gene is embedded once (batched, :func:`tfvocab.model.inference.embed_genes`); pairs then only go
through the symmetric pair head (block scoring: :mod:`tfvocab.model.scoring`). Two modes:

* ``pairs``: score the given pairs (``gene_a, gene_b`` columns; other columns are kept).
* all-vs-all: the (G, G) score matrix is never held. Genes are cut into blocks of ``block_size``;
  for each block pair (i, j >= i) the (b, b) block of scores is computed through the head in
  sub-chunks of at most ``pair_chunk`` pairs, and merged into a running top-k per gene
  (``torch.topk`` over ``[current best | new block]``). Because the head is symmetric
  (``score(a, b) == score(b, a)``, checked on a sample) each block is scored once and merged into
  the rows of both of its gene sets, halving the work. Peak memory is
  ``O(G * (D + W + k) + block_size**2 + block_size * D * 8)``: independent of G except for the
  embeddings, window masks and top-k lists (27,000 genes x (400 + 50 + 2 x 50) numbers = ~60 MB
  with the default flatten pooling).

Inputs are streamed: ``normalized.h5`` stays on disk and the embedding loop reads gene blocks
from it (``load_gene_data(stream=True)``), so memory does not hold the (G, W, T) signal
(27,000 x 50 x 300 float32 = 1.6 GB). The all-vs-all head uses :class:`FusedHeadScorer`.

Scores are probabilities (sigmoid of the model's logit). The network is the union of every
gene's top-k list (optionally only scores >= ``min_score``); modules are Louvain communities and
hubs are ranked by weighted degree (:mod:`tfvocab.evaluation.network`).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import torch

from .. import formats
from ..errors import TfvocabError
from ..model.inference import embed_genes, load_model, resolve_device
from ..io import atomic_path, provenance, write_json, write_table
from ..publish import step_outputs
from ..log import get_logger, timed
from . import network
# the block-scoring pieces live in tfvocab.model.scoring (shared with tfvocab.data.universe); re-exported here
from ..model.scoring import (FusedHeadScorer, ScoreFn, fix_mmap_threshold, is_symmetric,  # noqa: F401
                      merge_topk, model_scorer, score_block, topk_all_vs_all)

log = get_logger("predict")



def topk_edges(genes: list[str], scores: np.ndarray, partners: np.ndarray,
               min_score: float | None = None) -> pd.DataFrame:
    """The union of per-gene top-k lists as unordered pairs.

    ``scores, partners`` (G, k). Returns ``gene_a, gene_b, score, rank`` with ``gene_a < gene_b``,
    one row per pair, sorted by score (descending) then gene IDs; ``rank`` = 1 for the best pair.
    ``min_score`` drops pairs scoring below it. Works on integer keys (names only at the end),
    so memory stays ~40 bytes per candidate edge.
    """
    G, k = partners.shape
    a = np.repeat(np.arange(G, dtype=np.int64), k)
    b = partners.reshape(-1).astype(np.int64)
    s = scores.reshape(-1).astype(np.float64)
    ok = (b >= 0) & np.isfinite(s)
    if min_score is not None:
        ok &= s >= min_score
    a, b, s = a[ok], b[ok], s[ok]
    names = np.asarray(genes, dtype=object)
    name_rank = np.empty(G, np.int64)
    name_rank[np.argsort(names, kind="stable")] = np.arange(G)
    ra, rb = name_rank[a], name_rank[b]
    lo, hi = np.minimum(ra, rb), np.maximum(ra, rb)
    _, first = np.unique(lo * G + hi, return_index=True)     # each unordered pair once
    lo, hi, s = lo[first], hi[first], s[first]
    order = np.lexsort((hi, lo, -s))                          # score desc, then gene IDs
    by_rank = names[np.argsort(name_rank)]
    return pd.DataFrame({"gene_a": by_rank[lo[order]], "gene_b": by_rank[hi[order]], "score": s[order],
                         "rank": np.arange(1, len(order) + 1)})


def _ranked(df: pd.DataFrame) -> pd.DataFrame:
    df = df.sort_values(["score", "gene_a", "gene_b"], ascending=[False, True, True], kind="mergesort")
    df = df.reset_index(drop=True)
    df["rank"] = np.arange(1, len(df) + 1)
    return df


# ----------------------------------------------------------------------------------------------
# model plumbing


def _read_gene_list(path) -> list[str]:
    path = Path(path)
    if not path.exists():
        raise TfvocabError("gene list not found", path=str(path))
    lines = [ln.strip() for ln in path.read_text().splitlines()]
    lines = [ln.split("\t")[0] for ln in lines if ln and not ln.startswith("#")]
    if lines and lines[0] in ("gene_id", "gene"):
        lines = lines[1:]
    if not lines:
        raise TfvocabError("gene list is empty", path=str(path), hint="one gene ID per line")
    return list(dict.fromkeys(lines))


def _read_pair_list(path, index: dict[str, int]) -> pd.DataFrame:
    path = Path(path)
    if not path.exists():
        raise TfvocabError("pairs file not found", path=str(path))
    df = pd.read_csv(path, sep="\t", dtype={"gene_a": str, "gene_b": str})
    if not {"gene_a", "gene_b"} <= set(df.columns):
        raise TfvocabError("missing column(s) gene_a/gene_b", path=str(path),
                           hint="a TSV with header gene_a<TAB>gene_b")
    for col in ("gene_a", "gene_b"):
        unknown = ~df[col].isin(index)
        if unknown.any():
            row = int(np.flatnonzero(unknown.to_numpy())[0])
            raise TfvocabError(f"gene '{df[col].iloc[row]}' has no promoter data "
                               f"({int(unknown.sum())} pairs affected)", path=str(path),
                               record=f"line {row + 2}",
                               hint="use the tokens.h5/normalized.h5 of the same promoters.tsv")
    return df


def network_outputs(edges: pd.DataFrame, genes: list[str], out, seed: int, prov: dict) -> None:
    """Write ``network.graphml``, ``modules.tsv`` and ``hubs.tsv`` for ``edges`` through ``out``
    (a :class:`tfvocab.publish.StepOutputs`). Nodes are the genes of ``edges`` (``genes`` is the
    scored universe, kept for the signature; genes without an edge are not nodes)."""
    with timed(f"network: graph of {len(edges)} edges", log):
        g = network.build_graph(edges, genes=None)
    with timed(f"network: Louvain modules of {g.n_nodes} genes, {g.n_edges} edges", log):
        membership = network.module_membership(g, seed=seed)
        mods = network.modules_table(g, membership)
    with timed("network: hubs (degree, weighted degree, betweenness)", log):
        hub = network.hubs(g, seed=seed)
        mod_of = pd.Series(membership, index=g.genes.astype(str))
        hub["module"] = mod_of.reindex(hub["gene_id"].astype(str)).fillna(-1).astype(np.int64).to_numpy()
    with timed("network: GraphML", log), atomic_path(out.path("network.graphml")) as tmp:
        network.write_graphml(g, tmp, membership)
    write_table(out.path("modules.tsv"), mods, prov)
    write_table(out.path("hubs.tsv"), hub, prov, float_format="%.6g")


def run(model, tokens=None, normalized=None, outdir=".", *, pairs=None, genes=None, top_k: int = 50,
        block_size: int = 1024, min_score: float | None = None, device: str = "auto", seed: int = 0,
        pair_chunk: int = 65536, stream: bool = True) -> dict[str, Path]:
    """``tfvocab predict``: score pairs or all-vs-all; write pairs, GraphML network, modules, hubs.

    ``pairs``: TSV with ``gene_a, gene_b`` (scored as given; the network = pairs scoring >=
    ``min_score``, default 0.5). Without ``pairs``: all-vs-all among ``genes`` (file, one ID per
    line; default every gene), keeping the ``top_k`` best partners per gene (probability >=
    ``min_score`` if given). Outputs: ``predicted_pairs.tsv`` (gene_a, gene_b, score, rank),
    ``network.graphml``, ``modules.tsv``, ``hubs.tsv``, ``predict.summary.json`` (with
    ``seconds``: wall time per stage). ``stream`` (default): read ``normalized.h5`` gene block by
    gene block while embedding instead of loading it whole (same numbers, bounded memory).
    """
    import time

    t_start = time.perf_counter()
    seconds: dict[str, float] = {}

    def lap(name: str, t0: float) -> float:
        t1 = time.perf_counter()
        seconds[name] = round(t1 - t0, 3)
        return t1

    from ..data.genedata import StreamedValues, load_gene_data

    outdir = Path(outdir)
    fix_mmap_threshold()  # bounded memory whatever the gene count (see its docstring)
    dev = resolve_device(device)
    params = {"model": str(model), "tokens": str(tokens), "normalized": str(normalized),
              "pairs": None if pairs is None else str(pairs), "genes": None if genes is None else str(genes),
              "top_k": top_k, "block_size": block_size, "min_score": min_score, "seed": seed}
    prov = provenance("predict", params)
    if top_k < 1:
        raise TfvocabError("--top-k must be >= 1")
    if block_size < 1:
        raise TfvocabError("--block-size must be >= 1")
    with timed("loading model and inputs", log):
        data = load_gene_data(tokens, normalized, formats.read_model(model)["input"], stream=stream)
        # new genes may be scored: only the vocabulary, stats and geometry must match
        net, _ = load_model(model, data, device=dev, same_promoters=False)
        data.to(dev)
    t = lap("load", t_start)
    index = data.index
    score = model_scorer(net)
    summary = {"mode": "pairs" if pairs is not None else "all_vs_all", "device": str(dev)}
    if pairs is not None:
        df = _read_pair_list(pairs, index)
        ia = df["gene_a"].map(index).to_numpy()
        ib = df["gene_b"].map(index).to_numpy()
        uniq = np.unique(np.concatenate([ia, ib]))
        with timed(f"embedding {len(uniq)} genes", log):
            emb = embed_genes(net, data, torch.as_tensor(uniq), dev)
        t = lap("embed", t)
        pos = {g: i for i, g in enumerate(uniq)}
        pa = torch.as_tensor([pos[x] for x in ia], dtype=torch.long, device=dev)
        pb = torch.as_tensor([pos[x] for x in ib], dtype=torch.long, device=dev)
        out = []
        with timed(f"scoring {len(df)} pairs", log):
            for s in range(0, len(df), pair_chunk):
                out.append(score(emb[pa[s:s + pair_chunk]], emb[pb[s:s + pair_chunk]]).cpu())
        df["score"] = torch.cat(out).numpy().astype(np.float64) if out else np.zeros(0)
        t = lap("score", t)
        scored = _ranked(df)
        thr = 0.5 if min_score is None else float(min_score)
        edges = scored[scored["score"] >= thr]
        summary.update(n_pairs_scored=len(scored), edge_threshold=thr)
        node_genes = sorted(set(df["gene_a"]) | set(df["gene_b"]))
    else:
        universe = list(data.genes) if genes is None else _read_gene_list(genes)
        unknown = [g for g in universe if g not in index]
        if unknown:
            raise TfvocabError(f"{len(unknown)} genes have no promoter data (first: {unknown[0]})",
                               path=str(genes), hint="use IDs of promoters.tsv")
        if len(universe) < 2:
            raise TfvocabError("all-vs-all needs at least 2 genes", path=None if genes is None else str(genes))
        idx = torch.as_tensor([index[g] for g in universe], dtype=torch.long)
        with timed(f"embedding {len(idx)} genes", log):
            emb = embed_genes(net, data, idx, dev)
        t = lap("embed", t)
        n_pairs = len(idx) * (len(idx) - 1) // 2
        with timed(f"all-vs-all: {n_pairs:,} pairs in blocks of {block_size} genes, top {top_k}", log), \
                torch.inference_mode():
            try:
                fused = FusedHeadScorer(net, emb)
            except ValueError:
                fused = None
            bs, bi = topk_all_vs_all(emb, score, k=top_k, block_size=block_size, pair_chunk=pair_chunk,
                                     block_score=fused)
        t = lap("score", t)
        edges = topk_edges(universe, bs.cpu().numpy(), bi.cpu().numpy(), min_score)
        scored = edges
        summary.update(n_pairs_scored=n_pairs, top_k=min(top_k, len(idx) - 1), min_score=min_score)
        node_genes = universe
    if isinstance(data.values, StreamedValues):
        data.values.reader.close()
    with step_outputs(outdir, "predict", params) as out:
        write_table(out.path("predicted_pairs.tsv"), scored, prov, float_format="%.6g")
        t = lap("edges", t)
        network_outputs(edges, node_genes, out, seed, prov)
        t = lap("network", t)
        mods = pd.read_csv(out.path("modules.tsv"), sep="\t")
        summary.update(n_genes=len(node_genes), n_edges=int(len(edges)),
                       n_genes_in_network=int(len(set(edges["gene_a"]) | set(edges["gene_b"]))),
                       n_modules=int(mods["module"].nunique()) if len(mods) else 0,
                       median_edge_score=float(edges["score"].median()) if len(edges) else None,
                       seconds={**seconds, "total": round(time.perf_counter() - t_start, 3)},
                       provenance=prov)
        write_json(out.path("predict.summary.json"), summary)
    paths = {k: outdir / v for k, v in (("predicted_pairs", "predicted_pairs.tsv"),
                                        ("graphml", "network.graphml"), ("modules", "modules.tsv"),
                                        ("hubs", "hubs.tsv"), ("summary", "predict.summary.json"))}
    return paths
