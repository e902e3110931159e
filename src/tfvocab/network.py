"""The predicted co-expression network: graph from scored pairs, modules, hubs.

Nodes are gene IDs; an undirected edge (a, b) carries ``weight`` = the model's co-expression
probability (0..1). Modules are Louvain communities (networkx, seeded, so deterministic);
hubs are ranked by weighted degree, with degree and betweenness centrality alongside.
"""
from __future__ import annotations

import networkx as nx
import numpy as np
import pandas as pd

# above this many nodes betweenness is estimated from a seeded sample of source nodes
EXACT_BETWEENNESS_MAX_NODES = 500
BETWEENNESS_SAMPLES = 128


def build_graph(edges: pd.DataFrame, genes: list[str] | None = None) -> nx.Graph:
    """Undirected weighted graph from ``edges`` (columns gene_a, gene_b, score).

    ``genes``: optional node list (isolated genes are kept as nodes). Node order follows
    ``genes`` then first appearance, so GraphML output is deterministic.
    """
    g = nx.Graph()
    if genes is not None:
        g.add_nodes_from(genes)
    for a, b, s in zip(edges["gene_a"].astype(str), edges["gene_b"].astype(str),
                       edges["score"].astype(float)):
        g.add_edge(a, b, weight=float(s))
    return g


def modules(g: nx.Graph, seed: int = 0, resolution: float = 1.0) -> pd.DataFrame:
    """Louvain communities of the connected part of ``g`` (weights = scores).

    Returns a DataFrame ``gene_id, module, module_size`` sorted by module (0 = largest) then gene;
    isolated nodes are left out (they belong to no module).
    """
    sub = g.subgraph([n for n in g.nodes if g.degree(n) > 0])
    if sub.number_of_edges() == 0:
        return pd.DataFrame({"gene_id": [], "module": [], "module_size": []})
    comms = nx.community.louvain_communities(sub, weight="weight", resolution=resolution, seed=seed)
    comms = sorted((sorted(c) for c in comms), key=lambda c: (-len(c), c[0]))
    rows = [(gene, m, len(c)) for m, c in enumerate(comms) for gene in c]
    return pd.DataFrame(rows, columns=["gene_id", "module", "module_size"])


def hubs(g: nx.Graph, seed: int = 0, top: int | None = None) -> pd.DataFrame:
    """Per-gene degree, weighted degree (sum of edge scores) and betweenness centrality.

    Betweenness uses unweighted shortest paths; for graphs above
    ``EXACT_BETWEENNESS_MAX_NODES`` nodes it is estimated from ``BETWEENNESS_SAMPLES`` seeded
    source nodes. Sorted by weighted degree (descending), then gene ID; ``top`` keeps the first rows.
    """
    nodes = list(g.nodes)
    if not nodes:
        return pd.DataFrame(columns=["hub_rank", "gene_id", "degree", "weighted_degree", "betweenness"])
    k = None if len(nodes) <= EXACT_BETWEENNESS_MAX_NODES else min(BETWEENNESS_SAMPLES, len(nodes))
    btw = nx.betweenness_centrality(g, k=k, seed=seed, normalized=True)
    df = pd.DataFrame({
        "gene_id": nodes,
        "degree": [g.degree(n) for n in nodes],
        "weighted_degree": [float(g.degree(n, weight="weight")) for n in nodes],
        "betweenness": [float(btw[n]) for n in nodes],
    })
    df = df.sort_values(["weighted_degree", "gene_id"], ascending=[False, True], kind="mergesort")
    df = df.reset_index(drop=True)
    df.insert(0, "hub_rank", np.arange(1, len(df) + 1))
    return df.head(top) if top else df
