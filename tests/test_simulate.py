"""tfvocab simulate: formats parse with the real libraries, the planted truth is in the tracks,
the co-expression list is incomplete and noisy as requested, and runs are deterministic."""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from tfvocab import coords
from tfvocab.simulate import grammar as sgr
from tfvocab.simulate import tracks as st
from tfvocab.cli import main
from tfvocab.errors import TfvocabError
from tfvocab.simulate.dataset import run


def _read(sim: Path, name: str) -> pd.DataFrame:
    return pd.read_csv(sim / name, sep="\t", keep_default_na=False, na_values=[""])


@pytest.fixture(scope="module")
def gff_db(tiny_sim):
    gffutils = pytest.importorskip("gffutils")
    return gffutils.create_db(str(tiny_sim / "annotation.gff3"), ":memory:", merge_strategy="error")


@pytest.fixture(scope="module")
def rep_start_codons(gff_db):
    """Independent reading of the GFF: gene -> (chrom, strand, start codon of the smallest .N with CDS)."""
    out = {}
    for gene in gff_db.features_of_type("gene"):
        best = None
        for mrna in gff_db.children(gene, featuretype="mRNA", level=1):
            cds = list(gff_db.children(mrna, featuretype="CDS"))
            if not cds:
                continue
            n = int(mrna.id.rsplit(".", 1)[1])
            sc = min(c.start - 1 for c in cds) if gene.strand == "+" else max(c.end - 1 for c in cds)
            if best is None or n < best[0]:
                best = (n, sc)
        out[gene.id] = (gene.seqid, gene.strand, best[1])
    return out


def test_fasta_and_bigwigs_parse_and_agree(tiny_sim):
    import pyBigWig
    import pyfaidx

    fa = pyfaidx.Fasta(str(tiny_sim / "genome.fa"))
    lengths = {k: len(v) for k, v in fa.items()}
    assert list(lengths) == [f"Chr{i + 1}" for i in range(len(lengths))] and len(lengths) >= 2
    seq = str(fa["Chr1"][:]).upper()
    gc = (seq.count("G") + seq.count("C")) / len(seq)
    assert 0.30 < gc < 0.42
    sheet = pd.read_csv(tiny_sim / "samplesheet.csv")
    assert list(sheet.columns) == ["tf", "bigwig", "control"] and len(sheet) == 8
    files = set(sheet.bigwig) | set(sheet.control)
    assert "bigwig/input.bw" in files
    for rel in files:
        bw = pyBigWig.open(str(tiny_sim / rel))
        assert bw.isBigWig() and bw.chroms() == lengths
        # fixed 10 bp bins cover every base, including the clipped last bin
        last = bw.intervals("Chr1")[-1]
        assert last[1] == lengths["Chr1"]
        bw.close()
    assert json.loads((tiny_sim / "genome.fa.json").read_text())["step"] == "simulate"


def test_gff_structure(gff_db, tiny_sim):
    text = (tiny_sim / "annotation.gff3").read_text().splitlines()
    assert text[0] == "##gff-version 3" and text[1].startswith("##sequence-region Chr1 1 ")
    types = {f.featuretype for f in gff_db.all_features()}
    assert {"gene", "mRNA", "exon", "five_prime_UTR", "CDS", "three_prime_UTR",
            "ncRNA_gene", "lnc_RNA", "pseudogene", "pseudogenic_transcript"} <= types
    genes = list(gff_db.features_of_type("gene"))
    assert {g.strand for g in genes} == {"+", "-"}
    # AGI-style IDs numbered in steps of 10 along each chromosome (all gene kinds together)
    for chrom in ("Chr1", "Chr2"):
        feats = sorted((f for f in gff_db.features_of_type(["gene", "ncRNA_gene", "pseudogene"])
                        if f.seqid == chrom), key=lambda f: f.start)
        nums = [int(f.id[4:]) for f in feats]
        assert feats[0].id == f"AT{chrom[-1]}G01010" and np.all(np.diff(nums) == 10)
    # CDS phases follow the CDS lengths in transcription order; total CDS is whole codons
    for mrna in gff_db.features_of_type("mRNA"):
        cds = sorted(gff_db.children(mrna, featuretype="CDS"), key=lambda c: c.start,
                     reverse=mrna.strand == "-")
        done = 0
        for c in cds:
            assert int(c.frame) == (3 - done % 3) % 3
            done += c.end - c.start + 1
        assert done % 3 == 0
    # non-coding genes and pseudogenes have no CDS
    for kind in ("ncRNA_gene", "pseudogene"):
        feats = list(gff_db.features_of_type(kind))
        assert feats
        for f in feats:
            assert not list(gff_db.children(f, featuretype="CDS"))


def test_isoforms_with_different_start_codons(gff_db):
    n_diff = 0
    for gene in gff_db.features_of_type("gene"):
        starts = set()
        mrnas = list(gff_db.children(gene, featuretype="mRNA", level=1))
        for m in mrnas:
            cds = list(gff_db.children(m, featuretype="CDS"))
            starts.add(min(c.start for c in cds) if gene.strand == "+" else max(c.end for c in cds))
        n_diff += len(mrnas) > 1 and len(starts) == len(mrnas)
    assert n_diff >= 5


def test_start_codons_are_atg(tiny_sim, rep_start_codons):
    import pyfaidx

    fa = pyfaidx.Fasta(str(tiny_sim / "genome.fa"))
    for chrom, strand, sc in rep_start_codons.values():
        codon = str(fa[chrom][sc:sc + 3]) if strand == "+" else str(fa[chrom][sc - 2:sc + 1].reverse.complement)
        assert codon.upper() == "ATG"


def test_chromosome_end_genes(tiny_sim, rep_start_codons):
    lengths = json.loads((tiny_sim / "truth" / "params.json").read_text())["summary"]["chromosomes"]
    runs_off_start = runs_off_end = 0
    for chrom, strand, sc in rep_start_codons.values():
        start, end = coords.promoter_interval(sc, strand)
        runs_off_start += strand == "+" and start < 0
        runs_off_end += strand == "-" and end > lengths[chrom]
    assert runs_off_start >= 1 and runs_off_end >= 1


def test_sites_match_grammar_and_gff(tiny_sim, rep_start_codons):
    sites = _read(tiny_sim, "truth/sites.tsv")
    assert list(sites.columns[:8]) == ["gene_id", "tf", "chrom", "start", "end", "offset", "module", "kind"]
    assert set(sites.kind) == {"module", "decoy_far", "decoy_band", "decoy_order", "background"}
    grammar = json.loads((tiny_sim / "truth" / "grammar.json").read_text())
    rules = {r["module"]: r for r in grammar["modules"]}
    modules = _read(tiny_sim, "truth/modules.tsv")
    assert modules.gene_id.is_unique                           # at most one module per gene
    n_coding = len(rep_start_codons)
    assert len(modules) < 0.5 * n_coding                       # most genes in no module
    anchored = sites[sites.gene_id != "."]
    # genomic coordinates agree with the representative isoform's start codon (read from the GFF)
    sc = anchored.gene_id.map(lambda g: rep_start_codons[g][2]).to_numpy()
    strand = anchored.gene_id.map(lambda g: rep_start_codons[g][1]).to_numpy()
    centre = anchored.start.to_numpy() + 10
    assert np.array_equal(coords.genomic_to_offset(centre, sc, strand), anchored.offset.to_numpy())
    for gid, grp in anchored[anchored.kind != "background"].groupby("gene_id"):
        r = rules[grp.module.iloc[0]]
        kind = grp.kind.iloc[0]
        assert grp.kind.nunique() == 1 and sorted(grp.tf) == sorted(r["tfs"])
        order = grp.sort_values("offset")
        off = order.offset.to_numpy()
        if kind == "module":
            assert gid in set(modules[modules.module == r["module"]].gene_id)
            assert list(order.tf) == r["tfs"]
            assert np.array_equal(off - off[0], r["spacing"])
            assert r["band"][0] <= off[0] and off[-1] < r["band"][1]
        elif kind == "decoy_far":
            assert np.all(np.diff(off) > 300)
        elif kind == "decoy_band":
            assert list(order.tf) == r["tfs"]
            assert off[-1] < r["band"][0] - 300 or off[0] >= r["band"][1] + 300
        else:
            assert list(order.tf) == r["tfs"][::-1]
            assert r["band"][0] <= off[0] and off[-1] < r["band"][1]
        assert gid not in set(modules.gene_id) or kind == "module"
    # every TF also binds background sites inside promoters and genome-wide
    bg = sites[sites.kind == "background"]
    assert set(bg[bg.gene_id != "."].tf) == set(grammar["tfs"]) == set(bg[bg.gene_id == "."].tf)


def test_peaks_on_planted_sites_and_control_bias(tiny_sim):
    import pyBigWig

    sites = _read(tiny_sim, "truth/sites.tsv")
    tfs = _read(tiny_sim, "truth/tfs.tsv").set_index("tf")
    regions = _read(tiny_sim, "truth/bias_regions.tsv")
    good = tfs[tfs.quality == 1.0].index
    depth_means = {}
    for tf in tfs.index:
        bw = pyBigWig.open(str(tiny_sim / "bigwig" / f"{tf}.bw"))
        chrom_sig = np.nan_to_num(bw.values("Chr1", 0, bw.chroms("Chr1"), numpy=True))
        s = sites[(sites.tf == tf) & (sites.chrom == "Chr1") & (sites.height > 20)]
        centre = ((s.start + s.end) // 2).to_numpy()
        at_sites = chrom_sig[centre]
        if tf in good:
            assert np.median(at_sites) > 20 * max(np.median(chrom_sig), chrom_sig.mean() / 4), tf
        depth_means[tf] = chrom_sig.mean()
        bw.close()
    # per-TF depth factors show up as different signal scales
    d = tfs.loc[good, "depth"]
    m = pd.Series(depth_means)[good]
    assert d.max() / d.min() > 2 and np.corrcoef(np.log(d), np.log(m))[0, 1] > 0.8
    # the input control is elevated in its bias regions, and the leak reaches TF tracks
    bw = pyBigWig.open(str(tiny_sim / "bigwig" / "input.bw"))
    inp = np.nan_to_num(bw.values("Chr1", 0, bw.chroms("Chr1"), numpy=True))
    sticky = regions[(regions.kind == "sticky") & (regions.chrom == "Chr1")]
    assert len(sticky)
    inside = np.concatenate([inp[a:b] for a, b in zip(sticky.start, sticky.end)])
    assert inside.mean() > 5 * inp.mean()


def test_coexpression_incomplete_and_noisy(small_sim):
    obs = pd.read_csv(small_sim / "coexpression.tsv", sep="\t")
    truth = pd.read_csv(small_sim / "truth" / "pairs.tsv", sep="\t")
    assert list(obs.columns) == ["gene_a", "gene_b", "score"]
    assert list(truth.columns) == ["gene_a", "gene_b", "module"]
    assert (obs.gene_a < obs.gene_b).all() and (truth.gene_a < truth.gene_b).all()
    assert not obs.duplicated(["gene_a", "gene_b"]).any()
    assert obs.score.between(0.6, 1.0).all()
    tset = set(zip(truth.gene_a, truth.gene_b))
    is_true = np.array([p in tset for p in zip(obs.gene_a, obs.gene_b)])
    fp_frac = 1 - is_true.mean()
    withheld = 1 - is_true.sum() / len(truth)
    assert 0.03 < fp_frac < 0.07
    assert abs(withheld - 0.3) < 0.01
    # truth pairs are exactly the within-module pairs
    modules = pd.read_csv(small_sim / "truth" / "modules.tsv", sep="\t")
    sizes = modules.module.value_counts()
    assert len(truth) == int((sizes * (sizes - 1) // 2).sum())
    assert 10 <= len(sizes) <= 15 and sizes.between(25, 40).all()
    grammar = json.loads((small_sim / "truth" / "grammar.json").read_text())
    uses = pd.Series([t for r in grammar["modules"] for t in r["tfs"]]).value_counts()
    assert (uses >= 2).any()                                   # TFs shared between rules


def test_deterministic(tiny_sim, tmp_path):
    def digest(folder):
        return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
                for p in sorted(folder.rglob("*")) if p.is_file()}

    run(preset="tiny", seed=0, outdir=tmp_path / "a")
    first, again = digest(tiny_sim), digest(tmp_path / "a")
    assert len(first) > 30 and first == again
    run(preset="tiny", seed=1, outdir=tmp_path / "b")
    other = digest(tmp_path / "b")
    assert other["genome.fa"] != first["genome.fa"] and other["bigwig/input.bw"] != first["bigwig/input.bw"]


def test_cli_overrides_and_errors(tmp_path):
    res = CliRunner().invoke(main, ["simulate", "--preset", "tiny", "--seed", "3", "--outdir",
                                    str(tmp_path), "--n-tfs", "5", "--n-genes", "40"])
    assert res.exit_code == 0, res.output
    sheet = pd.read_csv(tmp_path / "samplesheet.csv")
    assert len(sheet) == 5 and all((tmp_path / b).exists() for b in sheet.bigwig)
    params = json.loads((tmp_path / "truth" / "params.json").read_text())
    assert params["n_tfs"] == 5 and params["summary"]["genes"]["protein_coding"] == 40
    bad = CliRunner().invoke(main, ["simulate", "--preset", "huge", "--seed", "0", "--outdir", str(tmp_path)])
    assert bad.exit_code == 2
    with pytest.raises(TfvocabError, match="n-genes"):
        run(preset="tiny", seed=0, outdir=tmp_path / "x", n_genes=5)


def test_sparse_track_variants(tmp_path):
    """``--tracks sparse-nocontrol``: background 30x lower (most 10 bp bins 0; peaks as dense), no
    input control written or listed; the same seed's sites and genes as the dense preset."""
    import pyBigWig

    res = CliRunner().invoke(main, ["simulate", "--preset", "tiny", "--seed", "3", "--outdir",
                                    str(tmp_path), "--n-genes", "40", "--tracks", "sparse-nocontrol"])
    assert res.exit_code == 0, res.output
    sheet = pd.read_csv(tmp_path / "samplesheet.csv")
    assert "control" not in sheet and not (tmp_path / "bigwig" / "input.bw").exists()
    params = json.loads((tmp_path / "truth" / "params.json").read_text())
    assert params["tracks"] == "sparse-nocontrol" and params["bg_rate"] == 0.01 and not params["control"]
    bw = pyBigWig.open(str(tmp_path / sheet.bigwig[0]))
    chrom, n = next(iter(bw.chroms().items()))
    vals = np.nan_to_num(np.asarray(bw.values(chrom, 0, n)[::10]))
    bw.close()
    assert (vals == 0).mean() > 0.9
    dense = run(preset="tiny", seed=3, outdir=tmp_path / "dense", n_genes=40)
    same = pd.read_csv(dense["sites"], sep="\t").equals(pd.read_csv(tmp_path / "truth" / "sites.tsv", sep="\t"))
    assert same and (tmp_path / "dense" / "bigwig" / "input.bw").exists()
    with pytest.raises(TfvocabError, match="track variant"):
        run(preset="tiny", seed=0, outdir=tmp_path / "x", tracks="sparse-ish")


def test_peak_track_shape():
    t = st.peak_track(10_000, np.array([5005.0]), np.array([30.0]), 50.0, bin_size=10)
    assert t.shape == (1000,)
    assert t.argmax() == 500 and t.max() == pytest.approx(30.0, rel=1e-9)
    assert np.allclose(t[500 - 10:500], t[501:511][::-1])          # symmetric about the centre
    assert t.sum() * 10 == pytest.approx(30.0 * 50.0 * np.sqrt(2 * np.pi), rel=1e-3)
    edge = st.peak_track(95, np.array([2.0]), np.array([5.0]), 40.0, bin_size=10)
    assert edge.shape == (10,) and edge[0] > edge[5] > 0


def test_grammar_shares_tfs_and_keeps_span():
    rng = np.random.default_rng(0)
    tfs = sgr.tf_names(20)
    assert len(set(tfs)) == 20
    usable = np.ones(20, dtype=bool)
    usable[:3] = False
    rules = sgr.make_grammar(rng, tfs, 12, usable)
    assert all(r["span"] <= 50 and 2 <= len(r["tfs"]) <= 3 for r in rules)
    assert not {t for r in rules for t in r["tfs"]} & set(tfs[:3])
    assert len({frozenset(r["tfs"]) for r in rules}) == 12
    uses = pd.Series([t for r in rules for t in r["tfs"]]).value_counts()
    assert uses.max() >= 2
    for r in rules:
        assert -1500 <= r["band"][0] and r["band"][1] + r["span"] <= -50 + r["span"]


def test_jaspar_motifs_planted_at_sites(tmp_path):
    pytest.importorskip("pyjaspar")
    import pyfaidx

    run(preset="tiny", seed=0, outdir=tmp_path, motifs=True, n_genes=40)
    tfs = _read(tmp_path, "truth/tfs.tsv")
    assert tfs.motif.str.startswith("MA").all()
    sites = _read(tmp_path, "truth/sites.tsv")
    fa = pyfaidx.Fasta(str(tmp_path / "genome.fa"))
    by_id = {k: v[1] for k, v in sgr.jaspar_motifs().items()}
    hits = total = 0
    for row in sites[sites.gene_id != "."].head(60).itertuples():
        probs = by_id.get(tfs.set_index("tf").loc[row.tf, "motif"])
        if probs is None:
            continue
        L = probs.shape[0]
        left = (row.start + row.end) // 2 - L // 2
        seq = str(fa[row.chrom][left:left + L]).upper()
        idx = np.array(["ACGT".index(b) if b in "ACGT" else 0 for b in seq])
        fwd = np.log(probs[np.arange(L), idx] / 0.25).sum()
        rev = np.log(probs[np.arange(L), 3 - idx[::-1]] / 0.25).sum()
        best = np.log(probs.max(axis=1) / 0.25).sum()
        hits += max(fwd, rev) > 0.3 * best
        total += 1
    assert total >= 10 and hits / total > 0.8


def test_grammar_preset_roles_and_decoys(tmp_path):
    """--preset grammar: every module is an ordered TF pair 20-40 bp apart in its band, members
    split ~1:1 between instances inside one 50 bp window and across a window boundary; one
    reversed decoy (same band, mirrored) and one spaced decoy (same order, 150-300 bp apart) per
    member; truth/roles.tsv lists every member and decoy with its kind and window relation."""
    run(preset="grammar", seed=2, outdir=tmp_path, n_genes=400, n_tfs=12, n_modules=4)
    grammar = json.loads((tmp_path / "truth" / "grammar.json").read_text())
    rules = {r["module"]: r for r in grammar["modules"]}
    assert all(len(r["tfs"]) == 2 and 20 <= r["spacing"][1] <= 40 for r in rules.values())
    roles = _read(tmp_path, "truth/roles.tsv")
    assert list(roles.columns) == sgr.ROLE_COLUMNS
    modules = _read(tmp_path, "truth/modules.tsv")
    members = roles[roles.role == "member"]
    assert set(members.gene_id) == set(modules.gene_id) and (members.kind == "module").all()
    counts = roles.groupby(["module", "kind"]).size().unstack()
    assert (counts["decoy_order"] == counts["module"]).all()
    assert (counts["decoy_spaced"] == counts["module"]).all()
    assert roles.gene_id.is_unique                               # one role per gene
    for row in roles.itertuples():
        r = rules[row.module]
        tfs = row.tfs.split(",")
        off = [int(o) for o in row.offsets.split(",")]
        if row.kind == "module":
            assert tfs == r["tfs"] and off[1] - off[0] == r["spacing"][1]
            assert r["band"][0] <= off[0] and off[1] <= r["band"][1]
            assert row.window_relation in ("shared", "straddle")
        elif row.kind == "decoy_order":
            assert tfs == r["tfs"][::-1] and off[1] - off[0] == r["spacing"][1]
            assert r["band"][0] <= off[0] and off[1] <= r["band"][1]
        else:
            assert row.kind == "decoy_spaced" and tfs == r["tfs"] and 150 <= off[1] - off[0] <= 300
            assert row.window_relation == "apart"
    rel = members.window_relation.value_counts(normalize=True)
    assert abs(rel["shared"] - 0.5) < 0.15
    # the decoys are in no module and in no true pair
    truth = _read(tmp_path, "truth/pairs.tsv")
    decoys = set(roles.gene_id[roles.role == "decoy"])
    assert not decoys & (set(truth.gene_a) | set(truth.gene_b))


def test_window_relation():
    assert sgr.window_relation([-2000, -1951]) == "shared"
    assert sgr.window_relation([-1960, -1940]) == "straddle"
    assert sgr.window_relation([-1960, -1840]) == "apart"
