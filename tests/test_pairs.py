"""`tfvocab pairs`: reading co-expression lists, gene-disjoint folds; the negative samplers of training."""
from __future__ import annotations

import gzip
import json

import networkx as nx
import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from scipy.stats import ks_2samp

from tfvocab.data import edgelist as EL
from tfvocab.data import foldassign as FA
from tfvocab.data import pairs as P
from tfvocab.cli import main
from tfvocab.errors import TfvocabError



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
    out = EL.normalise_ids(raw).tolist()
    assert out == ["AT1G01010", "AT1G01020", "AT2G03340", "AT3G01010", "ATCG00490", "MyGene",
                   "AT5G10140"]


def test_read_atted_whitespace_with_header_and_comments(tmp_path):
    f = tmp_path / "atted.txt"
    f.write_text("# ATTED-II Ath-u.c3-0 top partners\n\nGene1 Gene2 MR\n"
                 "AT1G01010 AT1G01020 1.0\nAT1G01010 AT2G01010 2.5\n# trailing comment\n"
                 "AT1G01030 AT3G01010 3.0\n")
    df = EL.read_coexpression(f)
    info = df.attrs["read"]
    assert info["delimiter"] == "whitespace" and info["header_detected"] is True
    assert info["score_column"] == "MR" and info["comment_lines"] == 2 and info["blank_lines"] == 1
    assert df.gene_a.tolist() == ["AT1G01010", "AT1G01010", "AT1G01030"]
    assert df.score.tolist() == ["1.0", "2.5", "3.0"]


def test_read_csv_without_header_and_gene_columns_by_name_and_index(tmp_path):
    f = tmp_path / "c.csv"
    f.write_text("AT1G01010,0.9,AT1G01020\nAT2G01010,0.8,AT2G01020\n")
    df = EL.read_coexpression(f, gene_columns="1,3")
    assert df.attrs["read"]["header_detected"] is False
    assert df.attrs["read"]["delimiter"] == "comma"
    assert df.gene_b.tolist() == ["AT1G01020", "AT2G01020"] and df.score.tolist() == ["0.9", "0.8"]
    g = tmp_path / "named.tsv"
    g.write_text("pcc\tquery\tpartner\n0.9\tAT1G01010\tAT1G01020\n")
    df = EL.read_coexpression(g, gene_columns=["query", "partner"], score_column="pcc")
    assert df.attrs["read"]["gene_columns"] == ["query", "partner"]
    assert df.gene_a.tolist() == ["AT1G01010"] and df.score.tolist() == ["0.9"]
    with pytest.raises(TfvocabError, match="no gene column named 'nope'.*query"):
        EL.read_coexpression(g, gene_columns="query,nope")


def test_header_detected_from_promoter_ids_for_non_agi_genes(tmp_path):
    f = tmp_path / "sim.tsv"
    f.write_text("a\tb\nG0001\tG0002\nG0002\tG0003\n")
    df = EL.read_coexpression(f, known_genes=["G0001", "G0002", "G0003"])
    assert df.attrs["read"]["header_detected"] is True and len(df) == 2
    f.write_text("G0001\tG0002\nG0002\tG0003\n")
    df = EL.read_coexpression(f, known_genes=["G0001", "G0002", "G0003"])
    assert df.attrs["read"]["header_detected"] is False and len(df) == 2


def test_gzip_per_gene_list(tmp_path):
    f = tmp_path / "AT1G01010.tsv.gz"
    with gzip.open(f, "wt") as fh:
        fh.write("AT1G01010\tAT1G01020\t5\nAT1G01010\tAT1G01030\t9\n")
    df = EL.read_coexpression(f)
    assert len(df) == 2 and df.attrs["read"]["delimiter"] == "tab"


def test_clean_counts_self_duplicates_threshold_and_mr(tmp_path):
    prom = _small_promoters(tmp_path)
    f = tmp_path / "co.tsv"
    f.write_text("Gene1\tGene2\tMR\n"
                 "AT1G01010.1\tAT1G01020\t2\n"      # isoform suffix normalised
                 "gene:AT1G01020\tat1g01010\t1\n"   # duplicate of the above, reversed
                 "AT1G01030\tAT1G01030.2\t1\n"      # self-pair after normalisation
                 "AT2G01010\tAT2G01020\t50\n"       # above MR threshold: listed, not a positive
                 "AT3G01010\tAT1G01030\t5\n")
    out = P.run(f, prom, tmp_path / "out", threshold=10, split="chromosome", folds=2, test_chrom="3")
    rep = json.loads(out["report"].read_text())
    c = rep["counts"]
    assert rep["settings"]["score_lower_better"] is True  # auto: column named MR
    assert c["rows_read"] == 5 and c["header_detected"] is True
    assert c["ids_normalised"] == 4
    assert (c["below_threshold_dropped"], c["self_pairs_dropped"], c["duplicates_dropped"]) == (1, 1, 1)
    assert c["positives_listed"] == 2 and c["listed_pairs_below_threshold"] == 1
    pairs = pd.read_csv(out["pairs"], sep="\t")
    pos = pairs[pairs.label == 1]
    assert set(zip(pos.gene_a, pos.gene_b)) == {("AT1G01010", "AT1G01020"), ("AT1G01030", "AT3G01010")}
    # the pair above the MR threshold stays listed (never a negative) with label 0
    assert pairs[pairs.label == 0][["gene_a", "gene_b", "source"]].values.tolist() == [
        ["AT2G01010", "AT2G01020", "listed"]]
    genes = pd.read_csv(out["genes"], sep="\t")
    assert set(genes.loc[genes.fold == 0, "chrom"]) == {"Chr3"}       # --test-chrom is fold 0
    assert rep["folds"]["per_fold"][1]["test_positives"] == 1          # the Chr1 pair
    assert rep["folds"]["per_fold"][0]["test_positives"] == 0          # Chr3-Chr1 crosses folds


# ----------------------------------------------------------------------------- folds

def _same_fold_share(co: pd.DataFrame, fold: dict) -> float:
    return float((co.gene_a.map(fold) == co.gene_b.map(fold)).mean())


def test_gene_folds_partition_every_gene_and_spread_modules(world):
    """The default design: every gene in exactly one of K near-equal test folds, validation
    genes drawn from the other folds (val_frac of them, none validating two folds), each dense
    module of hub_graph spread over all folds; deterministic per seed."""
    _, prom, co = world
    genes = prom.gene_id.tolist()
    t = FA.assign_folds(genes, co, n_folds=5, val_frac=0.15, seed=0)
    assert t.gene_id.tolist() == sorted(genes) and set(t.fold) == set(range(5))
    sizes = t.fold.value_counts()
    assert sizes.max() - sizes.min() <= 2
    assert (t.val_fold != t.fold).all() and set(t.val_fold) == {-1, 0, 1, 2, 3, 4}
    for k in range(5):
        outside = (t.fold != k).sum()
        assert abs((t.val_fold == k).sum() / outside - 0.15) < 0.01
    assert t.equals(FA.assign_folds(genes, co, n_folds=5, val_frac=0.15, seed=0))
    assert not t.fold.equals(FA.assign_folds(genes, co, n_folds=5, val_frac=0.15, seed=1).fold)
    fold = dict(zip(t.gene_id, t.fold))
    order = np.random.default_rng(0).permutation(len(genes))      # hub_graph's module members
    for m in range(10):
        assert len({fold[genes[i]] for i in order[m * 40:(m + 1) * 40]}) == 5
    # each fold trains on the pairs among the genes outside it and outside its validation genes
    roles = FA.fold_roles(t.fold.to_numpy(), t.val_fold.to_numpy(), 2)
    assert set(roles) == {"train", "val", "test"} and (roles[t.fold.to_numpy() == 2] == "test").all()
    with pytest.raises(TfvocabError, match="val-frac 0.3 is too large for 5 folds"):
        FA.assign_folds(genes, co, n_folds=5, val_frac=0.3)
    with pytest.raises(TfvocabError, match="--folds must be >= 2"):
        FA.assign_folds(genes, co, n_folds=1)
    with pytest.raises(TfvocabError, match="unknown split method"):
        FA.assign_folds(genes, co, method="random")


def test_community_folds_keep_modules_whole(world):
    """--split community: folds grown from co-expression communities keep far more positive
    pairs inside one fold than the random gene deal (peer, same graph), each fold ~1/K of them."""
    _, prom, co = world
    genes = prom.gene_id.tolist()
    com = FA.assign_folds(genes, co, method="community", n_folds=5, seed=0)
    rnd = FA.assign_folds(genes, co, method="gene", n_folds=5, seed=0)
    f_com, f_rnd = dict(zip(com.gene_id, com.fold)), dict(zip(rnd.gene_id, rnd.fold))
    kept_com, kept_rnd = _same_fold_share(co, f_com), _same_fold_share(co, f_rnd)
    print(f"positives inside one fold: community {kept_com:.3f} vs random genes {kept_rnd:.3f}")
    assert abs(kept_rnd - 0.2) < 0.03 and kept_com > kept_rnd + 0.3
    inside = co[co.gene_a.map(f_com) == co.gene_b.map(f_com)]
    share = inside.gene_a.map(f_com).value_counts(normalize=True)
    assert share.min() > 0.1 and share.max() < 0.3
    order = np.random.default_rng(0).permutation(len(genes))
    whole = sum(len({f_com[genes[i]] for i in order[m * 40:(m + 1) * 40]}) == 1 for m in range(10))
    assert whole >= 7
    # validation genes of a fold come from other folds, whole communities at a time
    assert (com.val_fold != com.fold).all()


def test_chromosome_folds_hold_out_whole_chromosomes(world, tmp_path):
    d, prom, co = world
    out = P.run(d / "coexpression.tsv", d / "promoters.tsv", tmp_path, split="chromosome", folds=5,
                test_chrom="NC_003076.8")   # RefSeq name of chromosome 5
    genes = pd.read_csv(out["genes"], sep="\t")
    per = genes.groupby("fold").chrom.unique()
    assert all(len(c) == 1 for c in per) and list(per[0]) == ["Chr5"]
    assert sorted(c[0] for c in per) == [f"Chr{i}" for i in range(1, 6)]
    rep = json.loads(out["report"].read_text())
    assert rep["folds"]["chromosomes_per_fold"]["0"] == ["Chr5"]
    with pytest.raises(TfvocabError, match="needs 6 chromosome groups, promoters.tsv has 5"):
        FA.assign_folds(prom.gene_id, co, method="chromosome", n_folds=6, chrom=dict(zip(prom.gene_id, prom.chrom)))
    with pytest.raises(TfvocabError, match="ChrX.*not a chromosome.*Chr1"):
        FA.assign_folds(prom.gene_id, co, method="chromosome", chrom=dict(zip(prom.gene_id, prom.chrom)),
                       test_chrom="ChrX")


@pytest.mark.parametrize("split", ["gene", "community"])
def test_run_writes_listed_pairs_and_one_fold_per_gene(world, tmp_path, split):
    """pairs.tsv holds the listed pairs only (no negatives, no copies per fold); genes.tsv the
    fold of every gene with a promoter; the report's per-fold counts are those of the files."""
    d, prom, co = world
    out = P.run(d / "coexpression.tsv", d / "promoters.tsv", tmp_path, split=split, folds=4)
    pairs = pd.read_csv(out["pairs"], sep="\t")
    genes = pd.read_csv(out["genes"], sep="\t")
    assert len(pairs) == len(co) and (pairs.label == 1).all() and set(pairs.source) == {"positive"}
    assert (pairs.gene_a < pairs.gene_b).all()
    assert sorted(genes.gene_id) == sorted(prom.gene_id) and set(genes.fold) == {0, 1, 2, 3}
    deg = pd.concat([co.gene_a, co.gene_b]).value_counts()
    assert (genes.set_index("gene_id").degree == deg.reindex(genes.gene_id).fillna(0).to_numpy()).all()
    fold, val = dict(zip(genes.gene_id, genes.fold)), dict(zip(genes.gene_id, genes.val_fold))
    rep = json.loads(out["report"].read_text())["folds"]
    for r in rep["per_fold"]:
        k = r["fold"]
        in_test = (pairs.gene_a.map(fold) == k) & (pairs.gene_b.map(fold) == k)
        in_val = (pairs.gene_a.map(val) == k) & (pairs.gene_b.map(val) == k)
        assert r["test_positives"] == in_test.sum() and r["val_positives"] == in_val.sum()
        assert r["test_genes"] + r["val_genes"] + r["train_genes"] == len(genes)
    assert rep["fraction_positives_tested"] == pytest.approx(
        float((pairs.gene_a.map(fold) == pairs.gene_b.map(fold)).mean()), abs=1e-4)
    # `split` = the pair's role in fold 0 (what single-split readers use)
    r0 = FA.fold_roles(genes.fold.to_numpy(), genes.val_fold.to_numpy(), 0)
    role = dict(zip(genes.gene_id, r0))
    ra, rb = pairs.gene_a.map(role), pairs.gene_b.map(role)
    assert (pairs.split == np.where(ra == rb, ra, "cross")).all()


# ----------------------------------------------------------------------------- negatives (tfvocab.data.negatives)

def _degree_of(pa, pb, n):
    return np.bincount(np.concatenate([pa, pb]), minlength=n)


def _local(co, genes):
    index = {g: i for i, g in enumerate(genes)}
    return co.gene_a.map(index).to_numpy(), co.gene_b.map(index).to_numpy()


def test_degree_matched_negatives_match_positive_degrees_universe_do_not(world):
    from tfvocab.data import universe as U
    from tfvocab.data.negatives import NegativeSampler

    _, prom, co = world
    genes = sorted(prom.gene_id)
    pa, pb = _local(co, genes)
    listed = np.unique(U.tri_index(pa, pb, len(genes)))
    deg = _degree_of(pa, pb, len(genes))
    pos_deg = deg[np.concatenate([pa, pb])]
    out = {}
    for scheme in ("degree", "universe", "uniform"):
        s = NegativeSampler(len(genes), pa, pb, listed, scheme, ratio=3, seed=0)
        na, nb = s.epoch(1)
        assert len(na) == 3 * len(pa)
        out[scheme] = ks_2samp(pos_deg, deg[np.concatenate([na, nb])]).pvalue
    print("KS p-value vs positive endpoint degrees:", {k: f"{v:.3g}" for k, v in out.items()})
    assert out["degree"] > 0.05 and out["universe"] < 0.05 and out["uniform"] < 0.05


@pytest.mark.parametrize("scheme", ["universe", "uniform", "degree"])
def test_negatives_are_unlabelled_and_inside_the_gene_set(scheme):
    from tfvocab.data import universe as U
    from tfvocab.data.negatives import NegativeSampler

    n = 30
    pa = np.array([0] * 12 + [1, 2])
    pb = np.array(list(range(1, 13)) + [2, 3])
    listed = np.unique(U.tri_index(np.r_[pa, 1], np.r_[pb, 4], n))   # (1, 4) listed below threshold
    s = NegativeSampler(n, pa, pb, listed, scheme, ratio=3, seed=5)
    na, nb = s.epoch(1)
    assert len(na) == 42
    t = U.tri_index(na, nb, n)
    assert (na != nb).all() and (na < n).all() and (nb < n).all()
    assert not np.isin(t, listed).any()
    if scheme != "universe":                     # drawn once, distinct
        assert len(np.unique(t)) == len(t)
        assert np.array_equal(t, U.tri_index(*s.epoch(2), n))
    else:                                         # fresh every epoch, reproducible per seed
        assert not np.array_equal(t, U.tri_index(*s.epoch(2), n))
        again = NegativeSampler(n, pa, pb, listed, scheme, ratio=3, seed=5)
        assert np.array_equal(t, U.tri_index(*again.epoch(1), n))
    if scheme == "degree":                       # only genes that have positives
        assert set(np.r_[na, nb]) <= set(np.r_[pa, pb])


def test_universe_negatives_are_uniform_over_the_unlisted_pairs():
    from scipy.stats import chisquare

    from tfvocab.data import universe as U
    from tfvocab.data.negatives import NegativeSampler

    n = 12
    pa, pb = np.array([0, 1, 2]), np.array([1, 2, 3])
    listed = np.unique(U.tri_index(pa, pb, n))
    s = NegativeSampler(n, pa, pb, listed, "universe", ratio=20000, seed=0)
    na, nb = s.epoch(1)
    counts = np.bincount(U.tri_index(na, nb, n), minlength=U.n_pairs(n))
    assert (counts[listed] == 0).all()
    free = np.delete(counts, listed)
    assert chisquare(free).pvalue > 0.001 and free.min() > 0


def test_fixed_negatives_capped_when_the_gene_set_is_too_small():
    from tfvocab.data import universe as U
    from tfvocab.data.negatives import NegativeSampler

    s = NegativeSampler(3, np.array([0]), np.array([1]), U.tri_index(np.array([0]), np.array([1]), 3),
                        "uniform", ratio=10)
    assert sorted(zip(*s.epoch(1))) == [(0, 2), (1, 2)]
    with pytest.raises(TfvocabError, match="unknown negative scheme"):
        NegativeSampler(3, [0], [1], [], "hard")


# ----------------------------------------------------------------------------- bad input

def _assert_no_output(outdir):
    assert not outdir.exists() or not any(outdir.iterdir())


def test_unknown_gene_ids_are_a_counted_warning_listed_in_report(tmp_path):
    prom = _small_promoters(tmp_path)
    f = tmp_path / "co.tsv"
    f.write_text("AT1G01010\tAT1G01020\nAT1G01010\tAT9G99990\nAT2G01010\tAT2G01020\n"
                 "AT5G77770\tAT3G01010\nAT3G01010\tAT3G01020\n")
    out = P.run(f, prom, tmp_path / "out", folds=2, val_frac=0.2)
    c = json.loads(out["report"].read_text())["counts"]
    assert c["genes_without_promoters"] == 2
    assert c["genes_without_promoters_examples"] == ["AT9G99990", "AT5G77770"]
    assert c["pairs_without_promoters_dropped"] == 2 and c["positives_listed"] == 3


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
    out = P.run(f, prom, tmp_path / "out2", folds=2, val_frac=0.2)
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
    a, b, c = (P.run(*args, tmp_path / x, seed=s) for x, s in (("a", 7), ("b", 7), ("c", 8)))
    assert a["pairs"].read_bytes() == b["pairs"].read_bytes()
    assert a["genes"].read_bytes() == b["genes"].read_bytes()
    assert a["genes"].read_bytes() != c["genes"].read_bytes()


def test_cli_writes_outputs_and_bad_input_exits_2(world, tmp_path):
    d, _, _ = world
    runner = CliRunner()
    res = runner.invoke(main, ["pairs", "--coexpression", str(d / "coexpression.tsv"),
                               "--promoters", str(d / "promoters.tsv"), "--outdir", str(tmp_path / "o"),
                               "--folds", "3", "--split", "community", "--seed", "2"])
    assert res.exit_code == 0, res.output
    assert {p.name for p in (tmp_path / "o").iterdir()} == {"pairs.tsv", "pairs.tsv.json", "genes.tsv",
                                                            "genes.tsv.json", "pairs.report.json",
                                                            "pairs.manifest.json"}
    prov = json.loads((tmp_path / "o" / "genes.tsv.json").read_text())
    assert prov["step"] == "pairs" and prov["params"]["folds"] == 3 and prov["params"]["split"] == "community"
    assert set(pd.read_csv(tmp_path / "o" / "genes.tsv", sep="\t").fold) == {0, 1, 2}
    bad = tmp_path / "bad.tsv"
    bad.write_text("AT1G01010\n")
    res = runner.invoke(main, ["pairs", "--coexpression", str(bad), "--promoters",
                               str(d / "promoters.tsv"), "--outdir", str(tmp_path / "x")])
    assert res.exit_code == 2 and "only one column" in res.output
    assert not (tmp_path / "x").exists()


# ----------------------------------------------------------------------------- ATTED-II downloads

N_ATTED = 24                      # genes with a promoter and an Entrez ID
N_UNMAPPED = 4                    # Entrez IDs in the download that the map does not know


def _atted_world(tmp_path):
    """An ATTED-II-style download built at test time, its ID map and the equivalent edge lists.

    Genes i < N_ATTED: AGI ``AT1G0xxx0`` with a promoter and Entrez ID 830000 + i; 4 more Entrez
    IDs (900000..) are in the download but not in the map, and one mapped Entrez ID (839999)
    names a gene without a promoter. z (current layout) and MR (older layout) are symmetric,
    distinct per pair; MR is lower-is-better.
    """
    rng = np.random.default_rng(7)
    prom = make_promoters(n_chrom=1, per_chrom=N_ATTED)
    agi = prom.gene_id.tolist()
    entrez = [str(830000 + i) for i in range(N_ATTED)] + ["839999"] + \
             [str(900000 + i) for i in range(N_UNMAPPED)]
    n = len(entrez)
    z = np.zeros((n, n))
    iu = np.triu_indices(n, 1)
    z[iu] = rng.permutation(len(iu[0])) / 40.0 - 3.0          # distinct, about -3 .. +7
    z = z + z.T
    mr = np.zeros((n, n))
    mr[iu] = 1 + rng.permutation(len(iu[0])) * 0.5            # distinct, 1 .. ~200
    mr = mr + mr.T
    pcc = np.round(1 - mr / mr.max(), 3)

    d = tmp_path / "atted"
    new = d / "Ath-u.v22-01.G29-S100.combat_pca.subagging.z.d"
    old = d / "Ath-m.v15-01.G29-S100.mrgeo.d"
    new.mkdir(parents=True)
    old.mkdir()
    for i, g in enumerate(entrez):
        others = [j for j in range(n) if j != i]
        best = sorted(others, key=lambda j: -z[i, j])       # ATTED-II lists partners best first
        (new / g).write_text("".join(f"{entrez[j]}\t{z[i, j]:.4f}\n" for j in best))
        best = sorted(others, key=lambda j: mr[i, j])
        (old / g).write_text("EntrezID MR PCC\n" + "".join(f"{entrez[j]} {mr[i, j]:.2f} {pcc[i, j]}\n"
                                                          for j in best))
    (new / "README.txt").write_text("not a gene file\n")
    zipped = d / (new.name + ".zip")
    import zipfile
    with zipfile.ZipFile(zipped, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for f in sorted(new.iterdir()):
            zf.write(f, f"{new.name}/{f.name}")
    idmap = d / "entrez2agi.tsv"
    lines = ["GeneID\tLocusTag"] + [f"{entrez[i]}\t{agi[i]}" for i in range(N_ATTED)] + \
            ["839999\tAT5G99990"]
    idmap.write_text("\n".join(lines) + "\n")
    # the equivalent edge lists, in AGI codes (unmapped Entrez IDs absent, as a user would have them)
    names = agi + ["AT5G99990"]
    rows = [(names[i], names[j], z[i, j], mr[i, j]) for i, j in zip(*iu) if i <= N_ATTED and j <= N_ATTED]
    edges = pd.DataFrame(rows, columns=["gene_a", "gene_b", "z", "MR"])
    edges_z = d / "edges_z.tsv"
    edges[["gene_a", "gene_b", "z"]].round(4).to_csv(edges_z, sep="\t", index=False)
    edges_mr = d / "edges_mr.tsv"
    edges[["gene_a", "gene_b", "MR"]].round(2).to_csv(edges_mr, sep="\t", index=False)
    prom_path = d / "promoters.tsv"
    prom.to_csv(prom_path, sep="\t", index=False)
    matrix = d / "matrix.tsv"
    pd.DataFrame(np.round(z, 4), index=entrez, columns=entrez).to_csv(matrix, sep="\t")
    return dict(folder=new, old=old, zip=zipped, idmap=idmap, edges_z=edges_z, edges_mr=edges_mr,
                prom=prom_path, matrix=matrix, z=z, entrez=entrez, agi=agi, n=n)


def _positives(out) -> set:
    p = pd.read_csv(out["pairs"], sep="\t")
    return set(zip(p.gene_a[p.label == 1], p.gene_b[p.label == 1]))


def _pairs_tsv(out) -> pd.DataFrame:
    return pd.read_csv(out["pairs"], sep="\t")


@pytest.fixture
def atted(tmp_path):
    return _atted_world(tmp_path)


def test_atted_folder_and_zip_give_the_edge_lists_positive_pairs(atted, tmp_path):
    w = atted
    kw = dict(folds=2, val_frac=0.2, seed=3)
    folder = P.run(w["folder"], w["prom"], tmp_path / "f", id_map=w["idmap"], threshold=2.0, **kw)
    zipped = P.run(w["zip"], w["prom"], tmp_path / "z", id_map=w["idmap"], threshold=2.0, **kw)
    edges = P.run(w["edges_z"], w["prom"], tmp_path / "e", threshold=2.0, **kw)
    assert _positives(folder) == _positives(edges) and len(_positives(edges)) > 10
    pd.testing.assert_frame_equal(_pairs_tsv(folder), _pairs_tsv(zipped))   # zip = folder, negatives too
    rep = json.loads(folder["report"].read_text())
    erep = json.loads(edges["report"].read_text())
    assert rep["counts"]["positives_listed"] == erep["counts"]["positives_listed"]
    # the positives are exactly the promoter-gene pairs with z >= 2, each pair once
    z, k = w["z"], N_ATTED
    truth = {tuple(sorted((w["agi"][i], w["agi"][j]))) for i in range(k) for j in range(i + 1, k)
             if z[i, j] >= 2.0}
    assert rep["counts"]["positives_listed"] == len(truth)
    inp = rep["input"]
    assert inp["layout"] == "partners" and inp["score_column"] == "z" and not inp["score_lower_better"]
    assert inp["gene_files"] == w["n"]                         # README.txt is not a gene file
    ids = inp["id_map"]
    assert ids["ids_unmapped"] == N_UNMAPPED and set(ids["unmapped_examples"]) == \
        {str(900000 + i) for i in range(N_UNMAPPED)}
    assert ids["gene_files_unmapped"] == N_UNMAPPED
    # each unmapped gene's file (n - 1 lines) and each mapped file's N_UNMAPPED lines are dropped
    assert ids["rows_dropped_unmapped"] == N_UNMAPPED * (w["n"] - 1) + (w["n"] - N_UNMAPPED) * N_UNMAPPED
    assert rep["counts"]["genes_without_promoters_examples"] == ["AT5G99990"]


def test_atted_top_n_matches_the_edge_list_top_n(atted, tmp_path):
    w = atted
    kw = dict(folds=2, val_frac=0.2, seed=1)
    folder = P.run(w["zip"], w["prom"], tmp_path / "f", id_map=w["idmap"], top_n=3, **kw)
    edges = P.run(w["edges_z"], w["prom"], tmp_path / "e", top_n=3, **kw)
    assert _positives(folder) == _positives(edges)
    # each gene's 3 best mapped partners (the no-promoter gene counts as a partner, then drops)
    z = w["z"]
    names = w["agi"] + ["AT5G99990"]
    best = set()
    for i in range(N_ATTED + 1):
        others = sorted((j for j in range(N_ATTED + 1) if j != i), key=lambda j: -z[i, j])[:3]
        best.update(tuple(sorted((names[i], names[j]))) for j in others)
    best = {p for p in best if "AT5G99990" not in p}
    assert json.loads(folder["report"].read_text())["counts"]["positives_listed"] == len(best)
    # threshold and top-n together: the 3 best of those with z >= 4
    both = EL.read_coexpression(w["folder"], id_map=w["idmap"], threshold=4.0, top_n=3)
    assert (both.score >= 4.0).all() and both.groupby("gene_a").size().max() <= 3


def test_older_atted_layout_mr_pcc_header_lower_is_better(atted, tmp_path):
    w = atted
    kw = dict(folds=2, val_frac=0.2, seed=2)
    old = P.run(w["old"], w["prom"], tmp_path / "o", id_map=w["idmap"], threshold=20, **kw)
    edges = P.run(w["edges_mr"], w["prom"], tmp_path / "e", threshold=20, **kw)
    assert _positives(old) == _positives(edges) and _positives(old)
    rep = json.loads(old["report"].read_text())
    assert rep["input"]["header_detected"] and rep["input"]["score_column"] == "MR"
    assert rep["settings"]["score_lower_better"] is True and rep["input"]["score_lower_better"] is True
    # the PCC column instead, by name: higher is better
    df = EL.read_coexpression(w["old"], id_map=w["idmap"], threshold=0.9, score_column="PCC")
    assert (df.score >= 0.9).all() and len(df) > 0
    assert df.attrs["read"]["score_lower_better"] is False


def test_square_matrix_gives_the_edge_lists_positive_pairs(atted, tmp_path):
    w = atted
    kw = dict(folds=2, val_frac=0.2, seed=3)
    mat = P.run(w["matrix"], w["prom"], tmp_path / "m", id_map=w["idmap"], threshold=2.0, **kw)
    edges = P.run(w["edges_z"], w["prom"], tmp_path / "e", threshold=2.0, **kw)
    assert _positives(mat) == _positives(edges)
    rep = json.loads(mat["report"].read_text())
    assert rep["input"]["layout"] == "matrix" and rep["input"]["id_map"]["ids_unmapped"] == N_UNMAPPED
    top = P.run(w["matrix"], w["prom"], tmp_path / "mt", id_map=w["idmap"], top_n=2, **kw)
    assert _positives(top) == _positives(P.run(w["edges_z"], w["prom"], tmp_path / "et", top_n=2, **kw))
    # not square: a row gene missing from the header
    bad = tmp_path / "bad.tsv"
    pd.read_csv(w["matrix"], sep="\t", index_col=0).iloc[:-1].to_csv(bad, sep="\t")
    with pytest.raises(TfvocabError, match="not a square genes x genes matrix"):
        EL.read_coexpression(bad, id_map=w["idmap"], threshold=2.0)


def test_edge_list_of_entrez_ids_through_the_id_map(atted, tmp_path):
    w = atted
    e = pd.read_csv(w["edges_z"], sep="\t")
    back = {a: en for en, a in zip(w["entrez"], w["agi"] + ["AT5G99990"])}
    e["gene_a"] = e.gene_a.map(back)
    e["gene_b"] = e.gene_b.map(back)
    e.loc[0, "gene_a"] = "900000"                              # one unmapped ID
    f = tmp_path / "entrez_edges.tsv"
    e.to_csv(f, sep="\t", index=False)
    out = P.run(f, w["prom"], tmp_path / "o", id_map=w["idmap"], threshold=2.0, folds=2)
    ids = json.loads(out["report"].read_text())["input"]["id_map"]
    assert ids["ids_unmapped"] == 1 and ids["rows_dropped_unmapped"] == 1
    with pytest.raises(TfvocabError, match="look like NCBI Entrez Gene IDs.*--id-map"):
        P.run(f, w["prom"], tmp_path / "o2", threshold=2.0)


def test_atted_errors_are_one_line(atted, tmp_path):
    w = atted
    with pytest.raises(TfvocabError, match="lists every partner.*--threshold.*--top-n"):
        EL.read_coexpression(w["folder"], id_map=w["idmap"])
    with pytest.raises(TfvocabError, match="Entrez Gene IDs"):
        EL.read_coexpression(w["folder"], threshold=2.0)
    # a stray file that the map does not name is skipped unparsed, as an unmapped gene
    (w["folder"] / "notes").write_text("downloaded on Monday\nsee the website\n")
    df = EL.read_coexpression(w["folder"], id_map=w["idmap"], threshold=2.0)
    assert df.attrs["read"]["id_map"]["gene_files_unmapped"] == N_UNMAPPED + 1
    assert "notes" in df.attrs["read"]["id_map"]["unmapped_examples"]
    (w["folder"] / "830001").write_text("830002\t1.5\n830003\n")
    with pytest.raises(TfvocabError, match=r"830001: line 2: 1 fields where the file has 2"):
        EL.read_coexpression(w["folder"], id_map=w["idmap"], threshold=2.0)
    broken = tmp_path / "broken.zip"
    broken.write_bytes(w["zip"].read_bytes()[:200])
    with pytest.raises(TfvocabError, match="not a readable zip"):
        EL.read_coexpression(broken, id_map=w["idmap"], threshold=2.0)


def test_cli_reads_an_atted_zip(atted, tmp_path):
    w = atted
    res = CliRunner().invoke(main, ["pairs", "--coexpression", str(w["zip"]), "--id-map", str(w["idmap"]),
                                    "--top-n", "5", "--promoters", str(w["prom"]),
                                    "--outdir", str(tmp_path / "cli")])
    assert res.exit_code == 0, res.output
    assert (tmp_path / "cli" / "pairs.tsv").exists()
    res = CliRunner().invoke(main, ["pairs", "--coexpression", str(w["zip"]), "--promoters",
                                    str(w["prom"]), "--outdir", str(tmp_path / "cli2")])
    assert res.exit_code == 2 and "Error:" in res.output and "Traceback" not in res.output
