"""The GFF3 annotation read into protein-coding genes (for the ``promoters`` step; no writing).

:func:`scan_gff` is the one validating pass over the text (column count, integer coordinates,
duplicate IDs, with line numbers; drops :data:`DROP_TYPES` features and attributes outside
:data:`KEEP_ATTRS`); :func:`protein_coding_genes` builds the parent/child graph (``gffutils`` in
``:memory:``) and returns one :class:`Gene` per gene with a CDS-bearing transcript: its
representative isoform (:func:`choose_isoform`), start codon (:func:`start_codons`) and AGI
gene ID (:func:`gene_identifier`). The rules are described in :mod:`tfvocab.data.promoters`'
docstring.
"""
from __future__ import annotations

import gzip
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, NamedTuple, Sequence
from urllib.parse import unquote

import numpy as np

from ..errors import TfvocabError
from ..log import get_logger, timed

log = get_logger("promoters")

#: Feature types never needed to find genes, transcripts and CDS (dropped before gffutils).
DROP_TYPES = frozenset({
    "exon", "five_prime_utr", "three_prime_utr", "utr", "intron", "start_codon", "stop_codon",
    "region", "chromosome", "contig", "supercontig", "scaffold", "sequence_feature", "match",
    "match_part", "cdna_match", "protein_match", "expressed_sequence_match", "polya_site",
    "polyA_signal_sequence".lower(), "transcription_start_site", "tss", "repeat_region",
})
#: Attributes kept on gene/transcript lines (everything else is dropped to speed up gffutils).
KEEP_ATTRS = frozenset({
    "ID", "Parent", "Name", "Dbxref", "locus_tag", "gene", "gene_id", "transcript_id",
    "orig_transcript_id", "gene_biotype", "biotype", "gene_type", "locus_type", "pseudo",
})
_SUFFIX = re.compile(r"\.(\d+)$")
AGI = re.compile(r"^AT[1-5CM]G\d{5}$", re.IGNORECASE)
_ID_PREFIX = re.compile(r"^(?:gene|rna|mrna|transcript|cds)[-:]", re.IGNORECASE)


# --------------------------------------------------------------------------- small pure helpers

def strip_prefix(feature_id: str) -> str:
    """``gene-AT1G01010`` / ``gene:AT1G01010`` / ``rna-NM_1.2`` -> the ID without the prefix."""
    return _ID_PREFIX.sub("", feature_id, count=1)


def gene_identifier(attributes: dict, feature_id: str) -> str:
    """The gene's output ID: an AGI locus when any identifying attribute holds one, else the
    feature ID without its ``gene-``/``gene:`` prefix.

    ``attributes``: ``{key: [values]}`` (gffutils style). Order: ``locus_tag``, ``Dbxref``
    (``Araport:``/``TAIR:`` entries), ``gene``, ``gene_id``, ``Name``, then the ID itself.
    """
    candidates: list[str] = list(attributes.get("locus_tag", []))
    for xref in attributes.get("Dbxref", []):
        db, _, value = xref.partition(":")
        if db.lower() in ("araport", "tair"):
            candidates.append(value)
    for key in ("gene", "gene_id", "Name"):
        candidates.extend(attributes.get(key, []))
    candidates.append(strip_prefix(feature_id))
    for value in candidates:
        value = value.strip()
        if value.lower().startswith("locus:"):
            value = value[6:]
        if AGI.match(value):
            return value.upper()
    return strip_prefix(feature_id)


def isoform_suffix(names: Iterable[str], gene_keys: Iterable[str]) -> int | None:
    """The numeric isoform suffix ``N`` of a transcript whose identifiers (``names``) contain
    ``<gene key>.N`` at their end (``AT1G01010.2``, ``mRNA.AT1G01010.2``), else ``None``."""
    keys = [k.lower() for k in dict.fromkeys(gene_keys) if k]
    for name in names:
        m = _SUFFIX.search(name)
        if not m:
            continue
        head = name[:m.start()].lower()
        for key in keys:
            if head.endswith(key):
                before = head[:-len(key)]
                if not before or not (before[-1].isalnum() or before[-1] == "_"):
                    return int(m.group(1))
    return None


def choose_isoform(transcript_ids: Sequence[str], suffixes: Sequence[int | None],
                   cds_lengths: Sequence[int]) -> int:
    """Index of the representative isoform (module docstring): smallest ``.N`` suffix, then
    longest CDS (bp), then smallest ID. All three sequences have one entry per transcript."""
    if not transcript_ids:
        raise ValueError("no transcripts to choose from")
    idx = list(range(len(transcript_ids)))
    with_suffix = [i for i in idx if suffixes[i] is not None]
    if with_suffix:
        lowest = min(suffixes[i] for i in with_suffix)
        idx = [i for i in with_suffix if suffixes[i] == lowest]
    return min(idx, key=lambda i: (-int(cds_lengths[i]), str(transcript_ids[i])))


def start_codons(cds_starts: Sequence[np.ndarray], cds_ends: Sequence[np.ndarray],
                 strands: Sequence[str]) -> np.ndarray:
    """0-based start-codon coordinates, int64 (G,).

    ``cds_starts``/``cds_ends``: per gene, the chosen transcript's CDS as 0-based half-open
    intervals (arrays of bp). Lowest CDS coordinate on '+', highest (``end - 1``) on '-'.
    """
    return np.array([int(np.min(s)) if strand != "-" else int(np.max(e)) - 1
                     for s, e, strand in zip(cds_starts, cds_ends, strands)], dtype=np.int64)


# --------------------------------------------------------------------------- GFF3 reading

def _open_text(path: Path):
    with open(path, "rb") as fh:
        magic = fh.read(2)
    if magic == b"\x1f\x8b":
        return gzip.open(path, "rt", encoding="utf-8-sig", newline="")
    return open(path, encoding="utf-8-sig", newline="")   # -sig: a UTF-8 byte-order mark is dropped


def _attrs(column: str) -> dict[str, str]:
    out = {}
    for field in column.split(";"):
        field = field.strip()
        if not field:
            continue
        key, sep, value = field.partition("=")
        if sep:
            out[key.strip()] = value
    return out


def scan_gff(path: str | Path) -> tuple[str, dict]:
    """Validate a GFF3 file and reduce it to what the promoter step needs.

    Checks every feature line (9 tab-separated columns, integer 1-based ``start <= end``,
    unique ``ID``s) and raises a one-line :class:`TfvocabError` naming the file and line
    otherwise. A repeated ID is a duplicate when the lines differ in type or seqid, or when the
    feature is a gene or transcript (the hierarchy must be unambiguous); other features may
    repeat their ID over several lines (GFF3 multi-line features: CDS segments). IDs of the
    dropped types (:data:`DROP_TYPES`: exons, UTRs...) are not checked. Returns the reduced GFF3 text
    (no exons/UTRs, only :data:`KEEP_ATTRS`, CDS lines with only ``Parent``) and stats
    ``{"lines", "features", "kept"}``. Gzipped files are read transparently.
    """
    path = Path(path)
    out: list[str] = []
    seen: dict[str, tuple[int, tuple]] = {}
    n_lines = n_feat = 0
    try:
        fh = _open_text(path)
        with fh:
            for lineno, raw in enumerate(fh, start=1):
                n_lines = lineno
                line = raw.rstrip("\r\n")
                if line.startswith("##FASTA"):
                    break
                if line.startswith(">") and n_feat:
                    log.warning("%s: line %d starts a FASTA section without ##FASTA; "
                                "annotation read up to there", path, lineno)
                    break
                if not line.strip() or line.startswith("#"):
                    continue
                cols = line.split("\t")
                if len(cols) != 9:
                    raise TfvocabError(f"expected 9 tab-separated GFF3 columns, found {len(cols)}",
                                       path=str(path), record=f"line {lineno}",
                                       hint="is this a GFF3 file?")
                seqid, _src, ftype, start, end, _score, strand, _phase, attr = cols
                for label, value in (("start", start), ("end", end)):
                    if not value.strip().isdigit():
                        raise TfvocabError(f"{label} coordinate {value!r} is not a positive integer",
                                           path=str(path), record=f"line {lineno}")
                if int(start) < 1 or int(end) < int(start):
                    raise TfvocabError(f"invalid interval start={start} end={end} "
                                       "(GFF3 is 1-based, start <= end)",
                                       path=str(path), record=f"line {lineno}")
                if "=" not in attr and '"' in attr:
                    raise TfvocabError("attributes look like GTF (key \"value\"), not GFF3 (key=value)",
                                       path=str(path), record=f"line {lineno}",
                                       hint="convert the GTF to GFF3 first")
                n_feat += 1
                kind = ftype.lower()
                if kind in DROP_TYPES:
                    continue
                attrs = _attrs(attr)
                fid = attrs.get("ID")
                if fid is not None:
                    sig = (seqid, ftype)
                    prev = seen.get(fid)
                    if prev is None:
                        seen[fid] = (lineno, sig)
                    elif prev[1] != sig or _is_hierarchy(ftype):
                        raise TfvocabError(f"duplicate ID {unquote(fid)!r} (first used on line {prev[0]})",
                                           path=str(path), record=f"line {lineno}",
                                           hint="GFF3 IDs must be unique")
                if kind == "cds":  # segments get gffutils' cheap autoincrement IDs
                    keep = {k: v for k, v in attrs.items() if k == "Parent"}
                else:
                    keep = {k: v for k, v in attrs.items() if k in KEEP_ATTRS}
                cols[8] = ";".join(f"{k}={v}" for k, v in keep.items()) or "."
                out.append("\t".join(cols))
    except UnicodeDecodeError:
        raise TfvocabError("not a text GFF3 file (undecodable bytes)", path=str(path)) from None
    except (OSError, EOFError) as exc:
        raise TfvocabError(f"cannot read GFF3: {exc}", path=str(path)) from None
    if n_feat == 0:
        raise TfvocabError("no GFF3 feature lines (empty or not a GFF3 file)", path=str(path))
    return "\n".join(out) + "\n", {"lines": n_lines, "features": n_feat, "kept": len(out)}


@dataclass
class Gene:
    """One protein-coding gene and its representative transcript (coordinates 0-based)."""

    gene_id: str
    feature_id: str
    seqid: str
    strand: str
    transcript_id: str
    start_codon: int
    n_transcripts: int


class _Feat(NamedTuple):
    seqid: str
    start: int
    end: int
    strand: str
    featuretype: str
    attributes: dict


def _build_db(text: str):
    import gffutils

    return gffutils.create_db(text, ":memory:", from_string=True, merge_strategy="create_unique",
                              disable_infer_genes=True, disable_infer_transcripts=True,
                              keep_order=False, sort_attribute_values=False, verbose=False)


def _is_hierarchy(ftype: str) -> bool:
    """Gene- or transcript-level feature type (``gene``, ``ncRNA_gene``, ``mRNA``, ``tRNA``...)."""
    t = ftype.lower()
    return t.endswith(("gene", "rna", "transcript")) or t == "pseudogene"


def _is_gene_like(ftype: str) -> bool:
    t = ftype.lower()
    return t.endswith("gene") or t == "pseudogene"


def protein_coding_genes(gff_text: str, gff_path: str | Path = "GFF3") -> tuple[list[Gene], dict]:
    """Find protein-coding genes in reduced GFF3 text (:func:`scan_gff`) with gffutils.

    Returns the genes (sorted by seqid, then gene start) with their representative isoform
    and start codon, and
    counts ``{"genes_seen", "protein_coding", "non_coding", "pseudogene", "no_cds",
    "no_cds_genes", "unstranded", "unstranded_genes", "renamed_duplicates"}``.
    """
    counts = {"genes_seen": 0, "protein_coding": 0, "non_coding": 0, "pseudogene": 0,
              "no_cds": 0, "no_cds_genes": [], "unstranded": 0, "unstranded_genes": [],
              "renamed_duplicates": []}
    if not gff_text.strip():  # nothing but exons, matches, regions...
        return [], counts
    with timed("gffutils create_db (:memory:)", log):
        try:
            db = _build_db(gff_text)
        except TfvocabError:
            raise
        except Exception as exc:  # gffutils raises assorted errors on odd input
            raise TfvocabError(f"gffutils could not parse the annotation: {exc}",
                               path=str(gff_path)) from None
    # non-CDS features straight from gffutils' documented `features` table: building ~25k
    # gffutils.Feature objects would cost seconds on a whole chromosome
    feats: dict[str, _Feat] = {}
    order = {}
    rows = db.execute("SELECT id, seqid, start, end, strand, featuretype, attributes FROM features "
                      "WHERE lower(featuretype) != 'cds' ORDER BY seqid, start, end, featuretype, id")
    for i, (fid, seqid, start, end, strand, ftype, attributes) in enumerate(rows):
        feats[fid] = _Feat(seqid, int(start), int(end), strand, ftype,
                           json.loads(attributes) if attributes else {})
        order[fid] = i
    parents: dict[str, list[str]] = {}
    children: dict[str, list[str]] = {}
    for parent, child in db.execute("SELECT parent, child FROM relations WHERE level = 1"):
        parents.setdefault(child, []).append(parent)
        children.setdefault(parent, []).append(child)

    # transcripts with CDS and their CDS intervals (0-based half-open)
    tx_cds: dict[str, list[tuple[int, int, str]]] = {}
    for fid, start, end, strand in db.execute(
            "SELECT id, start, end, strand FROM features WHERE lower(featuretype) = 'cds'"):
        for p in parents.get(fid, []):
            if p in feats:
                tx_cds.setdefault(p, []).append((int(start) - 1, int(end), strand))
    gene_tx: dict[str, list[str]] = {}
    for tx in tx_cds:
        up = [p for p in parents.get(tx, []) if p in feats]
        gene_tx.setdefault(up[0] if up else tx, []).append(tx)

    genes: list[Gene] = []
    top = [fid for fid, f in feats.items()
           if (fid in gene_tx) or (_is_gene_like(f.featuretype) and not parents.get(fid))]
    top.sort(key=order.__getitem__)
    for gid in top:
        counts["genes_seen"] += 1
        g = feats[gid]
        attrs = dict(g.attributes)
        if gid not in gene_tx:
            biotype = " ".join(v for k in ("gene_biotype", "biotype", "gene_type", "locus_type")
                               for v in attrs.get(k, [])).lower()
            has_mrna = any(feats[c].featuretype.lower() == "mrna" for c in children.get(gid, []))
            if "pseudo" in g.featuretype.lower() or "pseudo" in biotype or "pseudo" in attrs:
                counts["pseudogene"] += 1
            elif has_mrna or "protein_coding" in biotype or g.featuretype.lower() == "protein_coding_gene":
                counts["no_cds"] += 1
                counts["no_cds_genes"].append(gene_identifier(attrs, gid))
            else:
                counts["non_coding"] += 1
            continue
        counts["protein_coding"] += 1
        gene_id = gene_identifier(attrs, gid)
        txs = sorted(gene_tx[gid])
        keys = [gene_id, strip_prefix(gid)]
        suffixes, lengths = [], []
        for tx in txs:
            t = feats[tx]
            ta = t.attributes
            idents = [tx, strip_prefix(tx)] + [v for k in ("Name", "transcript_id", "orig_transcript_id")
                                               for v in ta.get(k, [])]
            suffixes.append(isoform_suffix(idents, keys))
            lengths.append(sum(e - s for s, e, _ in set(tx_cds[tx])))
        k = choose_isoform(txs, suffixes, lengths)
        tx = txs[k]
        t = feats[tx]
        cds = sorted(set(tx_cds[tx]))
        strand = t.strand if t.strand in ("+", "-") else g.strand
        if strand not in ("+", "-"):
            cds_strands = {s for _, _, s in cds}
            strand = cds_strands.pop() if len(cds_strands) == 1 else "."
        if strand not in ("+", "-"):
            counts["unstranded"] += 1
            counts["unstranded_genes"].append(gene_id)
            continue
        same = [c for c in cds if c[2] == strand] or cds
        sc = start_codons([np.array([c[0] for c in same])], [np.array([c[1] for c in same])], [strand])[0]
        tx_name = f"{gene_id}.{suffixes[k]}" if suffixes[k] is not None else strip_prefix(tx)
        genes.append(Gene(gene_id=gene_id, feature_id=gid, seqid=t.seqid, strand=strand,
                          transcript_id=tx_name, start_codon=int(sc), n_transcripts=len(txs)))

    # two GFF genes resolving to one AGI: keep the AGI for the first, the raw ID for the others
    used: set[str] = set()
    for gene in genes:
        if gene.gene_id in used:
            alt = strip_prefix(gene.feature_id)
            if alt in used:
                raise TfvocabError(f"two genes share the ID {gene.gene_id!r}", path=str(gff_path),
                                   record=f"gene {gene.feature_id}")
            log.warning("gene %s: AGI %s already used by another gene; using %s",
                        gene.feature_id, gene.gene_id, alt)
            counts["renamed_duplicates"].append(alt)
            gene.gene_id = alt
        used.add(gene.gene_id)
    return genes, counts
