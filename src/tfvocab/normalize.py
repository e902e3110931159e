"""Per-TF normalisation of promoter-window DAP-seq signal (blueprint III.B.3, V.A).

Input is the ``signal.h5`` tensor of ``merge``: ``signal`` float32 (G, W, T), NaN where missing,
with a boolean ``mask`` (G, W, T) that is True there. The transform, applied per TF ``t`` in this
order (each step can be switched off), is

1. **Depth scaling** (blueprint III.B.3.1, "effective library size": signal over the features of
   interest rather than all reads). ``depth_t`` = mean signal per *observed* promoter window
   (= total signal over all promoter windows / number of observed windows, so missing windows do
   not lower a TF's depth). ``reference`` = median of ``depth_t`` over TFs with signal.
   ``scale_t = depth_t / reference`` and the signal is divided by ``scale_t``: every TF ends up at
   the median TF's depth. A TF with zero total signal keeps ``scale_t = 1``.
2. **Input-control subtraction** (III.B.3.2). The control track of TF ``t`` (``control_signal``
   column ``tf_control[t]``) is scaled the same way (``control_scale_t`` = control depth /
   ``reference``) and subtracted; negative results are clipped to 0. Where the control is missing
   for an observed TF window the corrected value is unknown, so that window becomes masked.
   Clipping is **not invertible** (everything below the control maps to 0).
3. **log2(x + c)** with pseudocount ``c`` (III.B.3.4). Negative values (only possible without
   control subtraction, e.g. a signed track) are clipped to 0 first (not invertible; counted).
4. **z-score** per TF across all promoters (III.B.3.3): ``(x - mean_t) / std_t`` with mean/std
   over observed windows only (``std_t = 1`` when the TF is constant).

Missing windows stay NaN + mask through every step and never contribute to any statistic.
A TF is *active* in a window when its depth-scaled (and control-subtracted) signal is > 0;
TFs active in fewer than ``min_active_frac`` of their observed windows are reported as
low-signal (log + ``stats`` attrs) and dropped with ``drop_low_signal``.

:func:`fit_stats` learns the per-TF :class:`Stats`, :func:`apply` applies them (to new genes as
well), :func:`invert` undoes z-score, log and depth scaling (exactly, up to float rounding) for
values that were not clipped.
"""
from __future__ import annotations

import dataclasses
import json
import warnings
from pathlib import Path
from typing import Callable, Iterable, Iterator

import numpy as np

from .errors import TfvocabError
from . import formats
from .io import provenance
from .publish import step_outputs
from .log import get_logger, progress, timed

logger = get_logger("normalize")

STEPS = ("depth", "control", "log", "zscore")
CHUNK_GENES = 256


@dataclasses.dataclass
class Stats:
    """Per-TF normalisation parameters; every array has shape (T,) in ``tfs`` order.

    ``scale``: depth scale factor (signal is divided by it; 1 when depth is off).
    ``control_scale``: scale factor of the TF's control track (NaN without a control).
    ``tf_control``: index of the TF's control column in ``control_signal`` (-1: none).
    ``pseudocount``: c of log2(x + c). ``mean``/``std``: z-score parameters in log units.
    ``kept``: False for TFs dropped as low-signal. ``active_frac``: fraction of observed windows
    with signal > 0 after depth scaling / control subtraction. ``n_observed``: observed windows.
    ``steps``: which of depth/control/log/zscore were applied.
    """

    tfs: list[str]
    scale: np.ndarray
    control_scale: np.ndarray
    tf_control: np.ndarray
    pseudocount: np.ndarray
    mean: np.ndarray
    std: np.ndarray
    kept: np.ndarray
    active_frac: np.ndarray
    n_observed: np.ndarray
    steps: dict[str, bool]
    reference_depth: float = 1.0
    min_active_frac: float = 0.0

    @property
    def low_signal(self) -> np.ndarray:
        """Bool (T,): TFs active in fewer than ``min_active_frac`` of their observed windows."""
        return self.active_frac < self.min_active_frac

    def subset(self, order: np.ndarray) -> "Stats":
        """The same stats for TFs reordered/selected by integer index array ``order``."""
        kw = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        for name, val in kw.items():
            if isinstance(val, np.ndarray):
                kw[name] = val[order]
        kw["tfs"] = [self.tfs[i] for i in order]
        return Stats(**kw)


# ---------------------------------------------------------------- array functions (no I/O)

def depth_totals(signal: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-track signal sum (float64) and number of observed windows (int64) over axes (G, W).

    ``signal``/``mask``: (G, W, T). Returns two (T,) arrays.
    """
    x = np.where(mask, 0.0, signal).astype(np.float64)
    return x.sum(axis=(0, 1)), (~mask).sum(axis=(0, 1)).astype(np.int64)


def _control_columns(control: np.ndarray | None, control_mask: np.ndarray | None,
                     tf_control: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Control signal/mask re-indexed per TF: (G, W, T); zeros / unmasked where no control."""
    idx = np.maximum(tf_control, 0)
    c = control[..., idx].astype(np.float32)
    cm = control_mask[..., idx] if control_mask is not None else np.isnan(c)
    none = tf_control < 0
    c[..., none] = 0.0
    cm = cm.copy()
    cm[..., none] = False
    return c, cm


def pre_log(signal: np.ndarray, mask: np.ndarray, stats: Stats,
            control: np.ndarray | None = None,
            control_mask: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Depth scaling and control subtraction: (G, W, T) float32 values >= 0 and the new mask.

    Values are in "reference depth" units (raw units when depth scaling is off); negatives
    (below the control, or a signed input track) are clipped to 0; masked entries are NaN.
    """
    x = signal.astype(np.float32, copy=True)
    m = np.array(mask, dtype=bool, copy=True)
    if stats.steps.get("depth"):
        x /= stats.scale.astype(np.float32)
    if stats.steps.get("control") and control is not None:
        c, cm = _control_columns(control, control_mask, stats.tf_control)
        cs = np.where(stats.tf_control >= 0, stats.control_scale, 1.0).astype(np.float32)
        x -= c / cs
        m |= cm
    np.maximum(x, 0.0, out=x)
    x[m] = np.nan
    return x, m


def _log_and_z(x: np.ndarray, m: np.ndarray, stats: Stats) -> np.ndarray:
    if stats.steps.get("log"):
        x = np.log2(x + stats.pseudocount.astype(np.float32))
    if stats.steps.get("zscore"):
        x = (x - stats.mean.astype(np.float32)) / stats.std.astype(np.float32)
    x = x.astype(np.float32, copy=False)
    x[m] = np.nan
    return x


def apply(signal: np.ndarray, mask: np.ndarray, stats: Stats,
          control: np.ndarray | None = None,
          control_mask: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Normalise ``signal`` (G, W, T) with fitted ``stats`` (all T TFs, ``kept`` not applied).

    ``control``/``control_mask``: (G, W, C) control tracks (used when ``stats.steps['control']``).
    Returns ``(normalized float32 (G, W, T), mask bool (G, W, T))``; NaN where masked.
    """
    x, m = pre_log(signal, mask, stats, control, control_mask)
    return _log_and_z(x, m, stats), m


def invert(normalized: np.ndarray, stats: Stats) -> np.ndarray:
    """Undo z-score, log and depth scaling: (G, W, T) back to raw signal units.

    Exact (up to float rounding) where nothing was clipped. With control subtraction the result
    is ``max(signal - control * scale / control_scale, 0)`` (the control-corrected signal in the
    TF's raw units): the clipped part cannot be recovered. NaN stays NaN.
    """
    x = normalized.astype(np.float64)
    if stats.steps.get("zscore"):
        x = x * stats.std + stats.mean
    if stats.steps.get("log"):
        x = np.exp2(x) - stats.pseudocount
    if stats.steps.get("depth"):
        x = x * stats.scale
    return x.astype(np.float32)


ChunkSource = Callable[[], Iterable[tuple]]


def fit_stats_chunks(chunks: ChunkSource, tfs: list[str], *, tf_control: np.ndarray | None = None,
                     depth: bool = True, control: bool = True, log: bool = True,
                     zscore: bool = True, pseudocount: float = 1.0,
                     min_active_frac: float = 0.01, drop_low_signal: bool = False,
                     path: str | None = None) -> Stats:
    """Fit :class:`Stats` streaming over gene chunks (two passes).

    ``chunks()`` yields ``(signal, mask, control, control_mask)`` tuples of (g, W, T) /
    (g, W, C) arrays (control entries may be None); it is called once per pass.
    """
    T = len(tfs)
    tf_control = np.full(T, -1, np.int64) if tf_control is None else np.asarray(tf_control, np.int64)
    has_control = bool((tf_control >= 0).any())
    if control and not has_control:
        logger.info("no control tracks: control subtraction skipped")
    steps = {"depth": bool(depth), "control": bool(control and has_control),
             "log": bool(log), "zscore": bool(zscore)}

    # pass 1: per-TF and per-control depth
    s_sum = np.zeros(T)
    s_n = np.zeros(T, np.int64)
    c_sum = c_n = None
    for sig, msk, ctl, cmsk in chunks():
        a, b = depth_totals(sig, msk)
        s_sum += a
        s_n += b
        if steps["control"] and ctl is not None:
            cm = cmsk if cmsk is not None else np.isnan(ctl)
            a, b = depth_totals(ctl, cm)
            c_sum = a if c_sum is None else c_sum + a
            c_n = b if c_n is None else c_n + b
    empty = s_n == 0
    if empty.any():
        names = [tfs[i] for i in np.flatnonzero(empty)]
        if not drop_low_signal:
            raise TfvocabError(f"TF(s) {', '.join(names)} have no observed window (all masked)",
                               path=path, hint="check extract/merge for that TF, or pass "
                               "--drop-low-signal to drop it")
        logger.warning("all-masked TF(s) dropped: %s", ", ".join(names))
    tf_depth = np.where(empty, 0.0, s_sum / np.maximum(s_n, 1))
    positive = tf_depth > 0
    reference = float(np.median(tf_depth[positive])) if positive.any() else 1.0
    scale = np.where(positive, tf_depth / reference, 1.0) if steps["depth"] else np.ones(T)
    control_scale = np.full(T, np.nan)
    if steps["control"] and c_sum is not None:
        c_depth = c_sum / np.maximum(c_n, 1)
        per_tf = c_depth[np.maximum(tf_control, 0)]
        if steps["depth"]:
            cs = np.where(per_tf > 0, per_tf / reference, 1.0)
        else:
            cs = np.ones(T)
        control_scale = np.where(tf_control >= 0, cs, np.nan)
    pc = np.full(T, float(pseudocount))
    stats = Stats(tfs=list(tfs), scale=scale, control_scale=control_scale, tf_control=tf_control,
                  pseudocount=pc, mean=np.zeros(T), std=np.ones(T), kept=~empty,
                  active_frac=np.zeros(T), n_observed=s_n, steps=steps,
                  reference_depth=reference, min_active_frac=float(min_active_frac))

    # pass 2: activity and z-score moments of the log-transformed values
    zsteps = dict(steps, zscore=False)
    tmp = dataclasses.replace(stats, steps=zsteps)
    n = np.zeros(T, np.int64)
    active = np.zeros(T, np.int64)
    m1 = np.zeros(T)
    m2 = np.zeros(T)
    shift = None
    for sig, msk, ctl, cmsk in chunks():
        x, m = pre_log(sig, msk, tmp, ctl, cmsk)
        active += ((x > 0) & ~m).sum(axis=(0, 1))
        y = _log_and_z(x, m, tmp).astype(np.float64)
        obs = ~m
        if shift is None:  # shifted moments: numerically stable single pass
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                shift = np.nan_to_num(np.nanmean(y, axis=(0, 1)))
        d = np.where(obs, y - shift, 0.0)
        n += obs.sum(axis=(0, 1))
        m1 += d.sum(axis=(0, 1))
        m2 += (d * d).sum(axis=(0, 1))
    shift = np.zeros(T) if shift is None else shift
    nn = np.maximum(n, 1)
    mean = shift + m1 / nn
    var = np.maximum(m2 / nn - (m1 / nn) ** 2, 0.0)
    std = np.sqrt(var)
    const = ~(std > 1e-12)
    std[const] = 1.0
    stats.n_observed = n
    stats.active_frac = active / nn
    if steps["zscore"]:
        stats.mean, stats.std = mean, std
    low = stats.low_signal & ~empty
    if low.any():
        names = ", ".join(tfs[i] for i in np.flatnonzero(low))
        logger.warning("low-signal TF(s) (active in < %.3g%% of windows): %s%s",
                    100 * min_active_frac, names, " -> dropped" if drop_low_signal else "")
    if drop_low_signal:
        stats.kept = ~(low | empty)
    return stats


def fit_stats(signal: np.ndarray, mask: np.ndarray, control: np.ndarray | None = None,
              control_mask: np.ndarray | None = None, tf_control: np.ndarray | None = None,
              *, tfs: list[str] | None = None, **kwargs) -> Stats:
    """Fit :class:`Stats` on in-memory arrays.

    ``signal``/``mask``: (G, W, T); ``control``/``control_mask``: (G, W, C) or None;
    ``tf_control``: (T,) control column per TF (-1: none). Keyword options as
    :func:`fit_stats_chunks` (depth, control, log, zscore, pseudocount, min_active_frac,
    drop_low_signal).
    """
    T = signal.shape[-1]
    tfs = list(tfs) if tfs is not None else [f"tf{i}" for i in range(T)]
    return fit_stats_chunks(lambda: [(signal, mask, control, control_mask)], tfs,
                            tf_control=tf_control, **kwargs)


# ---------------------------------------------------------------- the stats record of normalized.h5

def stats_record(stats: Stats) -> dict:
    """``stats`` as the record :class:`tfvocab.formats.NormalizedWriter` stores in the ``stats``
    group: ``{"tfs", "arrays": {field: (T,)}, "attrs": {...}}`` (every field of :class:`Stats`)."""
    arrays, attrs = {}, {}
    for f in dataclasses.fields(stats):
        v = getattr(stats, f.name)
        if f.name == "tfs":
            continue
        if f.name == "steps":
            attrs.update({s: bool(v.get(s, False)) for s in STEPS})
            attrs["applied"] = ",".join(s for s in STEPS if v.get(s))
        elif isinstance(v, np.ndarray):
            arrays[f.name] = v
        else:
            attrs[f.name] = v
    attrs["low_signal_tfs"] = ",".join(t for t, low in zip(stats.tfs, stats.low_signal) if low)
    return {"tfs": list(stats.tfs), "arrays": arrays, "attrs": attrs}


def stats_from_record(rec: dict, path: str | None = None) -> Stats:
    """The :class:`Stats` of a stats record (inverse of :func:`stats_record`)."""
    kw = {}
    for f in dataclasses.fields(Stats):
        if f.name == "tfs":
            kw["tfs"] = list(rec["tfs"])
        elif f.name == "steps":
            kw["steps"] = {s: bool(rec["attrs"].get(s, False)) for s in STEPS}
        elif f.name in rec["arrays"]:
            kw[f.name] = np.asarray(rec["arrays"][f.name])
        elif f.name in rec["attrs"]:
            kw[f.name] = rec["attrs"][f.name]
        elif f.default is dataclasses.MISSING:
            raise TfvocabError(f"the stats lack '{f.name}' (written by another tfvocab version?)",
                               path=path, hint="rerun `tfvocab normalize` to fit new stats")
    return Stats(**kw)


def read_stats(path: str | Path) -> Stats:
    """The :class:`Stats` of a ``normalized.h5`` (for ``--stats``)."""
    return stats_from_record(formats.read_stats(path), str(path))


def align_stats(stats: Stats, tfs: list[str], path: str | None = None) -> Stats:
    """Reorder ``stats`` to the TF order ``tfs``; the TF sets must be identical."""
    missing = [t for t in stats.tfs if t not in set(tfs)]
    extra = [t for t in tfs if t not in set(stats.tfs)]
    if missing or extra:
        parts = []
        if extra:
            parts.append(f"TFs without stats: {', '.join(extra[:10])}")
        if missing:
            parts.append(f"TFs in stats but not in the signal: {', '.join(missing[:10])}")
        raise TfvocabError("--stats TFs do not match the signal's TFs (" + "; ".join(parts) + ")",
                           path=path, hint="use stats fitted on the same TF set")
    pos = {t: i for i, t in enumerate(stats.tfs)}
    return stats.subset(np.array([pos[t] for t in tfs], dtype=np.int64))


def run(signal: str | Path, outdir: str | Path, *, depth: bool = True, control: bool = True,
        log: bool = True, zscore: bool = True, pseudocount: float = 1.0,
        drop_low_signal: bool = False, min_active_frac: float = 0.01,
        stats: str | Path | None = None) -> dict[str, Path]:
    """Normalise ``signal.h5`` into ``outdir/normalized.h5``; returns ``{"normalized": path}``.

    With ``stats`` (a previous ``normalized.h5``) its statistics and steps are reused instead
    of fitted, so new genes get exactly the same transform; the TF sets must match.
    """
    signal, outdir = Path(signal), Path(outdir)
    if pseudocount <= 0 and log and stats is None:
        raise TfvocabError(f"--pseudocount must be > 0 (got {pseudocount})")
    if not 0 <= min_active_frac <= 1:
        raise TfvocabError(f"--min-active-frac must be in [0, 1] (got {min_active_frac})")
    params = dict(signal=str(signal), depth=depth, control=control, log=log, zscore=zscore,
                  pseudocount=pseudocount, drop_low_signal=drop_low_signal,
                  min_active_frac=min_active_frac, stats=str(stats) if stats else None)
    with formats.SignalFile(signal) as src:
        G, W, T = src.shape

        def chunks(use_control: bool, desc: str):
            starts = range(0, G, CHUNK_GENES)
            return progress(src.chunks(use_control, CHUNK_GENES), desc=desc, total=len(starts),
                            unit="chunk")

        if stats is not None:
            st = align_stats(read_stats(stats), src.tfs, path=str(stats))
            logger.info("reusing stats from %s (steps: %s)", stats,
                        ",".join(s for s in STEPS if st.steps.get(s)) or "none")
            if st.steps.get("control") and not src.has_control:
                raise TfvocabError("the --stats file applied control subtraction but this "
                                   "signal has no control tracks", path=str(signal))
        else:
            with timed(f"fitting normalisation stats on {G} genes x {W} windows x {T} TFs", logger):
                st = fit_stats_chunks(lambda: chunks(control, "fit"), src.tfs,
                                      tf_control=src.tf_control, depth=depth, control=control,
                                      log=log, zscore=zscore, pseudocount=pseudocount,
                                      min_active_frac=min_active_frac,
                                      drop_low_signal=drop_low_signal, path=str(signal))
        keep = np.flatnonzero(st.kept)
        if len(keep) == 0:
            raise TfvocabError("every TF was dropped as low-signal", path=str(signal),
                               hint="lower --min-active-frac or omit --drop-low-signal")
        dropped = [t for t, k in zip(st.tfs, st.kept) if not k]
        low = [t for t, is_low in zip(st.tfs, st.low_signal) if is_low]
        attrs = {"low_signal_tfs": json.dumps(low)}
        if "control" in src.attrs:
            attrs["control"] = src.attrs["control"]
        prov = provenance("normalize", params)
        prov["input_provenance"] = src.provenance
        n_masked = 0
        out_path = outdir / "normalized.h5"
        with step_outputs(outdir, "normalize", params) as out, timed(f"writing {out_path}", logger), \
                formats.NormalizedWriter(out.path("normalized.h5"), genes=src.genes,
                                         tfs=[st.tfs[i] for i in keep], geometry=src.geometry,
                                         stats=stats_record(st), dropped=dropped,
                                         lineage={"promoters": src.lineage.get("promoters"),
                                                  "signal": src.artifact_id},
                                         attrs=attrs, prov=prov) as w:
            g0 = 0
            for sig, msk, ctl, cmsk in chunks(st.steps.get("control", False), "apply"):
                x, m = apply(sig, msk, st, ctl, cmsk)
                w.write(g0, x[..., keep], m[..., keep])
                n_masked += int(m[..., keep].sum())
                g0 += len(sig)
    Tk = len(keep)
    logger.info("normalized %d genes x %d windows x %d TFs (%d dropped, %.2f%% masked); steps: %s",
                G, W, Tk, len(dropped), 100.0 * n_masked / max(1, G * W * Tk),
                ",".join(s for s in STEPS if st.steps.get(s)) or "none")
    return {"normalized": out_path}


__all__ = ["Stats", "fit_stats", "fit_stats_chunks", "apply", "invert", "pre_log", "depth_totals",
           "read_stats", "stats_record", "stats_from_record", "align_stats", "run"]
