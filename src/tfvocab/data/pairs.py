"""Labelled, leak-free gene pairs from a co-expression list (the ``pairs`` step).

Pipeline (each stage a function on DataFrames/arrays; I/O only in :func:`run`):

1. :func:`read_coexpression` reads the list as users have it: an edge list (TSV/CSV/whitespace
   (sniffed), optional header (detected), ``#`` comments, optional gzip, two gene columns and an
   optional score column: ATTED-II ``Gene1 Gene2 MR`` tables and ``gene partner score`` lists
   alike), an ATTED-II / COXPRESdb download (a folder or ``.zip`` of one file per gene, named by
   Entrez Gene ID) or a square genes x genes matrix (:mod:`tfvocab.data.coexpression`), IDs optionally
   mapped through ``--id-map`` (Entrez -> AGI; unmapped IDs counted), ``--top-n`` partners per
   gene. docs/inputs.md describes the layouts and the score semantics (z, MR: lower is better).
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

import csv
import gzip
import io as _io
import re
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np
import pandas as pd

from . import coexpression as coex
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
_AGI = re.compile(r"^AT[1-5CM]G\d{5}$", re.IGNORECASE)
_PREFIX = re.compile(r"^(gene[:\-])+", re.IGNORECASE)
_ISOFORM = re.compile(r"\.\d+$")
_NUMBER = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$|^[+-]?(inf|nan)$", re.IGNORECASE)
_HEADER_WORD = re.compile(
    r"^(gene|genes|partner|query|target|source|node|locus|agi|id|name|protein|score|mr|rank|"
    r"pcc|cor|corr|correlation|weight|value|z|zscore|pvalue|fdr)[\s_\-]?[a-z0-9_]*$",
    re.IGNORECASE)
_LOWER_BETTER_NAMES = coex.LOWER_BETTER_NAMES

log = get_logger("pairs")


# ----------------------------------------------------------------------------- gene IDs

def normalise_ids(ids: Iterable[str] | pd.Series) -> pd.Series:
    """Clean gene IDs: strip whitespace/quotes, drop ``gene:``/``gene-`` prefixes and isoform
    suffixes (``AT1G01010.1`` -> ``AT1G01010``), upper-case AGI codes.

    ``ids``: (N,) strings. Returns a (N,) string Series (same index when given a Series).
    """
    s = pd.Series(ids, dtype=object) if not isinstance(ids, pd.Series) else ids.astype(object)
    out = s.fillna("").astype(str).str.strip().str.strip("\"'").str.strip()
    out = out.str.replace(_PREFIX, "", regex=True)
    out = out.str.replace(_ISOFORM, "", regex=True)
    agi = out.str.match(_AGI)
    out = out.where(~agi, out.str.upper())
    return out


def _match_key(ids: pd.Series) -> pd.Series:
    """Case-insensitive matching key of already-normalised IDs."""
    return ids.str.upper()


def _looks_like_gene(token: str, known: set[str] | None) -> bool:
    key = normalise_ids([token]).iloc[0]
    return bool(_AGI.match(key)) or (known is not None and key.upper() in known)


def _is_number(token: str) -> bool:
    return bool(_NUMBER.match(token.strip()))


# ----------------------------------------------------------------------------- reading

def _open_text(path: Path):
    if path.suffix == ".gz":
        return _io.TextIOWrapper(gzip.open(path, "rb"), encoding="utf-8", errors="replace")
    return open(path, encoding="utf-8", errors="replace", newline="")


def _scan(path: Path, sample_size: int = 200) -> tuple[list[tuple[int, str]], dict]:
    """One pass over the file: counts of lines/comments/blanks and a sample of data lines.

    Returns ``(sample, counts)``; ``sample`` holds ``(line_number, text)`` (1-based).
    """
    counts = {"lines": 0, "comment_lines": 0, "blank_lines": 0}
    sample: list[tuple[int, str]] = []
    with _open_text(path) as fh:
        for n, line in enumerate(fh, 1):
            counts["lines"] = n
            stripped = line.strip()
            if not stripped:
                counts["blank_lines"] += 1
            elif stripped.startswith("#"):
                counts["comment_lines"] += 1
            elif len(sample) < sample_size:
                sample.append((n, line.rstrip("\r\n")))
    return sample, counts


def _data_line_number(path: Path, data_index: int) -> int:
    """1-based file line of the ``data_index``-th (0-based) non-comment, non-blank line."""
    seen = -1
    with _open_text(path) as fh:
        for n, line in enumerate(fh, 1):
            stripped = line.strip()
            if stripped and not stripped.startswith("#"):
                seen += 1
                if seen == data_index:
                    return n
    return -1


def _sniff_delimiter(lines: Sequence[str]) -> str | None:
    """The field delimiter of ``lines``: tab, comma, semicolon, pipe, or None for whitespace.

    Returns ``""`` when no delimiter splits every line into >= 2 fields (a one-column table).
    """
    for delim in ("\t", ",", ";", "|"):
        fields = [len(next(csv.reader([ln], delimiter=delim))) for ln in lines]
        if fields and min(fields) >= 2:
            return delim
    if lines and min(len(ln.split()) for ln in lines) >= 2:
        return None
    return ""


def _split_line(line: str, delim: str | None) -> list[str]:
    if delim is None:
        return line.split()
    return [c.strip() for c in next(csv.reader([line], delimiter=delim))]


def _resolve_column(spec: str | int, header: list[str] | None, ncol: int, path: Path,
                    what: str) -> int:
    """0-based index of a column given by 1-based index or (case-insensitive) name."""
    text = str(spec).strip()
    if text.isdigit():
        idx = int(text) - 1
        if not 0 <= idx < ncol:
            raise TfvocabError(f"{what} column {text} does not exist; the table has {ncol} columns",
                               path=str(path), hint="columns are numbered from 1")
        return idx
    if header is None:
        raise TfvocabError(f"{what} column '{text}' given by name, but the file has no header row",
                           path=str(path), hint="give the column by its 1-based number instead")
    lower = [h.lower() for h in header]
    if text.lower() not in lower:
        raise TfvocabError(f"no {what} column named '{text}'", path=str(path),
                           hint=f"the header has: {', '.join(header)}")
    return lower.index(text.lower())


def read_coexpression(path: str | Path, *, gene_columns: Sequence[str | int] | str | None = None,
                      score_column: str | int | None = None,
                      known_genes: Iterable[str] | None = None, id_map: str | Path | None = None,
                      threshold: float | None = None, top_n: int | None = None,
                      score_lower_better: bool | None = None, layout: str = "auto") -> pd.DataFrame:
    """Read co-expression in any supported layout into ``gene_a, gene_b, score`` rows.

    ``layout``: ``edges`` (:func:`read_edge_list`), ``partners`` (a folder or ``.zip`` of one
    file per gene, ATTED-II / COXPRESdb downloads) or ``matrix`` (square genes x genes table),
    ``auto`` = :func:`tfvocab.data.coexpression.detect_layout`. ``id_map``: two-column table (e.g.
    Entrez Gene ID, AGI) applied to every gene ID; rows with an unmapped ID are dropped and
    counted in ``attrs["read"]["id_map"]``. ``top_n``: keep each gene's N best partners (after
    the ID map; ties by partner ID). Per-gene lists and matrices are filtered by
    ``threshold`` / ``top_n`` while they are read (one of them is required there); an edge
    list keeps every row for :func:`clean_positives`, which applies the threshold.
    ``score_lower_better``: None = from the score column's name (MR/rank: lower is better).
    """
    if layout not in coex.LAYOUTS:
        raise TfvocabError(f"unknown co-expression layout {layout!r}", hint=f"one of {', '.join(coex.LAYOUTS)}")
    path = Path(path)
    if not path.exists():
        raise TfvocabError("co-expression file not found", path=str(path))
    if layout == "auto":
        layout = coex.detect_layout(path, None if known_genes is None else
                                    normalise_ids(list(known_genes)).str.upper())
    if layout != "edges":
        if gene_columns is not None:
            raise TfvocabError(f"--gene-columns does not apply to a {layout} layout", path=str(path),
                               hint="gene IDs come from the file names and partner column"
                                    if layout == "partners" else "gene IDs are the row and column names")
        if layout == "partners":
            return coex.read_partner_lists(path, threshold=threshold, top_n=top_n, id_map=id_map,
                                           score_lower_better=score_lower_better,
                                           score_column=score_column, known_genes=known_genes)
        if score_column is not None:
            raise TfvocabError("--score-column does not apply to a matrix", path=str(path))
        return coex.read_matrix(path, threshold=threshold, top_n=top_n, id_map=id_map,
                                score_lower_better=score_lower_better, known_genes=known_genes)
    df = read_edge_list(path, gene_columns=gene_columns, score_column=score_column,
                        known_genes=known_genes)
    info = df.attrs["read"]
    info["layout"] = "edges"
    if id_map is not None:
        mapper = coex.IdMapper(*coex.read_id_map(id_map))
        a = mapper(normalise_ids(df["gene_a"]).to_numpy(dtype=object))
        b = mapper(normalise_ids(df["gene_b"]).to_numpy(dtype=object))
        ok = pd.notna(a) & pd.notna(b)
        mapper.rows_dropped = int((~ok).sum())
        df = df.assign(gene_a=a, gene_b=b)[ok]
        info["id_map"] = mapper.report()
        if mapper.unmapped:
            log.warning("%s: %d of %d IDs are not in the ID map (e.g. %s); %d rows dropped", path,
                        len(mapper.unmapped), len(mapper.seen), ", ".join(list(mapper.unmapped)[:5]),
                        mapper.rows_dropped)
    else:
        coex.check_ids_need_map(pd.concat([df["gene_a"], df["gene_b"]]).head(200).tolist(), path,
                                known_genes)
    if top_n is not None:
        if top_n < 1:
            raise TfvocabError(f"--top-n must be >= 1, got {top_n}")
        if df["score"].isna().all():
            raise TfvocabError("--top-n needs a score column to rank partners", path=str(path),
                               hint="add a score column or drop --top-n")
        scores, _ = parse_scores(df, threshold=0.0, path=path, header_detected=info["header_detected"])
        lower = coex.lower_is_better(info.get("score_column"), score_lower_better)
        keep = coex.top_n_per_gene(normalise_ids(df["gene_a"]).str.upper().to_numpy(),
                                   normalise_ids(df["gene_b"]).str.upper().to_numpy(), scores,
                                   top_n, lower)
        info["top_n"] = top_n
        info["top_n_dropped"] = int((~keep).sum())
        df = df[keep]
    df.attrs["read"] = info
    return df


def read_edge_list(path: str | Path, *, gene_columns: Sequence[str | int] | str | None = None,
                   score_column: str | int | None = None,
                   known_genes: Iterable[str] | None = None) -> pd.DataFrame:
    """Read a co-expression edge list into a DataFrame with columns ``gene_a, gene_b, score``.

    ``gene_a, gene_b`` are the raw ID strings (not yet normalised); ``score`` is the raw score
    text (``None`` when the table has no score column). The row index is the 0-based data-row
    number (comments and blank lines excluded, header excluded). ``df.attrs["read"]`` records
    how the file was read: delimiter, header detected, column names/indices, line counts.

    ``gene_columns``: two columns by 1-based index or header name ("A,B" also accepted); default
    the first two. ``score_column``: by index or name; default the first remaining column, if
    any. ``known_genes``: gene IDs with promoters, used to tell a header row from a data row.
    Raises :class:`TfvocabError` for an empty file, a one-column table or missing columns.
    """
    path = Path(path)
    if not path.exists():
        raise TfvocabError("co-expression file not found", path=str(path))
    sample, counts = _scan(path)
    if not sample:
        raise TfvocabError("the co-expression file is empty (no data lines, only comments/blank lines)"
                           if counts["lines"] else "the co-expression file is empty",
                           path=str(path), hint="give a table with two gene-ID columns, one pair per line")
    delim = _sniff_delimiter([t for _, t in sample])
    if delim == "":
        line_no, text = next(((n, t) for n, t in sample if len(t.split()) < 2), sample[0])
        raise TfvocabError(f"the table has only one column (e.g. {text.strip()[:60]!r}); "
                           "need two gene-ID columns", path=str(path), record=f"line {line_no}",
                           hint="one co-expressed pair per line: GENE_A<tab>GENE_B[<tab>SCORE]")
    rows = [_split_line(t, delim) for _, t in sample]
    ncol = max(len(r) for r in rows)
    known = {k.upper() for k in normalise_ids(list(known_genes))} if known_genes is not None else None

    if isinstance(gene_columns, str):
        gene_columns = [g for g in gene_columns.split(",") if g.strip()]
    by_name = any(not str(g).strip().isdigit() for g in (gene_columns or [])) or (
        score_column is not None and not str(score_column).strip().isdigit())

    # Header detection: the first row's gene cells do not look like gene IDs (AGI code or a
    # promoter's gene_id) while later rows do, or it holds header-like words / a text score.
    first = rows[0]
    if gene_columns is not None and not by_name:
        gidx0 = [int(g) - 1 for g in gene_columns]
    else:
        gidx0 = [0, 1]
    gcells = [first[i] for i in gidx0 if i < len(first)]
    first_gene_like = any(_looks_like_gene(c, known) for c in gcells)
    later_gene_like = any(_looks_like_gene(r[i], known) for r in rows[1:50] for i in gidx0
                          if i < len(r))
    wordy = all(bool(_HEADER_WORD.match(c)) for c in gcells) if gcells else False
    text_score = (len(first) > 2 and len(rows) > 1 and not _is_number(first[-1])
                  and all(_is_number(r[-1]) for r in rows[1:20] if len(r) == len(first)))
    header_detected = by_name or (not first_gene_like and (later_gene_like or wordy or text_score))
    header = [c.strip() for c in first] if header_detected else None
    if header is not None:
        header += [f"column{i + 1}" for i in range(len(header), ncol)]

    if gene_columns is None:
        gidx = [0, 1]
    else:
        if len(gene_columns) != 2:
            raise TfvocabError(f"--gene-columns needs exactly two columns, got {list(gene_columns)}",
                               path=str(path), hint="e.g. --gene-columns 1,2 or --gene-columns Gene1,Gene2")
        gidx = [_resolve_column(g, header, ncol, path, "gene") for g in gene_columns]
        if gidx[0] == gidx[1]:
            raise TfvocabError("the two gene columns are the same column", path=str(path))
    if max(gidx) >= ncol:
        raise TfvocabError(f"gene column {max(gidx) + 1} does not exist; the table has {ncol} columns",
                           path=str(path))
    if score_column is not None:
        sidx: int | None = _resolve_column(score_column, header, ncol, path, "score")
        if sidx in gidx:
            raise TfvocabError("the score column is one of the gene columns", path=str(path))
    else:
        rest = [i for i in range(ncol) if i not in gidx]
        sidx = rest[0] if rest else None

    usecols = gidx + ([sidx] if sidx is not None else [])
    read_kwargs = dict(header=None, names=list(range(ncol)), usecols=usecols, dtype=str,
                       keep_default_na=False, na_filter=False, comment="#", skip_blank_lines=True,
                       skiprows=1 if header_detected else None, engine="c",
                       compression="gzip" if path.suffix == ".gz" else None)
    if header_detected:
        # skiprows counts physical lines: skip exactly the header's line.
        read_kwargs["skiprows"] = [sample[0][0] - 1]
    if delim is None:
        read_kwargs["sep"] = r"\s+"
    else:
        read_kwargs["sep"] = delim
    try:
        raw = pd.read_csv(path, **read_kwargs)
    except pd.errors.ParserError as exc:
        raise TfvocabError(f"malformed row: {exc}", path=str(path),
                           hint="every line needs the same number of fields") from None
    except pd.errors.EmptyDataError:
        raise TfvocabError("the co-expression file has a header but no data rows", path=str(path)) from None
    raw = raw.fillna("")
    df = pd.DataFrame({"gene_a": raw[gidx[0]].astype(str).to_numpy(),
                       "gene_b": raw[gidx[1]].astype(str).to_numpy(),
                       "score": raw[sidx].astype(str).to_numpy() if sidx is not None else None})
    empty = (df["gene_a"].str.strip() == "") | (df["gene_b"].str.strip() == "")
    if empty.any():
        i = int(np.flatnonzero(empty.to_numpy())[0]) + int(header_detected)
        raise TfvocabError("missing gene ID (a row with fewer fields than the others)", path=str(path),
                           record=f"line {_data_line_number(path, i)}",
                           hint="every line needs both gene columns filled")
    names = header if header is not None else [f"column{i + 1}" for i in range(ncol)]
    df.attrs["read"] = {
        "path": str(path), "delimiter": {"\t": "tab", ",": "comma", ";": "semicolon", "|": "pipe",
                                          None: "whitespace"}[delim],
        "header_detected": bool(header_detected), "n_columns": ncol, "columns": names,
        "gene_columns": [names[i] for i in gidx],
        "score_column": names[sidx] if sidx is not None else None,
        "lines": counts["lines"], "comment_lines": counts["comment_lines"],
        "blank_lines": counts["blank_lines"], "rows_read": int(len(df)),
    }
    if len(df) == 0:
        raise TfvocabError("the co-expression file has a header but no data rows", path=str(path),
                           hint="give one co-expressed pair per line below the header")
    return df


# ----------------------------------------------------------------------------- cleaning

def _examples(values: Iterable[str], n: int = N_EXAMPLES) -> list[str]:
    out: list[str] = []
    for v in values:
        if v not in out:
            out.append(v)
            if len(out) == n:
                break
    return out


def parse_scores(df: pd.DataFrame, *, threshold: float | None, path: str | Path = "",
                 header_detected: bool = False) -> tuple[np.ndarray, int]:
    """Numeric scores of ``df["score"]``: float64 (N,), NaN where missing/non-numeric.

    With a ``threshold`` a non-numeric score is an error naming the line, and so is an infinite
    one (:func:`tfvocab.data.coexpression.check_scores`; NaN is no score); without, a non-numeric
    score is counted (returned second) and logged as a warning.
    """
    if "score" not in df or df["score"].isna().all():
        if threshold is not None:
            raise TfvocabError("--threshold given but the table has no score column", path=str(path),
                               hint="add a score column or drop --threshold")
        return np.full(len(df), np.nan), 0
    if pd.api.types.is_numeric_dtype(df["score"]):
        return df["score"].to_numpy(dtype=float), 0          # already parsed (per-gene / matrix)
    scores = pd.to_numeric(df["score"], errors="coerce").to_numpy(dtype=float)
    bad = np.isnan(scores) & ~df["score"].str.strip().str.lower().isin(["nan"]).to_numpy()
    n_bad = int(bad.sum())
    if n_bad and threshold is not None:
        i = int(np.flatnonzero(bad)[0])
        line = _data_line_number(Path(path), int(df.index[i]) + int(header_detected)) if path else i + 1
        raise TfvocabError(f"non-numeric score {df['score'].iloc[i]!r} ({n_bad} such rows)",
                           path=str(path), record=f"line {line}",
                           hint="fix or remove these rows, pick the right --score-column, or drop --threshold")
    if n_bad:
        log.warning("%d rows have a non-numeric score (e.g. %r); scores are unused without --threshold",
                    n_bad, df["score"].iloc[int(np.flatnonzero(bad)[0])])
    if threshold is not None:
        coex.check_scores(scores, path, lambda i: f"line {_data_line_number(Path(path), int(df.index[i]) + int(header_detected))}"
                          if path else f"row {i + 1}")
    return scores, n_bad


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
