"""Chromosome-name harmonisation (tfvocab.data.chroms)."""
import pytest

from tfvocab.data.chroms import ChromMapping, alias_groups, build_mapping, canonical, read_aliases, resolve
from tfvocab.errors import TfvocabError


@pytest.mark.parametrize("name,expected", [
    ("NC_003070.9", "Chr1"), ("NC_003070", "Chr1"), ("Chr1", "Chr1"), ("chr1", "Chr1"),
    ("1", "Chr1"), ("CHR1", "Chr1"), ("At1", "Chr1"), ("chr01", "Chr1"), ("CP002684.1", "Chr1"),
    ("NC_003071.7", "Chr2"), ("NC_003074.8", "Chr3"), ("NC_003075.7", "Chr4"),
    ("NC_003076.8", "Chr5"), ("Chromosome_5", "Chr5"),
    ("NC_037304.1", "ChrM"), ("ChrM", "ChrM"), ("Mt", "ChrM"), ("mitochondria", "ChrM"),
    ("NC_000932.1", "ChrC"), ("ChrC", "ChrC"), ("Pt", "ChrC"), ("chloroplast", "ChrC"),
    ("chr12", "Chr12"),
    ("scaffold_1", None), ("NW_000001.1", None), ("plasmid_pX", None), ("", None),
])
def test_canonical(name, expected):
    assert canonical(name) == expected


def test_exact_then_canonical_and_unmapped():
    m = resolve(["NC_003070.9", "Chr2", "NC_000932.1", "contig_7"], ["chr1", "Chr2", "ChrC", "chr3"])
    assert m.mapping == {"NC_003070.9": "chr1", "Chr2": "Chr2", "NC_000932.1": "ChrC"}
    assert m.method == {"NC_003070.9": "canonical", "Chr2": "exact", "NC_000932.1": "canonical"}
    assert m.unmapped == ["contig_7"]
    rep = m.to_dict()
    assert rep["mapped"]["NC_003070.9"] == {"target": "chr1", "method": "canonical"}
    assert rep["unmapped"] == ["contig_7"]


def test_exact_match_beats_canonical_even_when_both_exist():
    assert build_mapping(["Chr1"], ["1", "Chr1"]) == {"Chr1": "Chr1"}


def test_ambiguous_canonical_match_names_both():
    with pytest.raises(TfvocabError) as exc:
        build_mapping(["NC_003070.9"], ["chr1", "Chr1"])
    msg = str(exc.value)
    assert "'chr1'" in msg and "'Chr1'" in msg and "NC_003070.9" in msg


def test_two_sources_on_one_target_is_an_error():
    with pytest.raises(TfvocabError, match="both map to 'Chr1'"):
        build_mapping(["chr1", "1"], ["Chr1"])


def test_alias_table_first():
    # without the table 'scaffold_A' is unknown; with it, it maps; the table beats canonical
    assert build_mapping(["NC_003070.9"], ["scaffold_A"]) == {}
    assert build_mapping(["NC_003070.9"], ["scaffold_A"], [("scaffold_A", "NC_003070.9")]) == \
        {"NC_003070.9": "scaffold_A"}
    m = resolve(["NC_003070.9"], ["chr1", "weird1"], {"NC_003070.9": "weird1"})
    assert m.mapping == {"NC_003070.9": "weird1"} and m.method["NC_003070.9"] == "alias"


def test_alias_pairs_chain_and_ambiguous_alias():
    groups = alias_groups([("a", "b"), ("b", "c")])
    assert groups["a"] == frozenset({"a", "b", "c"})
    assert build_mapping(["a"], ["c"], [("a", "b"), ("b", "c")]) == {"a": "c"}
    with pytest.raises(TfvocabError, match="alias of several"):
        build_mapping(["a"], ["b", "c"], [("a", "b"), ("a", "c")])


def test_read_aliases(tmp_path):
    p = tmp_path / "alias.tsv"
    p.write_text("# comment\nname\talias\nNC_003070.9\tChr1\n\nNC_003071.7\tChr2\n")
    assert read_aliases(p) == [("NC_003070.9", "Chr1"), ("NC_003071.7", "Chr2")]
    bad = tmp_path / "bad.tsv"
    bad.write_text("NC_003070.9\tChr1\nNC_003071.7 Chr2\n")
    with pytest.raises(TfvocabError) as exc:
        read_aliases(bad)
    assert "line 2" in str(exc.value) and "bad.tsv" in str(exc.value)


def test_empty_mapping_object():
    assert ChromMapping().to_dict() == {"mapped": {}, "unmapped": []}
