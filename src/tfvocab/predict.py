"""Score gene pairs with a trained model and build the predicted co-expression network.

Every gene is embedded once (batched, :func:`tfvocab.inference.embed_genes`); pairs then only go
through the symmetric pair head. Two modes:

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
hubs are ranked by weighted degree (:mod:`tfvocab.network`).
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd
import torch

from . import formats
from .errors import TfvocabError
from .inference import embed_genes, load_model, resolve_device
from .io import atomic_path, provenance, write_json, write_table
from .publish import step_outputs
from .log import get_logger, progress, timed
from . import network

log = get_logger("predict")

ScoreFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def fix_mmap_threshold(nbytes: int = 4 << 20) -> bool:
    """Serve allocations >= ``nbytes`` by mmap (glibc ``mallopt(M_MMAP_THRESHOLD)``).

    glibc raises its mmap threshold every time a large block is freed, after which the
    per-chunk input tensors of the embedding loop (e.g. 256 genes x 50 windows x 300 TFs = 15 MB)
    come from the heap and fragment it: RSS then grows by a few MB per chunk, i.e. with the gene
    count. A fixed threshold returns each freed chunk to the OS. No-op (False) off glibc.
    """
    import ctypes
    import ctypes.util

    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        return bool(libc.mallopt(-3, int(nbytes)))  # -3 = M_MMAP_THRESHOLD
    except (OSError, AttributeError):
        return False


# ----------------------------------------------------------------------------------------------
# blockwise all-vs-all top-k (pure tensor code, independent of the model)


def merge_topk(best_s: torch.Tensor, best_i: torch.Tensor, new_s: torch.Tensor, new_i: torch.Tensor,
               k: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Merge candidate partners into running top-k lists.

    ``best_s, best_i`` (R, k) current best scores / partner indices (``-inf`` / -1 when empty);
    ``new_s`` (R, C) candidate scores; ``new_i`` (R, C) or (C,) their partner indices.
    Returns the updated (R, k) scores (descending) and indices.
    """
    if new_i.dim() == 1:
        new_i = new_i.unsqueeze(0).expand(new_s.shape[0], -1)
    s = torch.cat([best_s, new_s], dim=1)
    i = torch.cat([best_i, new_i], dim=1)
    top, pos = torch.topk(s, k, dim=1, largest=True, sorted=True)
    return top, torch.gather(i, 1, pos)


def score_block(score: ScoreFn, ea: torch.Tensor, eb: torch.Tensor, pair_chunk: int = 65536) -> torch.Tensor:
    """Scores (b, c) of every pair (ea[r], eb[s]) through ``score``, ``pair_chunk`` pairs at a time.

    ``ea`` (b, D), ``eb`` (c, D); ``score(vA (P, D), vB (P, D)) -> (P,)``.
    """
    b, c = ea.shape[0], eb.shape[0]
    out = torch.empty(b, c, dtype=torch.float32, device=ea.device)
    rows = max(1, pair_chunk // max(c, 1))
    for r in range(0, b, rows):
        ra = ea[r:r + rows]
        n = ra.shape[0]
        va = ra.unsqueeze(1).expand(n, c, -1).reshape(n * c, -1)
        vb = eb.unsqueeze(0).expand(n, c, -1).reshape(n * c, -1)
        out[r:r + n] = score(va, vb).float().reshape(n, c)
    return out


class FusedHeadScorer:
    """Block scorer for the model's MLP pair head: the same numbers as ``sigmoid(model.score)``
    (up to float32 rounding, checked in the tests) with no (pairs, 3D) feature matrix.

    The head's first layer ``W [vA + vB, |vA - vB|, vA * vB] + b`` is split by term:

    * ``W_s (vA + vB)`` is linear: ``W_s v`` (+ ``b``) is computed once per gene (``PT``, (H, G));
    * ``W_p (vA * vB)`` is bilinear: for ``n`` rows ``a`` of the block, ``(W_p[:, None, :] * a)``
      ((H, n, D), tiny) times ``eb.T`` ((D, c)) gives every (h, r, s) in one GEMM, with no
      per-pair buffer;
    * only ``W_d |vA - vB|`` needs per-pair features: ``|a - b|`` is written in a reused
      (D, n, c) buffer (contiguous along the partner axis) and goes through one (H, D) GEMM.

    Activations are (H, pairs) so every later layer is one ``addmm`` with the weight on the left
    and the scores come out as rows of the block. Works for ``pair_features`` ``full`` and
    ``similarity`` (no ``W_s`` term), any number of head layers and any activation; a cosine head
    has no MLP (``ValueError``: :func:`score_block` is used instead).
    ``emb`` (G, D) float32; ``rows`` = block rows per GEMM (8 is fastest on CPU for D = 64..400).
    ``__call__(ri, rj)`` -> probabilities (len(ri), len(rj)) for gene rows ``ri`` x ``rj``.
    """

    def __init__(self, model, emb: torch.Tensor, rows: int = 8):
        if getattr(model, "head", None) is None:
            raise ValueError("no MLP pair head (e.g. a cosine head)")
        kind = getattr(model.config, "pair_features", "full")   # full | similarity (model.py)
        n_feat = {"full": 3, "similarity": 2}.get(kind)
        layers = list(model.head)
        linears = [m for m in layers if isinstance(m, torch.nn.Linear)]
        acts = [m for m in layers if not isinstance(m, (torch.nn.Linear, torch.nn.Dropout))]
        D = emb.shape[1]
        if (n_feat is None or len(linears) < 2 or linears[0].in_features != n_feat * D
                or linears[-1].out_features != 1 or len(acts) != len(linears) - 1):
            raise ValueError("unexpected pair head structure")
        emb = emb.float()
        self.emb, self.rows, self.D = emb, max(1, int(rows)), D
        w = linears[0].weight.detach().float()
        H = w.shape[0]
        off = D if n_feat == 3 else 0
        self.w_abs = w[:, off:off + D].contiguous()              # (H, D) on |vA - vB|
        self.w_prod = w[:, off + D:off + 2 * D].contiguous()     # (H, D) on vA * vB
        b1 = linears[0].bias.detach().float()
        with torch.no_grad():
            lin = emb @ w[:, :D].T if n_feat == 3 else torch.zeros(emb.shape[0], H, device=emb.device)
            self.PT_a = (lin + b1).T.contiguous()                # (H, G): W_s v + b (row side)
            self.PT_b = lin.T.contiguous()                       # (H, G): W_s v (partner side)
        self.hidden = [(lin.weight.detach().float().contiguous(), lin.bias.detach().float()[:, None])
                       for lin in linears[1:]]
        self.acts = acts
        self._buf = None

    @torch.no_grad()   # not inference_mode: callers update the returned block in place
    def __call__(self, ri: torch.Tensor, rj: torch.Tensor) -> torch.Tensor:
        ea, eb = self.emb[ri], self.emb[rj]
        ebT = eb.T.contiguous()                                  # (D, c)
        pa, pb = self.PT_a[:, ri], self.PT_b[:, rj]              # (H, b), (H, c)
        b, c, D, H = ea.shape[0], eb.shape[0], self.D, self.w_abs.shape[0]
        out = torch.empty(b, c, dtype=torch.float32, device=ea.device)
        need = D * self.rows * c
        if self._buf is None or self._buf.numel() < need or self._buf.device != ea.device:
            self._buf = torch.empty(need, dtype=torch.float32, device=ea.device)
        for r in range(0, b, self.rows):
            a = ea[r:r + self.rows]                              # (n, D)
            n = a.shape[0]
            buf = self._buf[: D * n * c].view(D, n, c)
            torch.sub(a.T[:, :, None], ebT[:, None, :], out=buf).abs_()
            q = (self.w_prod[:, None, :] * a[None]).view(H * n, D)
            h = torch.mm(q, ebT).view(H, n * c)                  # W_p (a * b), (H, n*c)
            h.addmm_(self.w_abs, buf.view(D, n * c))             # + W_d |a - b|
            h.view(H, n, c).add_(pa[:, r:r + n, None]).add_(pb[:, None, :])
            h = self.acts[0](h)
            for li, (w, bias) in enumerate(self.hidden):
                h = torch.addmm(bias, w, h)
                if li + 1 < len(self.hidden):
                    h = self.acts[li + 1](h)
            out[r:r + n] = torch.sigmoid(h.view(n, c))
        return out


def is_symmetric(score: ScoreFn, emb: torch.Tensor, n: int = 64, seed: int = 0, atol: float = 1e-5) -> bool:
    """Whether ``score(a, b) == score(b, a)`` on ``n`` random pairs of ``emb`` rows."""
    g = torch.Generator().manual_seed(seed)
    ia = torch.randint(0, emb.shape[0], (n,), generator=g).to(emb.device)
    ib = torch.randint(0, emb.shape[0], (n,), generator=g).to(emb.device)
    return bool(torch.allclose(score(emb[ia], emb[ib]), score(emb[ib], emb[ia]), atol=atol))


def topk_all_vs_all(emb: torch.Tensor, score: ScoreFn, k: int = 50, block_size: int = 1024,
                    pair_chunk: int = 65536, symmetric: bool | None = None,
                    block_score: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] | None = None,
                    ) -> tuple[torch.Tensor, torch.Tensor]:
    """Top-``k`` partners of every gene among all others, without the (G, G) matrix.

    ``emb`` (G, D) gene embeddings; ``score(vA (P, D), vB (P, D)) -> (P,)`` higher = more likely.
    ``symmetric``: score each unordered block pair once (None = check on a sample).
    ``block_score(ri, rj) -> (len(ri), len(rj))``: optional faster scorer of gene rows ``ri`` x
    ``rj`` giving the same numbers as ``score`` (e.g. :class:`FusedHeadScorer`).
    Returns ``scores`` (G, k') float32 descending and ``partners`` (G, k') int64, ``k' = min(k, G-1)``;
    a gene is never its own partner. Memory: O(G * k + block_size**2 + pair_chunk * D).
    """
    G = emb.shape[0]
    k = min(int(k), G - 1)
    if k <= 0:
        return (torch.zeros(G, 0), torch.zeros(G, 0, dtype=torch.long))
    if symmetric is None:
        symmetric = is_symmetric(score, emb)
        if not symmetric:
            log.warning("the pair head is not symmetric: scoring every ordered block pair")
    dev = emb.device
    best_s = torch.full((G, k), float("-inf"), device=dev)
    best_i = torch.full((G, k), -1, dtype=torch.long, device=dev)
    starts = list(range(0, G, block_size))
    jobs = [(i, j) for i in starts for j in starts if (j >= i or not symmetric)]
    for i, j in progress(jobs, desc="all-vs-all blocks", total=len(jobs), unit="block"):
        ri = torch.arange(i, min(i + block_size, G), device=dev)
        rj = torch.arange(j, min(j + block_size, G), device=dev)
        s = block_score(ri, rj) if block_score is not None else score_block(score, emb[ri], emb[rj], pair_chunk)
        if i == j:
            s.fill_diagonal_(float("-inf"))
        best_s[ri], best_i[ri] = merge_topk(best_s[ri], best_i[ri], s, rj, k)
        if symmetric and i != j:
            best_s[rj], best_i[rj] = merge_topk(best_s[rj], best_i[rj], s.T, ri, k)
    return best_s, best_i


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


def model_scorer(model) -> ScoreFn:
    """``score(vA, vB) -> probabilities`` from a :class:`tfvocab.model.SiameseTransformer`."""

    @torch.no_grad()
    def score(va, vb):
        return torch.sigmoid(model.score(va, vb).float())

    return score


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

    from .data import StreamedValues, load_gene_data

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
