"""`tfvocab pairs`: reading co-expression lists, gene-disjoint splits, degree-matched negatives."""
from __future__ import annotations

import gzip
import json

import networkx as nx
import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from scipy.stats import ks_2samp

from tfvocab import pairs as P
from tfvocab.cli import main
from tfvocab.errors import TfvocabError

SPLITS = ("train", "val", "test")


# ----------------------------------------------------------------------------- fixtures

def make_promoters(n_chrom: int = 5, per_chrom: int = 400) -> pd.DataFrame:
    """A promoters.tsv table of AGI-named genes on Chr1..ChrN (the `promoters` step's columns)."""
    genes = [f"AT{c}G{(i + 1) * 10:05d}" for c in range(1, n_chrom + 1) for i in range(per_chrom)]
    return pd.DataFrame({"gene_id": genes, "chrom": [f"Chr{g[2]}" for g in genes], "start": 0,
                         "end": 2501, "strand": "+", "start_codon": 2000,
                         "transcript_id": [g + ".1" for g in genes], "gc": 0.35, "clipped": False})


def hub_graph(genes: list[str], seed: int = 0) -> pd.DataFrame:
    """A realistic co-expression list: 10 dense modules of 40 genes (p = 0.25) plus a 600-gene
    Barabasi-Albert graph (power-law degrees, hubs of degree ~50); columns gene_a, gene_b, score."""
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(genes))
    edges, pos = set(), 0
    for _ in range(10):
        mem = order[pos:pos + 40]
        pos += 40
        iu, ju = np.triu_indices(40, 1)
        keep = rng.random(len(iu)) < 0.25
        edges.update(zip(mem[iu[keep]].tolist(), mem[ju[keep]].tolist()))
    mem = order[pos:pos + 600]
    edges.update((int(mem[u]), int(mem[v])) for u, v in nx.barabasi_albert_graph(600, 2, seed=seed).edges())
    e = np.array(sorted(edges))
    g = np.array(genes)
    return pd.DataFrame({"gene_a": g[e[:, 0]], "gene_b": g[e[:, 1]],
                         "score": rng.random(len(e)).round(3)})


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    d = tmp_path_factory.mktemp("pairs_world")
    prom = make_promoters()
    co = hub_graph(prom.gene_id.tolist())
    prom.to_csv(d / "promoters.tsv", sep="\t", index=False)
    co.to_csv(d / "coexpression.tsv", sep="\t", index=False)
    return d, prom, co


def _gene_sets(df: pd.DataFrame) -> dict[str, set]:
    return {s: set(df.gene_a[df.split == s]) | set(df.gene_b[df.split == s]) for s in SPLITS}


def _endpoint_degrees(pos: pd.DataFrame, pairs: pd.DataFrame) -> np.ndarray:
    deg = pd.concat([pos.gene_a, pos.gene_b]).value_counts()
    return deg.reindex(pd.concat([pairs.gene_a, pairs.gene_b])).fillna(0).to_numpy()


def _small_promoters(tmp_path, genes=("AT1G01010", "AT1G01020", "AT1G01030", "AT2G01010",
                                      "AT2G01020", "AT3G01010", "AT3G01020", "AT4G01010")):
    prom = pd.DataFrame({"gene_id": list(genes), "chrom": [f"Chr{g[2]}" for g in genes]})
    path = tmp_path / "promoters.tsv"
    prom.to_csv(path, sep="\t", index=False)
    return path


# ----------------------------------------------------------------------------- IDs and reading

def test_normalise_ids_cleans_prefixes_isoforms_and_case():
    raw = pd.Series([" at1g01010.1 ", "gene:AT1G01020", "gene-At2g03340.2", '"AT3G01010"',
                     "ATCG00490", "MyGene.3", "AT5G10140"])
    out = P.normalise_ids(raw).tolist()
    assert out == ["AT1G01010", "AT1G01020", "AT2G03340", "AT3G01010", "ATCG00490", "MyGene",
                   "AT5G10140"]


def test_read_atted_whitespace_with_header_and_comments(tmp_path):
    f = tmp_path / "atted.txt"
    f.write_text("# ATTED-II Ath-u.c3-0 top partners\n\nGene1 Gene2 MR\n"
                 "AT1G01010 AT1G01020 1.0\nAT1G01010 AT2G01010 2.5\n# trailing comment\n"
                 "AT1G01030 AT3G01010 3.0\n")
    df = P.read_coexpression(f)
    info = df.attrs["read"]
    assert info["delimiter"] == "whitespace" and info["header_detected"] is True
    assert info["score_column"] == "MR" and info["comment_lines"] == 2 and info["blank_lines"] == 1
    assert df.gene_a.tolist() == ["AT1G01010", "AT1G01010", "AT1G01030"]
    assert df.score.tolist() == ["1.0", "2.5", "3.0"]


def test_read_csv_without_header_and_gene_columns_by_name_and_index(tmp_path):
    f = tmp_path / "c.csv"
    f.write_text("AT1G01010,0.9,AT1G01020\nAT2G01010,0.8,AT2G01020\n")
    df = P.read_coexpression(f, gene_columns="1,3")
    assert df.attrs["read"]["header_detected"] is False
    assert df.attrs["read"]["delimiter"] == "comma"
    assert df.gene_b.tolist() == ["AT1G01020", "AT2G01020"] and df.score.tolist() == ["0.9", "0.8"]
    g = tmp_path / "named.tsv"
    g.write_text("pcc\tquery\tpartner\n0.9\tAT1G01010\tAT1G01020\n")
    df = P.read_coexpression(g, gene_columns=["query", "partner"], score_column="pcc")
    assert df.attrs["read"]["gene_columns"] == ["query", "partner"]
    assert df.gene_a.tolist() == ["AT1G01010"] and df.score.tolist() == ["0.9"]
    with pytest.raises(TfvocabError, match="no gene column named 'nope'.*query"):
        P.read_coexpression(g, gene_columns="query,nope")


def test_header_detected_from_promoter_ids_for_non_agi_genes(tmp_path):
    f = tmp_path / "sim.tsv"
    f.write_text("a\tb\nG0001\tG0002\nG0002\tG0003\n")
    df = P.read_coexpression(f, known_genes=["G0001", "G0002", "G0003"])
    assert df.attrs["read"]["header_detected"] is True and len(df) == 2
    f.write_text("G0001\tG0002\nG0002\tG0003\n")
    df = P.read_coexpression(f, known_genes=["G0001", "G0002", "G0003"])
    assert df.attrs["read"]["header_detected"] is False and len(df) == 2


def test_gzip_per_gene_list(tmp_path):
    f = tmp_path / "AT1G01010.tsv.gz"
    with gzip.open(f, "wt") as fh:
        fh.write("AT1G01010\tAT1G01020\t5\nAT1G01010\tAT1G01030\t9\n")
    df = P.read_coexpression(f)
    assert len(df) == 2 and df.attrs["read"]["delimiter"] == "tab"


def test_clean_counts_self_duplicates_threshold_and_mr(tmp_path):
    prom = _small_promoters(tmp_path)
    f = tmp_path / "co.tsv"
    f.write_text("Gene1\tGene2\tMR\n"
                 "AT1G01010.1\tAT1G01020\t2\n"      # isoform suffix normalised
                 "gene:AT1G01020\tat1g01010\t1\n"   # duplicate of the above, reversed
                 "AT1G01030\tAT1G01030.2\t1\n"      # self-pair after normalisation
                 "AT2G01010\tAT2G01020\t50\n"       # above MR threshold: dropped
                 "AT3G01010\tAT1G01030\t5\n")
    out = P.run(f, prom, tmp_path / "out", threshold=10, neg_ratio=1, split="chromosome",
                test_chrom="3")
    rep = json.loads(out["report"].read_text())
    c = rep["counts"]
    assert rep["settings"]["score_lower_better"] is True  # auto: column named MR
    assert c["rows_read"] == 5 and c["header_detected"] is True
    assert c["ids_normalised"] == 4
    assert (c["below_threshold_dropped"], c["self_pairs_dropped"], c["duplicates_dropped"]) == (1, 1, 1)
    assert c["positives_before_split"] == 2
    pairs = pd.read_csv(out["pairs"], sep="\t")
    pos = pairs[pairs.label == 1]
    assert set(zip(pos.gene_a, pos.gene_b)) == {("AT1G01010", "AT1G01020")}
    assert c["pairs_dropped_crossing_partitions"] == 1  # the Chr1-Chr3 pair crosses into test
    assert c["positives_kept"] == 1


# ----------------------------------------------------------------------------- splits

def test_community_split_is_disjoint_and_keeps_more_than_random(world):
    _, prom, co = world
    genes = prom.gene_id.tolist()
    assign = P.split_genes(genes, co, method="community", val_frac=0.15, test_frac=0.15, seed=0)
    assert set(assign) == set(genes) and set(assign.values()) == set(SPLITS)
    sa, sb = co.gene_a.map(assign), co.gene_b.map(assign)
    kept = float((sa == sb).mean())
    # peer: random per-gene assignment with the same fractions, same graph
    rng = np.random.default_rng(0)
    rand = dict(zip(genes, rng.choice(SPLITS, size=len(genes), p=[0.7, 0.15, 0.15])))
    kept_random = float((co.gene_a.map(rand) == co.gene_b.map(rand)).mean())
    print(f"positives kept: community split {kept:.3f} vs random gene split {kept_random:.3f}")
    assert abs(kept_random - 0.535) < 0.06
    assert kept > kept_random + 0.2
    on_diag = co[sa == sb]
    share = on_diag.gene_a.map(assign).value_counts(normalize=True)
    print("kept positives per split:", share.round(3).to_dict())
    assert 0.1 < share["val"] < 0.2 and 0.1 < share["test"] < 0.2 and 0.6 < share["train"] < 0.8


@pytest.mark.parametrize("split", ["gene", "community"])
def test_run_gene_split_has_no_gene_in_two_partitions(world, tmp_path, split):
    d, _, co = world
    out = P.run(d / "coexpression.tsv", d / "promoters.tsv", tmp_path, split=split)
    pairs = pd.read_csv(out["pairs"], sep="\t")
    sets = _gene_sets(pairs)
    assert not (sets["train"] & sets["val"]) and not (sets["train"] & sets["test"])
    assert not (sets["val"] & sets["test"])
    c = json.loads(out["report"].read_text())["counts"]
    assert c["positives_kept"] + c["pairs_dropped_crossing_partitions"] == len(co)
    if split == "community":
        assert c["fraction_positives_kept"] > c["expected_fraction_kept_random_gene_split"] + 0.2
    else:
        assert abs(c["fraction_positives_kept"] - c["expected_fraction_kept_random_gene_split"]) < 0.05
    assert (pairs.gene_a < pairs.gene_b).all()
    assert set(pairs.source) == {"positive", "negative_degree"}
    assert (pairs.label == (pairs.source == "positive")).all()


def test_random_gene_split_spreads_modules_and_hits_pair_fractions(world):
    """The default split: genes at random, so each dense module (the first 400 genes of the
    hub_graph permutation) has genes in train, val and test; positive pairs kept per split are
    close to (0.7, 0.15, 0.15); community split instead keeps modules whole."""
    _, prom, co = world
    genes = prom.gene_id.tolist()
    assert np.allclose(P.random_gene_fractions(0.15, 0.15) ** 2 / (P.random_gene_fractions(0.15, 0.15) ** 2).sum(),
                       [0.7, 0.15, 0.15])
    assign = P.split_genes(genes, co, val_frac=0.15, test_frac=0.15, seed=0)
    assert assign == P.split_genes(genes, co, val_frac=0.15, test_frac=0.15, seed=0)
    assert assign != P.split_genes(genes, co, val_frac=0.15, test_frac=0.15, seed=1)
    frac = pd.Series(assign).value_counts(normalize=True)
    assert np.allclose(frac[list(SPLITS)], P.random_gene_fractions(0.15, 0.15), atol=0.005)
    sa, sb = co.gene_a.map(assign), co.gene_b.map(assign)
    share = sa[sa == sb].value_counts(normalize=True)
    print("random gene split: kept positives per split", share.round(3).to_dict())
    assert abs(share["train"] - 0.7) < 0.06 and abs(share["test"] - 0.15) < 0.05
    order = np.random.default_rng(0).permutation(len(genes))      # hub_graph's module members
    community = P.split_genes(genes, co, method="community", seed=0)
    spread_random = spread_community = 0
    for m in range(10):
        members = [genes[i] for i in order[m * 40:(m + 1) * 40]]
        spread_random += len({assign[g] for g in members}) == 3
        spread_community += len({community[g] for g in members}) == 3
    assert spread_random == 10
    assert spread_community <= 3
    with pytest.raises(TfvocabError, match="unknown split method"):
        P.split_genes(genes, co, method="random")


def test_chromosome_split_holds_out_whole_chromosomes(world, tmp_path):
    d, prom, co = world
    out = P.run(d / "coexpression.tsv", d / "promoters.tsv", tmp_path, split="chromosome",
                test_chrom="5", val_chrom="chr4", negatives="uniform")
    pairs = pd.read_csv(out["pairs"], sep="\t")
    chrom = dict(zip(prom.gene_id, prom.chrom))
    sets = _gene_sets(pairs)
    assert {chrom[g] for g in sets["test"]} == {"Chr5"}
    assert {chrom[g] for g in sets["val"]} == {"Chr4"}
    assert not any(chrom[g] in ("Chr4", "Chr5") for g in sets["train"])
    assert not (sets["train"] & sets["val"]) and not (sets["train"] & sets["test"])
    c = json.loads(out["report"].read_text())["counts"]
    ca, cb = co.gene_a.map(chrom), co.gene_b.map(chrom)
    part = {"Chr4": 1, "Chr5": 2}
    crossing = int((ca.map(lambda c: part.get(c, 0)) != cb.map(lambda c: part.get(c, 0))).sum())
    assert c["pairs_dropped_crossing_partitions"] == crossing > 0
    assert c["chromosomes_per_split"]["test"] == ["Chr5"]


def test_chromosome_split_without_val_chrom_is_still_disjoint(world):
    _, prom, co = world
    chrom = dict(zip(prom.gene_id, prom.chrom))
    assign = P.split_genes(prom.gene_id, co, method="chromosome", chrom=chrom,
                           test_chrom="NC_003076.8", seed=1)  # RefSeq name of chromosome 5
    assert {chrom[g] for g, s in assign.items() if s == "test"} == {"Chr5"}
    assert sum(s == "val" for s in assign.values()) > 0
    with pytest.raises(TfvocabError, match="ChrX.*not a chromosome.*Chr1"):
        P.split_genes(prom.gene_id, co, method="chromosome", chrom=chrom, test_chrom="ChrX")


# ----------------------------------------------------------------------------- negatives

def test_degree_matched_negatives_match_positive_degrees_uniform_do_not(world):
    _, prom, co = world
    genes = prom.gene_id.tolist()
    pos = co[["gene_a", "gene_b"]]
    deg = _endpoint_degrees(pos, pos)
    neg_deg = P.sample_negatives(pos, genes, 3, "degree", np.random.default_rng(0))
    neg_uni = P.sample_negatives(pos, genes, 3, "uniform", np.random.default_rng(0))
    p_deg = ks_2samp(deg, _endpoint_degrees(pos, neg_deg)).pvalue
    p_uni = ks_2samp(deg, _endpoint_degrees(pos, neg_uni)).pvalue
    print(f"KS p-value vs positive endpoint degrees: degree-matched {p_deg:.3g}, uniform {p_uni:.3g}")
    assert p_deg > 0.05
    assert p_uni < 0.05
    # and per split, inside a full run (degrees in that split's positive graph)
    pairs, _ = P.build_pairs(_with_read_attrs(co), prom, seed=3)
    for s in SPLITS:
        ps, ns = pairs[(pairs.split == s) & (pairs.label == 1)], pairs[(pairs.split == s) & (pairs.label == 0)]
        assert ks_2samp(_endpoint_degrees(ps, ps), _endpoint_degrees(ps, ns)).pvalue > 0.05


def _with_read_attrs(co: pd.DataFrame) -> pd.DataFrame:
    df = co.assign(score=co.score.astype(str))
    df.attrs["read"] = {"header_detected": True, "score_column": "score", "rows_read": len(co)}
    return df


@pytest.mark.parametrize("strategy", ["uniform", "degree"])
def test_negatives_are_unlabelled_unique_and_inside_the_partition(strategy):
    rng = np.random.default_rng(5)
    genes = [f"G{i:03d}" for i in range(30)]
    pos = pd.DataFrame({"gene_a": ["G000"] * 12 + ["G001", "G002"],
                        "gene_b": [f"G{i:03d}" for i in range(1, 13)] + ["G002", "G003"]})
    listed_only = pd.DataFrame({"gene_a": ["G001"], "gene_b": ["G004"]})
    neg = P.sample_negatives(pos, genes, 3, strategy, rng, exclude=listed_only)
    assert len(neg) == 42 and (neg.label == 0).all() and (neg.source == f"negative_{strategy}").all()
    keys = set(zip(neg.gene_a, neg.gene_b))
    assert len(keys) == len(neg)
    assert (neg.gene_a < neg.gene_b).all()
    assert not keys & set(zip(pos.gene_a, pos.gene_b)) and ("G001", "G004") not in keys
    assert set(neg.gene_a) | set(neg.gene_b) <= set(genes)
    if strategy == "degree":  # only genes that have positives
        assert set(neg.gene_a) | set(neg.gene_b) <= set(pos.gene_a) | set(pos.gene_b)


def test_negatives_capped_when_partition_too_small():
    pos = pd.DataFrame({"gene_a": ["A"], "gene_b": ["B"]})
    neg = P.sample_negatives(pos, ["A", "B", "C"], 10, "uniform", np.random.default_rng(0))
    assert set(zip(neg.gene_a, neg.gene_b)) == {("A", "C"), ("B", "C")}


# ----------------------------------------------------------------------------- bad input

def _assert_no_output(outdir):
    assert not outdir.exists() or not any(outdir.iterdir())


def test_unknown_gene_ids_are_a_counted_warning_listed_in_report(tmp_path):
    prom = _small_promoters(tmp_path)
    f = tmp_path / "co.tsv"
    f.write_text("AT1G01010\tAT1G01020\nAT1G01010\tAT9G99990\nAT2G01010\tAT2G01020\n"
                 "AT5G77770\tAT3G01010\nAT3G01010\tAT3G01020\n")
    out = P.run(f, prom, tmp_path / "out", neg_ratio=1, val_frac=0.2, test_frac=0.2)
    c = json.loads(out["report"].read_text())["counts"]
    assert c["genes_without_promoters"] == 2
    assert c["genes_without_promoters_examples"] == ["AT9G99990", "AT5G77770"]
    assert c["pairs_without_promoters_dropped"] == 2 and c["positives_before_split"] == 3


def test_one_column_table_is_an_error(tmp_path):
    f = tmp_path / "one.tsv"
    f.write_text("AT1G01010\nAT1G01020\n")
    with pytest.raises(TfvocabError, match=r"one\.tsv: line 1: the table has only one column"):
        P.run(f, _small_promoters(tmp_path), tmp_path / "out")
    _assert_no_output(tmp_path / "out")


def test_non_numeric_score_is_an_error_with_threshold_and_a_warning_without(tmp_path):
    prom = _small_promoters(tmp_path)
    f = tmp_path / "co.tsv"
    f.write_text("# comment\nAT1G01010\tAT1G01020\t0.9\nAT2G01010\tAT2G01020\thigh\n"
                 "AT3G01010\tAT3G01020\t0.7\n")
    with pytest.raises(TfvocabError, match=r"co\.tsv: line 3: non-numeric score 'high'.*--threshold"):
        P.run(f, prom, tmp_path / "out", threshold=0.5)
    _assert_no_output(tmp_path / "out")
    out = P.run(f, prom, tmp_path / "out2", neg_ratio=1, val_frac=0.2, test_frac=0.2)
    assert json.loads(out["report"].read_text())["counts"]["non_numeric_scores"] == 1


def test_empty_file_is_an_error(tmp_path):
    for text in ("", "# only a comment\n\n"):
        f = tmp_path / "empty.tsv"
        f.write_text(text)
        with pytest.raises(TfvocabError, match=r"empty\.tsv: the co-expression file is empty"):
            P.run(f, _small_promoters(tmp_path), tmp_path / "out")
    _assert_no_output(tmp_path / "out")


def test_all_genes_without_promoters_explains_id_mismatch(tmp_path):
    f = tmp_path / "co.tsv"
    f.write_text("LOC_Os01g01010\tLOC_Os01g01020\nLOC_Os02g01010\tLOC_Os01g01010\n")
    with pytest.raises(TfvocabError) as err:
        P.run(f, _small_promoters(tmp_path), tmp_path / "out")
    msg = str(err.value)
    assert "co.tsv" in msg and "none of the 3 genes" in msg
    assert "LOC_Os01g01010" in msg and "AT1G01010" in msg and "same ID namespace" in msg
    _assert_no_output(tmp_path / "out")


def test_threshold_nobody_passes_reports_score_range(tmp_path):
    f = tmp_path / "co.tsv"
    f.write_text("AT1G01010\tAT1G01020\t0.2\nAT2G01010\tAT2G01020\t0.3\n")
    with pytest.raises(TfvocabError, match=r"no pair passes --threshold 0\.9.*\[0\.2, 0\.3\]"):
        P.run(f, _small_promoters(tmp_path), tmp_path / "out", threshold=0.9)


# ----------------------------------------------------------------------------- determinism + CLI

def test_same_inputs_and_seed_give_identical_pairs(world, tmp_path):
    d, _, _ = world
    args = (d / "coexpression.tsv", d / "promoters.tsv")
    a = P.run(*args, tmp_path / "a", seed=7)["pairs"].read_bytes()
    b = P.run(*args, tmp_path / "b", seed=7)["pairs"].read_bytes()
    c = P.run(*args, tmp_path / "c", seed=8)["pairs"].read_bytes()
    assert a == b
    assert a != c


def test_cli_writes_outputs_and_bad_input_exits_2(world, tmp_path):
    d, _, _ = world
    runner = CliRunner()
    res = runner.invoke(main, ["pairs", "--coexpression", str(d / "coexpression.tsv"),
                               "--promoters", str(d / "promoters.tsv"), "--outdir", str(tmp_path / "o"),
                               "--negatives", "uniform", "--neg-ratio", "1", "--seed", "2"])
    assert res.exit_code == 0, res.output
    assert {p.name for p in (tmp_path / "o").iterdir()} == {"pairs.tsv", "pairs.tsv.json",
                                                            "pairs.report.json", "pairs.manifest.json"}
    prov = json.loads((tmp_path / "o" / "pairs.tsv.json").read_text())
    assert prov["step"] == "pairs" and prov["params"]["negatives"] == "uniform"
    bad = tmp_path / "bad.tsv"
    bad.write_text("AT1G01010\n")
    res = runner.invoke(main, ["pairs", "--coexpression", str(bad), "--promoters",
                               str(d / "promoters.tsv"), "--outdir", str(tmp_path / "x")])
    assert res.exit_code == 2 and "only one column" in res.output
    assert not (tmp_path / "x").exists()
