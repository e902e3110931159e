"""tfvocab.data.peaks: narrowPeak / broadPeak / BED files as piecewise-constant records."""
from __future__ import annotations

import gzip

import numpy as np
import pytest

from tfvocab.errors import TfvocabError
from tfvocab.data.windowstats import window_stats
from tfvocab.data.peaks import PeakTrack, format_of, merge_max, overlapping, peaks_stem, read_peaks


def _narrow(rows):
    """narrowPeak lines from (chrom, start, end, signalValue)."""
    return "".join(f"{c}\t{s}\t{e}\tpeak{i}\t{int(v * 10)}\t.\t{v}\t5.0\t3.0\t{(e - s) // 2}\n"
                   for i, (c, s, e, v) in enumerate(rows))


def test_narrowpeak_records_are_signalvalue_over_each_interval(tmp_path):
    f = tmp_path / "ABF1.narrowPeak"
    f.write_text("track name=ABF1\n# a comment\n" + _narrow([("chr1", 500, 700, 12.5),
                                                             ("chr1", 100, 200, 3.0),
                                                             ("chr2", 0, 50, 7.25)]))
    rec, info = read_peaks(f)
    assert info["format"] == "narrowPeak" and info["value"] == "signal" and info["peaks"] == 3
    s, e, v = rec["chr1"]
    assert s.tolist() == [100, 500] and e.tolist() == [200, 700] and v.tolist() == [3.0, 12.5]
    assert v.dtype == np.float32 and s.dtype == np.int64
    assert rec["chr2"][2].tolist() == [7.25]


def test_overlapping_peaks_merge_to_the_per_base_maximum():
    starts = np.array([100, 150, 180, 400, 1000])
    ends = np.array([300, 200, 250, 450, 1100])
    vals = np.array([2.0, 5.0, 3.0, 1.0, 4.0])
    s, e, v = merge_max(starts, ends, vals)
    per_base = np.zeros(1200)
    for a, b, x in zip(starts, ends, vals):
        per_base[a:b] = np.maximum(per_base[a:b], x)
    rendered = np.zeros(1200)
    for a, b, x in zip(s, e, v):
        assert (rendered[a:b] == 0).all()                  # non-overlapping records
        rendered[a:b] = x
    np.testing.assert_array_equal(rendered, per_base)
    assert np.all(s[1:] >= e[:-1])
    assert overlapping(starts, ends) == 3                 # the three peaks around 100..300


def test_window_stats_of_peak_records_match_per_base(tmp_path):
    rng = np.random.default_rng(3)
    starts = np.sort(rng.integers(0, 20_000, size=80))
    ends = starts + rng.integers(20, 400, size=80)
    vals = rng.gamma(2.0, 3.0, size=80)
    s, e, v = merge_max(starts, ends, vals)
    per_base = np.zeros(21_000)
    for a, b, x in zip(starts, ends, vals.astype(np.float32)):
        per_base[a:b] = np.maximum(per_base[a:b], x)
    ws = np.arange(0, 20_950, 50)
    mean, mx, _ = window_stats(s, e, v, ws, ws + 50)
    np.testing.assert_allclose(mean, per_base[:ws[-1] + 50].reshape(-1, 50).mean(axis=1), rtol=1e-6)
    np.testing.assert_allclose(mx, per_base[:ws[-1] + 50].reshape(-1, 50).max(axis=1), rtol=1e-6)


def test_gzip_bed_and_broadpeak_values(tmp_path):
    bed3 = tmp_path / "x.bed.gz"
    with gzip.open(bed3, "wt") as fh:
        fh.write("Chr1 10 20\nChr1 30 40\n")               # whitespace-separated BED3
    rec, info = read_peaks(bed3)
    assert info["format"] == "bed" and info["value"] == "one" and rec["Chr1"][2].tolist() == [1, 1]
    bed6 = tmp_path / "y.bed"
    bed6.write_text("Chr1\t10\t20\tp1\t800\t+\nChr1\t30\t40\tp2\t200\t-\n")
    assert read_peaks(bed6)[0]["Chr1"][2].tolist() == [800, 200]
    flat = tmp_path / "flat.bed"
    flat.write_text("Chr1\t10\t20\tp1\t0\t+\nChr1\t30\t40\tp2\t0\t-\n")   # constant score
    assert read_peaks(flat)[1]["value"] == "one"
    broad = tmp_path / "z.broadPeak"
    broad.write_text("chr3\t5\t95\tb1\t0\t.\t4.5\t2\t1\n")
    rec, info = read_peaks(broad)
    assert info["format"] == "broadPeak" and rec["chr3"][2].tolist() == [4.5]
    assert read_peaks(broad, value="pvalue")[0]["chr3"][2].tolist() == [2.0]
    assert format_of("peaks.txt", 10) == "narrowPeak" and format_of("peaks.txt", 4) == "bed"
    assert peaks_stem("ABF1_col_a.narrowPeak.gz") == "ABF1_col_a"


def test_peak_track_interface_and_empty_chromosomes(tmp_path):
    f = tmp_path / "t.narrowPeak"
    f.write_text(_narrow([("chr1", 100, 200, 2.0)]))
    t = PeakTrack(f)
    assert list(t.chroms) == ["chr1"] and t.chroms["ChrC"] > 10**15   # length unknown
    s, e, v = t.intervals("ChrC")
    assert s.size == e.size == v.size == 0
    assert t.intervals("chr1")[0].tolist() == [100]


@pytest.mark.parametrize("text,words", [
    ("chr1\t100\n", "2 columns where narrowPeak has 10"),
    ("chr1\t100\t50\tp\t0\t.\t1\t1\t1\t1\n", "bad interval 100-50"),
    ("chr1\tx\t50\tp\t0\t.\t1\t1\t1\t1\n", "start 'x' is not an integer"),
    ("chr1\t1\t50\tp\t0\t.\tNA\t1\t1\t1\n", "non-numeric signal value 'NA'"),
    ("chr1\t1\t50\tp\t0\t.\t-1\t1\t1\t1\n", "every signal value is -1"),
])
def test_bad_peak_files_are_one_line_errors(tmp_path, text, words):
    f = tmp_path / "bad.narrowPeak"
    f.write_text("# header comment\n" + text)
    with pytest.raises(TfvocabError, match=words) as exc:
        read_peaks(f)
    assert "bad.narrowPeak" in str(exc.value) and "\n" not in str(exc.value)
    if "columns" in words or "interval" in words:
        assert "line 2" in str(exc.value)
