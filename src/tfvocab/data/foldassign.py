"""Gene-disjoint cross-validation folds for the ``pairs`` step (pure functions, no I/O).

:func:`assign_folds` puts every gene with a promoter in exactly one of ``K`` test folds and
draws each fold's validation genes from the other folds, by the ``--split`` method
(:data:`SPLIT_METHODS`: ``gene``, ``community``, ``chromosome``; described in
:mod:`tfvocab.data.pairs`' docstring); :func:`fold_roles` gives each gene's role for one fold.
"""
from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np
import pandas as pd

from .chroms import canonical
from ..errors import TfvocabError


# ----------------------------------------------------------------------------- folds

def _chrom_key(name: str) -> str:
    """Canonical chromosome key (``tfvocab.data.chroms.canonical``; unknown names match exactly)."""
    return canonical(name) or str(name).strip()


def _resolve_chroms(spec: str | Sequence[str] | None, chroms: Sequence[str], option: str) -> set[str]:
    """Chromosome names of ``promoters.tsv`` meant by ``spec`` (comma-separated; aliases allowed)."""
    if spec is None:
        return set()
    wanted = [s.strip() for s in (spec.split(",") if isinstance(spec, str) else spec) if s.strip()]
    present = sorted(set(chroms))
    out = set()
    for w in wanted:
        hits = [c for c in present if c == w] or [c for c in present if _chrom_key(c) == _chrom_key(w)]
        if not hits:
            raise TfvocabError(f"{option} {w!r} is not a chromosome of promoters.tsv",
                               hint=f"chromosomes there: {', '.join(present[:20])}")
        out.update(hits)
    return out


def _units(n: int, ea: np.ndarray, eb: np.ndarray, cap: float, seed: int) -> np.ndarray:
    """Community unit of each gene, (n,) int: connected components, split with Louvain
    (recursively) only while a unit holds more than ``cap`` positive edges. -1 for genes without
    edges."""
    import networkx as nx

    unit = np.full(n, -1, dtype=np.int64)
    if len(ea) == 0:
        return unit
    graph = nx.Graph()
    nodes = np.unique(np.concatenate([ea, eb]))
    graph.add_nodes_from(nodes.tolist())
    graph.add_edges_from(zip(ea.tolist(), eb.tolist()))
    stack = sorted((sorted(c) for c in nx.connected_components(graph)), key=lambda c: c[0])
    next_id = 0
    while stack:
        comp = stack.pop()
        sub = graph.subgraph(comp)
        if sub.number_of_edges() <= cap or len(comp) < 4:
            unit[comp] = next_id
            next_id += 1
            continue
        parts = nx.community.louvain_communities(sub, seed=seed)
        if len(parts) <= 1:
            unit[comp] = next_id
            next_id += 1
            continue
        stack.extend(sorted((sorted(p) for p in parts), key=lambda c: c[0]))
    return unit


def _grow(unit_w: np.ndarray, link, targets: Mapping[int, float], cap: float,
          rng: np.random.Generator, assigned: np.ndarray) -> np.ndarray:
    """Greedy region growing over community units.

    ``unit_w``: (U,) positive edges owned by each unit; ``link``: (U, U) sparse inter-unit edge
    counts; ``targets``: fold -> edges wanted; ``assigned``: (U,) fold or -1.
    Each fold in turn adds the fitting unit that cuts fewest edges (whole components cut none),
    ties broken by a seeded random priority. Returns the updated ``assigned``.
    """
    ext = np.asarray(link.sum(axis=1)).ravel()
    prio = rng.permutation(len(unit_w)).astype(float) / max(len(unit_w), 1)
    for code, target in targets.items():
        conn = np.zeros(len(unit_w))
        filled = 0.0
        while filled < target:
            remaining = target - filled
            cand = (assigned < 0) & (unit_w <= remaining + cap / 2)
            if not cand.any():
                break
            delta = np.where(cand, ext - 2 * conn + prio, np.inf)
            u = int(np.argmin(delta))
            assigned[u] = code
            filled += unit_w[u]
            conn += link.getrow(u).toarray().ravel()
    return assigned


def _balanced_grow(unit_w: np.ndarray, link, ua: np.ndarray, ub: np.ndarray,
                   targets: Mapping[int, float], cap: float, seed: int, n_codes: int,
                   n_rounds: int = 12) -> np.ndarray:
    """:func:`_grow` with targets rescaled until each fold's share of the *kept* positive
    edges (both ends in the fold) is close to ``target / n_edges``: edges cut at a region's
    boundary are lost, so a region grown to its raw target would end up under-filled. Units
    left over go to fold 0.

    ``ua, ub``: (E,) unit of each end of every positive edge. Returns (U,) folds.
    """
    desired = {k: t / max(len(ua), 1) for k, t in targets.items()}
    mult = {k: 1.0 for k in targets}
    best, best_err = None, np.inf
    for _ in range(n_rounds):
        scaled = {k: min(targets[k] * mult[k], unit_w.sum()) for k in targets}
        assigned = _grow(unit_w, link, scaled, cap, np.random.default_rng(seed),
                         np.full(len(unit_w), -1, dtype=np.int64))
        assigned[assigned < 0] = 0
        ca, cb = assigned[ua], assigned[ub]
        kept = np.bincount(ca[ca == cb], minlength=n_codes).astype(float)
        share = kept / max(kept.sum(), 1.0)
        err = max(abs(share[k] - d) for k, d in desired.items())
        if err < best_err:
            best, best_err = assigned, err
        if err < 0.01:
            break
        for k, d in desired.items():
            # damped: a fold's share responds non-linearly (its growth also shrinks the others)
            mult[k] *= float(np.clip(d / max(share[k], 1e-3), 0.5, 2.0)) ** 0.5
    return best


SPLIT_METHODS = ("gene", "community", "chromosome")


def _equal_codes(n: int, k: int, rng: np.random.Generator) -> np.ndarray:
    """(n,) codes 0..k-1 in near-equal counts (largest remainder), in seeded random order."""
    counts = np.full(k, n // k)
    counts[: n - counts.sum()] += 1
    code = np.repeat(np.arange(k), counts)
    return code[rng.permutation(n)]


def _community_folds(n: int, ea: np.ndarray, eb: np.ndarray, n_folds: int, seed: int,
                     rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Folds of genes grown from co-expression communities (each fold ~1/K of the kept
    positive edges, few edges cut); genes without positives at random. Returns ``(fold (n,),
    unit (n,))`` (unit -1 for genes without positives)."""
    from scipy import sparse

    code = np.full(n, -1, dtype=np.int64)
    targets = {f: len(ea) / n_folds for f in range(1, n_folds)}
    cap = max(1.0, 0.25 * len(ea) / n_folds)
    unit = _units(n, ea, eb, cap, seed)
    n_units = int(unit.max()) + 1
    if n_units > 0:
        cross = unit[ea] != unit[eb]
        w = np.bincount(unit[ea][~cross], minlength=n_units).astype(float)      # edge inside a unit
        w += 0.5 * np.bincount(unit[ea][cross], minlength=n_units)              # between: half each
        w += 0.5 * np.bincount(unit[eb][cross], minlength=n_units)
        ua, ub = unit[ea][cross], unit[eb][cross]
        link = sparse.coo_matrix((np.ones(2 * len(ua)), (np.concatenate([ua, ub]), np.concatenate([ub, ua]))),
                                 shape=(n_units, n_units)).tocsr()
        assigned = _balanced_grow(w, link, unit[ea], unit[eb], targets, cap, seed, n_folds)
        code[unit >= 0] = assigned[unit[unit >= 0]]
    rest = np.flatnonzero(code < 0)
    code[rest] = _equal_codes(len(rest), n_folds, rng)
    return code, unit


def _chromosome_folds(gchrom: Sequence[str], n_folds: int, test_chrom) -> np.ndarray:
    """Folds of whole chromosomes: ``test_chrom`` (if given) is fold 0, the other chromosomes
    are dealt to the remaining folds largest first (fewest genes so far). (n,) folds."""
    gchrom = np.asarray(gchrom, dtype=object)
    names, counts = np.unique(gchrom, return_counts=True)
    tset = _resolve_chroms(test_chrom, list(names), "--test-chrom")
    first = 1 if tset else 0
    rest = [c for c in names if c not in tset]
    if len(rest) < n_folds - first:
        have = len(rest) + first
        raise TfvocabError(f"--split chromosome with --folds {n_folds} needs {n_folds} chromosome groups, "
                           f"promoters.tsv has {have}", hint=f"use --folds {max(have, 2)} or --split gene")
    fold_of = {c: 0 for c in tset}
    size = np.zeros(n_folds)
    size[0] = sum(counts[names == c][0] for c in tset) if tset else 0
    cnt = dict(zip(names, counts))
    for c in sorted(rest, key=lambda c: (-cnt[c], c)):
        f = first + int(np.argmin(size[first:]))
        fold_of[c] = f
        size[f] += cnt[c]
    return np.array([fold_of[c] for c in gchrom], dtype=np.int64)


def _validation_folds(fold: np.ndarray, group: np.ndarray, n_folds: int, val_frac: float,
                      rng: np.random.Generator) -> np.ndarray:
    """``val_fold`` (n,): the fold whose validation genes a gene is, or -1.

    Validation genes of fold k are drawn from the other folds: every group (a gene, or a
    community unit whose genes stay together) gets one random candidate fold among the folds
    it is not in, and a seeded ``val_frac * (K - 1)`` share of each fold's candidates is kept,
    so about ``val_frac`` of the genes outside fold k validate fold k and no gene validates two.
    """
    q = val_frac * (n_folds - 1)
    if q > 1.0 + 1e-9:
        raise TfvocabError(f"--val-frac {val_frac} is too large for {n_folds} folds",
                           hint=f"at most 1/(K-1) = {1 / (n_folds - 1):.3f}: each gene validates one fold")
    out = np.full(len(fold), -1, dtype=np.int64)
    groups, first = np.unique(group, return_index=True)
    gfold = fold[first]
    shift = rng.integers(1, n_folds, size=len(groups)) if n_folds > 1 else np.zeros(len(groups), np.int64)
    cand = (gfold + shift) % n_folds
    chosen = np.zeros(len(groups), dtype=bool)
    for k in range(n_folds):
        idx = np.flatnonzero(cand == k)
        idx = idx[rng.permutation(len(idx))]
        chosen[idx[: int(round(q * len(idx)))]] = True
    gval = np.where(chosen, cand, -1)
    pos = np.searchsorted(groups, group)
    out[:] = gval[pos]
    return out


def assign_folds(genes: Sequence[str], pos_pairs: pd.DataFrame, *, method: str = "gene",
                 n_folds: int = 5, val_frac: float = 0.15, seed: int = 0,
                 chrom: Mapping[str, str] | None = None,
                 test_chrom: str | Sequence[str] | None = None) -> pd.DataFrame:
    """Assign every gene with a promoter to exactly one of ``n_folds`` gene-disjoint test folds,
    and to at most one other fold's validation genes.

    ``genes``: (G,) genes with promoters; ``pos_pairs``: positives (``gene_a, gene_b``).
    ``method="gene"``: a seeded random assignment (genes with and without positives dealt
    separately into near-equal folds), so every module's genes spread over the folds and a
    fold's test asks about *new genes of known programs*. ``method="community"``: folds grown
    from co-expression communities (components, Louvain-split when large), each holding ~1/K of
    the positive edges while cutting few: test modules are unseen in training (*unseen
    programs*). ``method="chromosome"``: whole chromosomes per fold (``test_chrom`` = fold 0).
    Validation genes: :func:`_validation_folds` (community units stay together).

    Returns a DataFrame sorted by gene: ``gene_id, fold, val_fold`` (val_fold -1 = validates no
    fold); deterministic for a given ``seed``.
    """
    if method not in SPLIT_METHODS:
        raise TfvocabError(f"unknown split method {method!r}", hint="use 'gene', 'community' or 'chromosome'")
    if int(n_folds) < 2:
        raise TfvocabError(f"--folds must be >= 2, got {n_folds}",
                           hint="each fold's model trains on the genes of the other folds")
    if not 0 <= val_frac < 1:
        raise TfvocabError(f"--val-frac {val_frac} must be in [0, 1)")
    n_folds = int(n_folds)
    rng = np.random.default_rng(seed)
    genes = sorted(set(genes))
    index = {g: i for i, g in enumerate(genes)}
    n = len(genes)
    if n < n_folds:
        raise TfvocabError(f"{n} genes with promoters cannot make {n_folds} folds", hint="use fewer --folds")
    ea = pos_pairs["gene_a"].map(index).to_numpy()
    eb = pos_pairs["gene_b"].map(index).to_numpy()
    ok = ~(pd.isna(ea) | pd.isna(eb))
    ea, eb = ea[ok].astype(np.int64), eb[ok].astype(np.int64)
    group = np.arange(n)
    if method == "gene":
        fold = np.full(n, -1, dtype=np.int64)
        has_pos = np.zeros(n, dtype=bool)
        has_pos[ea] = has_pos[eb] = True
        for sel in (np.flatnonzero(has_pos), np.flatnonzero(~has_pos)):
            fold[sel] = _equal_codes(len(sel), n_folds, rng)
    elif method == "community":
        fold, unit = _community_folds(n, ea, eb, n_folds, seed, rng)
        group = np.where(unit >= 0, unit, n + np.arange(n))
    else:
        if chrom is None:
            raise TfvocabError("a chromosome split needs the chromosome of every gene")
        fold = _chromosome_folds([chrom[g] for g in genes], n_folds, test_chrom)
    val = _validation_folds(fold, group, n_folds, val_frac, rng)
    return pd.DataFrame({"gene_id": genes, "fold": fold.astype(np.int64), "val_fold": val})


def fold_roles(fold: np.ndarray, val_fold: np.ndarray, k: int) -> np.ndarray:
    """Role of every gene in fold ``k``'s run: ``"train"``, ``"val"`` or ``"test"`` ((G,) object)."""
    return np.where(fold == k, "test", np.where(val_fold == k, "val", "train")).astype(object)
