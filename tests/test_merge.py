"""tfvocab merge: (genes, windows, TFs) layout and chunks, control tracks from the samplesheet,
order independence, and one-line errors (TF collisions, different genes/windows) without output."""
from __future__ import annotations

import json
from pathlib import Path

import h5py
import numpy as np
import pytest
from click.testing import CliRunner

from tfvocab.cli import main
from tfvocab.errors import TfvocabError
from tfvocab.formats import Geometry, write_track
from tfvocab.io import read_strings
from tfvocab.data.merge import run

G, W = 300, 50


def _signal(path: Path, tf: str, seed: int, genes=None, geometry=None, promoters="promoters-v1"):
    """A signal.<tf>.h5 in the extract layout with random values and a few masked windows;
    ``promoters`` stands for the promoters.tsv digest it was extracted from."""
    rng = np.random.default_rng(seed)
    genes = genes or [f"AT1G{i:05d}" for i in range(G)]
    geometry = geometry or Geometry()
    mean = rng.gamma(0.5, 2.0, size=(len(genes), geometry.n_windows)).astype(np.float32)
    mask = rng.random(mean.shape) < 0.05
    mean[mask] = np.nan
    mx = (mean * 2).astype(np.float32)
    write_track(path, tf=tf, source=f"{tf}.bw", genes=genes, geometry=geometry, mean=mean,
                max_=mx, mask=mask, promoters=promoters)
    return mean, mx, mask


@pytest.fixture()
def signals(tmp_path):
    d = tmp_path / "sig"
    d.mkdir()
    data = {}
    for i, tf in enumerate(["MYB", "ABF1", "WRKY", "input", "igg"]):
        data[tf] = _signal(d / f"signal.{tf}.h5", tf, i)
    sheet = tmp_path / "samplesheet.csv"
    sheet.write_text("tf,bigwig,control\nWRKY,bigwig/WRKY.bw,bigwig/input.bw\n"
                     "MYB,bigwig/MYB.bw,bigwig/igg.bw\nABF1,bigwig/ABF1.bw,bigwig/input.bw\n")
    return d, data, sheet


def test_merge_with_controls(signals, tmp_path):
    d, data, sheet = signals
    files = sorted(d.glob("*.h5"))
    out = run(signal=files, outdir=tmp_path / "m", samplesheet=sheet)["signal"]
    with h5py.File(out) as h5:
        tfs = read_strings(h5["tfs"])
        assert tfs == ["WRKY", "MYB", "ABF1"]                       # samplesheet order
        assert read_strings(h5["controls"]) == ["input", "igg"]
        assert h5["tf_control"][()].tolist() == [0, 1, 0]
        assert h5.attrs["control"] == "input,igg"
        assert h5["signal"].shape == (G, W, 3) and h5["signal"].dtype == np.float32
        assert h5["signal"].chunks == (256, W, 3)
        assert h5["control_signal"].shape == (G, W, 2)
        sig, mx, mask = h5["signal"][()], h5["max"][()], h5["mask"][()]
        ctl, ctl_mask = h5["control_signal"][()], h5["control_mask"][()]
        assert read_strings(h5["genes"]) == [f"AT1G{i:05d}" for i in range(G)]
        assert json.loads(h5.attrs["tfvocab_provenance"])["step"] == "merge"
    for j, tf in enumerate(tfs):
        np.testing.assert_array_equal(sig[:, :, j], data[tf][0])    # NaNs compare equal
        np.testing.assert_array_equal(mx[:, :, j], data[tf][1])
        np.testing.assert_array_equal(mask[:, :, j], data[tf][2])
    for j, c in enumerate(["input", "igg"]):
        np.testing.assert_array_equal(ctl[:, :, j], data[c][0])
        np.testing.assert_array_equal(ctl_mask[:, :, j], data[c][2])


def test_without_samplesheet_order_independent(signals, tmp_path):
    d, data, _ = signals
    files = sorted(d.glob("*.h5"))
    a = run(signal=files, outdir=tmp_path / "a")["signal"]
    b = run(signal=files[::-1], outdir=tmp_path / "b")["signal"]
    with h5py.File(a) as ha, h5py.File(b) as hb:
        assert read_strings(ha["tfs"]) == sorted(data)               # controls are plain TFs here
        assert "controls" not in ha and "control" not in ha.attrs
        np.testing.assert_array_equal(ha["signal"][()], hb["signal"][()])
        np.testing.assert_array_equal(ha["mask"][()], hb["mask"][()])


def _err(args):
    res = CliRunner().invoke(main, args)
    lines = [ln for ln in res.output.splitlines() if ln.startswith("Error:")]
    return res.exit_code, lines


def test_tf_name_collision(signals, tmp_path):
    d, _, _ = signals
    _signal(tmp_path / "other.h5", "MYB", 9)
    code, lines = _err(["merge", "--outdir", str(tmp_path / "o"), str(d / "signal.MYB.h5"),
                        str(tmp_path / "other.h5")])
    assert code == 2 and len(lines) == 1 and "other.h5" in lines[0] and "'MYB'" in lines[0]
    assert not (tmp_path / "o" / "signal.h5").exists()


def test_different_genes_or_windows(signals, tmp_path):
    d, _, _ = signals
    genes = [f"AT1G{i:05d}" for i in range(G)]
    genes[17] = "AT9G99999"
    _signal(tmp_path / "g.h5", "X", 1, genes=genes)
    code, lines = _err(["merge", "--outdir", str(tmp_path / "o"), str(d / "signal.MYB.h5"),
                        str(tmp_path / "g.h5")])
    assert code == 2 and "g.h5" in lines[0] and "gene 18" in lines[0] and "AT9G99999" in lines[0]
    _signal(tmp_path / "short.h5", "Y", 1, genes=genes[:10])
    with pytest.raises(TfvocabError, match="10 genes vs 300"):
        run(signal=[d / "signal.MYB.h5", tmp_path / "short.h5"], outdir=tmp_path / "o")
    _signal(tmp_path / "w.h5", "Z", 1, geometry=Geometry(window=100, stride=50))
    code, lines = _err(["merge", "--outdir", str(tmp_path / "o"), str(d / "signal.MYB.h5"),
                        str(tmp_path / "w.h5")])
    assert code == 2 and "w.h5" in lines[0] and "window geometry" in lines[0] and "100 bp" in lines[0]
    assert not (tmp_path / "o").exists() or not list((tmp_path / "o").iterdir())


def test_same_genes_from_shifted_promoters_are_refused(signals, tmp_path):
    """Same gene IDs, but extracted from another promoters.tsv (e.g. shifted coordinates)."""
    d, _, _ = signals
    _signal(tmp_path / "signal.X.h5", "X", 1, promoters="promoters-v2")
    code, lines = _err(["merge", "--outdir", str(tmp_path / "o"), str(d / "signal.MYB.h5"),
                        str(tmp_path / "signal.X.h5")])
    assert code == 2 and len(lines) == 1
    assert "signal.X.h5" in lines[0] and "other promoters" in lines[0] and "signal.MYB.h5" in lines[0]
    assert not (tmp_path / "o" / "signal.h5").exists()


def test_missing_control_and_not_hdf5(signals, tmp_path):
    d, _, sheet = signals
    with pytest.raises(TfvocabError, match="control 'igg' of TF 'MYB'"):
        run(signal=[d / "signal.MYB.h5", d / "signal.input.h5"], outdir=tmp_path / "o",
            samplesheet=sheet)
    (tmp_path / "junk.h5").write_text("not hdf5")
    code, lines = _err(["merge", "--outdir", str(tmp_path / "o"), str(tmp_path / "junk.h5")])
    assert code == 2 and "junk.h5" in lines[0]
    assert not (tmp_path / "o").exists() or not list((tmp_path / "o").iterdir())


def test_extract_then_merge_cli(tmp_path):
    """End to end through the CLI on real bigWigs: merge stacks extract's means and masks."""
    import pyBigWig
    import pandas as pd

    rng = np.random.default_rng(3)
    for tf in ("A", "B", "input"):
        bw = pyBigWig.open(str(tmp_path / f"{tf}.bw"), "w")
        bw.addHeader([("Chr1", 20_000)])
        starts = np.arange(0, 20_000, 10)
        bw.addEntries(["Chr1"] * starts.size, starts.tolist(), ends=(starts + 10).tolist(),
                      values=rng.random(starts.size).tolist())
        bw.close()
    pd.DataFrame({"gene_id": ["g1", "g2", "g3"], "chrom": "Chr1", "start": [3000, 9500, 17600],
                  "end": [5501, 12001, 20000], "strand": ["+", "-", "+"],
                  "start_codon": [5000, 10000, 19600], "clipped": [False, False, True]}
                 ).to_csv(tmp_path / "promoters.tsv", sep="\t", index=False)
    (tmp_path / "sheet.csv").write_text("tf,bigwig,control\nB,B.bw,input.bw\nA,A.bw,input.bw\n")
    res = CliRunner().invoke(main, ["extract", "--promoters", str(tmp_path / "promoters.tsv"),
                                    "--outdir", str(tmp_path / "x")]
                             + [a for tf in ("A", "B", "input") for a in ("--bigwig", str(tmp_path / f"{tf}.bw"))])
    assert res.exit_code == 0, res.output
    res = CliRunner().invoke(main, ["merge", "--outdir", str(tmp_path / "m"), "--samplesheet",
                                    str(tmp_path / "sheet.csv")] + [str(p) for p in sorted((tmp_path / "x").glob("*.h5"))])
    assert res.exit_code == 0, res.output
    with h5py.File(tmp_path / "m" / "signal.h5") as m, h5py.File(tmp_path / "x" / "signal.A.h5") as a:
        assert read_strings(m["tfs"]) == ["B", "A"] and read_strings(m["controls"]) == ["input"]
        np.testing.assert_array_equal(m["signal"][:, :, 1], a["mean"][()])
        np.testing.assert_array_equal(m["mask"][:, :, 1], a["mask"][()])
        assert m["mask"][2].any() and not m["mask"][:2].any()       # the clipped gene
        assert m["signal"].chunks == (3, 50, 2)
