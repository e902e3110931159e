#!/usr/bin/env python3
"""Benchmark predict's network step: igraph (tfvocab.evaluation.network) vs today's networkx code (the peer).

Input: a realistic top-k edge list like ``tfvocab predict`` makes it (``--genes`` genes x top
``--k`` partners, union of the per-gene lists through :func:`tfvocab.evaluation.predict.topk_edges`). The
scores come from seeded synthetic embeddings: ``--genes / 100`` modules of log-normal sizes,
gene = module centroid + noise (64 dims), times a log-normal gene "hubness" (genes with large norms
enter many lists, so few top-k lists are mutual - the real 27,000-gene run had 1,315,951 unique
edges of 1,350,000); score = sigmoid(dot / 64 - 1). Cached in ``--workdir``.

Each implementation runs in its own child process (the other's memory does not count). Per stage:
wall and CPU seconds, the process's RSS at the start of the stage, its peak RSS during the stage
(``VmHWM`` reset through ``/proc/self/clear_refs`` before the stage) and that peak minus the start
(what the stage itself added). Stages, as ``tfvocab.evaluation.predict.network_outputs`` runs them:

* build: graph from the edges DataFrame (peer: ``nx.Graph.add_edge`` per row);
* modules: Louvain (peer: ``nx.community.louvain_communities``; new: igraph
  ``community_multilevel``), both seeded, into the modules table;
* hubs: degree, weighted degree, betweenness (exact up to 500 nodes, else 128 seeded sources; the
  same estimator and the same sources in both);
* graphml: the module attribute and the GraphML file.

Checks in the same run: the two hubs tables (degree, weighted degree, betweenness) are equal
(betweenness to float rounding), the modularity of both partitions (same igraph function, same
graph), module counts and GraphML sizes.

    OMP_NUM_THREADS=1 python bench/network.py            # 27,000 genes x top 50 (~1.3 M edges)
    OMP_NUM_THREADS=1 python bench/network.py --quick    # 5,000 genes
"""
from __future__ import annotations

import os
import sys

# bench/ holds scripts named like stdlib modules (bench/tokenize.py): keep it off sys.path
_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != _HERE]

import argparse
import json
import subprocess
import time
from pathlib import Path

DIM = 64


# ---------------------------------------------------------------------------------------------
# the peer: today's implementation (tfvocab.evaluation.network and predict.network_outputs before igraph)

EXACT_BETWEENNESS_MAX_NODES = 500
BETWEENNESS_SAMPLES = 128


def old_build_graph(edges, genes=None):
    import networkx as nx

    g = nx.Graph()
    if genes is not None:
        g.add_nodes_from(genes)
    for a, b, s in zip(edges["gene_a"].astype(str), edges["gene_b"].astype(str),
                       edges["score"].astype(float)):
        g.add_edge(a, b, weight=float(s))
    return g


def old_modules(g, seed=0, resolution=1.0):
    import networkx as nx
    import pandas as pd

    sub = g.subgraph([n for n in g.nodes if g.degree(n) > 0])
    if sub.number_of_edges() == 0:
        return pd.DataFrame({"gene_id": [], "module": [], "module_size": []})
    comms = nx.community.louvain_communities(sub, weight="weight", resolution=resolution, seed=seed)
    comms = sorted((sorted(c) for c in comms), key=lambda c: (-len(c), c[0]))
    rows = [(gene, m, len(c)) for m, c in enumerate(comms) for gene in c]
    return pd.DataFrame(rows, columns=["gene_id", "module", "module_size"])


def old_hubs(g, seed=0, top=None):
    import networkx as nx
    import numpy as np
    import pandas as pd

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


def run_old(edges, outdir: Path, seed: int, stage):
    import networkx as nx
    from tfvocab.io import write_table

    with stage("build"):
        g = old_build_graph(edges, genes=None)
    with stage("modules"):
        mods = old_modules(g, seed=seed)
    with stage("hubs"):
        hub = old_hubs(g, seed=seed)
        mod_of = dict(zip(mods["gene_id"], mods["module"]))
        hub["module"] = [mod_of.get(x, -1) for x in hub["gene_id"]]
    with stage("graphml"):
        nx.set_node_attributes(g, {n: int(mod_of.get(n, -1)) for n in g.nodes}, "module")
        nx.write_graphml(g, outdir / "network.graphml")
    write_table(outdir / "modules.tsv", mods, None)
    write_table(outdir / "hubs.tsv", hub, None, float_format="%.17g")


def run_new(edges, outdir: Path, seed: int, stage):
    import numpy as np
    import pandas as pd
    from tfvocab.evaluation import network
    from tfvocab.io import write_table

    with stage("build"):
        g = network.build_graph(edges, genes=None)
    with stage("modules"):
        membership = network.module_membership(g, seed=seed)
        mods = network.modules_table(g, membership)
    with stage("hubs"):
        hub = network.hubs(g, seed=seed)
        mod_of = pd.Series(membership, index=g.genes.astype(str))
        hub["module"] = mod_of.reindex(hub["gene_id"].astype(str)).fillna(-1).astype(np.int64).to_numpy()
    with stage("graphml"):
        network.write_graphml(g, outdir / "network.graphml", membership)
    write_table(outdir / "modules.tsv", mods, None)
    write_table(outdir / "hubs.tsv", hub, None, float_format="%.17g")


# ---------------------------------------------------------------------------------------------
# input


def make_topk(G: int, k: int, seed: int):
    """(G, k) float32 scores and int64 partner indices of each gene's top k (self excluded)."""
    import numpy as np

    rng = np.random.default_rng(seed)
    n_mod = max(2, G // 100)
    w = rng.lognormal(0.0, 0.8, n_mod)
    mod = rng.choice(n_mod, G, p=w / w.sum())
    cent = rng.normal(size=(n_mod, DIM))
    emb = (cent[mod] + rng.normal(size=(G, DIM))) * rng.lognormal(0.0, 0.6, G)[:, None]
    emb = emb.astype(np.float32)
    bs = np.empty((G, k), np.float32)
    bi = np.empty((G, k), np.int64)
    for s in range(0, G, 1024):
        sim = emb[s:s + 1024] @ emb.T / DIM
        r = np.arange(sim.shape[0])
        sim[r, s + r] = -np.inf
        idx = np.argpartition(-sim, k, axis=1)[:, :k]
        bi[s:s + 1024] = idx
        bs[s:s + 1024] = 1.0 / (1.0 + np.exp(-(np.take_along_axis(sim, idx, 1) - 1.0)))
    return bs, bi


def load_edges(path: Path):
    import numpy as np
    from tfvocab.evaluation.predict import topk_edges

    z = np.load(path)
    genes = [f"AT{1 + i // 5000}G{i % 5000:05d}0" for i in range(z["bi"].shape[0])]  # AGI-like IDs
    return topk_edges(genes, z["bs"], z["bi"])


# ---------------------------------------------------------------------------------------------
# measurement


def _status_kb(field: str) -> int:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(field)


def child(args) -> None:
    import contextlib

    os.environ.setdefault("OMP_NUM_THREADS", "1")
    edges = load_edges(Path(args.input))
    outdir = Path(args.outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    stages = {}

    @contextlib.contextmanager
    def stage(name):
        with open("/proc/self/clear_refs", "w") as fh:   # VmHWM := current RSS
            fh.write("5")
        rss0 = _status_kb("VmRSS")
        t0, c0 = time.perf_counter(), time.process_time()
        yield
        stages[name] = {"wall_s": time.perf_counter() - t0, "cpu_s": time.process_time() - c0,
                        "rss_start_mb": rss0 / 1024, "peak_mb": _status_kb("VmHWM") / 1024,
                        "rss_end_mb": _status_kb("VmRSS") / 1024}
        print(f"  [{args.child}] {name}: {stages[name]['wall_s']:.1f} s, peak {stages[name]['peak_mb']:.0f} MB",
              file=sys.stderr, flush=True)

    rss_edges = _status_kb("VmRSS") / 1024
    (run_old if args.child == "old" else run_new)(edges, outdir, args.seed, stage)
    res = {"stages": stages, "rss_after_edges_mb": rss_edges, "n_edges": len(edges)}
    (outdir / "result.json").write_text(json.dumps(res, indent=1))


def compare(workdir: Path, input_path: Path) -> dict:
    import numpy as np
    import pandas as pd
    from tfvocab.evaluation import network

    edges = load_edges(input_path)
    net = network.build_graph(edges)
    pos = pd.Index(net.genes)
    out = {}
    for impl in ("old", "new"):
        mods = pd.read_csv(workdir / impl / "modules.tsv", sep="\t", comment="#")
        memb = np.full(net.n_nodes, -1)
        memb[pos.get_indexer(mods["gene_id"])] = mods["module"].to_numpy()
        assert (memb >= 0).all()
        out[impl] = {"modularity": net.graph.modularity(memb.tolist(), weights=net.weight.tolist()),
                     "n_modules": int(mods["module"].nunique()),
                     "largest_module": int(mods["module_size"].max()),
                     "graphml_mb": (workdir / impl / "network.graphml").stat().st_size / 1e6}
    h_old = pd.read_csv(workdir / "old" / "hubs.tsv", sep="\t", comment="#").set_index("gene_id")
    h_new = pd.read_csv(workdir / "new" / "hubs.tsv", sep="\t", comment="#").set_index("gene_id")
    h_old = h_old.loc[h_new.index]
    out["hubs"] = {
        "same_genes_and_order": bool((h_old["hub_rank"] == h_new["hub_rank"]).all()),
        "degree_equal": bool((h_old["degree"] == h_new["degree"]).all()),
        "weighted_degree_max_abs_diff": float((h_old["weighted_degree"] - h_new["weighted_degree"]).abs().max()),
        "betweenness_max_abs_diff": float((h_old["betweenness"] - h_new["betweenness"]).abs().max()),
        "betweenness_max": float(h_new["betweenness"].max()),
    }
    out["graph"] = {"n_nodes": net.n_nodes, "n_edges": net.n_edges, "max_degree": int(net.degree().max()),
                    "median_degree": float(np.median(net.degree()))}
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--genes", type=int, default=27000)
    ap.add_argument("--k", type=int, default=50)
    ap.add_argument("--quick", action="store_true", help="5,000 genes")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--workdir", default="/tmp/tfvocab_bench_network")
    ap.add_argument("--only", choices=["old", "new"], help="run one implementation")
    ap.add_argument("--child", choices=["old", "new"], help=argparse.SUPPRESS)
    ap.add_argument("--input", help=argparse.SUPPRESS)
    ap.add_argument("--outdir", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        return child(args)
    import numpy as np

    G = 5000 if args.quick else args.genes
    workdir = Path(args.workdir) / f"G{G}_k{args.k}_s{args.seed}"
    workdir.mkdir(parents=True, exist_ok=True)
    inp = workdir / "topk.npz"
    if not inp.exists():
        t0 = time.perf_counter()
        bs, bi = make_topk(G, args.k, args.seed)
        np.savez(inp, bs=bs, bi=bi)
        print(f"input: top-{args.k} lists of {G:,} genes in {time.perf_counter() - t0:.1f} s", flush=True)
    load = os.getloadavg()
    res = {}
    for impl in ([args.only] if args.only else ["old", "new"]):
        cmd = [sys.executable, os.path.abspath(__file__), "--child", impl, "--input", str(inp),
               "--outdir", str(workdir / impl), "--seed", str(args.seed)]
        t0 = time.perf_counter()
        subprocess.run(cmd, check=True, env={**os.environ, "OMP_NUM_THREADS": "1"})
        res[impl] = json.loads((workdir / impl / "result.json").read_text())
        res[impl]["wall_total_s"] = time.perf_counter() - t0
    load_end = os.getloadavg()
    n_edges = next(iter(res.values()))["n_edges"]
    print(f"\n{G:,} genes x top {args.k}: {n_edges:,} unique edges; load average at start "
          f"{load[0]:.2f} / end {load_end[0]:.2f} (1 min), {os.cpu_count()} CPUs, OMP_NUM_THREADS=1")
    names = ["build", "modules", "hubs", "graphml"]
    if len(res) == 2:
        o, n = res["old"]["stages"], res["new"]["stages"]
        print("\n| stage | networkx (peer) wall | igraph wall | speed-up | networkx peak RSS (+stage) "
              "| igraph peak RSS (+stage) | ratio of +stage |")
        print("|---|---|---|---|---|---|---|")
        for s in names:
            do, dn = o[s]["peak_mb"] - o[s]["rss_start_mb"], n[s]["peak_mb"] - n[s]["rss_start_mb"]
            print(f"| {s} | {o[s]['wall_s']:.2f} s | {n[s]['wall_s']:.2f} s | {o[s]['wall_s'] / n[s]['wall_s']:.1f}x "
                  f"| {o[s]['peak_mb']:.0f} MB (+{do:.0f}) | {n[s]['peak_mb']:.0f} MB (+{dn:.0f}) "
                  f"| {f'{do / dn:.1f}x' if min(do, dn) >= 10 else '-'} |")
        to, tn = sum(o[s]["wall_s"] for s in names), sum(n[s]["wall_s"] for s in names)
        # (resetting VmHWM resets ru_maxrss too: the path's peak is the largest stage peak)
        po, pn = max(o[s]["peak_mb"] for s in names), max(n[s]["peak_mb"] for s in names)
        eo, en = res["old"]["rss_after_edges_mb"], res["new"]["rss_after_edges_mb"]
        print(f"| **total** | **{to:.1f} s** | **{tn:.1f} s** | **{to / tn:.1f}x** | **{po:.0f} MB (+{po - eo:.0f})** "
              f"| **{pn:.0f} MB (+{pn - en:.0f})** | **{(po - eo) / max(pn - en, 1e-9):.1f}x** |")
        print(f"\nRSS with the edges DataFrame loaded, before the network: {eo:.0f} / {en:.0f} MB; "
              f"graph held after build: +{o['build']['rss_end_mb'] - o['build']['rss_start_mb']:.0f} MB (networkx) "
              f"vs +{n['build']['rss_end_mb'] - n['build']['rss_start_mb']:.0f} MB (igraph)")
        cmp_ = compare(workdir, inp)
        print(json.dumps(cmp_, indent=1))
        (workdir / "bench.json").write_text(json.dumps({"G": G, "k": args.k, "load": [load, load_end],
                                                          "runs": res, "compare": cmp_}, indent=1))
    else:
        for impl, r in res.items():
            for s in names:
                st = r["stages"][s]
                print(f"{impl} {s}: {st['wall_s']:.2f} s, peak {st['peak_mb']:.0f} MB "
                      f"(+{st['peak_mb'] - st['rss_start_mb']:.0f})")


if __name__ == "__main__":
    main()
