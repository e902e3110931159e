"""The TSV artifacts: ``promoters.tsv``, ``pairs.tsv`` and ``genes.tsv`` (layouts: docs/formats.md).

Each is written with a provenance sidecar ``<file>.json`` and read back validated. The
promoters' **content digest** (:func:`promoters_digest`: gene IDs, chromosomes, intervals,
strands and start codons) is the root of every other artifact's lineage: the same genes with
shifted coordinates give another digest.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np
import pandas as pd

from ..errors import TfvocabError
from ..io import write_sidecar, write_table
from .core import check_file, digest, reading

PROMOTER_COLUMNS = ("gene_id", "chrom", "start", "end", "strand", "start_codon", "transcript_id",
                    "gc", "clipped")
REQUIRED_COLUMNS = ("gene_id", "chrom", "strand", "start_codon")
PAIR_COLUMNS = ("gene_a", "gene_b", "label", "split")
GENES_COLUMNS = ("gene_id", "fold", "val_fold")


def _read_tsv(path: Path, kind: str, **kwargs) -> pd.DataFrame:
    with reading(path, kind):
        try:
            return pd.read_csv(path, sep="\t", encoding="utf-8-sig", **kwargs)
        except (pd.errors.EmptyDataError, pd.errors.ParserError, UnicodeDecodeError) as exc:
            raise TfvocabError(f"cannot parse the table: {str(exc).splitlines()[0]}",
                               path=str(path), hint="expected a tab-separated table with a header "
                               "line (docs/formats.md)") from None


def sidecar(path: str | Path) -> dict:
    """The provenance sidecar ``<path>.json`` of a table ({} when absent or unreadable)."""
    p = Path(f"{path}.json")
    try:
        d = json.loads(p.read_text())
    except (OSError, ValueError):
        return {}
    return d if isinstance(d, dict) else {}


# ----------------------------------------------------------------------------------------------
# promoters.tsv


def promoters_digest(df: pd.DataFrame) -> str:
    """Content digest of a promoters table: gene IDs, chromosomes, intervals, strands, start codons."""
    parts = []
    for c in ("gene_id", "chrom", "strand", "start_codon", "start", "end"):
        if c in df.columns:
            v = df[c]
            parts += [c, np.asarray(v, np.int64) if c in ("start_codon", "start", "end")
                      else [str(x) for x in v]]
    return digest(*parts)


def write_promoters(path: str | Path, table: pd.DataFrame, prov: Mapping, *,
                    upstream: int, downstream: int) -> Path:
    """Write ``promoters.tsv`` (columns :data:`PROMOTER_COLUMNS`) + its sidecar (provenance,
    flanks, content digest)."""
    tsv = table[list(PROMOTER_COLUMNS)].copy()
    tsv["clipped"] = np.where(table["clipped"].astype(bool), "true", "false")
    write_table(path, tsv, None, float_format="%.6g", na_rep="NaN")
    write_sidecar(path, {**dict(prov), "digest": promoters_digest(table),
                         "upstream": int(upstream), "downstream": int(downstream)})
    return Path(path)


def read_promoters(path: str | Path, required: Sequence[str] = REQUIRED_COLUMNS) -> pd.DataFrame:
    """Read and validate ``promoters.tsv``.

    ``required``: the columns the caller needs (default: those of the window geometry).
    Returns a DataFrame with at least ``gene_id`` (str), ``chrom`` (str), ``strand`` ('+'/'-'),
    ``start_codon`` (int64, 0-based genomic), ``clipped`` (bool; False when the column is absent)
    and, when present, ``start``/``end`` (int64); ``df.attrs["digest"]`` is its
    :func:`promoters_digest`. Raises :class:`TfvocabError` naming the file and the offending
    column / row for missing columns, bad strands, non-integer coordinates, an interval that does
    not contain its start codon or duplicated gene IDs.
    """
    path = check_file(path, "promoters")
    df = _read_tsv(path, "promoters", dtype=str, keep_default_na=False)
    missing = [c for c in required if c not in df.columns]
    if missing:
        raise TfvocabError(f"missing required column(s) {', '.join(missing)}", path=str(path),
                           record="header",
                           hint=f"expected columns {', '.join(required)} (from tfvocab promoters)")
    if len(df) == 0:
        raise TfvocabError("no promoters in the file (header only)", path=str(path),
                           hint="check the GFF3 given to `tfvocab promoters`")
    bad = ~df["strand"].isin(["+", "-"]) if "strand" in df.columns else pd.Series(False, index=df.index)
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        raise TfvocabError(f"strand must be '+' or '-', got '{df['strand'].iloc[i]}'", path=str(path),
                           record=f"line {i + 2} (gene {df['gene_id'].iloc[i]})")
    for col in ("start_codon", "start", "end"):
        if col not in df.columns:
            continue
        num = pd.to_numeric(df[col], errors="coerce")
        bad = num.isna() | (num != np.floor(num))
        if bad.any():
            i = int(np.flatnonzero(bad.to_numpy())[0])
            raise TfvocabError(f"column {col} must be an integer, got '{df[col].iloc[i]}'",
                               path=str(path), record=f"line {i + 2} (gene {df['gene_id'].iloc[i]})")
        df[col] = num.astype(np.int64)
    if {"start", "end"} <= set(df.columns):
        bad = ~((df["start"] <= df["start_codon"]) & (df["start_codon"] < df["end"]))
        if bad.any():
            i = int(np.flatnonzero(bad.to_numpy())[0])
            raise TfvocabError(f"interval {df['start'].iloc[i]}-{df['end'].iloc[i]} does not contain "
                               f"the start codon {df['start_codon'].iloc[i]}", path=str(path),
                               record=f"line {i + 2} (gene {df['gene_id'].iloc[i]})",
                               hint="rerun `tfvocab promoters`")
    dup = df["gene_id"].duplicated()
    if dup.any():
        i = int(np.flatnonzero(dup.to_numpy())[0])
        raise TfvocabError(f"duplicated gene_id '{df['gene_id'].iloc[i]}'", path=str(path),
                           record=f"line {i + 2}")
    if "clipped" in df.columns:
        df["clipped"] = df["clipped"].str.strip().str.lower().isin(["true", "1", "yes", "t"])
    else:
        df["clipped"] = False
    if "gc" in df.columns:
        df["gc"] = pd.to_numeric(df["gc"], errors="coerce")
    df.attrs["digest"] = promoters_digest(df)
    df.attrs["path"] = str(path)
    return df


# ----------------------------------------------------------------------------------------------
# pairs.tsv


def write_pairs(path: str | Path, pairs: pd.DataFrame, prov: Mapping, lineage: Mapping) -> Path:
    """Write ``pairs.tsv`` + its sidecar (provenance and ``lineage``: the promoters digest)."""
    write_table(path, pairs, None)
    write_sidecar(path, {**dict(prov), "lineage": dict(lineage)})
    return Path(path)


def read_pairs(path: str | Path, genes: Sequence[str] | Mapping[str, int] | None = None,
               required: Sequence[str] = PAIR_COLUMNS) -> pd.DataFrame:
    """Read and validate ``pairs.tsv``.

    With ``genes`` (gene IDs in data order, or a gene -> index map) int columns ``ia, ib`` are
    added and a gene without promoter data is an error naming the line. ``label`` is int64 0/1.
    ``df.attrs["lineage"]`` holds the sidecar's lineage ({} without a sidecar).
    """
    path = check_file(path, "pairs")
    df = _read_tsv(path, "pairs", dtype={"gene_a": str, "gene_b": str, "split": str})
    miss = [c for c in required if c not in df.columns]
    if miss:
        raise TfvocabError(f"missing column(s) {', '.join(miss)}", path=str(path), record="header",
                           hint="expected the pairs.tsv of `tfvocab pairs` (docs/formats.md)")
    lab = pd.to_numeric(df["label"], errors="coerce")
    bad = ~lab.isin([0, 1])
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        raise TfvocabError(f"label must be 0 or 1, got '{df['label'].iloc[i]}'", path=str(path),
                           record=f"line {i + 2}")
    df["label"] = lab.astype(np.int64)
    if genes is not None:
        index = genes if isinstance(genes, Mapping) else {g: i for i, g in enumerate(genes)}
        ia = df["gene_a"].map(index)
        ib = df["gene_b"].map(index)
        bad = ia.isna() | ib.isna()
        if bad.any():
            row = int(np.flatnonzero(bad.to_numpy())[0])
            g = df["gene_a"].iloc[row] if pd.isna(ia.iloc[row]) else df["gene_b"].iloc[row]
            raise TfvocabError(f"gene '{g}' has no promoter data ({int(bad.sum())} pairs affected)",
                               path=str(path), record=f"line {row + 2}",
                               hint="pairs.tsv and tokens.h5/normalized.h5 must come from the same "
                                    "promoters.tsv")
        df["ia"] = ia.astype(np.int64)
        df["ib"] = ib.astype(np.int64)
    df.attrs["lineage"] = dict(sidecar(path).get("lineage", {}))
    df.attrs["path"] = str(path)
    df.attrs["digest"] = file_digest(path)
    return df


# ----------------------------------------------------------------------------------------------
# genes.tsv (the folds)


def write_genes(path: str | Path, genes: pd.DataFrame, prov: Mapping, lineage: Mapping) -> Path:
    """Write ``genes.tsv`` (``gene_id, chrom, fold, val_fold, degree``) + its sidecar."""
    write_table(path, genes, None)
    write_sidecar(path, {**dict(prov), "lineage": dict(lineage)})
    return Path(path)


def read_genes(path: str | Path) -> pd.DataFrame:
    """Read and validate ``genes.tsv``: ``gene_id, fold, val_fold`` required, integer folds
    (``fold`` >= 0, ``val_fold`` >= -1 and never the gene's own fold), no gene twice.
    ``df.attrs``: ``lineage``, ``path``, ``digest``."""
    path = check_file(path, "genes")
    df = _read_tsv(path, "genes", dtype={"gene_id": str, "chrom": str})
    miss = [c for c in GENES_COLUMNS if c not in df.columns]
    if miss:
        raise TfvocabError(f"missing column(s) {', '.join(miss)}", path=str(path), record="header",
                           hint="expected the genes.tsv of `tfvocab pairs`: gene_id, chrom, fold, val_fold, degree")
    for col, low in (("fold", 0), ("val_fold", -1)):
        v = pd.to_numeric(df[col], errors="coerce")
        bad = v.isna() | (v < low) | (v != v.round())
        if bad.any():
            i = int(np.flatnonzero(bad.to_numpy())[0])
            raise TfvocabError(f"{col} must be an integer >= {low}, got {df[col].iloc[i]!r}", path=str(path),
                               record=f"line {i + 2}")
        df[col] = v.astype(np.int64)
    dup = df["gene_id"].duplicated()
    if dup.any():
        i = int(np.flatnonzero(dup.to_numpy())[0])
        raise TfvocabError(f"gene {df['gene_id'].iloc[i]!r} is listed twice", path=str(path), record=f"line {i + 2}")
    same = df["val_fold"] == df["fold"]
    if same.any():
        i = int(np.flatnonzero(same.to_numpy())[0])
        raise TfvocabError("a gene validates its own test fold", path=str(path), record=f"line {i + 2}")
    df.attrs["lineage"] = dict(sidecar(path).get("lineage", {}))
    df.attrs["path"] = str(path)
    df.attrs["digest"] = file_digest(path)
    return df


def file_digest(path) -> str:
    """SHA-256 of a file's bytes (the identity of a table in the lineage of what is made from it)."""
    import hashlib

    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()
