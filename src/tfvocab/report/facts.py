"""Evaluation facts the sections share: every model's metrics and the verdict, read from ``summary.json`` (else one fold's ``metrics.json``)."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

import pandas as pd

from ..log import get_logger
from .files import get_key, output_files, read_json
from .markup import METRIC_LABELS, fmt_ci


log = get_logger("report")

TRANSFORMER = "transformer"


def metric_triple(m: Mapping | None, metric: str) -> tuple:
    """(mean, lo, hi) of ``metric`` from a summary entry ``{mean, ci}`` or a metrics.json record
    (``metric`` and ``metric_ci``); dotted names reach into ``precision_at``."""
    if not isinstance(m, Mapping):
        return (None, None, None)
    if "." in metric:
        head, tail = metric.split(".", 1)
        if isinstance(m.get(head), Mapping) and not {"mean", "ci"} & set(m[head]):
            return metric_triple(m[head], tail)
        return metric_triple(m, metric.replace(".", "_"))
    v = m.get(metric)
    if isinstance(v, Mapping):
        ci = v.get("ci") or [None, None]
        return (v.get("mean"), ci[0], ci[1])
    ci = m.get(f"{metric}_ci") or [None, None]
    return (v, ci[0], ci[1])


@dataclass
class Evaluation:
    """What the Summary needs from ``summary.json`` / ``metrics.json``."""

    source: str | None = None            # "summary.json" or "metrics.json (fold k)"
    verdict: str | None = None
    kind: str | None = None
    best_baseline: str | None = None
    n_folds: int | None = None
    difference: dict = field(default_factory=dict)
    models: dict = field(default_factory=dict)   # name -> raw per-model mapping (summary or universe)
    truth: dict = field(default_factory=dict)
    control: Any = None
    folds: list = field(default_factory=list)    # (path, metrics.json dict) per fold
    n: dict = field(default_factory=dict)        # n_pairs, n_genes, n_pos, prevalence (transformer)
    legacy: bool = False                         # metrics.json without a universe
    sampled: dict = field(default_factory=dict)  # legacy: per-model metrics on sampled test pairs
    errors: list = field(default_factory=list)   # unreadable evaluation files

    @property
    def transformer(self) -> str | None:
        if TRANSFORMER in self.models:
            return TRANSFORMER
        return next((k for k in self.models if k != self.best_baseline), None)


def load_evaluation(files: Mapping[str, list[Path]]) -> Evaluation:
    """Read ``summary.json`` (all folds) or, without it, the ``metrics.json`` files (one per fold)."""
    ev = Evaluation()
    for p in output_files(files, "metrics.json"):
        try:
            ev.folds.append((p, read_json(p)))
        except (OSError, ValueError) as exc:
            ev.errors.append(f"{p} is unreadable ({type(exc).__name__}: {exc})")
            log.warning("report: cannot read %s: %s", p, exc)
    ev.folds.sort(key=lambda t: (t[1].get("fold") is None, t[1].get("fold") or 0, str(t[0])))
    summ = next((p for p in output_files(files, "summary.json")), None)
    s = None
    if summ is not None:
        try:
            s = read_json(summ)
        except (OSError, ValueError) as exc:
            ev.errors.append(f"{summ} is unreadable ({type(exc).__name__}: {exc}); the verdict below "
                             "comes from one fold's metrics.json")
            log.warning("report: cannot read %s: %s", summ, exc)
    if s is not None:
        ev.source = "summary.json"
        ev.verdict, ev.kind = s.get("verdict"), s.get("verdict_kind")
        ev.best_baseline, ev.n_folds = s.get("best_baseline"), s.get("n_folds")
        ev.difference = s.get("difference") or {}
        ev.models = s.get("models") or {}
        ev.truth = s.get("truth_models") or s.get("truth") or {}
        ev.control = s.get("control")
    elif ev.folds:
        p, m = ev.folds[0]
        ev.source = f"metrics.json (fold {m.get('fold', 0)})"
        ev.verdict, ev.kind = m.get("verdict"), m.get("verdict_kind")
        ev.best_baseline, ev.n_folds = m.get("best_baseline"), m.get("n_folds")
        ev.models = m.get("universe") or {}
        ev.difference = m.get("difference") or {}
        ev.control = m.get("control")
        ev.legacy = "universe" not in m
        if ev.legacy:
            recs = m.get("summary") if isinstance(m.get("summary"), list) else []
            ev.sampled = {r.get("model", "?"): r for r in recs if isinstance(r, Mapping)}
            if isinstance(m.get("models"), Mapping) and not ev.sampled:
                ev.sampled = {k: v for k, v in m["models"].items() if isinstance(v, Mapping)}
    if not ev.truth and ev.folds:
        ev.truth = ev.folds[0][1].get("truth_universe") or {}
    if ev.control is None and ev.folds:
        ev.control = ev.folds[0][1].get("control")
    # held-out counts: folds are gene-disjoint, so their universes add up
    t = ev.transformer
    recs = [get_key(m, "universe", t) for _, m in ev.folds if isinstance(get_key(m, "universe", t), Mapping)]
    if ev.source != "summary.json" and recs:
        recs = recs[:1]
    for key in ("n_pairs", "n_genes", "n_pos"):
        vals = [r.get(key) for r in recs if r.get(key) is not None]
        if vals:
            ev.n[key] = int(sum(vals))
        elif t is not None and isinstance(get_key(ev.models, t, key), Mapping):
            entry = ev.models[t][key]
            per = entry.get("per_fold")
            ev.n[key] = int(sum(per)) if per else int(round((entry.get("mean") or 0) * (ev.n_folds or 1)))
    if ev.legacy and ev.folds:
        m = ev.folds[0][1]
        rec = ev.sampled.get(TRANSFORMER) or next(iter(ev.sampled.values()), {})
        for key, src in (("n_pairs", m.get("n_test_pairs", rec.get("n"))),
                         ("n_genes", m.get("n_test_genes")), ("n_pos", rec.get("n_pos"))):
            if src is not None:
                ev.n[key] = int(src)
    if ev.n.get("n_pairs"):
        ev.n["prevalence"] = ev.n.get("n_pos", 0) / ev.n["n_pairs"]
    elif t is not None:
        ev.n["prevalence"] = metric_triple(ev.models.get(t), "prevalence")[0]
    return ev


def control_rows(control) -> dict:
    """The control (shuffled labels / permutation null) as ``{name: record}``."""
    if not isinstance(control, Mapping):
        return {}
    if any(isinstance(v, Mapping) and ("auprc" in v or "mean" in v) for v in control.values()) \
            and "auprc" not in control:
        return {f"control: {k}": v for k, v in control.items() if isinstance(v, Mapping)}
    return {f"control: {control.get('name', control.get('kind', 'shuffled labels'))}": control}


def metrics_frame(models: Mapping, order: list[str] | None = None) -> pd.DataFrame:
    """One row per model: each metric as ``mean [lo, hi]`` text (the main metrics first)."""
    rows = []
    for name in order or list(models):
        if name not in models:
            continue
        m = models[name]
        row = {"model": name}
        for key, label in METRIC_LABELS.items():
            mean, lo, hi = metric_triple(m, key)
            if mean is None:
                continue
            row[label] = fmt_ci(mean, lo, hi) if key in ("auprc", "auroc") else fmt_ci(mean)
        rows.append(row)
    return pd.DataFrame(rows)


def model_order(ev: Evaluation, models: Mapping) -> list[str]:
    t = ev.transformer
    first = [n for n in (t, ev.best_baseline) if n in models]
    rest = sorted((n for n in models if n not in first),
                  key=lambda n: -(metric_triple(models[n], "auprc")[0] or -1))
    return first + rest
