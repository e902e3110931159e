"""The fitted per-TF normalisation parameters (:class:`Stats`), the guard's verdict on them, and
their record in ``normalized.h5``.

``normalize`` fits and applies them (the model, the low-signal test and the guard are described
in :mod:`tfvocab.data.normalize`'s docstring); ``stats_record`` / ``stats_from_record`` convert them to
and from the ``stats`` group :mod:`tfvocab.formats` stores; ``read_stats`` / ``align_stats`` reuse
a previous file's stats (``--stats``).
"""
from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np

from .. import formats
from ..errors import TfvocabError


STEPS = ("depth", "control", "log", "zscore", "enrichment")
NO_ENRICHMENT_P = 1e-3       # binomial test of a TF's enriched-window count against chance
NULL_EXCESS_MAX = 10.0       # guard: background windows at p <= c (1e-3 <= c <= NULL_P_MAX) more
                             # than this many times c: the model does not fit the tail
MAX_ENRICHED_FRAC = 0.25     # guard: a TF called in more of its windows than this is implausible


@dataclasses.dataclass
class Stats:
    """Per-TF normalisation parameters; every array has shape (T,) in ``tfs`` order.

    ``scale``: depth scale factor (signal is divided by it; 1 when depth is off).
    ``control_scale``: scale factor of the TF's control track (NaN without a control).
    ``tf_control``: index of the TF's control column in ``control_signal`` (-1: none).
    ``pseudocount``: c of log2(x + c). ``mean``/``std``: z-score parameters in log units.
    ``kept``: False for TFs dropped as low-signal. ``active_frac``: fraction of observed windows
    with signal > 0 after depth scaling / control subtraction. ``n_observed``: observed windows.
    ``steps``: which of depth/control/log/zscore/enrichment were applied; ``transform``
    ``enrichment`` or ``logz``; ``alpha``: per-window error rate of enrichment calls. Background
    model (:mod:`tfvocab.data.normalize`'s docstring): ``kappa``, ``background``, ``dispersion``, ``control_floor``,
    ``reach``; ``n_enriched`` / ``p_enrichment``: calls per TF and their binomial p-value.
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
    transform: str = "logz"
    alpha: float = 0.05
    kappa: np.ndarray | None = None          # (T,) TF signal per unit local control (NaN: none)
    background: np.ndarray | None = None     # (T,) fitted background level per window (raw units)
    dispersion: np.ndarray | None = None     # (T,) a: background variance = a * mean
    quantum: np.ndarray | None = None        # (T,) signal resolution (continuity correction)
    null_excess: np.ndarray | None = None    # (T,) max over c of P(p <= c) / c, background windows
    null_level: np.ndarray | None = None     # (T,) the p-level c where that excess is largest
    control_floor: np.ndarray | None = None  # (T,) promoter-wide median level of the TF's control
    reach: tuple = (2, 5)                    # local control reach (windows, from CONTROL_REACH_BP)
    n_enriched: np.ndarray | None = None     # (T,) observed windows with a call (enrichment)
    p_enrichment: np.ndarray | None = None   # (T,) binomial p of n_enriched under chance alone

    @property
    def z_threshold(self) -> float:
        """Calling threshold on enrichment z-scores: ``Phi^-1(1 - alpha / T)``."""
        from scipy.stats import norm

        return float(norm.isf(self.alpha / max(1, len(self.tfs))))

    @property
    def suspect(self) -> np.ndarray:
        """Bool (T,): TFs the guard names (``enrichment``): called in more than
        ``MAX_ENRICHED_FRAC`` of their windows, or with ``null_excess`` above
        ``NULL_EXCESS_MAX`` (:func:`guard_messages`)."""
        out = np.zeros(len(self.tfs), bool)
        if self.transform == "enrichment" and self.n_enriched is not None:
            out |= np.asarray(self.active_frac) > MAX_ENRICHED_FRAC
        if self.null_excess is not None:
            out |= np.asarray(self.null_excess) > NULL_EXCESS_MAX
        return out

    @property
    def low_signal(self) -> np.ndarray:
        """Bool (T,): TFs without enrichment - calls not above chance (``p_enrichment`` >
        ``NO_ENRICHMENT_P``, when known), active in no window, or active in fewer than
        ``min_active_frac`` of their observed windows."""
        low = (self.active_frac < self.min_active_frac) | (self.active_frac <= 0)
        if self.p_enrichment is not None:
            low = low | (np.asarray(self.p_enrichment) > NO_ENRICHMENT_P)
        return low

    def subset(self, order: np.ndarray) -> "Stats":
        """The same stats for TFs reordered/selected by integer index array ``order``."""
        kw = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        for name, val in kw.items():
            if isinstance(val, np.ndarray):
                kw[name] = val[order]
        kw["tfs"] = [self.tfs[i] for i in order]
        return Stats(**kw)


def guard_messages(stats: Stats) -> list[str]:
    """One line per TF the guard names (:attr:`Stats.suspect`), with the figure: called in far
    more windows than binding plausibly covers, or a background the model does not describe."""
    out = []
    if stats.transform != "enrichment" or stats.n_enriched is None:
        return out
    rate = stats.alpha / max(1, len(stats.tfs))
    exc = np.zeros(len(stats.tfs)) if stats.null_excess is None else np.asarray(stats.null_excess)
    level = np.ones(len(stats.tfs)) if stats.null_level is None else np.asarray(stats.null_level)
    for i, t in enumerate(stats.tfs):
        if stats.active_frac[i] > MAX_ENRICHED_FRAC:
            out.append(f"{t}: called enriched in {100 * stats.active_frac[i]:.3g}% of its windows "
                       f"(calling error rate {100 * rate:.2g}%; more than {100 * MAX_ENRICHED_FRAC:g}% "
                       "is not plausible binding: check the track and its control)")
        if exc[i] > NULL_EXCESS_MAX:
            out.append(f"{t}: {100 * level[i] * exc[i]:.3g}% of its background windows are at "
                       f"p <= {level[i]:.2g} (expected <= {100 * level[i]:.2g}%: null z far from "
                       "N(0, 1)): the background model does not describe this track")
    return out


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
        elif v is None:
            continue                      # optional arrays of the enrichment transform
        elif isinstance(v, np.ndarray):
            arrays[f.name] = v
        elif isinstance(v, tuple):
            attrs[f.name] = np.asarray(v, np.int64)
        else:
            attrs[f.name] = v
    attrs["z_threshold"] = stats.z_threshold
    attrs["low_signal_tfs"] = ",".join(t for t, low in zip(stats.tfs, stats.low_signal) if low)
    attrs["suspect_tfs"] = ",".join(t for t, bad in zip(stats.tfs, stats.suspect) if bad)
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
            v = rec["attrs"][f.name]
            kw[f.name] = tuple(int(r) for r in v) if isinstance(f.default, tuple) else v
        elif f.default is dataclasses.MISSING:
            raise TfvocabError(f"the stats lack '{f.name}' (written by another tfvocab version?)",
                               path=path, hint="rerun `tfvocab normalize` to fit new stats")
    if kw.get("transform") == "enrichment":
        # null_excess: stats of the exact tail (earlier ones were fitted with an approximation)
        for name in ("background", "dispersion", "kappa", "control_floor", "null_excess"):
            if kw.get(name) is None:
                raise TfvocabError(f"the stats lack '{name}' (enrichment transform; fitted by an "
                                   "earlier tfvocab?)", path=path,
                                   hint="rerun `tfvocab normalize` to fit new stats")
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
