"""Reading a co-expression list for the ``pairs`` step: edge lists and gene IDs (no writing).

:func:`read_coexpression` is the front door for every layout: it reads an edge list itself
(:func:`read_edge_list`: TSV/CSV/whitespace (sniffed), optional header (detected), ``#``
comments, optional gzip, two gene columns and an optional score column), hands per-gene partner
lists and square matrices to :mod:`tfvocab.data.coexpression` (the layouts databases ship), applies
``--id-map`` and ``--top-n``. :func:`normalise_ids` cleans gene IDs (whitespace, quotes,
``gene:``/``gene-`` prefixes, isoform suffixes, upper-case AGI codes); :func:`parse_scores`
turns the score column into numbers (a non-numeric or infinite score under a threshold is an
error naming the line).
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
from ..log import get_logger

_AGI = re.compile(r"^AT[1-5CM]G\d{5}$", re.IGNORECASE)
_PREFIX = re.compile(r"^(gene[:\-])+", re.IGNORECASE)
_ISOFORM = re.compile(r"\.\d+$")
_NUMBER = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$|^[+-]?(inf|nan)$", re.IGNORECASE)
_HEADER_WORD = re.compile(
    r"^(gene|genes|partner|query|target|source|node|locus|agi|id|name|protein|score|mr|rank|"
    r"pcc|cor|corr|correlation|weight|value|z|zscore|pvalue|fdr)[\s_\-]?[a-z0-9_]*$",
    re.IGNORECASE)

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


# ----------------------------------------------------------------------------- scores

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
