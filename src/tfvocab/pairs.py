"""Labelled, leak-free gene pairs from a co-expression list (the ``pairs`` step).

Pipeline (each stage a function on DataFrames/arrays; I/O only in :func:`run`):

1. :func:`read_coexpression` reads the list as users have it: TSV/CSV/whitespace (sniffed),
   optional header (detected), ``#`` comments, optional gzip, two gene columns and an optional
   score column (ATTED-II ``Gene1 Gene2 MR`` tables and per-gene ``gene partner score`` lists
   alike).
2. :func:`normalise_ids` cleans gene IDs (whitespace, quotes, ``gene:``/``gene-`` prefixes,
   isoform suffixes ``.1``, upper-case AGI codes); :func:`clean_positives` applies the score
   threshold, drops self-pairs and duplicates ``(A,B) = (B,A)`` and maps IDs to ``promoters.tsv``.
3. :func:`split_genes` assigns every gene with a promoter to exactly one of train/val/test
   (gene-disjoint in every method). ``gene`` (default): a seeded random assignment of genes, so
   the genes of each co-expression module are spread over the partitions and test asks about
   *new genes of known programs*. Gene fractions are chosen so that the expected share of kept
   positive pairs is ``(1 - val_frac - test_frac, val_frac, test_frac)``: a pair survives only
   when both genes land in one partition, so gene fractions ∝ sqrt(target share)
   (:func:`random_gene_fractions`; defaults 0.52/0.24/0.24 of genes, ≈ 38 % of positive pairs
   kept). ``community`` (stricter, *unseen programs*): whole co-expression communities
   (connected components, split by Louvain only where too large) are grown into val/test regions
   that cut few positive edges, so test modules are never seen in training; it typically keeps
   far more positive pairs (both figures are in ``pairs.report.json``). ``chromosome``:
   ``--test-chrom`` (and ``--val-chrom``) are held out entirely. Pairs whose genes fall in two
   partitions are dropped and counted.
4. :func:`sample_negatives` draws unlabelled pairs inside each partition (never a listed pair,
   never a self-pair, no duplicates) at ``neg_ratio`` per positive: ``uniform`` over genes with
   promoters, or ``degree``-matched (endpoint probability proportional to the gene's degree in the
   partition's positive graph, corrected for rejected listed pairs, so negative endpoints have the
   positives' degree distribution and a model cannot win by recognising hubs).

Same inputs + seed give an identical ``pairs.tsv``.
"""
from __future__ import annotations

import csv
import gzip
import io as _io
import re
from pathlib import Path
from typing import Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

from .chroms import canonical
from .errors import TfvocabError
from .formats import write_pairs
from .io import provenance, write_json
from .publish import step_outputs
from .log import get_logger, timed
from .formats import read_promoters

SPLITS = ("train", "val", "test")
SOURCES = ("positive", "negative_uniform", "negative_degree")
N_EXAMPLES = 10
_AGI = re.compile(r"^AT[1-5CM]G\d{5}$", re.IGNORECASE)
_PREFIX = re.compile(r"^(gene[:\-])+", re.IGNORECASE)
_ISOFORM = re.compile(r"\.\d+$")
_NUMBER = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$|^[+-]?(inf|nan)$", re.IGNORECASE)
_HEADER_WORD = re.compile(
    r"^(gene|genes|partner|query|target|source|node|locus|agi|id|name|protein|score|mr|rank|"
    r"pcc|cor|corr|correlation|weight|value|z|zscore|pvalue|fdr)[\s_\-]?[a-z0-9_]*$",
    re.IGNORECASE)
_LOWER_BETTER_NAMES = re.compile(r"^(mr|mutual[\s_\-]?rank|rank|logit[\s_\-]?rank)$", re.IGNORECASE)

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
                      known_genes: Iterable[str] | None = None) -> pd.DataFrame:
    """Read a co-expression list into a DataFrame with columns ``gene_a, gene_b, score``.

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

    With a ``threshold`` a non-numeric score is an error naming the line; without, it is
    counted (returned second) and logged as a warning.
    """
    if "score" not in df or df["score"].isna().all():
        if threshold is not None:
            raise TfvocabError("--threshold given but the table has no score column", path=str(path),
                               hint="add a score column or drop --threshold")
        return np.full(len(df), np.nan), 0
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


# ----------------------------------------------------------------------------- splitting

def _chrom_key(name: str) -> str:
    """Canonical chromosome key (``tfvocab.chroms.canonical``; unknown names match exactly)."""
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
    counts; ``targets``: split code -> edges wanted; ``assigned``: (U,) split code or -1.
    Each split in turn adds the fitting unit that cuts fewest edges (whole components cut none),
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
                   targets: Mapping[int, float], cap: float, seed: int,
                   n_rounds: int = 12) -> np.ndarray:
    """:func:`_grow` with targets rescaled until each split's share of the *kept* positive
    edges (both ends in the split) is close to ``target / n_edges``: edges cut at a region's
    boundary are lost, so a region grown to its raw target would end up under-filled.

    ``ua, ub``: (E,) unit of each end of every positive edge. Returns (U,) split codes.
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
        kept = np.bincount(ca[ca == cb], minlength=3).astype(float)
        share = kept / max(kept.sum(), 1.0)
        err = max(abs(share[k] - d) for k, d in desired.items())
        if err < best_err:
            best, best_err = assigned, err
        if err < 0.01:
            break
        for k, d in desired.items():
            # damped: a split's share responds non-linearly (its growth also shrinks train)
            mult[k] *= float(np.clip(d / max(share[k], 1e-3), 0.5, 2.0)) ** 0.5
    return best


SPLIT_METHODS = ("gene", "community", "chromosome")


def random_gene_fractions(val_frac: float, test_frac: float) -> np.ndarray:
    """Gene fractions (3,) (train, val, test) of the random gene split whose expected shares of
    the kept positive pairs are ``(1 - val_frac - test_frac, val_frac, test_frac)``.

    A pair is kept in split ``s`` with probability ``f_s**2``, so ``f_s ∝ sqrt(share_s)``.
    """
    share = np.array([1.0 - val_frac - test_frac, val_frac, test_frac])
    f = np.sqrt(np.clip(share, 0.0, None))
    return f / f.sum()


def _random_codes(n: int, fractions: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """(n,) split codes: a seeded permutation cut at the (largest-remainder) counts of ``fractions``."""
    raw = n * np.asarray(fractions, dtype=float)
    counts = np.floor(raw).astype(int)
    counts[np.argsort(-(raw - counts), kind="stable")[: n - counts.sum()]] += 1
    code = np.repeat(np.arange(len(counts)), counts)
    return code[rng.permutation(n)]


def split_genes(genes: Sequence[str], pos_pairs: pd.DataFrame, *, method: str = "gene",
                val_frac: float = 0.15, test_frac: float = 0.15, seed: int = 0,
                chrom: Mapping[str, str] | None = None, test_chrom: str | Sequence[str] | None = None,
                val_chrom: str | Sequence[str] | None = None) -> dict[str, str]:
    """Assign every gene to exactly one of ``train``/``val``/``test`` (gene-disjoint).

    ``genes``: (G,) genes with promoters; ``pos_pairs``: positives (``gene_a, gene_b``).
    ``method="gene"``: a seeded random assignment (genes with and without positives permuted
    separately, each cut at the :func:`random_gene_fractions` counts), so every module's genes
    spread over the partitions. ``method="community"``: community units (components, Louvain-split when large) are grown into
    val and test regions holding about ``val_frac``/``test_frac`` of the kept positive edges
    while cutting few of them; genes without positives are assigned at random with the same fractions.
    ``method="chromosome"``: genes on ``test_chrom`` (``val_chrom``) go to test (val); with no
    ``val_chrom``, val is grown from the remaining genes as above. ``chrom``: gene -> chromosome.
    Returns ``{gene: split}``; deterministic for a given ``seed``.
    """
    if method not in SPLIT_METHODS:
        raise TfvocabError(f"unknown split method {method!r}", hint="use 'gene', 'community' or 'chromosome'")
    if not (0 <= val_frac < 1 and 0 <= test_frac < 1 and val_frac + test_frac < 1):
        raise TfvocabError(f"--val-frac {val_frac} and --test-frac {test_frac} must be in [0, 1) "
                           "and sum to less than 1")
    from scipy import sparse

    rng = np.random.default_rng(seed)
    genes = sorted(set(genes))
    index = {g: i for i, g in enumerate(genes)}
    n = len(genes)
    ea = pos_pairs["gene_a"].map(index).to_numpy()
    eb = pos_pairs["gene_b"].map(index).to_numpy()
    ok = ~(pd.isna(ea) | pd.isna(eb))
    ea, eb = ea[ok].astype(np.int64), eb[ok].astype(np.int64)
    code = np.full(n, -1, dtype=np.int64)  # 0 train, 1 val, 2 test

    if method == "gene":
        frac = random_gene_fractions(val_frac, test_frac)
        has_pos = np.zeros(n, dtype=bool)
        has_pos[ea] = has_pos[eb] = True
        for sel in (np.flatnonzero(has_pos), np.flatnonzero(~has_pos)):
            code[sel] = _random_codes(len(sel), frac, rng)
        return {g: SPLITS[c] for g, c in zip(genes, code)}

    targets: dict[int, float] = {}
    if method == "chromosome":
        if chrom is None:
            raise TfvocabError("a chromosome split needs the chromosome of every gene")
        if not test_chrom:
            raise TfvocabError("--split chromosome needs --test-chrom", hint="e.g. --test-chrom Chr5")
        gchrom = [chrom[g] for g in genes]
        tset = _resolve_chroms(test_chrom, gchrom, "--test-chrom")
        vset = _resolve_chroms(val_chrom, gchrom, "--val-chrom")
        if tset & vset:
            raise TfvocabError(f"--test-chrom and --val-chrom overlap: {', '.join(sorted(tset & vset))}")
        code[np.isin(gchrom, sorted(tset))] = 2
        code[np.isin(gchrom, sorted(vset))] = 1
        if not vset and val_frac > 0:
            targets[1] = val_frac * len(ea)
        free_gene = code < 0
    else:
        targets = {2: test_frac * len(ea), 1: val_frac * len(ea)}
        free_gene = np.ones(n, dtype=bool)

    if targets:
        # Units are built on the positive edges among still-unassigned genes only.
        inner = free_gene[ea] & free_gene[eb]
        fa, fb = ea[inner], eb[inner]
        cap = max(1.0, 0.25 * min(t for t in targets.values() if t > 0)) if any(
            t > 0 for t in targets.values()) else 1.0
        unit = _units(n, fa, fb, cap, seed)
        n_units = int(unit.max()) + 1
        if n_units > 0:
            cross = unit[fa] != unit[fb]
            # an edge between two units counts half to each
            w = np.bincount(unit[fa][~cross], minlength=n_units).astype(float)
            w += 0.5 * np.bincount(unit[fa][cross], minlength=n_units)
            w += 0.5 * np.bincount(unit[fb][cross], minlength=n_units)
            ua, ub = unit[fa][cross], unit[fb][cross]
            link = sparse.coo_matrix((np.ones(2 * len(ua)), (np.concatenate([ua, ub]),
                                                             np.concatenate([ub, ua]))),
                                     shape=(n_units, n_units)).tocsr()
            assigned = _balanced_grow(w, link, unit[fa], unit[fb],
                                      {k: v for k, v in targets.items() if v > 0}, cap, seed)
            has_unit = unit >= 0
            code[has_unit & free_gene] = assigned[unit[has_unit & free_gene]]

    # Genes without positives (and, in a chromosome split, left-over genes) at random.
    rest = np.flatnonzero(code < 0)
    if method == "chromosome":
        probs = np.array([1 - (val_frac if targets else 0.0), val_frac if targets else 0.0, 0.0])
    else:
        probs = np.array([1 - val_frac - test_frac, val_frac, test_frac])
    code[rest] = rng.choice(3, size=len(rest), p=probs / probs.sum())
    return {g: SPLITS[c] for g, c in zip(genes, code)}


# ----------------------------------------------------------------------------- negatives

def _pair_keys(ia: np.ndarray, ib: np.ndarray, n: int) -> np.ndarray:
    lo, hi = np.minimum(ia, ib), np.maximum(ia, ib)
    return lo.astype(np.int64) * n + hi.astype(np.int64)


def degree_weights(degree: np.ndarray, excl_a: np.ndarray, excl_b: np.ndarray,
                   n_iter: int = 30) -> np.ndarray:
    """Endpoint sampling weights (n,) such that, after rejecting self-pairs and excluded pairs,
    each gene's share of negative endpoints equals its share of positive endpoints
    (``degree / degree.sum()``).

    ``degree``: (n,) degree in the positive graph; ``excl_a, excl_b``: (E,) gene indices of
    pairs that are never sampled. Fixed point of ``w = degree / acceptance(w)`` where
    ``acceptance_g = 1 - (w_g + sum_{h excluded with g} w_h) / sum(w)``.
    """
    from scipy import sparse

    n = len(degree)
    deg = degree.astype(float)
    adj = sparse.coo_matrix((np.ones(2 * len(excl_a)), (np.concatenate([excl_a, excl_b]),
                                                        np.concatenate([excl_b, excl_a]))),
                            shape=(n, n)).tocsr()
    w = deg / max(deg.sum(), 1.0)
    for _ in range(n_iter):
        total = w.sum()
        acc = 1.0 - (w + adj @ w) / total
        acc = np.clip(acc, 1e-3, 1.0)
        w_new = np.where(deg > 0, deg / acc, 0.0)
        w_new /= w_new.sum()
        if np.abs(w_new - w).max() < 1e-12:
            w = w_new
            break
        w = w_new
    return w


def sample_negatives(pos: pd.DataFrame, genes: Sequence[str], ratio: float, strategy: str,
                     rng: np.random.Generator, exclude: pd.DataFrame | None = None,
                     max_rounds: int = 100) -> pd.DataFrame:
    """Sample ``round(ratio * len(pos))`` unlabelled pairs among ``genes``.

    ``pos``: positives of this partition (``gene_a, gene_b``); ``genes``: (G,) genes of the
    partition (with promoters); ``exclude``: pairs never sampled (default ``pos``; pairs outside
    ``genes`` are ignored). ``strategy``: ``uniform`` (both genes uniform over ``genes``) or
    ``degree`` (endpoints drawn in proportion to their degree in ``pos``, see
    :func:`degree_weights`). Never a self-pair, an excluded pair or a duplicate.
    Returns a DataFrame ``gene_a, gene_b, label (0), source`` with ``gene_a < gene_b``; fewer
    rows (with a warning) when the partition does not have enough unlabelled pairs.
    """
    if strategy not in ("uniform", "degree"):
        raise TfvocabError(f"unknown negative strategy {strategy!r}", hint="use 'uniform' or 'degree'")
    source = f"negative_{strategy}"
    genes = np.array(sorted(set(genes)), dtype=object)
    index = {g: i for i, g in enumerate(genes)}
    need = int(round(ratio * len(pos)))
    empty = pd.DataFrame({"gene_a": pd.Series(dtype=object), "gene_b": pd.Series(dtype=object),
                          "label": pd.Series(dtype=np.int64), "source": pd.Series(dtype=object)})
    n = len(genes)
    if need <= 0 or n < 2:
        return empty
    exclude = pos if exclude is None else pd.concat([pos[["gene_a", "gene_b"]],
                                                     exclude[["gene_a", "gene_b"]]])
    xa = exclude["gene_a"].map(index).to_numpy()
    xb = exclude["gene_b"].map(index).to_numpy()
    inside = ~(pd.isna(xa) | pd.isna(xb))
    xa, xb = xa[inside].astype(np.int64), xb[inside].astype(np.int64)
    known = np.unique(_pair_keys(xa, xb, n))

    if strategy == "degree":
        pa = pos["gene_a"].map(index).to_numpy().astype(np.int64)
        pb = pos["gene_b"].map(index).to_numpy().astype(np.int64)
        degree = np.bincount(np.concatenate([pa, pb]), minlength=n)
        support = np.flatnonzero(degree > 0)
        p = degree_weights(degree, xa, xb)
    else:
        support = np.arange(n)
        p = np.full(n, 1.0 / n)
    m = len(support)
    in_support = np.zeros(n, dtype=bool)
    in_support[support] = True
    n_known = int(np.sum(in_support[known // n] & in_support[known % n]))
    capacity = m * (m - 1) // 2 - n_known
    if need > capacity:
        log.warning("only %d unlabelled pairs exist among %d genes; sampling %d negatives instead of %d",
                    capacity, m, capacity, need)
        need = capacity
    if need <= 0:
        return empty

    if m * (m - 1) // 2 <= 2_000_000 or need > capacity // 2:
        # Small space: enumerate every candidate pair and draw without replacement.
        iu, ju = np.triu_indices(m, 1)
        ia, ib = support[iu], support[ju]
        keys = _pair_keys(ia, ib, n)
        free = ~np.isin(keys, known)
        ia, ib = ia[free], ib[free]
        # Weighted sampling without replacement (Efraimidis-Spirakis keys log(u) / weight).
        weight = p[ia] * p[ib]
        with np.errstate(divide="ignore"):
            keys = np.log(rng.random(len(ia))) / weight
        pick = np.argsort(-keys, kind="stable")[:need]
        sa, sb = ia[pick], ib[pick]
    else:
        chosen = np.empty(0, dtype=np.int64)
        sub_p = p[support] / p[support].sum()
        for _ in range(max_rounds):
            batch = max(2 * (need - len(chosen)), 1024)
            ia = support[rng.choice(m, size=batch, p=sub_p)]
            ib = support[rng.choice(m, size=batch, p=sub_p)]
            keys = _pair_keys(ia, ib, n)[ia != ib]
            keys = keys[~np.isin(keys, known)]
            _, first = np.unique(keys, return_index=True)
            keys = keys[np.sort(first)]
            keys = keys[~np.isin(keys, chosen)]
            chosen = np.concatenate([chosen, keys[: need - len(chosen)]])
            if len(chosen) >= need:
                break
        if len(chosen) < need:
            log.warning("found only %d of %d negatives after %d sampling rounds", len(chosen), need,
                        max_rounds)
        sa, sb = chosen // n, chosen % n
    ga, gb = canonical_pairs(genes[sa], genes[sb])
    return pd.DataFrame({"gene_a": ga, "gene_b": gb, "label": np.zeros(len(ga), dtype=np.int64),
                         "source": source})


# ----------------------------------------------------------------------------- assembly

def build_pairs(coexp: pd.DataFrame, promoters: pd.DataFrame, *, threshold: float | None = None,
                score_lower_better: bool | None = None, neg_ratio: float = 3.0,
                negatives: str = "degree", split: str = "gene", test_chrom: str | None = None,
                val_chrom: str | None = None, val_frac: float = 0.15, test_frac: float = 0.15,
                seed: int = 0, path: str | Path = "") -> tuple[pd.DataFrame, dict]:
    """The whole step without I/O: ``(pairs, report)``.

    ``coexp``: from :func:`read_coexpression`; ``promoters``: ``promoters.tsv`` rows.
    ``pairs``: ``gene_a, gene_b, label, split, source`` sorted by split, label (1 first), genes.
    """
    if neg_ratio < 0:
        raise TfvocabError(f"--neg-ratio must be >= 0, got {neg_ratio}")
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
    genes = sorted(chrom)
    with timed(f"splitting {len(genes)} genes ({split})", log):
        assign = split_genes(genes, positives, method=split, val_frac=val_frac, test_frac=test_frac,
                             seed=seed, chrom=chrom, test_chrom=test_chrom, val_chrom=val_chrom)
    sa = positives["gene_a"].map(assign).to_numpy()
    sb = positives["gene_b"].map(assign).to_numpy()
    crossing = sa != sb
    kept = positives[~crossing].assign(split=sa[~crossing], label=1, source="positive")
    n_cross = int(crossing.sum())
    if n_cross:
        log.warning("%d of %d positive pairs join genes of two partitions and are dropped (%.1f%% kept)",
                    n_cross, len(positives), 100.0 * (1 - n_cross / max(len(positives), 1)))

    rng = np.random.default_rng(seed)
    parts = [kept[["gene_a", "gene_b", "label", "split", "source"]]]
    by_split = {s: [g for g in genes if assign[g] == s] for s in SPLITS}
    neg_counts = {}
    with timed(f"sampling {negatives} negatives ({neg_ratio:g} per positive)", log):
        for s in SPLITS:
            pos_s = kept[kept.split == s]
            if pos_s.empty:
                log.warning("split %s has no positive pairs", s)
            neg = sample_negatives(pos_s, by_split[s], neg_ratio, negatives, rng, exclude=listed)
            neg_counts[s] = int(len(neg))
            parts.append(neg.assign(split=s)[["gene_a", "gene_b", "label", "split", "source"]])
    pairs = pd.concat(parts, ignore_index=True)
    pairs["label"] = pairs["label"].astype(np.int64)
    pairs["_s"] = pairs["split"].map({s: i for i, s in enumerate(SPLITS)})
    pairs = (pairs.sort_values(["_s", "label", "gene_a", "gene_b"], ascending=[True, False, True, True],
                               kind="stable").drop(columns="_s").reset_index(drop=True))

    pos_genes = set(positives["gene_a"]) | set(positives["gene_b"])
    v, t = val_frac, test_frac
    report = {
        "input": info,
        "counts": {
            "rows_read": info.get("rows_read", len(coexp)),
            "header_detected": header,
            **counts,
            "positives_before_split": int(len(positives)),
            "pairs_dropped_crossing_partitions": n_cross,
            "positives_kept": int(len(kept)),
            "fraction_positives_kept": round(len(kept) / max(len(positives), 1), 4),
            "expected_fraction_kept_random_gene_split": round(float(
                (random_gene_fractions(v, t) ** 2).sum()), 4),
            "positives_per_split": {s: int((kept.split == s).sum()) for s in SPLITS},
            "negatives_per_split": neg_counts,
            "negatives_requested_per_split": {s: int(round(neg_ratio * (kept.split == s).sum()))
                                              for s in SPLITS},
            "genes_with_promoters": len(genes),
            "genes_per_split": {s: len(by_split[s]) for s in SPLITS},
            "positive_genes_per_split": {s: sum(1 for g in pos_genes if assign[g] == s) for s in SPLITS},
            "pairs_written": int(len(pairs)),
        },
        "settings": {"threshold": threshold, "score_lower_better": score_lower_better,
                     "neg_ratio": neg_ratio, "negatives": negatives, "split": split,
                     "test_chrom": test_chrom, "val_chrom": val_chrom, "val_frac": val_frac,
                     "test_frac": test_frac, "seed": seed},
    }
    if split == "chromosome":
        report["counts"]["chromosomes_per_split"] = {
            s: sorted({chrom[g] for g in by_split[s]}) for s in SPLITS}
    return pairs, report


def run(coexpression: str | Path, promoters: str | Path, outdir: str | Path, *,
        score_column: str | int | None = None, threshold: float | None = None,
        score_lower_better: bool | None = None, neg_ratio: float = 3.0, negatives: str = "degree",
        split: str = "gene", test_chrom: str | None = None, val_chrom: str | None = None,
        val_frac: float = 0.15, test_frac: float = 0.15, seed: int = 0,
        gene_columns: str | Sequence[str | int] | None = None) -> dict[str, Path]:
    """Read the co-expression list and ``promoters.tsv``, write ``pairs.tsv`` (+ ``.json``
    provenance sidecar) and ``pairs.report.json`` under ``outdir``. Nothing is written on error.

    Returns ``{"pairs": path, "report": path}``.
    """
    outdir = Path(outdir)
    params = dict(coexpression=str(coexpression), promoters=str(promoters), score_column=score_column,
                  threshold=threshold, score_lower_better=score_lower_better, neg_ratio=neg_ratio,
                  negatives=negatives, split=split, test_chrom=test_chrom, val_chrom=val_chrom,
                  val_frac=val_frac, test_frac=test_frac, seed=seed, gene_columns=gene_columns)
    prom = read_promoters(promoters, required=("gene_id", "chrom"))
    with timed(f"reading {coexpression}", log):
        coexp = read_coexpression(coexpression, gene_columns=gene_columns, score_column=score_column,
                                  known_genes=prom["gene_id"].astype(str))
    info = coexp.attrs["read"]
    log.info("read %d rows (%s-delimited, header %s, genes in %s, score %s)", info["rows_read"],
             info["delimiter"], "detected" if info["header_detected"] else "absent",
             "/".join(info["gene_columns"]), info["score_column"])
    pairs, report = build_pairs(coexp, prom, threshold=threshold, score_lower_better=score_lower_better,
                                neg_ratio=neg_ratio, negatives=negatives, split=split,
                                test_chrom=test_chrom, val_chrom=val_chrom, val_frac=val_frac,
                                test_frac=test_frac, seed=seed, path=coexpression)
    prov = provenance("pairs", params)
    report["provenance"] = prov
    c = report["counts"]
    log.info("%d positives kept (%.1f%% of %d), negatives %s; genes per split %s",
             c["positives_kept"], 100 * c["fraction_positives_kept"], c["positives_before_split"],
             c["negatives_per_split"], c["genes_per_split"])
    with step_outputs(outdir, "pairs", params) as out:
        write_pairs(out.path("pairs.tsv"), pairs, prov, {"promoters": prom.attrs["digest"]})
        write_json(out.path("pairs.report.json"), report)
    return {"pairs": outdir / "pairs.tsv", "report": outdir / "pairs.report.json"}
