"""tfvocab.normalize: hand-computed tiny arrays, invertibility, masking, file layout, bad input."""
from __future__ import annotations

import math

import h5py
import numpy as np
import pytest
from click.testing import CliRunner

from tfvocab import normalize as nz
from tfvocab.cli import main
from tfvocab.errors import TfvocabError
from tfvocab.formats import Geometry, SignalWriter
from tfvocab.io import read_strings


def write_signal(path, signal, mask=None, tfs=None, genes=None, control=None, tf_control=None,
                 drop=()):
    """A signal.h5 written by tfvocab.formats (merge's writer), minus datasets in ``drop``
    (removed afterwards, as a damaged file would lack them). W windows of 1 bp."""
    signal = np.asarray(signal, np.float32)
    G, W, T = signal.shape
    mask = np.isnan(signal) if mask is None else np.asarray(mask, bool)
    signal = np.where(mask, np.nan, signal).astype(np.float32)
    tfs = tfs or [f"TF{i}" for i in range(T)]
    genes = genes or [f"AT1G{i:05d}" for i in range(G)]
    geo = Geometry(upstream=0, downstream=W - 1, window=1, stride=1)
    controls = [] if control is None else [f"input{i}" for i in range(np.shape(control)[-1])]
    with SignalWriter(path, genes=genes, tfs=tfs, geometry=geo, controls=controls,
                      tf_control=None if control is None else np.asarray(tf_control, np.int64),
                      lineage={"promoters": "p"}) as w:
        w.write(0, signal=signal, max=signal, mask=mask)
        if control is not None:
            control = np.asarray(control, np.float32)
            w.write(0, control_signal=control, control_mask=np.isnan(control))
    if drop:
        with h5py.File(path, "a") as f:
            for name in drop:
                del f[name]
    return path


# ------------------------------------------------------------------ hand-computed arrays

def _tiny():
    """G=2, W=2, T=2. TF0 = [[1, 3], [MASKED(1000), 0]], TF1 = 2 everywhere."""
    sig = np.zeros((2, 2, 2), np.float32)
    sig[..., 0] = [[1, 3], [1000, 0]]
    sig[..., 1] = 2
    mask = np.zeros_like(sig, bool)
    mask[1, 0, 0] = True
    return sig, mask


def test_depth_scale_by_hand():
    sig, mask = _tiny()
    st = nz.fit_stats(sig, mask, depth=True, log=False, zscore=False)
    # depth: TF0 = (1+3+0)/3 observed windows = 4/3, TF1 = 8/4 = 2; reference = median = 5/3
    assert st.reference_depth == pytest.approx(5 / 3)
    np.testing.assert_allclose(st.scale, [0.8, 1.2])
    x, m = nz.apply(sig, mask, st)
    np.testing.assert_allclose(x[..., 0][~mask[..., 0]], [1.25, 3.75, 0.0], rtol=1e-6)
    np.testing.assert_allclose(x[..., 1], 2 / 1.2, rtol=1e-6)
    assert np.isnan(x[1, 0, 0]) and m[1, 0, 0]  # masked stays NaN + mask, never 0


def test_log_zscore_by_hand():
    sig, mask = _tiny()
    st = nz.fit_stats(sig, mask, depth=False, log=True, zscore=True, pseudocount=1.0)
    # TF0 log2(x+1) over observed windows = [1, 2, 0] -> mean 1, population std sqrt(2/3);
    # the masked 1000 does not enter the statistics.
    assert st.mean[0] == pytest.approx(1.0)
    assert st.std[0] == pytest.approx(math.sqrt(2 / 3))
    # TF1 is constant log2(3): std falls back to 1, so it z-scores to exactly 0
    assert st.mean[1] == pytest.approx(math.log2(3))
    assert st.std[1] == 1.0
    z, m = nz.apply(sig, mask, st)
    s = math.sqrt(2 / 3)
    np.testing.assert_allclose([z[0, 0, 0], z[0, 1, 0], z[1, 1, 0]], [0.0, 1 / s, -1 / s],
                               rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(z[..., 1], 0.0, atol=1e-7)
    assert np.isnan(z[1, 0, 0]) and m.sum() == 1


def test_control_subtraction_by_hand_and_clip_not_invertible():
    # TF0 = [4, 2] (depth 3), TF1 = [1, 1] (depth 1) -> reference 2, scales 1.5 / 0.5
    sig = np.array([[[4, 1], [2, 1]]], np.float32)          # (G=1, W=2, T=2)
    mask = np.zeros_like(sig, bool)
    ctl = np.array([[[2], [6]]], np.float32)                 # control depth 4 -> scale 2
    tf_control = np.array([0, -1])
    st = nz.fit_stats(sig, mask, ctl, np.zeros_like(ctl, bool), tf_control,
                      log=False, zscore=False)
    np.testing.assert_allclose(st.scale, [1.5, 0.5])
    assert st.control_scale[0] == pytest.approx(2.0) and np.isnan(st.control_scale[1])
    x, _ = nz.apply(sig, mask, st, ctl, np.zeros_like(ctl, bool))
    # TF0: 4/1.5 - 2/2 = 5/3 ; 2/1.5 - 6/2 < 0 -> clipped to 0.  TF1 (no control): 1/0.5 = 2
    np.testing.assert_allclose(x[0, :, 0], [5 / 3, 0.0], rtol=1e-6)
    np.testing.assert_allclose(x[0, :, 1], [2.0, 2.0], rtol=1e-6)
    # invert gives the control-corrected raw signal max(s - c*scale/cs, 0): 4 - 2*1.5/2 = 2.5
    # and 0 (the clipped -2.5 is lost: clipping is not invertible)
    np.testing.assert_allclose(nz.invert(x, st)[0, :, 0], [2.5, 0.0], rtol=1e-6)


def test_missing_control_masks_window():
    sig = np.ones((1, 2, 1), np.float32)
    ctl = np.array([[[0.5], [np.nan]]], np.float32)
    st = nz.fit_stats(sig, np.zeros_like(sig, bool), ctl, np.isnan(ctl), np.array([0]),
                      depth=False, log=False, zscore=False)
    x, m = nz.apply(sig, np.zeros_like(sig, bool), st, ctl, np.isnan(ctl))
    assert x[0, 0, 0] == pytest.approx(0.5)
    assert m[0, 1, 0] and np.isnan(x[0, 1, 0])


def test_invert_roundtrip_without_control():
    rng = np.random.default_rng(0)
    sig = rng.gamma(0.5, 4.0, size=(7, 5, 3)).astype(np.float32)
    mask = rng.random(sig.shape) < 0.1
    st = nz.fit_stats(sig, mask, pseudocount=0.5)
    z, m = nz.apply(sig, mask, st)
    back = nz.invert(z, st)
    np.testing.assert_allclose(back[~m], sig[~m], rtol=1e-4, atol=1e-4)
    assert np.isnan(back[m]).all()
    # z-scored: mean 0, std 1 over the observed windows of every TF
    for t in range(3):
        v = z[..., t][~m[..., t]]
        assert abs(v.mean()) < 1e-5 and abs(v.std() - 1) < 1e-4


def test_low_signal_reported_and_dropped():
    sig = np.zeros((4, 5, 3), np.float32)
    sig[..., 0] = 1.0
    sig[0, 0, 1] = 5.0                      # TF1 active in 1/20 = 5 % of windows
    st = nz.fit_stats(sig, np.zeros_like(sig, bool), min_active_frac=0.1)
    np.testing.assert_allclose(st.active_frac, [1.0, 0.05, 0.0])
    assert list(st.low_signal) == [False, True, True]
    assert st.kept.all()                   # reported only
    st2 = nz.fit_stats(sig, np.zeros_like(sig, bool), min_active_frac=0.1, drop_low_signal=True)
    assert list(st2.kept) == [True, False, False]


# ------------------------------------------------------------------ files and CLI

def test_run_layout_and_stats_reuse(tmp_path):
    rng = np.random.default_rng(1)
    sig = rng.gamma(0.3, 5.0, size=(30, 4, 3)).astype(np.float32)
    sig[..., 2] = 0.0                                       # a silent TF
    mask = rng.random(sig.shape) < 0.05
    ctl = rng.gamma(2.0, 1.0, size=(30, 4, 1)).astype(np.float32)
    src = write_signal(tmp_path / "signal.h5", sig, mask, control=ctl, tf_control=[0, 0, -1])
    out = nz.run(src, tmp_path / "a", drop_low_signal=True)["normalized"]
    with h5py.File(out, "r") as f:
        assert read_strings(f["tfs"]) == ["TF0", "TF1"]
        assert read_strings(f["dropped_tfs"]) == ["TF2"]
        assert f["signal"].shape == (30, 4, 2) and f["signal"].dtype == np.float32
        m = f["mask"][()]
        x = f["signal"][()]
        assert np.isnan(x[m]).all() and not np.isnan(x[~m]).any()
        assert m[..., :2][mask[..., :2]].all()             # input-missing stays missing
        g = f["stats"]
        for name in ("scale", "control_scale", "pseudocount", "mean", "std", "kept"):
            assert g[name].shape == (3,)
        assert g.attrs["applied"] == "depth,control,log,zscore"
        assert "tfvocab_provenance" in f.attrs
        full = x
    # the same stats applied to a subset of genes (new data) gives the same rows
    sub = write_signal(tmp_path / "sub.h5", sig[5:12], mask[5:12], control=ctl[5:12],
                       tf_control=[0, 0, -1], genes=[f"AT1G{i:05d}" for i in range(5, 12)])
    out2 = nz.run(sub, tmp_path / "b", stats=out)["normalized"]
    with h5py.File(out2, "r") as f:
        np.testing.assert_array_equal(f["signal"][()], full[5:12])
    # deterministic: a second run is byte-identical in content
    out3 = nz.run(src, tmp_path / "c", drop_low_signal=True)["normalized"]
    with h5py.File(out3, "r") as f:
        np.testing.assert_array_equal(f["signal"][()], full)


def test_switches_recorded(tmp_path):
    sig = np.arange(1, 13, dtype=np.float32).reshape(2, 3, 2)
    src = write_signal(tmp_path / "s.h5", sig)
    out = nz.run(src, tmp_path / "o", depth=False, log=False, zscore=False)["normalized"]
    with h5py.File(out, "r") as f:
        np.testing.assert_allclose(f["signal"][()], sig)    # every step off = identity
        assert f["stats"].attrs["applied"] == ""
        assert not f["stats"].attrs["zscore"]


@pytest.mark.parametrize("missing", ["mask", "signal", "window_start"])
def test_missing_dataset_named(tmp_path, missing):
    src = write_signal(tmp_path / "bad.h5", np.ones((2, 2, 2)), drop=(missing,))
    with pytest.raises(TfvocabError) as exc:
        nz.run(src, tmp_path / "o")
    assert f"'{missing}'" in str(exc.value) and "bad.h5" in str(exc.value)


def test_all_masked_tf(tmp_path):
    sig = np.ones((3, 2, 2), np.float32)
    mask = np.zeros_like(sig, bool)
    mask[..., 1] = True
    src = write_signal(tmp_path / "s.h5", sig, mask, tfs=["ok", "ghost"])
    with pytest.raises(TfvocabError, match="ghost.*all masked"):
        nz.run(src, tmp_path / "o")
    out = nz.run(src, tmp_path / "o", drop_low_signal=True)["normalized"]
    with h5py.File(out, "r") as f:
        assert read_strings(f["tfs"]) == ["ok"]


def test_stats_tf_mismatch(tmp_path):
    a = write_signal(tmp_path / "a.h5", np.ones((2, 2, 2)), tfs=["A", "B"])
    b = write_signal(tmp_path / "b.h5", np.ones((2, 2, 2)), tfs=["A", "C"])
    stats = nz.run(a, tmp_path / "oa")["normalized"]
    with pytest.raises(TfvocabError, match="do not match.*C.*B"):
        nz.run(b, tmp_path / "ob", stats=stats)


def test_cli_bad_input_exit_2_one_line(tmp_path):
    src = write_signal(tmp_path / "bad.h5", np.ones((2, 2, 2)), drop=("mask",))
    res = CliRunner().invoke(main, ["normalize", "--signal", str(src), "--outdir",
                                    str(tmp_path / "o")])
    assert res.exit_code == 2
    assert "missing dataset 'mask'" in res.output and "Traceback" not in res.output


def test_cli_ok(tmp_path):
    src = write_signal(tmp_path / "s.h5", np.arange(8, dtype=np.float32).reshape(2, 2, 2) + 1)
    res = CliRunner().invoke(main, ["normalize", "--signal", str(src), "--outdir",
                                    str(tmp_path / "o"), "--no-zscore", "--pseudocount", "2"])
    assert res.exit_code == 0, res.output
    with h5py.File(tmp_path / "o" / "normalized.h5", "r") as f:
        assert f["stats/pseudocount"][0] == 2.0 and not f["stats"].attrs["zscore"]
