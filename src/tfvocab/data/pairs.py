"""Labelled, leak-free gene pairs from a co-expression list (the ``pairs`` step).

Pipeline (each stage a function on DataFrames/arrays; I/O only in :func:`run`):

1. :func:`read_coexpression` (:mod:`tfvocab.data.edgelist`) reads the list as users have it: an edge
   list (TSV/CSV/whitespace (sniffed), optional header (detected), ``#`` comments, optional gzip,
   two gene columns and an optional score column: ATTED-II ``Gene1 Gene2 MR`` tables and ``gene
   partner score`` lists alike), an ATTED-II / COXPRESdb download (a folder or ``.zip`` of one
   file per gene, named by Entrez Gene ID) or a square genes x genes matrix
   (:mod:`tfvocab.data.coexpression`), IDs optionally mapped through ``--id-map`` (Entrez -> AGI;
   unmapped IDs counted), ``--top-n`` partners per gene. docs/inputs.md describes the layouts
   and the score semantics (z, MR: lower is better).
2. :func:`normalise_ids` cleans gene IDs (whitespace, quotes, ``gene:``/``gene-`` prefixes,
   isoform suffixes ``.1``, upper-case AGI codes); :func:`clean_positives` applies the score
   threshold, drops self-pairs and duplicates ``(A,B) = (B,A)`` and maps IDs to ``promoters.tsv``.
3. :func:`assign_folds` puts every gene with a promoter in exactly one of ``K`` gene-disjoint
   test folds (``--folds``) and draws each fold's validation genes from the other folds
   (``--val-frac`` of them; no gene validates two folds). How genes are grouped (``--split``):
   ``gene`` (default) a seeded random deal, so the genes of each co-expression module spread
   over the folds and a fold's test asks about *new genes of known programs*; ``community``
   (stricter, *unseen programs*) whole co-expression communities (connected components, split
   by Louvain only where too large) grown into folds that cut few positive edges;
   ``chromosome`` whole chromosomes (``--test-chrom`` = fold 0).
4. The output is small at genome scale: ``pairs.tsv`` holds the listed pairs only (positives,
   and listed pairs below ``--threshold``, which are never negatives) and ``genes.tsv`` the fold
   of every gene; no negatives and no per-fold copies. The model of fold ``k`` (``tfvocab
   train --fold k``) trains on the pairs among the genes of the other folds minus fold k's
   validation genes and draws its negatives itself (:mod:`tfvocab.data.negatives`); ``tfvocab
   evaluate`` scores every pair among fold k's genes (:mod:`tfvocab.data.universe`).

Same inputs + seed give identical ``pairs.tsv`` and ``genes.tsv``.
"""
from __future__ import annotations

from pathlib import Path
from typing import Iterable, Sequence

import numpy as np
import pandas as pd

from . import coexpression as coex
from .edgelist import normalise_ids, parse_scores, read_coexpression
from ..errors import TfvocabError
from .foldassign import assign_folds, fold_roles
from ..formats import write_genes, write_pairs
from ..io import provenance, write_json
from ..publish import step_outputs
from ..log import get_logger, timed
from ..formats import read_promoters

SPLITS = ("train", "val", "test")
SOURCES = ("positive", "listed")
N_EXAMPLES = 10
_LOWER_BETTER_NAMES = coex.LOWER_BETTER_NAMES

log = get_logger("pairs")


# ----------------------------------------------------------------------------- cleaning

def _match_key(ids: pd.Series) -> pd.Series:
    """Case-insensitive matching key of already-normalised IDs."""
    return ids.str.upper()


def _examples(values: Iterable[str], n: int = N_EXAMPLES) -> list[str]:
    out: list[str] = []
    for v in values:
        if v not in out:
            out.append(v)
            if len(out) == n:
                break
    return out


def canonical_pairs(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Order each pair so that ``gene_a < gene_b`` (string order). Arrays (N,) -> (N,), (N,)."""
    a = np.asarray(a, dtype=object)
    b = np.asarray(b, dtype=object)
    swap = b < a
    return np.where(swap, b, a), np.where(swap, a, b)


def clean_positives(df: pd.DataFrame, promoter_ids: Sequence[str], *, threshold: float | None = None,
                    score_lower_better: bool = False, path: str | Path = "",
                    header_detected: bool = False) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    """Turn a raw co-expression table into positive pairs of promoter gene IDs.

    ``df``: from :func:`read_coexpression`. ``promoter_ids``: (G,) gene_id of ``promoters.tsv``.
    Returns ``(positives, listed, counts)``: ``positives`` (gene_a < gene_b, promoter IDs, no
    self-pairs or duplicates, score kept/best); ``listed``: every listed pair between genes with
    promoters, above or below threshold (never sampled as a negative); ``counts`` for the report.
    """
    counts: dict = {}
    a = normalise_ids(df["gene_a"])
    b = normalise_ids(df["gene_b"])
    counts["ids_normalised"] = int((a != df["gene_a"]).sum() + (b != df["gene_b"]).sum())
    scores, n_bad = parse_scores(df, threshold=threshold, path=path, header_detected=header_detected)
    counts["non_numeric_scores"] = n_bad
    counts["nan_scores"] = int(np.isnan(scores).sum()) - n_bad if threshold is not None else 0
    if counts["nan_scores"]:
        log.warning("%s: %d rows have a NaN score (no score): never positives under --threshold", path,
                    counts["nan_scores"])

    pid = pd.Series(list(promoter_ids), dtype=object)
    keys = _match_key(normalise_ids(pid))
    lookup: dict[str, str] = {}
    for k, g in zip(keys, pid):
        lookup.setdefault(k, g)
    counts["promoter_id_collisions"] = int(len(pid) - len(lookup))
    ka, kb = _match_key(a), _match_key(b)
    ma, mb = ka.map(lookup), kb.map(lookup)

    # Every listed pair with promoters (whatever its score) is excluded from the negatives.
    both = (ma.notna() & mb.notna()).to_numpy()
    la, lb = canonical_pairs(ma[both].to_numpy(), mb[both].to_numpy())
    listed = pd.DataFrame({"gene_a": la, "gene_b": lb})
    listed = listed[listed.gene_a != listed.gene_b].drop_duplicates(ignore_index=True)

    keep = np.ones(len(df), dtype=bool)
    if threshold is not None:
        ok = scores <= threshold if score_lower_better else scores >= threshold
        counts["below_threshold_dropped"] = int((~ok).sum())
        keep &= ok
        if not keep.any():
            finite = scores[np.isfinite(scores)]
            rng_txt = f"[{finite.min():g}, {finite.max():g}]" if finite.size else "empty"
            raise TfvocabError(f"no pair passes --threshold {threshold:g} "
                               f"({'score <= threshold' if score_lower_better else 'score >= threshold'}); "
                               f"scores range over {rng_txt}", path=str(path),
                               hint="lower/raise --threshold, or set --score-lower-better for ranks/MR")
    else:
        counts["below_threshold_dropped"] = 0
    self_pair = (ka == kb).to_numpy() & keep
    counts["self_pairs_dropped"] = int(self_pair.sum())
    keep &= ~self_pair

    ca, cb = canonical_pairs(ka[keep].to_numpy(), kb[keep].to_numpy())
    kept = pd.DataFrame({"ka": ca, "kb": cb, "score": scores[keep],
                         "raw_a": np.where(ka[keep] == ca, a[keep], b[keep]),
                         "raw_b": np.where(ka[keep] == ca, b[keep], a[keep])})
    # Keep the best-scoring copy of a duplicated pair (first in file order on ties).
    order = kept["score"] if score_lower_better else -kept["score"]
    kept = kept.assign(_o=order.fillna(np.inf)).sort_values(["_o"], kind="stable")
    dup = kept.duplicated(["ka", "kb"])
    counts["duplicates_dropped"] = int(dup.sum())
    kept = kept[~dup].sort_index()

    ga, gb = kept["ka"].map(lookup), kept["kb"].map(lookup)
    missing_a, missing_b = ga.isna().to_numpy(), gb.isna().to_numpy()
    missing_ids = pd.concat([kept["raw_a"][missing_a], kept["raw_b"][missing_b]]).sort_index(kind="stable")
    counts["genes_without_promoters"] = int(missing_ids.nunique())
    counts["genes_without_promoters_examples"] = _examples(missing_ids)
    drop = missing_a | missing_b
    counts["pairs_without_promoters_dropped"] = int(drop.sum())
    counts["genes_listed"] = int(pd.concat([kept["ka"], kept["kb"]]).nunique())
    if drop.all() and len(kept):
        raise TfvocabError(
            f"none of the {counts['genes_listed']} genes in the co-expression list has a promoter "
            f"(e.g. {', '.join(_examples(missing_ids, 5))}); promoters.tsv has e.g. "
            f"{', '.join(map(str, pid.iloc[:5]))}", path=str(path),
            hint="the gene IDs probably do not match: use the same ID namespace in both files "
                 "such as AGI codes AT1G01010, or pick the gene columns with --gene-columns")
    if not len(kept):
        raise TfvocabError("no positive pairs left after dropping self-pairs", path=str(path))
    if counts["genes_without_promoters"]:
        log.warning("%d genes of the co-expression list have no promoter (e.g. %s); their %d pairs "
                    "are dropped", counts["genes_without_promoters"],
                    ", ".join(counts["genes_without_promoters_examples"][:5]),
                    counts["pairs_without_promoters_dropped"])
    pa, pb = canonical_pairs(ga[~drop].to_numpy(), gb[~drop].to_numpy())
    positives = pd.DataFrame({"gene_a": pa, "gene_b": pb, "score": kept["score"][~drop].to_numpy()})
    # Two input IDs may map onto one promoter ID only through a collision; keep pairs unique.
    positives = positives[positives.gene_a != positives.gene_b].drop_duplicates(
        ["gene_a", "gene_b"], ignore_index=True)
    counts["positives_listed"] = int(len(positives))
    return positives, listed, counts


# ----------------------------------------------------------------------------- assembly

def build_pairs(coexp: pd.DataFrame, promoters: pd.DataFrame, *, threshold: float | None = None,
                score_lower_better: bool | None = None, split: str = "gene", n_folds: int = 5,
                test_chrom: str | None = None, val_frac: float = 0.15, seed: int = 0,
                path: str | Path = "") -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    """The whole step without I/O: ``(pairs, genes, report)``.

    ``coexp``: from :func:`read_coexpression`; ``promoters``: ``promoters.tsv`` rows.
    ``pairs``: every listed pair between genes with promoters: ``gene_a, gene_b, label (1 =
    positive, 0 = listed but below --threshold: never a negative), source, split`` (split = the
    pair's partition in fold 0: train/val/test, or ``cross`` when its genes are in two), sorted
    by label (1 first) and genes. ``genes``: ``gene_id, chrom, fold, val_fold, degree`` for
    every gene with a promoter (degree = its number of positive partners).
    """
    info = dict(coexp.attrs.get("read", {}))
    header = bool(info.get("header_detected", False))
    score_name = info.get("score_column")
    if score_lower_better is None:
        score_lower_better = bool(score_name and _LOWER_BETTER_NAMES.match(str(score_name)))
        if score_lower_better and threshold is not None:
            log.info("score column %r looks like a rank/MR: keeping score <= %g", score_name, threshold)
    positives, listed, counts = clean_positives(
        coexp, promoters["gene_id"].astype(str).tolist(), threshold=threshold,
        score_lower_better=score_lower_better, path=path, header_detected=header)

    chrom = dict(zip(promoters["gene_id"].astype(str), promoters["chrom"].astype(str)))
    with timed(f"assigning {len(chrom)} genes to {n_folds} folds ({split})", log):
        genes = assign_folds(list(chrom), positives, method=split, n_folds=n_folds, val_frac=val_frac,
                             seed=seed, chrom=chrom, test_chrom=test_chrom)
    genes.insert(1, "chrom", genes["gene_id"].map(chrom))
    deg = pd.concat([positives["gene_a"], positives["gene_b"]]).value_counts()
    genes["degree"] = genes["gene_id"].map(deg).fillna(0).astype(np.int64)

    key = set(zip(positives["gene_a"], positives["gene_b"]))
    below = listed[[(a, b) not in key for a, b in zip(listed["gene_a"], listed["gene_b"])]]
    pairs = pd.concat([positives[["gene_a", "gene_b"]].assign(label=1, source="positive"),
                       below[["gene_a", "gene_b"]].assign(label=0, source="listed")], ignore_index=True)
    role0 = dict(zip(genes["gene_id"], fold_roles(genes["fold"].to_numpy(), genes["val_fold"].to_numpy(), 0)))
    ra, rb = pairs["gene_a"].map(role0), pairs["gene_b"].map(role0)
    pairs["split"] = np.where(ra == rb, ra, "cross")
    pairs["label"] = pairs["label"].astype(np.int64)
    pairs = pairs.sort_values(["label", "gene_a", "gene_b"], ascending=[False, True, True],
                              kind="stable").reset_index(drop=True)
    report = {"input": info, "counts": {"rows_read": info.get("rows_read", len(coexp)),
                                        "header_detected": header, **counts,
                                        "listed_pairs_below_threshold": int(len(below)),
                                        "genes_with_promoters": int(len(genes)),
                                        "pairs_written": int(len(pairs))},
              "folds": fold_report(genes, positives),
              "settings": {"threshold": threshold, "score_lower_better": score_lower_better,
                           "split": split, "folds": int(n_folds), "test_chrom": test_chrom,
                           "val_frac": val_frac, "seed": seed}}
    if split == "chromosome":
        report["folds"]["chromosomes_per_fold"] = {
            str(k): sorted(genes.loc[genes["fold"] == k, "chrom"].unique()) for k in range(int(n_folds))}
    return pairs, genes, report


def fold_report(genes: pd.DataFrame, positives: pd.DataFrame) -> dict:
    """Per fold: genes and positive pairs used for test / validation / training, and the
    universe sizes (every pair among the fold's test genes)."""
    fold = dict(zip(genes["gene_id"], genes["fold"]))
    val = dict(zip(genes["gene_id"], genes["val_fold"]))
    fa, fb = positives["gene_a"].map(fold).to_numpy(), positives["gene_b"].map(fold).to_numpy()
    va, vb = positives["gene_a"].map(val).to_numpy(), positives["gene_b"].map(val).to_numpy()
    K = int(genes["fold"].max()) + 1
    rows = []
    for k in range(K):
        n_test = int((genes["fold"] == k).sum())
        n_val = int((genes["val_fold"] == k).sum())
        test = (fa == k) & (fb == k)
        valp = (va == k) & (vb == k)
        train = (fa != k) & (fb != k) & (va != k) & (vb != k)
        rows.append({"fold": k, "test_genes": n_test, "val_genes": n_val,
                     "train_genes": int(len(genes) - n_test - n_val),
                     "test_positives": int(test.sum()), "val_positives": int(valp.sum()),
                     "train_positives": int(train.sum()),
                     "test_universe_pairs": n_test * (n_test - 1) // 2,
                     "test_prevalence": round(float(test.sum()) / max(n_test * (n_test - 1) // 2, 1), 6)})
    n_pos = max(len(positives), 1)
    tested = sum(r["test_positives"] for r in rows)
    return {"n_folds": K, "per_fold": rows,
            "fraction_positives_tested": round(tested / n_pos, 4),
            "mean_fraction_positives_trained": round(float(np.mean([r["train_positives"] for r in rows])) / n_pos, 4)}


def run(coexpression: str | Path, promoters: str | Path, outdir: str | Path, *,
        score_column: str | int | None = None, threshold: float | None = None,
        score_lower_better: bool | None = None, split: str = "gene", folds: int = 5,
        test_chrom: str | None = None, val_frac: float = 0.15, seed: int = 0,
        gene_columns: str | Sequence[str | int] | None = None, id_map: str | Path | None = None,
        top_n: int | None = None, layout: str = "auto") -> dict[str, Path]:
    """Read the co-expression list and ``promoters.tsv``, write ``pairs.tsv`` (listed pairs),
    ``genes.tsv`` (the fold of every gene; each with a ``.json`` sidecar) and
    ``pairs.report.json`` under ``outdir``. Nothing is written on error.

    ``coexpression``: an edge list, an ATTED-II-style per-gene folder / ``.zip`` or a square
    matrix (``layout``, see :func:`read_coexpression`); ``id_map``: Entrez -> AGI table;
    ``top_n``: best partners kept per gene. Returns ``{"pairs", "genes", "report"}`` paths.
    """
    outdir = Path(outdir)
    params = dict(coexpression=str(coexpression), promoters=str(promoters), score_column=score_column,
                  threshold=threshold, score_lower_better=score_lower_better, split=split, folds=folds,
                  test_chrom=test_chrom, val_frac=val_frac, seed=seed, gene_columns=gene_columns,
                  id_map=str(id_map) if id_map else None, top_n=top_n, layout=layout)
    prom = read_promoters(promoters, required=("gene_id", "chrom"))
    with timed(f"reading {coexpression}", log):
        coexp = read_coexpression(coexpression, gene_columns=gene_columns, score_column=score_column,
                                  known_genes=prom["gene_id"].astype(str), id_map=id_map,
                                  threshold=threshold, top_n=top_n,
                                  score_lower_better=score_lower_better, layout=layout)
    info = coexp.attrs["read"]
    log.info("read %d rows (%s-delimited, header %s, genes in %s, score %s)", info["rows_read"],
             info.get("delimiter"), "detected" if info.get("header_detected") else "absent",
             "/".join(info.get("gene_columns") or []), info.get("score_column"))
    pairs, genes, report = build_pairs(coexp, prom, threshold=threshold, score_lower_better=score_lower_better,
                                       split=split, n_folds=folds, test_chrom=test_chrom, val_frac=val_frac,
                                       seed=seed, path=coexpression)
    prov = provenance("pairs", params)
    report["provenance"] = prov
    f = report["folds"]
    log.info("%d positives among %d genes in %d folds (%s split): test genes per fold %s, %.0f%% of "
             "positives trained on per fold", int((pairs["label"] == 1).sum()), len(genes), f["n_folds"], split,
             [r["test_genes"] for r in f["per_fold"]], 100 * f["mean_fraction_positives_trained"])
    lineage = {"promoters": prom.attrs["digest"]}
    with step_outputs(outdir, "pairs", params) as out:
        write_pairs(out.path("pairs.tsv"), pairs, prov, lineage)
        write_genes(out.path("genes.tsv"), genes, prov, lineage)
        write_json(out.path("pairs.report.json"), report)
    return {"pairs": outdir / "pairs.tsv", "genes": outdir / "genes.tsv", "report": outdir / "pairs.report.json"}
