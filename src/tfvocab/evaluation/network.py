"""The predicted co-expression network: graph from scored pairs, modules, hubs, GraphML.

Nodes are gene IDs; an undirected edge (a, b) carries ``weight`` = the model's co-expression
probability (0..1). The graph is an :mod:`igraph` graph built from integer edge arrays (no
per-edge Python objects held): at 27,000 genes x top 50 partners (1.29 M edges) it holds ~60 MB and
the whole step (graph, modules, hubs, GraphML) peaks at +130 MB over its input and takes ~11 s on
one core, where the networkx implementation held ~280 MB, peaked at +640 MB and took ~290 s
(``bench/network.py``).

* Modules: Louvain communities (``igraph.Graph.community_multilevel``, weighted modularity,
  ``resolution``), seeded: igraph draws its random numbers from a ``random.Random(seed)``
  installed for the call only, so the same edges and seed give the same modules.
* Hubs: degree, weighted degree (sum of edge scores) and normalized betweenness centrality on
  unweighted shortest paths - exact up to :data:`EXACT_BETWEENNESS_MAX_NODES` nodes, above that
  the source-sampled estimate of networkx's ``betweenness_centrality(k=...)`` (same rescaling,
  same seeded choice of sources), computed by igraph's subset betweenness.
* GraphML: node id = gene ID, node attribute ``module`` (-1 = no module), edge attribute
  ``weight``; written here (igraph's own writer names nodes ``n0, n1, ...``) in chunks, so it is
  readable by networkx (``nx.read_graphml``), igraph, Cytoscape and Gephi.
"""
from __future__ import annotations

import contextlib
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator
from xml.sax.saxutils import quoteattr

import igraph
import numpy as np
import pandas as pd

# above this many nodes betweenness is estimated from a seeded sample of source nodes
EXACT_BETWEENNESS_MAX_NODES = 500
BETWEENNESS_SAMPLES = 128
# edges formatted per write while writing GraphML (bounds the text held in memory)
GRAPHML_CHUNK = 100_000


@dataclass
class Network:
    """An undirected weighted gene graph.

    ``genes`` (n,) object array of gene IDs (node order); ``src, dst`` (m,) int64 node indices of
    each edge (``src != dst``, each unordered pair once); ``weight`` (m,) float64 edge scores;
    ``graph`` the same graph as an :class:`igraph.Graph` (vertex ``i`` = ``genes[i]``, edge ``j``
    = ``(src[j], dst[j])``).
    """

    genes: np.ndarray
    src: np.ndarray
    dst: np.ndarray
    weight: np.ndarray
    graph: igraph.Graph

    @property
    def n_nodes(self) -> int:
        return len(self.genes)

    @property
    def n_edges(self) -> int:
        return len(self.src)

    def degree(self) -> np.ndarray:
        """(n,) int64: number of edges of each node."""
        return (np.bincount(self.src, minlength=self.n_nodes)
                + np.bincount(self.dst, minlength=self.n_nodes)).astype(np.int64)

    def weighted_degree(self) -> np.ndarray:
        """(n,) float64: sum of the scores of each node's edges."""
        n = self.n_nodes
        return (np.bincount(self.src, weights=self.weight, minlength=n)
                + np.bincount(self.dst, weights=self.weight, minlength=n))


def build_graph(edges: pd.DataFrame, genes: list[str] | None = None) -> Network:
    """Graph of ``edges`` (columns gene_a, gene_b, score; one row per edge).

    ``genes``: optional node list (isolated genes are kept as nodes). Node order follows
    ``genes`` then first appearance in ``edges`` (row by row, gene_a before gene_b), so outputs
    are deterministic. A pair listed twice (in either orientation) is one edge with the score of
    its last row; a gene paired with itself is no edge (but is a node).
    """
    a = edges["gene_a"].astype(str).to_numpy(dtype=object)
    b = edges["gene_b"].astype(str).to_numpy(dtype=object)
    w = edges["score"].to_numpy(dtype=np.float64)
    head = np.asarray([] if genes is None else [str(x) for x in genes], dtype=object)
    inter = np.empty(2 * len(a), dtype=object)
    inter[0::2], inter[1::2] = a, b
    codes, names = pd.factorize(np.concatenate([head, inter]))
    names = np.asarray(names, dtype=object)
    codes = codes[len(head):].astype(np.int64)
    src, dst = codes[0::2], codes[1::2]
    keep = src != dst
    src, dst, w = src[keep], dst[keep], w[keep]
    if len(src):
        lo, hi = np.minimum(src, dst), np.maximum(src, dst)
        key = lo * len(names) + hi
        order = np.argsort(key, kind="stable")
        ks = key[order]
        start = np.flatnonzero(np.r_[True, ks[1:] != ks[:-1]])
        if len(start) < len(key):
            # each unordered pair once, at its first row, with the score of its last row
            # (networkx's add_edge semantics)
            end = np.r_[start[1:], len(key)] - 1
            first, last = order[start], order[end]
            by_row = np.argsort(first, kind="stable")
            src, dst, w = src[first[by_row]], dst[first[by_row]], w[last[by_row]]
    graph = igraph.Graph(n=len(names), edges=_edge_tuples(src, dst), directed=False)
    return Network(genes=names, src=src, dst=dst, weight=w, graph=graph)


def _edge_tuples(src: np.ndarray, dst: np.ndarray, chunk: int = 65536) -> Iterator[tuple[int, int]]:
    """``(src[j], dst[j])`` as Python int tuples, converted ``chunk`` edges at a time: igraph
    reads an iterable of pairs ~2x faster than an (m, 2) array, and only one chunk of Python
    objects exists at a time (1.3 M edges: build peak +70 MB instead of +240 MB)."""
    for s in range(0, len(src), chunk):
        yield from zip(src[s:s + chunk].tolist(), dst[s:s + chunk].tolist())


@contextlib.contextmanager
def seeded_igraph(seed: int) -> Iterator[None]:
    """igraph draws from ``random.Random(seed)`` inside the block (Python's ``random`` after)."""
    igraph.set_random_number_generator(random.Random(seed))
    try:
        yield
    finally:
        igraph.set_random_number_generator(random)


def module_membership(net: Network, seed: int = 0, resolution: float = 1.0) -> np.ndarray:
    """(n,) int64 module of each node: Louvain communities of the weighted graph, numbered 0 =
    largest (ties: the module holding the alphabetically first gene first); -1 for genes without
    edges (they belong to no module)."""
    n = net.n_nodes
    out = np.full(n, -1, dtype=np.int64)
    if net.n_edges == 0:
        return out
    with seeded_igraph(seed):
        raw = np.asarray(net.graph.community_multilevel(
            weights=net.weight.tolist(), resolution=resolution).membership, dtype=np.int64)
    connected = net.degree() > 0
    name_rank = np.empty(n, np.int64)
    name_rank[np.argsort(net.genes.astype(str), kind="stable")] = np.arange(n)
    c = raw[connected]
    n_comm = int(raw.max()) + 1
    size = np.bincount(c, minlength=n_comm)
    first = np.full(n_comm, n, dtype=np.int64)
    np.minimum.at(first, c, name_rank[connected])
    present = np.flatnonzero(size > 0)
    present = present[np.lexsort((first[present], -size[present]))]
    renum = np.full(n_comm, -1, dtype=np.int64)
    renum[present] = np.arange(len(present))
    out[connected] = renum[c]
    return out


def modules_table(net: Network, membership: np.ndarray) -> pd.DataFrame:
    """``gene_id, module, module_size`` of the genes with a module, sorted by module then gene."""
    ok = membership >= 0
    genes, mod = net.genes[ok].astype(str), membership[ok]
    size = np.bincount(mod, minlength=int(mod.max()) + 1 if len(mod) else 0)
    order = np.lexsort((genes, mod))
    return pd.DataFrame({"gene_id": genes[order].astype(object), "module": mod[order],
                         "module_size": size[mod[order]]})


def modules(net: Network, seed: int = 0, resolution: float = 1.0) -> pd.DataFrame:
    """Louvain modules of ``net`` (weights = scores) as ``gene_id, module, module_size``, sorted by
    module (0 = largest) then gene; isolated nodes are left out (see :func:`module_membership`)."""
    return modules_table(net, module_membership(net, seed=seed, resolution=resolution))


def betweenness_sources(n: int, seed: int = 0) -> np.ndarray | None:
    """Source nodes of the betweenness estimate: ``None`` (exact) for n <=
    :data:`EXACT_BETWEENNESS_MAX_NODES`, else :data:`BETWEENNESS_SAMPLES` node indices drawn by
    ``random.Random(seed).sample`` - the nodes ``networkx.betweenness_centrality(k=..., seed=seed)``
    samples from a graph with the same node order."""
    if n <= EXACT_BETWEENNESS_MAX_NODES:
        return None
    k = min(BETWEENNESS_SAMPLES, n)
    if k == n:
        return None
    return np.asarray(random.Random(seed).sample(range(n), k), dtype=np.int64)


def betweenness(net: Network, sources: np.ndarray | None = None) -> np.ndarray:
    """(n,) float64 normalized betweenness centrality on unweighted shortest paths.

    ``sources=None``: exact, ``2 B(v) / ((n - 1)(n - 2))`` with ``B(v)`` the sum over unordered
    pairs {s, t} (s, t != v) of the fraction of shortest s-t paths through v - networkx's
    ``betweenness_centrality(normalized=True)``. ``sources`` (k,) node indices: the estimate from
    shortest paths out of those sources only, rescaled as networkx >= 3.5 does for ``k``:
    ``D(v) / ((k - [v in sources]) (n - 2))`` with ``D(v)`` the sum over sources s != v and all
    targets t != s, v (an unbiased estimate of the exact value for uniformly drawn sources).
    """
    n = net.n_nodes
    if n <= 2 or net.n_edges == 0:
        return np.zeros(n)
    g = net.graph
    if sources is None:
        raw = np.asarray(g.betweenness(directed=False), dtype=np.float64)
        return raw * 2.0 / ((n - 1) * (n - 2))
    sources = np.asarray(sources, dtype=np.int64)
    k = len(sources)
    # igraph's subset betweenness counts each (source, target) path as half a path in undirected
    # graphs: x2 gives D(v), the ordered-pair sum networkx accumulates
    raw = 2.0 * np.asarray(g.betweenness(directed=False, sources=sources.tolist()), dtype=np.float64)
    is_src = np.zeros(n, dtype=bool)
    is_src[sources] = True
    denom = np.where(is_src, k - 1, k).astype(np.float64) * (n - 2)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(denom > 0, raw / denom, np.nan)


def hubs(net: Network, seed: int = 0, top: int | None = None) -> pd.DataFrame:
    """Per-gene degree, weighted degree (sum of edge scores) and betweenness centrality.

    Betweenness: :func:`betweenness` with :func:`betweenness_sources` (exact up to
    ``EXACT_BETWEENNESS_MAX_NODES`` nodes, else estimated from ``BETWEENNESS_SAMPLES`` seeded
    source nodes). Columns ``hub_rank, gene_id, degree, weighted_degree, betweenness``, sorted by
    weighted degree (descending), then gene ID; ``top`` keeps the first rows.
    """
    n = net.n_nodes
    if n == 0:
        return pd.DataFrame(columns=["hub_rank", "gene_id", "degree", "weighted_degree", "betweenness"])
    genes = net.genes.astype(str)
    wdeg = net.weighted_degree()
    df = pd.DataFrame({"gene_id": genes.astype(object), "degree": net.degree(),
                       "weighted_degree": wdeg,
                       "betweenness": betweenness(net, betweenness_sources(n, seed))})
    order = np.lexsort((genes, -wdeg))
    df = df.iloc[order].reset_index(drop=True)
    df.insert(0, "hub_rank", np.arange(1, len(df) + 1))
    return df.head(top) if top else df


def write_graphml(net: Network, path, membership: np.ndarray | None = None) -> Path:
    """Write ``net`` as GraphML to ``path``: node id = gene ID with ``module`` (long, -1 = none;
    all -1 when ``membership`` is None), edges in ``net`` order with ``weight`` (double, shortest
    repr that round-trips the float64). Text is formatted :data:`GRAPHML_CHUNK` edges at a time."""
    path = Path(path)
    mod = np.full(net.n_nodes, -1, np.int64) if membership is None else np.asarray(membership, np.int64)
    ids = np.asarray([quoteattr(str(g)) for g in net.genes], dtype=object)
    with open(path, "w", encoding="utf-8") as fh:
        fh.write("<?xml version='1.0' encoding='utf-8'?>\n"
                 '<graphml xmlns="http://graphml.graphdrawing.org/xmlns" '
                 'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
                 'xsi:schemaLocation="http://graphml.graphdrawing.org/xmlns '
                 'http://graphml.graphdrawing.org/xmlns/1.0/graphml.xsd">\n'
                 '  <key id="d0" for="node" attr.name="module" attr.type="long" />\n'
                 '  <key id="d1" for="edge" attr.name="weight" attr.type="double" />\n'
                 '  <graph edgedefault="undirected">\n')
        for s in range(0, net.n_nodes, GRAPHML_CHUNK):
            fh.write("".join(f'    <node id={i}><data key="d0">{m}</data></node>\n'
                             for i, m in zip(ids[s:s + GRAPHML_CHUNK], mod[s:s + GRAPHML_CHUNK].tolist())))
        for s in range(0, net.n_edges, GRAPHML_CHUNK):
            e = slice(s, s + GRAPHML_CHUNK)
            fh.write("".join(f'    <edge source={a} target={b}><data key="d1">{w!r}</data></edge>\n'
                             for a, b, w in zip(ids[net.src[e]], ids[net.dst[e]], net.weight[e].tolist())))
        fh.write("  </graph>\n</graphml>\n")
    return path
