"""Promoter/window geometry on hand-computed coordinates."""
import numpy as np

from tfvocab import coords


def test_default_windows_are_fifty_anchored_at_start_codon():
    off = coords.window_offsets()
    assert off.shape == (50,)
    assert off[0] == -2000 and off[-1] == 450
    assert 0 in off  # a window starts exactly at the start codon


def test_promoter_interval_plus_and_minus():
    assert coords.promoter_interval(10_000, "+") == (8_000, 10_501)
    assert coords.promoter_interval(10_000, "-") == (9_500, 12_001)
    s, e = coords.promoter_interval(10_000, "+")
    assert e - s == 2501


def test_window_intervals_orientation():
    starts, ends = coords.window_intervals(np.array([10_000, 10_000]), np.array(["+", "-"]))
    # first window is the most upstream one in gene orientation
    assert (starts[0, 0], ends[0, 0]) == (8_000, 8_050)
    assert (starts[1, 0], ends[1, 0]) == (11_951, 12_001)
    # window starting at offset 0 contains the start codon base on both strands
    k = int(np.flatnonzero(coords.window_offsets() == 0)[0])
    assert starts[0, k] == 10_000 and ends[1, k] == 10_001
    # every window lies inside the promoter
    for g, strand in enumerate("+-"):
        ps, pe = coords.promoter_interval(10_000, strand)
        assert starts[g].min() >= ps and ends[g].max() <= pe


def test_genomic_to_offset_roundtrip():
    assert coords.genomic_to_offset(9_990, 10_000, "+") == -10
    assert coords.genomic_to_offset(10_010, 10_000, "-") == -10

