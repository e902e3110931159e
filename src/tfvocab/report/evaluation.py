"""Evaluation section: the verdict and every model on the held-out universe (``summary.json`` / ``metrics.json``)."""
from __future__ import annotations

from pathlib import Path
from typing import Mapping

import pandas as pd

from ..log import get_logger
from .facts import Evaluation, metric_triple, metrics_frame, model_order
from .files import first_file, output_files, read_json
from .markup import KIND_TEXT, esc, fmt_ci, fmt_count, missing, png_file, raw_json, table_html


log = get_logger("report")


def verdict_html(ev: Evaluation) -> str:
    """The verdict box: sentence, n, interval and where it comes from."""
    if not ev.verdict:
        why = ("metrics.json has no universe evaluation (an older tfvocab evaluate)" if ev.legacy
               else "no summary.json or metrics.json among the inputs")
        return (f'<div class="verdict v-none">No verdict: {esc(why)}.'
                "<small>Run <code>tfvocab evaluate</code> per fold and <code>tfvocab summarize</code>"
                " to get one.</small></div>")
    kind = ev.kind if ev.kind in KIND_TEXT else "none"
    n = ev.n
    parts = []
    if n.get("n_genes") is not None:
        parts.append(f"n = {fmt_count(n['n_genes'])} held-out genes")
    if n.get("n_pairs") is not None:
        parts.append(f"{fmt_count(n['n_pairs'])} pairs (every pair among them)")
    if n.get("n_pos") is not None:
        prev = n.get("prevalence")
        parts.append(f"{fmt_count(n['n_pos'])} positives" + (f" (prevalence {prev:.4f})" if prev else ""))
    if ev.n_folds:
        parts.append(f"{ev.n_folds} fold{'s' if ev.n_folds != 1 else ''}")
    diff = ev.difference or {}
    dtxt = ""
    if diff.get("mean") is not None and "Δ" not in ev.verdict:
        ci = diff.get("ci") or [None, None]
        dtxt = (f"Transformer − {ev.best_baseline}: Δ{str(diff.get('metric', 'auprc')).upper()} = "
                f"{fmt_ci(diff['mean'], ci[0], ci[1])} (95% CI). ")
    return (f'<div class="verdict v-{esc(kind)}"><b>Verdict:</b> the transformer is {esc(ev.verdict)}.'
            f"<small>{esc(dtxt)}{esc('; '.join(parts))}. Source: {esc(ev.source)}.</small></div>")


def section_evaluation(files: Mapping[str, list[Path]], ev: Evaluation) -> str:
    parts = []
    if not ev.folds and ev.source is None:
        return missing("metrics.json / summary.json (held-out metrics vs baselines)")
    if ev.truth:
        order = model_order(ev, ev.truth)
        parts.append("<h3>Against the planted truth (simulated data)</h3>" + table_html(
            metrics_frame(ev.truth, order), caption="The same universe scored against the true "
                                                    "modules instead of the observed co-expression list"))
    with_uni = [(p, m) for p, m in ev.folds if isinstance(m.get("universe"), Mapping)]
    if with_uni:
        names = model_order(ev, {n: r for _, m in with_uni for n, r in m["universe"].items()})
        for metric in ("auprc", "auroc"):
            rows = []
            for name in names:
                row = {"model": name}
                for p, m in with_uni:
                    row[f"fold {m.get('fold', '?')}"] = fmt_ci(*metric_triple(m["universe"].get(name), metric))
                rows.append(row)
            sizes = {"model": "held-out genes / pairs / positives"}
            for p, m in with_uni:
                r = m["universe"].get(ev.transformer) or next(iter(m["universe"].values()))
                sizes[f"fold {m.get('fold', '?')}"] = f"{fmt_count(r.get('n_genes'))} / {fmt_count(r.get('n_pairs'))} / {fmt_count(r.get('n_pos'))}"
            table = table_html(pd.DataFrame(rows + [sizes]), max_rows=40,
                               caption=f"{metric.upper()} of each fold's held-out universe (95% interval)")
            parts.append(("<h3>Per fold</h3>" + table) if metric == "auprc" else
                         f"<details><summary>AUROC per fold</summary>{table}</details>")
    sampled = [(p, m) for p, m in ev.folds if m.get("summary") or m.get("models")]
    if sampled:
        p, m = sampled[0]
        parts.append("<h3>Sampled test pairs (secondary)</h3>"
                     '<p class="note">Metrics on the sampled pairs of pairs.tsv only (positives and '
                     "sampled negatives): kept for comparison with earlier versions; the universe above "
                     "is the honest reference.</p>" + _legacy_tables(m))
    figs = []
    for name in ("summary.png", "pr_curve.png", "roc_curve.png"):
        q = first_file(files, name)
        if q is not None:
            figs.append(png_file(q))
    parts.extend(figs)
    summ = next(iter(output_files(files, "summary.json")), None)
    if summ is not None:
        try:
            parts.append(raw_json(read_json(summ), "summary.json"))
        except (OSError, ValueError) as exc:
            parts.append(missing(f"a readable {summ}", f"{type(exc).__name__}: {exc}"))
    for p, m in ev.folds:
        parts.append(raw_json({k: v for k, v in m.items() if k != "provenance"}, f"{p.parent.name}/{p.name}"))
    return "\n".join(parts)


LEGACY_COLUMNS = ["auprc", "auroc", "precision_at_10", "precision_at_50", "precision_at_100",
                  "precision_at_npos", "f1", "accuracy", "n", "n_pos", "pos_fraction"]


def _legacy_tables(m: Mapping) -> str:
    """Per-model records of an older metrics.json (``summary`` list / ``models`` dict / flat)."""
    recs = None
    if isinstance(m.get("summary"), list):
        recs = [dict(r) for r in m["summary"] if isinstance(r, Mapping)]
        for r in recs:
            r["model"] = r.get("model", r.get("name", "?"))
    elif isinstance(m.get("models"), Mapping):
        recs = [{"model": k, **{kk: vv for kk, vv in v.items() if not isinstance(vv, (dict, list))}}
                for k, v in m["models"].items() if isinstance(v, Mapping)]
    if not recs:
        return '<p class="note">no per-model table.</p>'
    df = pd.DataFrame(recs)
    cols = [c for c in LEGACY_COLUMNS if c in df]
    if "auprc" in df:
        df = df.sort_values("auprc", ascending=False)
    return table_html(df[["model"] + cols], max_rows=30, caption="sampled test pairs")
