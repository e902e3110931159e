"""Co-expression as databases ship it: per-gene partner lists (ATTED-II / COXPRESdb downloads),
square genes x genes matrices, Entrez Gene ID -> AGI maps, and top-N partner selection.

Layouts (:func:`detect_layout`; edge lists are read by :mod:`tfvocab.data.edgelist`):

* ``partners``: a folder or ``.zip`` with one file per gene, named by the gene's ID (ATTED-II:
  the NCBI Entrez Gene ID, e.g. ``Ath-u.v22-01.G20819-S16033.combat_pca.subagging.z.d/818558``).
  Each file lists the gene's partners, one per line: partner ID and one or more score columns.
  Current ATTED-II files have two columns and no header (partner, z-score); older versions a
  header ``EntrezID MR PCC`` (partner, mutual rank, Pearson correlation). The score's meaning is
  taken from the header, else from the archive name (``.z.d`` z-score, ``.ls.d`` logit score,
  ``.mrgeo.d`` / ``.mr.d`` mutual rank, ``.cor.d`` correlation), else assumed higher-is-better.
* ``matrix``: a delimited square table, first row and first column the same gene IDs, cells the
  co-expression score of the row and column genes (the diagonal is ignored).

A whole per-gene download lists every gene against every other gene (20,000 genes: 4 x 10^8
lines), so these layouts are filtered while they are read: ``threshold`` on the score and/or
``top_n`` best partners per gene; one gene's list (or one block of matrix rows) is held at a
time. Partner IDs are mapped (``id_map``) before the top-N selection, so "the N best partners"
are the N best that have an AGI code. Ties are broken by partner ID, so a folder, a zip, a
matrix and the equivalent edge list give the same pairs. Each pair appears in both genes'
lists; the ``pairs`` step keeps it once.

Score values (:func:`check_scores`, every layout alike, wherever a score selects pairs:
``threshold``, ``top_n``): NaN (``nan``, an empty matrix cell) is *no score*: never kept by a
threshold or a top-N, counted (``nan_scores`` in ``attrs["read"]`` / pairs.report.json);
+inf / -inf are refused with a one-line error naming the file, the line (or matrix cell) and
the count (an infinite score comes from a division by zero upstream, e.g. a gene whose
expression never varies, not from a measured co-expression). Negative scores are ordinary
values (correlations, z-scores).
"""
from __future__ import annotations

import csv
import gzip
import re
import zipfile
from pathlib import Path
from typing import Iterable, Iterator, Mapping, Sequence

import numpy as np
import pandas as pd

from ..errors import TfvocabError
from ..log import get_logger, progress

log = get_logger("coexpression")

LAYOUTS = ("auto", "edges", "partners", "matrix")
#: Score column names whose lower values mean stronger co-expression (ranks).
LOWER_BETTER_NAMES = re.compile(r"^(mr|mutual[\s_\-]?rank|rank|logit[\s_\-]?rank|mrank|averank)$",
                                re.IGNORECASE)
#: Archive-name suffix (``<name>.<index>.d[.zip]``) -> score column name.
_ARCHIVE_INDEX = {"z": "z", "ls": "logit_score", "mr": "MR", "mrgeo": "MR", "cor": "PCC",
                  "pcc": "PCC"}
_ARCHIVE_RE = re.compile(r"\.([a-z]+)\.d(?:\.zip)?$", re.IGNORECASE)
_NOT_A_GENE_FILE = re.compile(r"^(readme|license|licence|md5|checksum|index|manifest)", re.IGNORECASE)
_FILE_SUFFIX = re.compile(r"\.(txt|tsv|csv|tab|gz)$", re.IGNORECASE)
_AGI = re.compile(r"^AT[1-5CM]G\d{5}(\.\d+)?$", re.IGNORECASE)
_ENTREZ = re.compile(r"^\d+$")
_NUMBER = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$|^[+-]?(inf|nan)$", re.IGNORECASE)
N_EXAMPLES = 10


def lower_is_better(score_name: str | None, explicit: bool | None = None) -> bool:
    """Whether lower scores are better: ``explicit`` if given, else True for rank-like column
    names (MR, mutual rank, rank)."""
    if explicit is not None:
        return bool(explicit)
    return bool(score_name and LOWER_BETTER_NAMES.match(str(score_name).strip()))


def _is_number(text: str) -> bool:
    return bool(_NUMBER.match(text.strip()))


def _gene_like(text: str, known: set[str] | None = None) -> bool:
    t = text.strip().strip("\"'")
    return bool(_AGI.match(t) or _ENTREZ.match(t)) or (known is not None and t.upper() in known)


# ----------------------------------------------------------------------------- layout

def _first_lines(path: Path, n: int = 5) -> list[str]:
    opener = gzip.open if path.suffix == ".gz" else open
    out = []
    with opener(path, "rt", encoding="utf-8", errors="replace") as fh:  # type: ignore[operator]
        for line in fh:
            s = line.strip()
            if s and not s.startswith("#"):
                out.append(line.rstrip("\r\n"))
                if len(out) == n:
                    break
    return out


def _split(line: str) -> list[str]:
    for delim in ("\t", ","):
        if delim in line:
            return [c.strip() for c in next(csv.reader([line], delimiter=delim))]
    return line.split()


def detect_layout(path: str | Path, known_genes: Iterable[str] | None = None) -> str:
    """``partners`` for a folder or ``.zip``; ``matrix`` for a table whose first row holds >= 3
    gene IDs and whose next row is a gene ID followed by numbers; else ``edges``."""
    path = Path(path)
    if path.is_dir() or path.suffix.lower() == ".zip":
        return "partners"
    if not path.is_file():
        raise TfvocabError("co-expression file not found", path=str(path))
    lines = _first_lines(path, 3)
    if len(lines) < 2:
        return "edges"
    known = {k.upper() for k in known_genes} if known_genes is not None else None
    head, row = _split(lines[0]), _split(lines[1])
    ids = [c for c in head if c]
    if head and head[0] == "":
        ids = head[1:]
    elif len(head) == len(row) and not _gene_like(head[0], known):
        ids = head[1:]                                    # a corner label ("gene", "id", ...)
    if (len(ids) >= 3 and all(_gene_like(c, known) for c in ids) and len(row) >= 4
            and _gene_like(row[0], known) and all(_is_number(c) for c in row[1:] if c)):
        return "matrix"
    return "edges"


# ----------------------------------------------------------------------------- ID maps

def read_id_map(path: str | Path) -> tuple[dict[str, str], dict]:
    """Read an ID map: two columns per line, a source ID (e.g. Entrez Gene ID ``818558``) and
    the gene ID used by ``promoters.tsv`` (an AGI code ``AT2G01010``); tab, comma or whitespace
    separated, header optional, ``#`` comments skipped, ``.gz`` ok. The AGI column is found
    by its content, so either column order works.

    Returns ``(mapping, info)``: ``{source_id: agi}`` and counts (``entries``, ``ambiguous``:
    source IDs listed with two different targets, the first kept; ``header``).
    """
    path = Path(path)
    if not path.is_file():
        raise TfvocabError("ID map not found", path=str(path),
                           hint="give a two-column table: Entrez Gene ID, AGI code")
    opener = gzip.open if path.suffix == ".gz" else open
    rows: list[tuple[int, list[str]]] = []
    with opener(path, "rt", encoding="utf-8", errors="replace") as fh:  # type: ignore[operator]
        for n, line in enumerate(fh, 1):
            s = line.strip()
            if not s or s.startswith("#"):
                continue
            cells = [c.strip().strip("\"'") for c in _split(line.rstrip("\r\n"))]
            if len(cells) < 2 or not cells[0] or not cells[1]:
                raise TfvocabError("an ID map line needs two columns (source ID, AGI code)",
                                   path=str(path), record=f"line {n}",
                                   hint="e.g. 818558<TAB>AT2G01010")
            rows.append((n, cells[:2]))
    if not rows:
        raise TfvocabError("the ID map is empty", path=str(path))
    header = not (_gene_like(rows[0][1][0]) or _gene_like(rows[0][1][1])) and len(rows) > 1
    body = rows[1:] if header else rows
    agi_col = [sum(bool(_AGI.match(r[1][j])) for r in body[:200]) for j in (0, 1)]
    tgt = 1 if agi_col[1] >= agi_col[0] else 0
    src = 1 - tgt
    mapping: dict[str, str] = {}
    ambiguous = 0
    for _, r in body:
        key, value = r[src], r[tgt]
        if key in mapping and mapping[key] != value:
            ambiguous += 1
            continue
        mapping.setdefault(key, value)
    if ambiguous:
        log.warning("%s: %d source IDs map to two different genes; the first line of each is used",
                    path, ambiguous)
    info = {"path": str(path), "entries": len(mapping), "ambiguous": ambiguous,
            "header": bool(header), "source_column": src + 1, "target_column": tgt + 1}
    return mapping, info


class IdMapper:
    """Maps IDs through ``mapping`` (identity when None) and counts what could not be mapped."""

    def __init__(self, mapping: Mapping[str, str] | None, info: dict | None = None):
        self.mapping = mapping
        self.info = dict(info or {})
        self.seen: set[str] = set()
        self.unmapped: dict[str, None] = {}           # insertion-ordered set
        self.rows_dropped = 0

    def __call__(self, ids: np.ndarray) -> np.ndarray:
        """(n,) object array of IDs -> (n,) object array, None where unmapped."""
        if self.mapping is None:
            return ids
        keys = ids.tolist()
        get = self.mapping.get
        values = [get(k) for k in keys]                  # dict lookups: ~50 ns each
        out = np.empty(len(values), dtype=object)
        out[:] = values
        self.seen.update(keys)
        if None in values:
            self.unmapped.update(dict.fromkeys(k for k, v in zip(keys, values) if v is None))
        return out

    def report(self) -> dict | None:
        if self.mapping is None:
            return None
        return {**self.info, "ids_in_data": len(self.seen),
                "ids_mapped": len(self.seen) - len(self.unmapped),
                "ids_unmapped": len(self.unmapped),
                "unmapped_examples": list(self.unmapped)[:N_EXAMPLES],
                "rows_dropped_unmapped": int(self.rows_dropped)}


def check_ids_need_map(ids: Sequence[str], path: str | Path,
                       known_genes: Iterable[str] | None = None) -> None:
    """Error when IDs look like Entrez Gene IDs (all digits), no ID map was given and none of
    them is a known gene ID (``known_genes``: the promoters' IDs, when available)."""
    sample = [str(i).strip() for i in list(ids)[:200] if str(i).strip()]
    known = {str(k).strip().upper() for k in known_genes} if known_genes is not None else set()
    if sample and all(_ENTREZ.match(s) for s in sample) and not any(s in known for s in sample):
        raise TfvocabError(f"gene IDs look like NCBI Entrez Gene IDs (e.g. {', '.join(sample[:3])}), "
                           "not the promoters' gene IDs", path=str(path),
                           hint="give --id-map FILE with two columns: Entrez Gene ID, AGI code "
                                "(docs/inputs.md says how to make one)")


# ----------------------------------------------------------------------------- selection

def check_scores(scores: np.ndarray, path: str | Path, where=None) -> int:
    """Apply the score policy to scores that select pairs; returns the number of NaN scores.

    ``scores``: float (n,). ``where``: optional ``i -> str`` naming the line (or cell) of score
    ``i`` for the error. +-inf raises :class:`TfvocabError`; NaN is no score (counted).
    """
    s = np.asarray(scores, dtype=float)
    inf = np.flatnonzero(np.isinf(s))
    if inf.size:
        i = int(inf[0])
        raise TfvocabError(f"{inf.size} infinite co-expression score(s) ({s[i]:g})", path=str(path),
                           record=where(i) if where is not None else None,
                           hint="scores must be finite numbers (NaN: no score); an infinite one comes "
                                "from a division by zero upstream (a gene whose expression never "
                                "varies): recompute it or write NaN")
    return int(np.isnan(s).sum())


def select_partners(partners: np.ndarray, scores: np.ndarray, *, threshold: float | None,
                    top_n: int | None, lower_better: bool) -> np.ndarray:
    """Indices of the partners kept from one gene's list, best first.

    ``partners``: (n,) IDs; ``scores``: (n,) float (NaN never kept). Keeps scores passing
    ``threshold`` (``>=``, or ``<=`` when ``lower_better``) and, of those, the ``top_n`` best;
    ties broken by partner ID (string order), so the result does not depend on line order.
    """
    s = np.asarray(scores, dtype=float)
    ok = np.isfinite(s)
    if threshold is not None:
        ok &= (s <= threshold) if lower_better else (s >= threshold)
    idx = np.flatnonzero(ok)
    if top_n is None or idx.size == 0:
        return idx
    key = s[idx] if lower_better else -s[idx]
    order = np.lexsort((np.asarray(partners, dtype=object)[idx].astype(str), key))
    return idx[order[:top_n]]


def top_n_per_gene(a: np.ndarray, b: np.ndarray, scores: np.ndarray, n: int,
                   lower_better: bool) -> np.ndarray:
    """Edge-list form of :func:`select_partners`: bool (E,) True where the pair is among the
    ``n`` best partners of gene ``a`` or of gene ``b`` (ties broken by partner ID); NaN
    scores are never kept. ``a``, ``b``: (E,) gene IDs; ``scores``: (E,) float."""
    a = np.asarray(a, dtype=object).astype(str)
    b = np.asarray(b, dtype=object).astype(str)
    s = np.asarray(scores, dtype=float)
    E = len(a)
    # both directions: row i as (a -> b) and (b -> a)
    gene = np.concatenate([a, b])
    partner = np.concatenate([b, a])
    key = np.concatenate([s, s])
    key = key if lower_better else -key
    key = np.where(np.isfinite(key), key, np.inf)
    order = np.lexsort((partner, key, gene))          # by gene, then score, then partner
    g_sorted = gene[order]
    start = np.r_[0, np.flatnonzero(g_sorted[1:] != g_sorted[:-1]) + 1]
    rank = np.arange(order.size) - np.repeat(start, np.diff(np.r_[start, order.size]))
    keep_dir = np.zeros(order.size, dtype=bool)
    keep_dir[order] = rank < n
    keep = keep_dir[:E] | keep_dir[E:]
    return keep & np.isfinite(s)


def _warn_nan(path, n: int, of: int) -> None:
    if n:
        log.warning("%s: %d of %d scores are NaN (no score): never kept as co-expressed", path, n, of)


# ----------------------------------------------------------------------------- partner lists

def _member_id(name: str) -> str | None:
    """Gene ID of a per-gene file name (``818558``, ``818558.txt``), None for other files."""
    base = name.rsplit("/", 1)[-1]
    if not base or base.startswith((".", "_")) or _NOT_A_GENE_FILE.match(base):
        return None
    while _FILE_SUFFIX.search(base):
        base = _FILE_SUFFIX.sub("", base)
    return base or None


def iter_partner_files(path: str | Path) -> tuple[int, Iterator[tuple[str, str, bytes]]]:
    """``(n_files, iterator of (gene_id, member name, raw bytes))`` of a per-gene folder or zip,
    in sorted member-name order; hidden files, ``__MACOSX`` and README-like files skipped."""
    path = Path(path)
    if path.is_dir():
        files = sorted(p for p in path.rglob("*") if p.is_file()
                       and not any(part.startswith((".", "__MACOSX"))
                                   for part in p.relative_to(path).parts))
        files = [(p, _member_id(p.name)) for p in files]
        files = [(p, g) for p, g in files if g]

        def gen():
            for p, g in files:
                yield g, str(p), p.read_bytes()
        return len(files), gen()
    if not path.is_file():
        raise TfvocabError("co-expression folder or zip not found", path=str(path))
    try:
        zf = zipfile.ZipFile(path)
    except zipfile.BadZipFile as exc:
        raise TfvocabError(f"not a readable zip archive ({exc})", path=str(path),
                           hint="download it again, or unpack it and give the folder") from None
    infos = sorted((i for i in zf.infolist() if not i.is_dir()
                    and not any(part.startswith((".", "__MACOSX")) for part in i.filename.split("/"))),
                   key=lambda i: i.filename)
    infos = [(i, _member_id(i.filename)) for i in infos]
    infos = [(i, g) for i, g in infos if g]

    def gen():
        try:
            for i, g in infos:
                try:
                    data = zf.read(i)
                except (zipfile.BadZipFile, OSError, EOFError) as exc:
                    raise TfvocabError(f"cannot read member {i.filename} ({exc})", path=str(path),
                                       hint="the zip is truncated or corrupt; download it again") from None
                yield g, i.filename, data
        finally:
            zf.close()
    return len(infos), gen()


def parse_partner_file(data: bytes, where: str) -> tuple[list[str] | None, np.ndarray, np.ndarray]:
    """One per-gene file -> ``(header, partners, values)``.

    ``header``: the column names when the first line is a header (its second field is not a
    number), else None; ``partners``: (n,) object array of partner IDs; ``values``: (n, k)
    float64 of the k score columns. ``#`` comments and blank lines are skipped; ``.gz``
    content is recognised by its magic bytes. Raises :class:`TfvocabError` naming ``where``
    and the line for a ragged or non-numeric row.
    """
    if data[:2] == b"\x1f\x8b":
        data = gzip.decompress(data)
    text = data.decode("utf-8", errors="replace")
    if "#" in text or "\r" in text or "," in text:
        lines = [ln.replace(",", "\t") for ln in text.replace("\r", "").split("\n")
                 if ln.strip() and not ln.lstrip().startswith("#")]
        text = "\n".join(lines)
    first_end = text.find("\n")
    first = (text if first_end < 0 else text[:first_end]).split()
    header = None
    if len(first) >= 2 and not _is_number(first[1]):
        header = first
        text = "" if first_end < 0 else text[first_end + 1:]
    tokens = text.split()
    ncol = len(header) if header else len(first)
    if not tokens:
        return header, np.zeros(0, dtype=object), np.zeros((0, max(ncol - 1, 1)))
    if ncol < 2:
        raise TfvocabError("a per-gene file needs two columns (partner ID, score)", path=where,
                           record="line 1", hint="ATTED-II files: partner Entrez ID<TAB>z-score")
    if len(tokens) % ncol:
        for n, ln in enumerate(text.split("\n"), 2 if header else 1):
            if ln.strip() and len(ln.split()) != ncol:
                raise TfvocabError(f"{len(ln.split())} fields where the file has {ncol}", path=where,
                                   record=f"line {n}", hint="every line needs the same columns")
    grid = np.array(tokens, dtype=object).reshape(-1, ncol)
    try:
        values = grid[:, 1:].astype(np.float64)
    except ValueError:
        bad = next(i for i, row in enumerate(grid[:, 1:]) if not all(_is_number(c) for c in row))
        raise TfvocabError(f"non-numeric score {' '.join(grid[bad, 1:])!r}", path=where,
                           record=f"line {bad + 1 + bool(header)}",
                           hint="per-gene files hold a partner ID and numeric scores") from None
    return header, grid[:, 0], values


def _archive_score_name(path: Path) -> str | None:
    m = _ARCHIVE_RE.search(path.name)
    return _ARCHIVE_INDEX.get(m.group(1).lower()) if m else None


def _score_index(score_column: str | int | None, names: list[str], where: str) -> int:
    """0-based index among the score columns ``names`` (file column 2 onwards)."""
    if score_column is None:
        return 0
    text = str(score_column).strip()
    if text.isdigit():
        k = int(text) - 2                                  # file columns: 1 = partner ID
        if not 0 <= k < len(names):
            raise TfvocabError(f"--score-column {text}: per-gene files have score columns "
                               f"2..{len(names) + 1}", path=where)
        return k
    lower = [n.lower() for n in names]
    if text.lower() not in lower:
        raise TfvocabError(f"no score column named {text!r}", path=where,
                           hint=f"the files have: {', '.join(names)}")
    return lower.index(text.lower())


def _frame(parts_a, parts_b, parts_s) -> pd.DataFrame:
    if parts_a:
        a, b, s = np.concatenate(parts_a), np.concatenate(parts_b), np.concatenate(parts_s)
    else:
        a = b = np.zeros(0, dtype=object)
        s = np.zeros(0)
    return pd.DataFrame({"gene_a": a.astype(object), "gene_b": b.astype(object), "score": s})


def read_partner_lists(path: str | Path, *, threshold: float | None = None, top_n: int | None = None,
                       score_lower_better: bool | None = None, score_column: str | int | None = None,
                       id_map: str | Path | None = None,
                       known_genes: Iterable[str] | None = None) -> pd.DataFrame:
    """Read an ATTED-II-style per-gene folder or ``.zip`` (see the module docstring).

    Returns ``gene_a`` (the file's gene), ``gene_b`` (partner), ``score`` (float64) for the
    partners kept by ``threshold`` / ``top_n`` (at least one is required), IDs mapped through
    ``id_map`` (:func:`read_id_map`); ``df.attrs["read"]`` records the layout, score column,
    counts and the ID-map report (unmapped IDs and the rows they cost). ``known_genes``: the
    promoters' gene IDs (to tell numeric gene IDs from Entrez IDs that need a map).
    """
    path = Path(path)
    if threshold is None and top_n is None:
        raise TfvocabError("a per-gene co-expression download lists every partner of every gene",
                           path=str(path), hint="keep the strong ones: --threshold X (e.g. a z-score "
                           "of 3; MR <= 30) and/or --top-n N partners per gene")
    if top_n is not None and top_n < 1:
        raise TfvocabError(f"--top-n must be >= 1, got {top_n}")
    mapper = IdMapper(*read_id_map(id_map)) if id_map else IdMapper(None)
    n_files, files = iter_partner_files(path)
    if n_files == 0:
        raise TfvocabError("no per-gene files found", path=str(path),
                           hint="an ATTED-II download holds one file per gene, named by its Entrez Gene ID")
    default_name = _archive_score_name(path)
    names: list[str] | None = None
    header_seen = False
    k = 0
    lower = False
    parts_a, parts_b, parts_s = [], [], []
    lines = kept = below = nan_scores = 0
    queries_unmapped = 0
    checked_ids = id_map is not None
    for gene, member, data in progress(files, desc=f"reading {path.name}", total=n_files, unit="gene",
                                       every=max(1000, n_files // 10)):
        where = f"{path}:{member}" if path.suffix.lower() == ".zip" else member
        q = mapper(np.array([gene], dtype=object))[0]
        if q is None:
            # a gene the map does not know (or a stray file): skipped unparsed, its lines counted
            if data[:2] == b"\x1f\x8b":
                data = gzip.decompress(data)
            n = sum(1 for ln in data.splitlines() if ln.strip() and not ln.lstrip().startswith(b"#"))
            first = data.split(b"\n", 1)[0].split()
            n -= int(len(first) >= 2 and not _is_number(first[1].decode("utf-8", "replace")))
            queries_unmapped += 1
            lines += n
            mapper.rows_dropped += n
            continue
        header, partners, values = parse_partner_file(data, where)
        if names is None:
            ncol = values.shape[1]
            header_seen = header is not None
            if header:
                names = [h for h in header[1:]]
            elif ncol == 1:
                names = [default_name or "score"]
            else:
                names = [default_name or "score"] + [f"column{j + 3}" for j in range(ncol - 1)]
            k = _score_index(score_column, names, where)
            lower = lower_is_better(names[k], score_lower_better)
            log.info("%s: %d per-gene files; score column %r (%s is better)%s", path, n_files,
                     names[k], "lower" if lower else "higher",
                     "" if header or default_name else "; assumed a similarity (z-score/correlation): "
                     "set --score-lower-better for ranks")
        elif values.shape[1] != len(names):
            raise TfvocabError(f"{values.shape[1] + 1} columns where the first file has {len(names) + 1}",
                               path=where, hint="all per-gene files must have the same columns")
        if not checked_ids:
            check_ids_need_map([gene] + partners[:50].tolist(), path, known_genes)
            checked_ids = True
        lines += len(partners)
        mapped = mapper(partners)
        ok = np.flatnonzero(mapped != None)  # noqa: E711 (element-wise)
        mapper.rows_dropped += len(partners) - ok.size
        s = values[ok, k]
        nan_scores += check_scores(s, where, lambda i: f"line {ok[i] + 1 + bool(header)}")
        if threshold is not None:
            below += int(np.sum(~((s <= threshold) if lower else (s >= threshold))))
        sel = ok[select_partners(mapped[ok], s, threshold=threshold, top_n=top_n, lower_better=lower)]
        kept += sel.size
        parts_a.append(np.full(sel.size, q, dtype=object))
        parts_b.append(mapped[sel])
        parts_s.append(values[sel, k])
    df = _frame(parts_a, parts_b, parts_s)
    id_report = mapper.report()
    if id_report is not None:
        id_report["gene_files_unmapped"] = queries_unmapped
        if id_report["ids_unmapped"]:
            log.warning("%s: %d of %d IDs are not in the ID map (e.g. %s); %d partner lines dropped",
                        path, id_report["ids_unmapped"], id_report["ids_in_data"],
                        ", ".join(id_report["unmapped_examples"][:5]), id_report["rows_dropped_unmapped"])
    score_name = names[k] if names else (default_name or "score")
    df.attrs["read"] = {
        "path": str(path), "layout": "partners", "archive": path.suffix.lower() == ".zip",
        "delimiter": "whitespace", "header_detected": header_seen,
        "n_columns": len(names) + 1 if names else 2, "columns": ["partner"] + (names or []),
        "gene_columns": ["file name", "partner"], "score_column": score_name,
        "score_lower_better": lower, "threshold_applied_while_reading": threshold,
        "top_n": top_n, "gene_files": n_files, "partner_lines": int(lines),
        "below_threshold_skipped": int(below), "nan_scores": int(nan_scores), "rows_read": int(len(df)),
        "lines": int(lines), "comment_lines": 0, "blank_lines": 0, "id_map": id_report,
    }
    _warn_nan(path, nan_scores, lines)
    log.info("%s: %d of %d partner lines kept (%s%s)", path, kept, lines,
             f"score {'<=' if lower else '>='} {threshold:g}" if threshold is not None else "",
             (", " if threshold is not None else "") + f"top {top_n} per gene" if top_n else "")
    return df


# ----------------------------------------------------------------------------- matrices

def read_matrix(path: str | Path, *, threshold: float | None = None, top_n: int | None = None,
                score_lower_better: bool | None = None, id_map: str | Path | None = None,
                score_name: str = "score", chunk_rows: int = 512,
                known_genes: Iterable[str] | None = None) -> pd.DataFrame:
    """Read a square genes x genes co-expression matrix (first row and first column: the same
    gene IDs; tab, comma or whitespace separated; ``.gz`` ok), ``chunk_rows`` rows at a time.

    Each row is one gene's partner list, filtered like :func:`read_partner_lists` (the
    diagonal is skipped). Same return value; ``attrs["read"]["layout"] == "matrix"``.
    Raises :class:`TfvocabError` when the row genes differ from the column genes.
    """
    path = Path(path)
    if threshold is None and top_n is None:
        raise TfvocabError("a co-expression matrix scores every pair of genes", path=str(path),
                           hint="keep the strong ones: --threshold X and/or --top-n N partners per gene")
    lines = _first_lines(path, 2)
    first = lines[0]
    delim = "\t" if "\t" in first else ("," if "," in first else r"\s+")
    mapper = IdMapper(*read_id_map(id_map)) if id_map else IdMapper(None)
    lower = lower_is_better(score_name, score_lower_better)
    head = _split(first)
    row = _split(lines[1])
    corner = len(head) == len(row)                        # else R-style header without corner
    try:
        reader = pd.read_csv(path, sep=delim, header=None, skiprows=1, index_col=0, dtype={0: str},
                             chunksize=chunk_rows, comment="#", engine="c",
                             compression="gzip" if path.suffix == ".gz" else None)
    except (pd.errors.ParserError, ValueError) as exc:
        raise TfvocabError(f"not a readable matrix ({exc})", path=str(path)) from None
    col_ids = np.array([c.strip().strip("\"'") for c in (head[1:] if corner else head)], dtype=object)
    if id_map is None:
        check_ids_need_map(col_ids.tolist(), path, known_genes)
    col_mapped = mapper(col_ids)
    col_ok = np.flatnonzero(pd.notna(col_mapped))
    row_ids: list[str] = []
    parts_a, parts_b, parts_s = [], [], []
    below = kept = nan_scores = 0
    try:
        for chunk in progress(reader, desc=f"reading {path.name}", unit="block"):
            if chunk.shape[1] != col_ids.size:
                raise TfvocabError(f"rows have {chunk.shape[1]} values for {col_ids.size} column genes",
                                   path=str(path), hint="a square matrix: one value per column gene")
            vals = chunk.to_numpy(dtype=np.float64)
            ids = np.array([str(i).strip().strip("\"'") for i in chunk.index], dtype=object)
            row_ids.extend(ids.tolist())
            qs = mapper(ids)
            for r in range(vals.shape[0]):
                if qs[r] is None:
                    mapper.rows_dropped += col_ids.size
                    continue
                mapper.rows_dropped += col_ids.size - col_ok.size
                cand = col_ok[col_ids[col_ok] != ids[r]]        # not the diagonal
                s = vals[r, cand]
                nan_scores += check_scores(s, path, lambda i: f"row {ids[r]}, column {col_ids[cand[i]]}")
                if threshold is not None:
                    below += int(np.sum(~((s <= threshold) if lower else (s >= threshold))))
                sel = cand[select_partners(col_mapped[cand], s, threshold=threshold, top_n=top_n,
                                           lower_better=lower)]
                kept += sel.size
                parts_a.append(np.full(sel.size, qs[r], dtype=object))
                parts_b.append(col_mapped[sel])
                parts_s.append(vals[r, sel])
    except ValueError as exc:
        raise TfvocabError(f"non-numeric matrix cell ({exc})", path=str(path),
                           hint="every cell after the first column must be a number") from None
    if set(row_ids) != set(col_ids.tolist()):
        only_r = sorted(set(row_ids) - set(col_ids.tolist()))[:5]
        only_c = sorted(set(col_ids.tolist()) - set(row_ids))[:5]
        raise TfvocabError(f"not a square genes x genes matrix: {len(row_ids)} row genes, "
                           f"{col_ids.size} column genes (rows only: {', '.join(only_r) or '-'}; "
                           f"columns only: {', '.join(only_c) or '-'})", path=str(path),
                           hint="the first row and the first column must list the same genes")
    df = _frame(parts_a, parts_b, parts_s)
    id_report = mapper.report()
    if id_report and id_report["ids_unmapped"]:
        log.warning("%s: %d of %d IDs are not in the ID map (e.g. %s)", path, id_report["ids_unmapped"],
                    id_report["ids_in_data"], ", ".join(id_report["unmapped_examples"][:5]))
    df.attrs["read"] = {
        "path": str(path), "layout": "matrix", "delimiter": {"\t": "tab", ",": "comma"}.get(delim, "whitespace"),
        "header_detected": True, "n_columns": int(col_ids.size) + 1, "columns": ["gene"] + col_ids[:20].tolist(),
        "gene_columns": ["row", "column"], "score_column": score_name, "score_lower_better": lower,
        "threshold_applied_while_reading": threshold, "top_n": top_n, "matrix_genes": int(col_ids.size),
        "below_threshold_skipped": int(below), "nan_scores": int(nan_scores), "rows_read": int(len(df)),
        "lines": len(row_ids) + 1, "comment_lines": 0, "blank_lines": 0, "id_map": id_report,
    }
    _warn_nan(path, nan_scores, len(row_ids) * max(col_ids.size - 1, 0))
    log.info("%s: %d x %d matrix, %d partner cells kept", path, len(row_ids), col_ids.size, kept)
    return df
