"""Simulated genome sequence and Araport11-style gene models (the ``simulate`` step's genome half).

Everything here is arrays/DataFrames in, arrays/DataFrames/text out; file writing lives in
:mod:`tfvocab.simulate.dataset`. Coordinates are 0-based half-open; a gene's *local* coordinate ``x`` runs
5'->3' in the gene's orientation from the gene's 5' end (``x = 0``).

Gene models (protein-coding): 1-8 exons, a 5' UTR, a CDS whose length is a multiple of 3, a 3'
UTR. Some genes get a second isoform ``.2`` with a different start codon: either a *downstream*
ATG (shorter CDS, longer 5' UTR) or an *upstream* ATG (transcript extended 5', longer CDS) - the
latter makes "longest CDS" and "smallest .N" disagree, which the representative-isoform rule
(docs/formats.md) resolves to ``.1``. Non-coding genes (``ncRNA_gene`` -> ``lnc_RNA``) and
pseudogenes (``pseudogene`` -> ``pseudogenic_transcript``) have exons and no CDS.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

_BASES = np.frombuffer(b"ACGT", dtype=np.uint8)
_COMPLEMENT = np.zeros(256, dtype=np.uint8)
for _a, _b in zip(b"ACGTN", b"TGCAN"):
    _COMPLEMENT[_a] = _b


def random_sequence(rng: np.random.Generator, length: int, gc: float) -> np.ndarray:
    """Random DNA, uint8 ASCII array (length,), with GC fraction ``gc`` (0..1)."""
    u = rng.random(length)
    # A, C, G, T with P(C) = P(G) = gc/2
    cut = np.array([(1 - gc) / 2, 0.5, 0.5 + gc / 2])
    return _BASES[np.searchsorted(cut, u, side="right")]


def reverse_complement(seq: np.ndarray) -> np.ndarray:
    """Reverse complement of a uint8 ASCII DNA array."""
    return _COMPLEMENT[seq[::-1]]


def fasta_bytes(name: str, seq: np.ndarray, width: int = 60) -> bytes:
    """One FASTA record (``>name`` + lines of ``width`` bases) as bytes, vectorised."""
    n = len(seq)
    full = n // width
    body = seq[: full * width].reshape(full, width)
    lines = np.concatenate([body, np.full((full, 1), ord("\n"), dtype=np.uint8)], axis=1).ravel()
    tail = seq[full * width:]
    out = [f">{name}\n".encode(), lines.tobytes()]
    if len(tail):
        out += [tail.tobytes(), b"\n"]
    return b"".join(out)


@dataclass
class Transcript:
    """One transcript in gene-local coordinates (5'->3' in gene orientation)."""
    tid: str
    exons: list                       # [(x0, x1), ...] local, increasing
    cds: tuple | None = None          # (m0, m1) in spliced mRNA coordinates, or None
    kind: str = "mRNA"                # mRNA / lnc_RNA / pseudogenic_transcript


@dataclass
class Gene:
    gene_id: str
    chrom: str
    strand: str
    kind: str                         # protein_coding / ncRNA / pseudogene
    start: int = 0                    # genomic, set on placement
    end: int = 0
    transcripts: list = field(default_factory=list)

    @property
    def length(self) -> int:
        return max(e[1] for t in self.transcripts for e in t.exons)


def _exon_layout(rng: np.random.Generator, mrna_len: int) -> list:
    """Split an mRNA of ``mrna_len`` bp into 1-8 exons separated by introns; local coords."""
    n_exons = int(min(8, 1 + rng.poisson(2.5)))
    n_exons = max(1, min(n_exons, mrna_len // 120))
    # n_exons - 1 cut points, every exon >= 60 bp
    room = mrna_len - 60 * n_exons
    cuts = np.sort(rng.integers(0, room + 1, size=n_exons - 1)) + 60 * np.arange(1, n_exons)
    bounds = np.concatenate([[0], cuts, [mrna_len]]).astype(int)
    introns = rng.integers(80, 450, size=n_exons - 1)
    exons, x = [], 0
    for i in range(n_exons):
        ln = int(bounds[i + 1] - bounds[i])
        exons.append((x, x + ln))
        x += ln + (int(introns[i]) if i < n_exons - 1 else 0)
    return exons


def make_protein_coding(rng: np.random.Generator, gene_id: str, chrom: str, strand: str,
                        isoform_rate: float) -> Gene:
    """A protein-coding gene with one or two isoforms (see module docstring)."""
    u5 = int(rng.integers(40, 300))
    cds_len = 3 * int(np.clip(rng.lognormal(np.log(400), 0.5), 80, 1500))
    u3 = int(rng.integers(80, 400))
    exons = _exon_layout(rng, u5 + cds_len + u3)
    g = Gene(gene_id, chrom, strand, "protein_coding")
    t1 = Transcript(f"{gene_id}.1", exons, (u5, u5 + cds_len))
    g.transcripts.append(t1)
    if rng.random() < isoform_rate:
        first_cds_exon_room = exons[0][1] - exons[0][0] - u5   # CDS bases in the first exon
        if rng.random() < 0.5 and first_cds_exon_room > 40 and cds_len > 300:
            # downstream ATG: same exons, CDS starts 3k later (k codons)
            k = int(rng.integers(4, max(5, min(first_cds_exon_room, cds_len - 240) // 3)))
            g.transcripts.append(Transcript(f"{gene_id}.2", list(exons), (u5 + 3 * k, u5 + cds_len)))
        else:
            # upstream ATG: first exon extended 5' by ext bp, CDS starts 3k earlier
            ext = int(rng.integers(60, 300))
            k = int(rng.integers(5, (ext + u5 - 10) // 3))
            shifted = [(a + ext, b + ext) for a, b in exons]
            t1.exons = shifted
            ex2 = [(0, shifted[0][1])] + shifted[1:]
            cds2 = (ext + u5 - 3 * k, ext + u5 + cds_len)
            g.transcripts.append(Transcript(f"{gene_id}.2", ex2, cds2))
    return g


def make_noncoding(rng: np.random.Generator, gene_id: str, chrom: str, strand: str, kind: str) -> Gene:
    """An ``ncRNA`` (lnc_RNA) or ``pseudogene`` gene: exons only, no CDS."""
    length = int(rng.integers(300, 2500))
    exons = _exon_layout(rng, length)
    tkind = "lnc_RNA" if kind == "ncRNA" else "pseudogenic_transcript"
    g = Gene(gene_id, chrom, strand, kind)
    g.transcripts.append(Transcript(f"{gene_id}.1", exons, None, tkind))
    return g


def mrna_to_local(exons: list, m: np.ndarray) -> np.ndarray:
    """Map spliced-mRNA coordinates ``m`` (array) to gene-local coordinates via ``exons``."""
    lens = np.array([b - a for a, b in exons])
    cum = np.concatenate([[0], np.cumsum(lens)])
    starts = np.array([a for a, _ in exons])
    idx = np.clip(np.searchsorted(cum, m, side="right") - 1, 0, len(exons) - 1)
    return starts[idx] + (m - cum[idx])


def local_to_genomic(g: Gene, x0: int, x1: int) -> tuple[int, int]:
    """Gene-local half-open [x0, x1) -> genomic half-open (start, end)."""
    if g.strand == "+":
        return g.start + x0, g.start + x1
    return g.end - x1, g.end - x0


def transcript_parts(t: Transcript) -> list:
    """Local (x0, x1, type, phase) pieces of a transcript: exon, UTRs and CDS (with GFF phase)."""
    parts = [(a, b, "exon", ".") for a, b in t.exons]
    if t.cds is None:
        return parts
    c0, c1 = (int(v) for v in mrna_to_local(t.exons, np.array([t.cds[0], t.cds[1] - 1])))
    c1 += 1                                    # local half-open CDS span
    done = 0                                   # CDS bases emitted so far (transcription order)
    for a, b in t.exons:
        if a < c0:
            parts.append((a, min(b, c0), "five_prime_UTR", "."))
        lo, hi = max(a, c0), min(b, c1)
        if lo < hi:
            parts.append((lo, hi, "CDS", str((3 - done % 3) % 3)))
            done += hi - lo
        if b > c1:
            parts.append((max(a, c1), b, "three_prime_UTR", "."))
    return parts


def start_codon(g: Gene, t: Transcript) -> int:
    """Genomic coordinate of the first base of the start codon (tfvocab.coords convention)."""
    x = int(mrna_to_local(t.exons, np.array([t.cds[0]]))[0])
    s, e = local_to_genomic(g, x, x + 1)
    return s


def stop_codon_start(g: Gene, t: Transcript) -> int:
    """Genomic coordinate of the first base (gene orientation) of the stop codon."""
    x = int(mrna_to_local(t.exons, np.array([t.cds[1] - 3]))[0])
    s, _ = local_to_genomic(g, x, x + 1)
    return s


def representative(g: Gene) -> Transcript | None:
    """The representative isoform: smallest ``.N`` among transcripts with CDS (docs/formats.md)."""
    coding = [t for t in g.transcripts if t.cds is not None]
    if not coding:
        return None
    return min(coding, key=lambda t: int(t.tid.rsplit(".", 1)[1]))


_GFF_TYPES = {"protein_coding": "gene", "ncRNA": "ncRNA_gene", "pseudogene": "pseudogene"}
_PART_ORDER = {"exon": 0, "five_prime_UTR": 1, "CDS": 2, "three_prime_UTR": 3}


def gff_lines(g: Gene, source: str = "Araport11") -> list[str]:
    """GFF3 lines (1-based inclusive) for one gene, its transcripts and their parts."""
    def row(ftype, s, e, phase, attrs):
        return f"{g.chrom}\t{source}\t{ftype}\t{s + 1}\t{e}\t.\t{g.strand}\t{phase}\t{attrs}"

    out = [row(_GFF_TYPES[g.kind], g.start, g.end, ".",
               f"ID={g.gene_id};Name={g.gene_id};locus_type={g.kind}")]
    for t in g.transcripts:
        x0, x1 = t.exons[0][0], t.exons[-1][1]
        s, e = local_to_genomic(g, x0, x1)
        out.append(row(t.kind, s, e, ".", f"ID={t.tid};Parent={g.gene_id};Name={t.tid}"))
        parts = transcript_parts(t)
        counters: dict[str, int] = {}
        rows = []
        for a, b, ftype, phase in parts:                       # numbered in transcription order
            counters[ftype] = counters.get(ftype, 0) + 1
            ptype = "pseudogenic_exon" if (ftype == "exon" and g.kind == "pseudogene") else ftype
            s, e = local_to_genomic(g, a, b)
            rows.append((s, _PART_ORDER[ftype],
                         row(ptype, s, e, phase, f"ID={t.tid}:{ftype}:{counters[ftype]};Parent={t.tid}")))
        out += [r for _, _, r in sorted(rows)]
    return out


def layout_chromosome(rng: np.random.Generator, chrom_index: int, n_coding: int, n_nc: int,
                      n_pseudo: int, mean_spacing: float, isoform_rate: float,
                      length: int | None = None, end_genes: bool = True) -> tuple[list, int]:
    """Place genes along one chromosome; returns (genes in order, chromosome length).

    Genes are numbered AT{c}G01010, AT{c}G01020, ... in steps of 10 along the chromosome.
    Intergenic gaps are exponential around ``mean_spacing`` minus the gene length, so gene starts
    are ``mean_spacing`` bp apart on average; with ``length`` given, gaps are rescaled to fill it.
    With ``end_genes``, the first gene is protein-coding on '+' and the last protein-coding on
    '-', both with their start codon < 2,000 bp from the chromosome end, so their promoters run
    off the chromosome.
    """
    chrom = f"Chr{chrom_index}"
    n = n_coding + n_nc + n_pseudo
    kinds = np.array(["protein_coding"] * n_coding + ["ncRNA"] * n_nc + ["pseudogene"] * n_pseudo)
    order = rng.permutation(n)
    kinds = kinds[order]
    strands = np.where(rng.random(n) < 0.5, "+", "-")
    if end_genes and n_coding >= 2:
        pc = np.flatnonzero(kinds == "protein_coding")
        # move protein-coding genes to both ends
        for pos, src in ((0, pc[0]), (n - 1, pc[-1])):
            kinds[[pos, src]] = kinds[[src, pos]]
        strands[0], strands[-1] = "+", "-"
    genes = []
    for i in range(n):
        gid = f"AT{chrom_index}G{(i + 1) * 10 + 1000:05d}"
        if kinds[i] == "protein_coding":
            genes.append(make_protein_coding(rng, gid, chrom, str(strands[i]), isoform_rate))
        else:
            genes.append(make_noncoding(rng, gid, chrom, str(strands[i]), str(kinds[i])))
    lens = np.array([g.length for g in genes])
    gaps = rng.exponential(max(mean_spacing - lens.mean() - 300, 200.0), size=n + 1) + 300
    if end_genes and n_coding >= 2:
        gaps[0] = rng.integers(150, 1000)        # 5' end of first '+' gene near the start
        gaps[-1] = rng.integers(150, 1000)       # 5' end of last '-' gene near the end
    if length is not None:
        inner = gaps[1:-1]
        room = length - lens.sum() - gaps[0] - gaps[-1]
        if room < 300 * len(inner):
            raise ValueError(f"{chrom}: {n} genes do not fit {length:,} bp")
        gaps[1:-1] = 300 + (inner - 300) * (room - 300 * len(inner)) / max((inner - 300).sum(), 1)
        gaps = np.floor(gaps).astype(np.int64)
        gaps[-1] = length - lens.sum() - gaps[:-1].sum()
    gaps = gaps.astype(np.int64)
    x = int(gaps[0])
    for g, ln, gap in zip(genes, lens, gaps[1:]):
        g.start, g.end = x, x + int(ln)
        x = g.end + int(gap)
    return genes, int(x)


def gene_table(genes: list) -> pd.DataFrame:
    """One row per gene: gene_id, chrom, strand, kind, start, end, transcript_id, start_codon
    (of the representative isoform; -1 when non-coding), n_isoforms."""
    rows = []
    for g in genes:
        t = representative(g)
        rows.append((g.gene_id, g.chrom, g.strand, g.kind, g.start, g.end,
                     t.tid if t else "", start_codon(g, t) if t else -1, len(g.transcripts)))
    return pd.DataFrame(rows, columns=["gene_id", "chrom", "strand", "kind", "start", "end",
                                       "transcript_id", "start_codon", "n_isoforms"])


def paint_codons(seqs: dict, genes: list) -> None:
    """Write ATG at every CDS start and a stop codon at every CDS end (in place, gene orientation)."""
    stops = [b"TAA", b"TAG", b"TGA"]
    for g in genes:
        seq = seqs[g.chrom]
        for i, t in enumerate(t for t in g.transcripts if t.cds is not None):
            for pos, codon in ((start_codon(g, t), b"ATG"),
                               (stop_codon_start(g, t), stops[(sum(t.tid.encode()) + i) % 3])):
                c = np.frombuffer(codon, dtype=np.uint8)
                if g.strand == "+":
                    seq[pos:pos + 3] = c
                else:
                    seq[pos - 2:pos + 1] = reverse_complement(c)
