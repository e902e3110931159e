"""tfvocab extract: exact window means/maxes (brute force and deepTools computeMatrix), masking,
chromosome-name harmonisation, both readers, and one-line errors without partial output."""
from __future__ import annotations

import gzip
import json
import shutil
import os
import subprocess
from pathlib import Path

import h5py
import numpy as np
import pandas as pd
import pyBigWig
import pytest
from click.testing import CliRunner

from tfvocab.cli import main
from tfvocab.errors import TfvocabError
from tfvocab.data.extract import merged_spans, run
from tfvocab.data.trackreaders import READERS
from tfvocab.data.windowstats import range_max, window_points, window_stats
from tfvocab.io import read_strings

CHROMS = {"Chr1": 30_000, "Chr2": 20_000}          # promoter (FASTA) names
BW_NAMES = {"Chr1": "chr1", "Chr2": "2"}           # the bigWig spells them differently


def _write_bigwig(path: Path, tracks: dict[str, np.ndarray], names: dict[str, str], step: int = 7):
    """A bigWig of piecewise-constant runs of ``step`` bp; NaN runs are left without data."""
    bw = pyBigWig.open(str(path), "w")
    bw.addHeader([(names[c], len(v)) for c, v in tracks.items()])
    for c, v in tracks.items():
        starts = np.arange(0, len(v), step)
        ends = np.minimum(starts + step, len(v))
        vals = v[starts]
        keep = ~np.isnan(vals)
        bw.addEntries([names[c]] * int(keep.sum()), starts[keep].tolist(), ends=ends[keep].tolist(),
                      values=vals[keep].astype(float).tolist())
    bw.close()


def _track(rng, length, step=7):
    """Per-base values (float32) that are constant over runs of ``step`` bp; ~30% runs no data."""
    runs = rng.gamma(0.6, 4.0, size=-(-length // step)).astype(np.float32)
    runs[rng.random(runs.size) < 0.3] = np.nan
    runs[rng.random(runs.size) < 0.2] = 0.0
    return np.repeat(runs, step)[:length]


def _promoters(rng) -> pd.DataFrame:
    rows = []
    for c, length in CHROMS.items():
        scs = list(rng.integers(2600, length - 2600, size=12))
        scs += [100, 1500, length - 200, length - 2]        # near both ends -> clipped
        for i, sc in enumerate(scs):
            strand = "+-"[i % 2] if i < len(scs) - 4 else "+-"[(i // 2) % 2]
            sc = int(sc)
            st, en = (sc - 2000, sc + 501) if strand == "+" else (sc - 500, sc + 2001)
            rows.append({"gene_id": f"{c}_g{i:02d}", "chrom": c, "start": max(st, 0),
                         "end": min(en, length), "strand": strand, "start_codon": sc,
                         "transcript_id": f"{c}_g{i:02d}.1", "gc": 0.4,
                         "clipped": st < 0 or en > length})
    rows.append({"gene_id": "ChrC_g00", "chrom": "ChrC", "start": 3000, "end": 5501, "strand": "+",
                 "start_codon": 5000, "transcript_id": "ChrC_g00.1", "gc": 0.4, "clipped": False})
    return pd.DataFrame(rows)


@pytest.fixture(scope="module")
def fixture(tmp_path_factory):
    rng = np.random.default_rng(7)
    d = tmp_path_factory.mktemp("extract")
    tracks = {}
    for tf in ("TFA", "TFB"):
        tracks[tf] = {c: _track(rng, n) for c, n in CHROMS.items()}
        _write_bigwig(d / f"{tf}.bw", tracks[tf], BW_NAMES)
    prom = _promoters(rng)
    prom.to_csv(d / "promoters.tsv", sep="\t", index=False)
    return d, tracks, prom


def _brute(values: dict, prom: pd.DataFrame, width=50, stride=50, up=2000, down=500):
    """Independent per-base reference: loop over genes and offsets in gene orientation."""
    n_win = (up + down + 1 - width) // stride + 1
    mean = np.full((len(prom), n_win), np.nan)
    mx = np.full((len(prom), n_win), np.nan)
    for g, r in enumerate(prom.itertuples()):
        if r.chrom not in values:
            continue
        v = values[r.chrom]
        for k in range(n_win):
            offs = np.arange(-up + k * stride, -up + k * stride + width)
            pos = r.start_codon + offs if r.strand == "+" else r.start_codon - offs
            if pos.min() < 0 or pos.max() >= len(v):
                continue
            x = np.nan_to_num(v[pos].astype(np.float64), nan=0.0)
            mean[g, k], mx[g, k] = x.mean(), x.max()
    return mean, mx


@pytest.mark.parametrize("reader", ["pybigtools", "pybigwig"])
def test_matches_brute_force(fixture, tmp_path, reader):
    d, tracks, prom = fixture
    out = run(promoters=d / "promoters.tsv", bigwig=[d / "TFA.bw", d / "TFB.bw"], outdir=tmp_path,
              reader=reader)
    assert set(out) == {"TFA", "TFB"}
    for tf in ("TFA", "TFB"):
        with h5py.File(out[tf]) as h5:
            assert read_strings(h5["genes"]) == prom["gene_id"].tolist()
            assert h5["window_start"][0] == -2000 and h5["window_start"][-1] == 450
            mean, mx, mask = h5["mean"][()], h5["max"][()], h5["mask"][()]
            assert h5.attrs["tf"] == tf
            mapping = json.loads(h5.attrs["chrom_mapping"])
            prov = json.loads(h5.attrs["tfvocab_provenance"])
        assert mean.dtype == np.float32 and mean.shape == (len(prom), 50)
        assert mapping["mapped"]["Chr1"]["target"] == "chr1"
        assert mapping["mapped"]["Chr2"]["target"] == "2"
        assert mapping["unmapped"] == ["ChrC"]
        assert prov["step"] == "extract" and prov["params"]["window"] == 50
        ref_mean, ref_max = _brute(tracks[tf], prom)
        np.testing.assert_array_equal(mask, np.isnan(ref_mean))
        np.testing.assert_array_equal(np.isnan(mean), mask)
        np.testing.assert_allclose(mean[~mask], ref_mean[~mask], rtol=1e-6, atol=1e-6)
        np.testing.assert_allclose(mx[~mask], ref_max[~mask], rtol=1e-6, atol=1e-6)
        # the chromosome absent from the bigWig is fully masked, clipped genes partly
        assert mask[prom["chrom"] == "ChrC"].all()
        clipped = prom["clipped"].to_numpy()
        assert mask[clipped].any(axis=1).all() and not mask[clipped].all(axis=1).any()
        assert not mask[~clipped & (prom["chrom"] != "ChrC").to_numpy()].any()
        # windows with no data at all are real zeros by default
        assert (mean[~mask] == 0).any()


def test_stride_and_window_options(fixture, tmp_path):
    d, tracks, prom = fixture
    out = run(promoters=d / "promoters.tsv", bigwig=[d / "TFA.bw"], outdir=tmp_path, window=100,
              stride=30)
    with h5py.File(out["TFA"]) as h5:
        mean, mx, ws = h5["mean"][()], h5["max"][()], h5["window_start"][()]
    ref_mean, ref_max = _brute(tracks["TFA"], prom, width=100, stride=30)
    assert ws.tolist() == list(range(-2000, 401, 30))
    np.testing.assert_allclose(mean, ref_mean, rtol=1e-6, atol=1e-6)   # NaNs compare equal
    np.testing.assert_allclose(mx, ref_max, rtol=1e-6, atol=1e-6)


def test_mask_uncovered_and_deterministic(fixture, tmp_path):
    d, tracks, prom = fixture
    a = run(promoters=d / "promoters.tsv", bigwig=[d / "TFB.bw"], outdir=tmp_path / "a")["TFB"]
    b = run(promoters=d / "promoters.tsv", bigwig=[d / "TFB.bw"], outdir=tmp_path / "b")["TFB"]
    assert a.read_bytes() == b.read_bytes()
    # a region without any data: windows there are 0 by default, masked with mask_uncovered
    empty = dict(tracks["TFB"])
    empty["Chr1"] = empty["Chr1"].copy()
    sc = int(prom.loc[0, "start_codon"])
    empty["Chr1"][sc - 2100:sc + 600] = np.nan
    _write_bigwig(tmp_path / "hole.bw", empty, BW_NAMES)
    plain = run(promoters=d / "promoters.tsv", bigwig=[tmp_path / "hole.bw"], outdir=tmp_path / "p")
    masked = run(promoters=d / "promoters.tsv", bigwig=[tmp_path / "hole.bw"], outdir=tmp_path / "m",
                 mask_uncovered=True)
    with h5py.File(plain["hole"]) as p, h5py.File(masked["hole"]) as m:
        assert prom.loc[0, "chrom"] == "Chr1"
        assert (p["mean"][0] == 0).all() and not p["mask"][0].any()
        assert m["mask"][0].all() and np.isnan(m["mean"][0]).all()
        assert m.attrs["masked_windows"] > p.attrs["masked_windows"]


def test_jobs_give_identical_files(fixture, tmp_path):
    d, _, _ = fixture
    bws = [d / "TFA.bw", d / "TFB.bw"]
    one = run(promoters=d / "promoters.tsv", bigwig=bws, outdir=tmp_path / "one")
    two = run(promoters=d / "promoters.tsv", bigwig=bws, outdir=tmp_path / "two", jobs=2)
    assert list(two) == ["TFA", "TFB"]
    for tf in one:
        assert one[tf].read_bytes() == two[tf].read_bytes()


def _per_base(starts, ends, values, length):
    """Per-base float64 signal (NaN = no data) of interval records."""
    v = np.full(length, np.nan)
    for s, e, x in zip(starts, ends, values):
        v[s:e] = x
    return v


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_window_stats_matches_per_base(seed):
    """Interval prefix sums / reduceat == per-base mean and max (uncovered = 0), for records
    with gaps, zero and negative values, and windows in any order, overlapping, nested,
    before the first and after the last record."""
    rng = np.random.default_rng(seed)
    length = 2000
    cuts = np.unique(rng.integers(1, length, 300))
    s, e = cuts[:-1], cuts[1:]
    keep = rng.random(s.size) < 0.7                     # gaps
    s, e = s[keep].astype(np.int64), e[keep].astype(np.int64)
    vals = rng.normal(1, 2, s.size).astype(np.float32)
    vals[rng.random(s.size) < 0.3] = 0
    ref = np.nan_to_num(_per_base(s, e, vals, length))
    ws = rng.integers(0, length - 1, 400)
    we = np.minimum(ws + rng.integers(1, 120, 400), length)
    ws = np.concatenate([ws, [0, s[0] - 1 if s[0] > 1 else 0, e[-1], length - 5]]).astype(np.int64)
    we = np.concatenate([we, [length, s[0] if s[0] > 1 else 1, length, length]]).astype(np.int64)
    for want_unc in (False, True):
        mean, mx, unc = window_stats(s, e, vals, ws, we, want_uncovered=want_unc)
        for k in range(ws.size):
            seg = ref[ws[k]:we[k]]
            assert mean[k] == pytest.approx(seg.mean(), abs=1e-9)
            assert mx[k] == pytest.approx(seg.max(), abs=1e-6)
            if want_unc:
                assert unc[k] == (not ((e > ws[k]) & (s < we[k])).any())
        assert want_unc or unc is None
    # precomputed boundaries give the same result
    m2, x2, _ = window_stats(s, e, vals, ws, we, points=window_points(ws, we))
    np.testing.assert_array_equal(m2, mean)
    np.testing.assert_array_equal(x2, mx)


def test_window_stats_nonnegative_zero_windows_are_exact():
    """Non-negative signal (max skips the coverage pass): a window over zero-valued records
    and gaps is exactly 0, no rounding residue from the prefix sums; no records at all -> 0."""
    s = np.array([0, 100, 150, 400], dtype=np.int64)
    e = np.array([100, 150, 300, 500], dtype=np.int64)
    v = np.array([3.3, 0.0, 0.0, 7.1], dtype=np.float32)
    ws = np.array([90, 100, 120, 290, 350, 380], dtype=np.int64)
    we = ws + 50
    mean, mx, _ = window_stats(s, e, v, ws, we)
    ref = np.nan_to_num(_per_base(s, e, v, 600))
    assert mean[1] == 0.0 and mean[2] == 0.0 and mx[1] == 0.0 and mx[4] == 0.0
    np.testing.assert_allclose(mean, [ref[a:b].mean() for a, b in zip(ws, we)], rtol=1e-12)
    np.testing.assert_array_equal(mx, [ref[a:b].max() for a, b in zip(ws, we)])
    empty = np.zeros(0, np.int64)
    m0, x0, u0 = window_stats(empty, empty, np.zeros(0, np.float32), ws, we, want_uncovered=True)
    assert (m0 == 0).all() and (x0 == 0).all() and u0.all()


@pytest.mark.parametrize("bad", [np.inf, -np.inf, np.nan])
def test_window_stats_one_nonfinite_record_poisons_nothing(bad):
    """A NaN or +-inf record is a run of bases without data: every window's mean, max, centre of
    mass and coverage equal those of the same records without it (bit for bit), including the
    windows after it (prefix sums never see it)."""
    from tfvocab.data.windowstats import window_com

    rng = np.random.default_rng(11)
    s = np.arange(0, 5000, 10, dtype=np.int64)
    e = s + 10
    v = rng.gamma(0.7, 3.0, s.size).astype(np.float32)
    v[rng.random(s.size) < 0.3] = 0
    ws = np.arange(0, 4950, 25, dtype=np.int64)
    we = ws + 50
    vb = v.copy()
    vb[[3, 240]] = bad
    keep = np.isfinite(vb)
    for want_unc in (False, True):
        got = window_stats(s, e, vb, ws, we, want_uncovered=want_unc)
        ref = window_stats(s[keep], e[keep], v[keep], ws, we, want_uncovered=want_unc)
        for a, b in zip(got, ref):
            if b is not None:
                assert np.isfinite(a).all() and a.tobytes() == b.tobytes()
    np.testing.assert_array_equal(window_com(s, e, vb, ws, we), window_com(s[keep], e[keep], v[keep], ws, we))


def test_screen_records_counts_over_the_promoter_spans_only():
    from tfvocab.data.windowstats import in_spans, screen_records

    s = np.arange(0, 1000, 10, dtype=np.int64)
    e = s + 10
    v = np.ones(s.size, np.float32)
    clean = screen_records(s, e, v, (np.array([0]), np.array([50])))
    assert clean[0] is s and clean[2] is v and clean[3] is None and clean[4] is None   # no copy
    v[[1, 2, 50, 60, 70, 80]] = [np.nan, np.inf, -np.inf, -2.0, np.nan, 0.5]
    spans = (np.array([0, 495, 795]), np.array([30, 605, 800]))        # records 0-2, 49-60, 79
    assert in_spans(s, e, spans).sum() == 3 + 12 + 1
    rs, re_, rv, bad, counts = screen_records(s, e, v, spans)
    assert counts == {"records": 16, "nan": 1, "posinf": 1, "neginf": 1, "negative": 1, "min": -2.0}
    assert np.isfinite(rv).all() and rs.size == s.size - 4
    np.testing.assert_array_equal(bad[0], [10, 20, 500])                 # record 70 is outside


def test_range_max():
    rng = np.random.default_rng(3)
    x = rng.normal(size=500).astype(np.float32)
    lo = rng.integers(0, 499, 300)
    hi = np.minimum(lo + rng.integers(1, 40, 300), 500)
    got = range_max(x, lo, hi)
    np.testing.assert_array_equal(got, [x[a:b].max() for a, b in zip(lo, hi)])
    np.testing.assert_array_equal(range_max(x, lo, lo + 1), x[lo])


def test_merged_spans():
    s = np.array([0, 10, 20, 60, 70], dtype=np.int64)
    e = np.array([15, 20, 50, 65, 80], dtype=np.int64)
    lo, hi = merged_spans(s, e)
    assert lo.tolist() == [0, 60, 70] and hi.tolist() == [50, 65, 80]


def _mixed_sections_bigwig(path: Path):
    """A bigWig with fixedStep, varStep and bedGraph sections, a NaN record, gaps and an
    empty chromosome (pyBigWig writes each addEntries call as its own section type)."""
    bw = pyBigWig.open(str(path), "w")
    bw.addHeader([("c1", 50_000), ("c2", 8_000), ("c3", 1_000)], maxZooms=2)
    rng = np.random.default_rng(5)
    bw.addEntries("c1", 100, values=rng.random(2000).tolist(), span=10, step=10)          # fixedStep
    bw.addEntries("c1", list(range(20_200, 30_000, 7)), values=rng.random(1400).tolist(), span=5)
    st = np.arange(30_000, 49_000, 13)
    vals = rng.random(st.size)
    vals[5] = np.nan
    bw.addEntries(["c1"] * st.size, st.tolist(), ends=(st + 9).tolist(), values=vals.tolist())  # bedGraph
    bw.addEntries("c2", 0, values=[0.0, 2.5, -1.0, 4.0], span=2000, step=2000)
    bw.close()


def test_readers_decode_identical_records(tmp_path, monkeypatch):
    from tfvocab.data.trackreaders import PyBigWigReader, open_bigwig

    monkeypatch.setattr(PyBigWigReader, "chunk", 997)    # many chunks, edges inside records
    path = tmp_path / "mixed.bw"
    _mixed_sections_bigwig(path)
    got = {}
    for reader in READERS:
        bw = open_bigwig(path, reader)
        assert bw.chroms == {"c1": 50_000, "c2": 8_000, "c3": 1_000}
        got[reader] = {c: bw.intervals(c) for c in bw.chroms}
        bw.close()
    nat = got["native"]
    s, e, v = nat["c1"]
    assert s.dtype == np.int64 and e.dtype == np.int64 and v.dtype == np.float32
    assert s.size == 2000 + 1400 + np.arange(30_000, 49_000, 13).size      # the NaN record kept, as stored
    assert (s[1:] >= e[:-1]).all() and np.isnan(v).sum() == 1 and np.isnan(v[2000 + 1400 + 5])
    assert nat["c3"][0].size == 0
    for reader in ("pybigtools", "pybigwig"):
        for c in nat:
            for a, b in zip(nat[c], got[reader][c]):
                np.testing.assert_array_equal(a, b)


def test_native_reader_decodes_only_requested_blocks(tmp_path):
    from tfvocab.data.bigwig import BigWigFile

    path = tmp_path / "mixed.bw"
    _mixed_sections_bigwig(path)
    bw = BigWigFile(path)
    bs, be = bw.blocks("c1")
    assert bs.size >= 3 and (bs[1:] >= bs[:-1]).all()
    keep = bs == 20_200                                  # the varStep block only
    assert keep.sum() == 1
    s, e, v = bw.intervals("c1", keep)
    full = bw.intervals("c1")
    sel = (full[0] >= 20_200) & (full[1] <= 30_000)
    assert s.size == 1400
    np.testing.assert_array_equal(s, full[0][sel])
    np.testing.assert_array_equal(v, full[2][sel])
    bw.close()


def test_readers_give_identical_files(fixture, tmp_path):
    d, _, _ = fixture
    bws = [d / "TFA.bw", d / "TFB.bw"]
    out = {r: run(promoters=d / "promoters.tsv", bigwig=bws, outdir=tmp_path / r, reader=r, mask_uncovered=True)
           for r in READERS}
    for tf in ("TFA", "TFB"):
        with h5py.File(out["native"][tf]) as a:
            assert a.attrs["reader"] == "native"
            ref = {k: a[k][()] for k in ("mean", "max", "mask")}
        for r in ("pybigtools", "pybigwig"):
            with h5py.File(out[r][tf]) as b:
                for k, x in ref.items():
                    np.testing.assert_array_equal(b[k][()], x)


# ---------------------------------------------------------------------------- bad input
def _cli(args):
    """Run the CLI; ``.output`` is reduced to the ``Error:`` lines (logging goes to stderr too)."""
    res = CliRunner().invoke(main, args)
    res.error_lines = [ln for ln in res.output.splitlines() if ln.startswith("Error:")]
    return res


def test_corrupt_and_empty_bigwig(fixture, tmp_path):
    d, _, _ = fixture
    (tmp_path / "bad.bw").write_bytes(b"this is not a bigwig" * 50)
    (tmp_path / "empty.bw").write_bytes(b"")
    for name in ("bad.bw", "empty.bw"):
        for reader in READERS:
            out = tmp_path / f"out_{name}_{reader}"
            res = _cli(["extract", "--promoters", str(d / "promoters.tsv"), "--bigwig", str(d / "TFA.bw"),
                        "--bigwig", str(tmp_path / name), "--outdir", str(out), "--reader", reader])
            assert res.exit_code == 2
            assert len(res.error_lines) == 1
            assert name in res.error_lines[0] and "bigWig" in res.error_lines[0]
            # checked before anything is written: not even the good bigWig's file exists
            assert not out.exists() or not any(out.iterdir())


def test_native_reader_truncated_bigbed_and_corrupt_block(fixture, tmp_path):
    d, _, _ = fixture
    data = (d / "TFA.bw").read_bytes()
    (tmp_path / "trunc.bw").write_bytes(data[:len(data) // 2])
    (tmp_path / "bed.bb").write_bytes(bytes.fromhex("ebf28987") + bytes(200))   # bigBed magic
    bad = bytearray(data)
    from tfvocab.data.bigwig import BigWigFile

    bw = BigWigFile(d / "TFA.bw")
    off = int(bw._blk_off[0])
    bw.close()
    bad[off:off + 64] = bytes(64)                        # zero a compressed data block
    (tmp_path / "blk.bw").write_bytes(bytes(bad))
    for name, words in (("trunc.bw", "not a readable bigWig"), ("bed.bb", "a bigBed"),
                        ("blk.bw", "cannot read values")):
        res = _cli(["extract", "--promoters", str(d / "promoters.tsv"), "--bigwig", str(tmp_path / name),
                    "--outdir", str(tmp_path / f"o_{name}")])
        assert res.exit_code == 2, res.output
        assert len(res.error_lines) == 1 and name in res.error_lines[0] and words in res.error_lines[0]


def test_jobs_default_uses_available_cpus(fixture, tmp_path, monkeypatch):
    import tfvocab.data.extract as ex

    d, _, _ = fixture
    seen = {}
    real_run = ex.run

    def spy(**kw):
        seen["jobs"] = kw["jobs"]
        return real_run(**kw)

    monkeypatch.setattr(ex, "run", spy)
    monkeypatch.setattr(ex, "available_cpus", lambda: 8)
    res = _cli(["extract", "--promoters", str(d / "promoters.tsv"), "--bigwig", str(d / "TFA.bw"),
                "--bigwig", str(d / "TFB.bw"), "--outdir", str(tmp_path / "o")])
    assert res.exit_code == 0, res.output
    assert seen["jobs"] == 2                             # capped at the number of bigWigs
    names = sorted(p.name for p in (tmp_path / "o").iterdir())
    assert [n for n in names if not n.endswith(".manifest.json")] == ["signal.TFA.h5", "signal.TFB.h5"]
    assert len(names) == 3                               # + one manifest, nothing left over


def test_no_matching_chromosome(fixture, tmp_path):
    d, tracks, _ = fixture
    _write_bigwig(tmp_path / "scaff.bw", {"Chr1": tracks["TFA"]["Chr1"][:5000]}, {"Chr1": "scaffold_9"})
    res = _cli(["extract", "--promoters", str(d / "promoters.tsv"), "--bigwig", str(tmp_path / "scaff.bw"),
                "--outdir", str(tmp_path / "o")])
    assert res.exit_code == 2 and "scaff.bw" in res.output and "no chromosome matches" in res.output
    assert not list((tmp_path).glob("o/signal.*"))
    # an alias table rescues it
    (tmp_path / "alias.tsv").write_text("name\talias\nChr1\tscaffold_9\n")
    res = _cli(["extract", "--promoters", str(d / "promoters.tsv"), "--bigwig", str(tmp_path / "scaff.bw"),
                "--outdir", str(tmp_path / "o"), "--chrom-alias", str(tmp_path / "alias.tsv")])
    assert res.exit_code == 0, res.output
    with h5py.File(tmp_path / "o" / "signal.scaff.h5") as h5:
        genes = read_strings(h5["genes"])
        mask = h5["mask"][()]
    chr1 = np.array([g.startswith("Chr1_") for g in genes])
    assert mask[~chr1].all() and not mask[chr1].all()


def test_promoters_missing_columns(fixture, tmp_path):
    d, _, prom = fixture
    prom.drop(columns=["start_codon"]).to_csv(tmp_path / "p.tsv", sep="\t", index=False)
    res = _cli(["extract", "--promoters", str(tmp_path / "p.tsv"), "--bigwig", str(d / "TFA.bw"),
                "--outdir", str(tmp_path / "o")])
    assert res.exit_code == 2 and "p.tsv" in res.output and "start_codon" in res.output
    assert not (tmp_path / "o").exists() or not any((tmp_path / "o").iterdir())
    bad = prom.copy()
    bad.loc[3, "strand"] = "."
    bad.to_csv(tmp_path / "q.tsv", sep="\t", index=False)
    with pytest.raises(TfvocabError, match=r"q.tsv: line 5"):
        run(promoters=tmp_path / "q.tsv", bigwig=[d / "TFA.bw"], outdir=tmp_path / "o")


def test_tf_names(fixture, tmp_path):
    d, _, _ = fixture
    res = _cli(["extract", "--promoters", str(d / "promoters.tsv"), "--bigwig", str(d / "TFA.bw"),
                "--bigwig", str(d / "TFB.bw"), "--tf", "X", "--tf", "X", "--outdir", str(tmp_path)])
    assert res.exit_code == 2 and "'X' given twice" in res.output
    res = _cli(["extract", "--promoters", str(d / "promoters.tsv"), "--bigwig", str(d / "TFA.bw"),
                "--tf", "MYB/1", "--outdir", str(tmp_path)])
    assert res.exit_code == 2 and "MYB/1" in res.output


# ---------------------------------------------------------------------------- peaks
def _peaks_fixture(prom: pd.DataFrame, rng, n_per_gene: int = 2):
    """Peaks inside the promoters of Chr1/Chr2 (chr1-style names, as O'Malley et al.'s files),
    a few overlapping, plus far-away peaks between genes; per-base reference arrays."""
    rows = []
    for r in prom.itertuples():
        if r.chrom == "ChrC":
            continue
        for _ in range(n_per_gene if rng.random() < 0.6 else 0):
            centre = int(r.start_codon + rng.integers(-2100, 600))
            half = int(rng.integers(15, 160))
            lo, hi = max(centre - half, 0), min(centre + half, CHROMS[r.chrom])
            if lo < hi:
                rows.append((r.chrom, lo, hi, round(float(rng.gamma(2.0, 4.0)), 3)))
    rows.append(("Chr1", rows[0][1] + 5, rows[0][2] + 40, 99.5))          # overlaps another peak
    values = {c: np.zeros(n, dtype=np.float32) for c, n in CHROMS.items()}
    for c, s, e, v in rows:
        values[c][s:e] = np.maximum(values[c][s:e], np.float32(v))
    values["ChrC"] = np.zeros(6000, dtype=np.float32)                      # no peaks there: zero
    return rows, values


def _write_narrowpeak(path: Path, rows, names=None):
    names = names or {"Chr1": "chr1", "Chr2": "chr2"}
    order = sorted(range(len(rows)), key=lambda i: (rows[i][0], rows[i][1]))
    text = "".join(f"{names[rows[i][0]]}\t{rows[i][1]}\t{rows[i][2]}\tpeak{i}\t500\t.\t{rows[i][3]}"
                   f"\t12.3\t8.1\t{(rows[i][2] - rows[i][1]) // 2}\n" for i in order)
    if str(path).endswith(".gz"):
        with gzip.open(path, "wt") as fh:
            fh.write(text)
    else:
        path.write_text(text)


def test_narrowpeak_puts_signal_in_the_windows_of_its_peaks_and_nowhere_else(fixture, tmp_path):
    d, _, prom = fixture
    rng = np.random.default_rng(11)
    rows, values = _peaks_fixture(prom, rng)
    f = tmp_path / "ABF1_colamp.narrowPeak.gz"
    _write_narrowpeak(f, rows)
    out = run(promoters=d / "promoters.tsv", peaks=[f], outdir=tmp_path / "o")
    assert list(out) == ["ABF1_colamp"]                     # stem without .narrowPeak.gz
    with h5py.File(out["ABF1_colamp"]) as h5:
        mean, mx, mask = h5["mean"][()], h5["max"][()], h5["mask"][()]
        mapping = json.loads(h5.attrs["chrom_mapping"])
        assert h5.attrs["track_kind"] == "peaks" and h5.attrs["reader"] == "peaks"
        assert json.loads(h5.attrs["peaks"])["merged_overlaps"] >= 2
    # chr1-style names harmonised to the promoters' Chr1/Chr2
    assert mapping["mapped"]["Chr1"] == {"target": "chr1", "method": "canonical"}
    assert mapping["mapped"]["Chr2"] == {"target": "chr2", "method": "canonical"}
    # windows that overlap a peak (genomic coordinates, gene orientation) hold signal, others 0
    offs = np.arange(-2000, 451, 50)
    hit = np.zeros(mean.shape, dtype=bool)
    for g, r in enumerate(prom.itertuples()):
        for k, o in enumerate(offs):
            lo, hi = (r.start_codon + o, r.start_codon + o + 50) if r.strand == "+" else \
                (r.start_codon - o - 49, r.start_codon - o + 1)
            hit[g, k] = any(c == r.chrom and s < hi and e > lo for c, s, e, _ in rows)
    assert hit.sum() > 30
    assert (mean[hit & ~mask] > 0).all() and (mx[hit & ~mask] > 0).all()
    assert (mean[~hit & ~mask] == 0).all() and (mx[~hit & ~mask] == 0).all()
    # exact values: the per-base rendering (maximum where peaks overlap)
    ref_mean, ref_max = _brute(values, prom)
    np.testing.assert_array_equal(mask, np.isnan(ref_mean))
    np.testing.assert_allclose(mean[~mask], ref_mean[~mask], rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(mx[~mask], ref_max[~mask], rtol=1e-6, atol=1e-6)
    # a chromosome without peaks is zero, not missing (only clipped windows are masked)
    chrc = (prom["chrom"] == "ChrC").to_numpy()
    assert not mask[chrc].any() and (mean[chrc] == 0).all()


def test_peaks_give_the_same_tensor_as_the_equivalent_bigwig(fixture, tmp_path):
    d, _, prom = fixture
    rows, values = _peaks_fixture(prom, np.random.default_rng(5))
    _write_narrowpeak(tmp_path / "TFP.narrowPeak", rows)
    bw_vals = {c: np.where(values[c] > 0, values[c], np.nan) for c in CHROMS}   # no data off peaks
    _write_bigwig(tmp_path / "TFP.bw", bw_vals, BW_NAMES, step=1)
    a = run(promoters=d / "promoters.tsv", peaks=[tmp_path / "TFP.narrowPeak"], outdir=tmp_path / "a")
    b = run(promoters=d / "promoters.tsv", bigwig=[tmp_path / "TFP.bw"], outdir=tmp_path / "b")
    chrc = (prom["chrom"] == "ChrC").to_numpy()
    with h5py.File(a["TFP"]) as pa, h5py.File(b["TFP"]) as pb:
        for k in ("mean", "max", "mask"):
            np.testing.assert_array_equal(pa[k][()][~chrc], pb[k][()][~chrc])
        assert pb["mask"][()][chrc].all() and not pa["mask"][()][chrc].any()


def test_bigwig_and_peaks_together_with_names(fixture, tmp_path):
    d, _, prom = fixture
    rows, _ = _peaks_fixture(prom, np.random.default_rng(2))
    _write_narrowpeak(tmp_path / "p.narrowPeak", rows)
    res = _cli(["extract", "--promoters", str(d / "promoters.tsv"), "--bigwig", str(d / "TFA.bw"),
                "--peaks", str(tmp_path / "p.narrowPeak"), "--tf", "WRKY1", "--tf", "ABF1",
                "--outdir", str(tmp_path / "o")])
    assert res.exit_code == 0, res.output
    assert sorted(p.name for p in (tmp_path / "o").glob("signal.*.h5")) == ["signal.ABF1.h5", "signal.WRKY1.h5"]
    with h5py.File(tmp_path / "o" / "signal.ABF1.h5") as h5:
        assert h5.attrs["track_kind"] == "peaks"
    bad = tmp_path / "bad.narrowPeak"
    bad.write_text("chr1\t10\t5\tp\t0\t.\t1\t1\t1\t1\n")
    res = _cli(["extract", "--promoters", str(d / "promoters.tsv"), "--bigwig", str(d / "TFA.bw"),
                "--peaks", str(bad), "--outdir", str(tmp_path / "o2")])
    assert res.exit_code == 2 and len(res.error_lines) == 1 and "bad.narrowPeak: line 1" in res.error_lines[0]
    assert not (tmp_path / "o2").exists() or not any((tmp_path / "o2").iterdir())
    # a peaks file whose chromosomes match nothing is an error, as for a bigWig
    _write_narrowpeak(tmp_path / "scaf.narrowPeak", rows, names={"Chr1": "scaffold_1", "Chr2": "scaffold_2"})
    res = _cli(["extract", "--promoters", str(d / "promoters.tsv"), "--peaks", str(tmp_path / "scaf.narrowPeak"),
                "--outdir", str(tmp_path / "o3")])
    assert res.exit_code == 2 and "no chromosome matches" in res.output


def test_samplesheet_extracts_every_row_in_one_call(fixture, tmp_path):
    d, _, prom = fixture
    rows, _ = _peaks_fixture(prom, np.random.default_rng(4))
    _write_narrowpeak(tmp_path / "ABF1.narrowPeak", rows)
    shutil.copy(d / "TFA.bw", tmp_path / "WRKY1.bw")
    shutil.copy(d / "TFB.bw", tmp_path / "input.bw")
    sheet = tmp_path / "samplesheet.csv"
    sheet.write_text("tf,bigwig,peaks,control\nWRKY1,WRKY1.bw,,input.bw\nABF1,,ABF1.narrowPeak,\n")
    res = _cli(["extract", "--promoters", str(d / "promoters.tsv"), "--samplesheet", str(sheet),
                "--outdir", str(tmp_path / "o")])
    assert res.exit_code == 0, res.output
    assert sorted(p.name for p in (tmp_path / "o").glob("signal.*.h5")) == [
        "signal.ABF1.h5", "signal.WRKY1.h5", "signal.input.h5"]
    with h5py.File(tmp_path / "o" / "signal.ABF1.h5") as h5:
        assert h5.attrs["track_kind"] == "peaks"
    with h5py.File(tmp_path / "o" / "signal.input.h5") as a, h5py.File(
            run(promoters=d / "promoters.tsv", bigwig=[d / "TFB.bw"], outdir=tmp_path / "ref")["TFB"]) as b:
        np.testing.assert_array_equal(a["mean"][()], b["mean"][()])
    res = _cli(["extract", "--promoters", str(d / "promoters.tsv"), "--samplesheet", str(sheet),
                "--bigwig", str(d / "TFA.bw"), "--outdir", str(tmp_path / "o2")])
    assert res.exit_code == 2 and "not both" in res.output


# ---------------------------------------------------------------------------- deepTools
def _read_computematrix(path: Path) -> tuple[dict, dict[str, np.ndarray]]:
    """Parse a gzipped computeMatrix output: header dict and {gene: values (n_samples * bins,)}."""
    rows = {}
    with gzip.open(path, "rt") as fh:
        header = json.loads(fh.readline()[1:])
        for line in fh:
            f = line.rstrip("\n").split("\t")
            rows[f[3]] = np.array([np.nan if x == "nan" else float(x) for x in f[6:]])
    return header, rows


@pytest.mark.skipif(shutil.which("computeMatrix") is None and os.environ.get("CI") != "true",
                    reason="deepTools not installed (pip install -e '.[bench]'); required in CI")
def test_agrees_with_deeptools_computematrix(small_sim, tmp_path):
    """simulate small -> promoters -> extract vs ``computeMatrix reference-point`` on a 1-bp BED
    interval at the start codon (deepTools anchors '-' genes at the interval end and flips the
    bins: the same geometry). A third of the unclipped genes, all 50 windows, 3 tracks, to 1e-4."""
    from tfvocab.data.promoters import run as promoters_run

    prom_paths = promoters_run(gff=small_sim / "annotation.gff3", fasta=small_sim / "genome.fa",
                               outdir=tmp_path / "prom")
    prom = pd.read_csv(prom_paths["promoters"], sep="\t", dtype={"chrom": str})
    bws = sorted((small_sim / "bigwig").glob("*.bw"))
    bws = [b for b in bws if b.stem != "input"][:2] + [small_sim / "bigwig" / "input.bw"]
    out = run(promoters=prom_paths["promoters"], bigwig=bws, outdir=tmp_path / "ex")
    clipped = prom["clipped"].astype(str).str.lower().eq("true").to_numpy()
    assert (~clipped).sum() > 1000
    keep = prom[~clipped].iloc[::3]                         # every 3rd gene keeps deepTools quick
    bed = tmp_path / "sc.bed"
    keep.assign(e=keep["start_codon"] + 1, score=0)[
        ["chrom", "start_codon", "e", "gene_id", "score", "strand"]].to_csv(bed, sep="\t", header=False,
                                                                           index=False)
    matrix = tmp_path / "matrix.gz"
    subprocess.run(["computeMatrix", "reference-point", "--referencePoint", "TSS", "-b", "2000", "-a", "500",
                    "--binSize", "50", "--missingDataAsZero", "--averageTypeBins", "mean",
                    "--sortRegions", "keep", "-R", str(bed), "-S", *map(str, bws), "-p", "1",
                    "--outFileName", str(matrix)], check=True, capture_output=True)
    header, rows = _read_computematrix(matrix)
    assert header["sample_boundaries"] == [0, 50, 100, 150]
    assert set(rows) == set(keep["gene_id"])
    genes_idx = {g: i for i, g in enumerate(prom["gene_id"])}
    order = [genes_idx[g] for g in rows]
    dt = np.stack(list(rows.values()))                       # (genes, 3 * 50)
    n_minus = int((prom["strand"].iloc[order] == "-").sum())
    assert n_minus > 100 and len(order) - n_minus > 100      # both orientations are exercised
    for j, bw in enumerate(bws):
        with h5py.File(out[bw.stem]) as h5:
            mean = h5["mean"][()][order]
            mask = h5["mask"][()][order]
        assert not mask.any()
        ref = dt[:, 50 * j:50 * (j + 1)]
        assert np.nanmax(ref) > 0
        np.testing.assert_allclose(mean, ref, rtol=0, atol=1e-4)
