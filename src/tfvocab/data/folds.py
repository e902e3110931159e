"""Which genes train, validate and test the model of one fold (non-step module, shared by
``tfvocab train`` and ``tfvocab evaluate``).

``tfvocab pairs --folds K`` writes ``genes.tsv`` (``gene_id, chrom, fold, val_fold, degree``:
every gene with a promoter, its test fold and the fold it validates, -1 for none) next to
``pairs.tsv`` (the listed pairs). For fold ``k``: test genes = ``fold == k``, validation genes
= ``val_fold == k``, training genes = the rest. A pair belongs to a role when both its genes
do; pairs joining two roles are never used.

A ``pairs.tsv`` with a ``split`` column and no ``genes.tsv`` (hand-made or older single-split
files, e.g. :func:`tfvocab.data.genedata.write_synthetic`) is read as one fold whose gene roles come
from the rows' ``split``: only genes that appear in it take part, and its label-0 rows are its
sampled negatives (``--negatives listed`` uses them).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from . import universe as U
from ..errors import TfvocabError

ROLES = {"train": 0, "val": 1, "test": 2}


def genes_path(pairs, genes=None) -> Path | None:
    """``genes`` if given, else ``genes.tsv`` next to ``pairs`` when it exists, else None."""
    if genes is not None:
        return Path(genes)
    cand = Path(pairs).with_name("genes.tsv")
    return cand if cand.exists() else None


def read_genes_table(path) -> pd.DataFrame:
    """Read ``genes.tsv`` (validated by :func:`tfvocab.formats.read_genes`)."""
    from ..formats import read_genes

    return read_genes(path)


@dataclass
class FoldSplit:
    """Gene roles of fold ``fold`` on a gene axis of G genes and the listed pairs on it.

    ``role`` (G,) int8: 0 train, 1 val, 2 test, -1 not in the design. ``pos_a, pos_b``: global
    indices of the positives (label 1); ``listed_a, listed_b``: every listed pair (positives and
    listed pairs below threshold): never a negative; ``neg_a, neg_b``: a legacy file's label-0
    rows (sampled negatives), empty otherwise.
    """

    fold: int
    n_folds: int
    role: np.ndarray
    pos_a: np.ndarray
    pos_b: np.ndarray
    listed_a: np.ndarray
    listed_b: np.ndarray
    neg_a: np.ndarray
    neg_b: np.ndarray
    legacy: bool = False

    def genes(self, role: str) -> np.ndarray:
        """Sorted global indices of the genes with ``role`` (train / val / test)."""
        return np.flatnonzero(self.role == ROLES[role]).astype(np.int64)

    def positives_among(self, genes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Positives with both genes in ``genes`` (sorted global), as local indices."""
        return U.local_pairs(genes, self.pos_a, self.pos_b)

    def listed_among(self, genes: np.ndarray) -> np.ndarray:
        """Sorted pair indices (universe of ``genes``) of every listed pair among ``genes``."""
        la, lb = U.local_pairs(genes, self.listed_a, self.listed_b)
        return np.unique(U.tri_index(la, lb, len(genes)))

    def negatives_among(self, genes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """A legacy file's sampled negatives with both genes in ``genes``, local indices."""
        return U.local_pairs(genes, self.neg_a, self.neg_b)


def fold_split(pairs: pd.DataFrame, gene_index: dict[str, int], genes_table: pd.DataFrame | None,
               fold: int = 0, path=None) -> FoldSplit:
    """Roles of fold ``fold`` on the gene axis ``gene_index`` (gene -> index).

    ``pairs``: ``pairs.tsv`` read by :func:`tfvocab.data.genedata.read_pairs` (``ia, ib, label`` and
    ``source``/``split`` if present); ``genes_table``: ``genes.tsv`` (None: legacy single split
    from ``pairs["split"]``). Genes of ``genes.tsv`` without promoter data in the inputs are
    left out (role -1).
    """
    G = len(gene_index)
    role = np.full(G, -1, dtype=np.int8)
    ia, ib = pairs["ia"].to_numpy(np.int64), pairs["ib"].to_numpy(np.int64)
    label = pairs["label"].to_numpy()
    if genes_table is None:
        if "split" not in pairs.columns:
            raise TfvocabError("pairs.tsv has no split column and no genes.tsv was found next to it",
                               path=None if path is None else str(path),
                               hint="run `tfvocab pairs --folds K` or pass --genes genes.tsv")
        if fold != 0:
            raise TfvocabError(f"--fold {fold}: a single-split pairs.tsv (split column, no genes.tsv) has only fold 0")
        split = pairs["split"].map(ROLES)
        bad = split.isna() & (pairs["split"] != "cross")
        if bad.any():
            raise TfvocabError(f"unknown split {pairs['split'][bad].iloc[0]!r} (train/val/test expected)",
                               path=None if path is None else str(path))
        inside = split.notna().to_numpy()           # rows joining two partitions set no role
        code = split.to_numpy(np.float64)[inside].astype(np.int8)
        role[ia[inside]] = code
        role[ib[inside]] = code
        clash = (role[ia[inside]] != code) | (role[ib[inside]] != code)
        if clash.any():
            raise TfvocabError("a gene appears in two splits of pairs.tsv (the split must be gene-disjoint)",
                               path=None if path is None else str(path), record=f"line {int(np.flatnonzero(clash)[0]) + 2}")
        src = pairs["source"].astype(str).to_numpy() if "source" in pairs.columns else np.full(len(pairs), "")
        is_neg = (label == 0) & (src != "listed")
        listed = ~is_neg
        n_folds, legacy = 1, True
    else:
        idx = genes_table["gene_id"].map(gene_index)
        ok = idx.notna().to_numpy()
        n_folds = int(genes_table["fold"].max()) + 1
        if not 0 <= fold < n_folds:
            raise TfvocabError(f"--fold {fold} does not exist: genes.tsv has folds 0..{n_folds - 1}")
        f = genes_table["fold"].to_numpy()[ok]
        v = genes_table["val_fold"].to_numpy()[ok]
        role[idx[ok].astype(np.int64).to_numpy()] = np.where(f == fold, 2, np.where(v == fold, 1, 0))
        is_neg = np.zeros(len(pairs), bool)
        listed = np.ones(len(pairs), bool)
        legacy = False
    pos = label == 1
    return FoldSplit(fold=int(fold), n_folds=n_folds, role=role, pos_a=ia[pos], pos_b=ib[pos],
                     listed_a=ia[listed], listed_b=ib[listed], neg_a=ia[is_neg], neg_b=ib[is_neg],
                     legacy=legacy)


def shuffle_positives(split: FoldSplit, genes: np.ndarray, seed: int) -> FoldSplit:
    """The shuffled-label control: the positives among ``genes`` (global, sorted) with the
    gene identities permuted among ``genes`` (same pair graph, labels now independent of the
    promoters). Positives elsewhere are unchanged; listed pairs follow the permutation."""
    rng = np.random.default_rng([int(seed), 101])
    perm = np.arange(len(split.role), dtype=np.int64)
    perm[genes] = genes[rng.permutation(len(genes))]
    return FoldSplit(fold=split.fold, n_folds=split.n_folds, role=split.role,
                     pos_a=perm[split.pos_a], pos_b=perm[split.pos_b],
                     listed_a=perm[split.listed_a], listed_b=perm[split.listed_b],
                     neg_a=perm[split.neg_a], neg_b=perm[split.neg_b], legacy=split.legacy)
