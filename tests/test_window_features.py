"""Sub-window features of extract: the signal centre of mass of each window (window_com)."""
from __future__ import annotations

import numpy as np
import pytest

from tfvocab.data.windowstats import window_com, window_points


def _per_base(s, e, v, length):
    out = np.zeros(length)
    for a, b, x in zip(s, e, v):
        out[a:b] = x
    return out


@pytest.mark.parametrize("seed", [0, 1])
def test_window_com_matches_per_base(seed):
    """Prefix-sum centre of mass == per-base weighted mean of base centres, at chromosome-scale
    coordinates (30 Mb offset: error < 1e-3 bp), NaN where a window has no positive mass."""
    rng = np.random.default_rng(seed)
    length, base = 3000, 30_000_000
    cuts = np.unique(rng.integers(1, length, 400))
    s, e = cuts[:-1], cuts[1:]
    keep = rng.random(s.size) < 0.7
    s, e = s[keep].astype(np.int64), e[keep].astype(np.int64)
    v = rng.gamma(0.8, 3.0, s.size).astype(np.float32)
    v[rng.random(s.size) < 0.2] = 0
    v[rng.random(s.size) < 0.05] = -1.0                  # negatives are clipped to 0
    ref = np.maximum(_per_base(s, e, v, length), 0)
    ws = rng.integers(0, length - 60, 300).astype(np.int64)
    we = ws + rng.integers(10, 60, 300)
    com = window_com(s + base, e + base, v, ws + base, we + base)
    com2 = window_com(s + base, e + base, v, ws + base, we + base,
                      points=window_points(ws + base, we + base))
    np.testing.assert_array_equal(com, com2)
    for k in range(ws.size):
        w = ref[ws[k]:we[k]]
        if w.sum() == 0:
            assert np.isnan(com[k])
        else:
            expect = (w * (np.arange(w.size) + 0.5)).sum() / w.sum()
            assert com[k] == pytest.approx(expect, abs=1e-3)         # bp


def test_window_com_peak_position():
    """A symmetric peak centred at base c of a window gives c + 0.5; one record spanning the
    whole window gives the window centre; no records gives NaN."""
    s = np.arange(100, 141, dtype=np.int64)
    v = np.exp(-0.5 * ((s - 120) / 5.0) ** 2).astype(np.float32)
    com = window_com(s, s + 1, v, np.array([100, 90], np.int64), np.array([150, 150], np.int64))
    np.testing.assert_allclose(com, [20.5, 30.5], atol=1e-6)
    flat = window_com(np.array([0], np.int64), np.array([1000], np.int64), np.array([2.0], np.float32),
                      np.array([200], np.int64), np.array([250], np.int64))
    assert flat[0] == pytest.approx(25.0)
    none = window_com(np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.float32),
                      np.array([0], np.int64), np.array([50], np.int64))
    assert np.isnan(none[0])
