"""Summary section: the data, the task, the verdict, warnings and what to look at next."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

from ..log import get_logger
from .data_qc import health_outliers, health_summary, signal_stats, track_health
from .evaluation import verdict_html
from .facts import Evaluation, TRANSFORMER, control_rows, metric_triple, metrics_frame, model_order
from .files import first_file, get_key, is_simulated, read_json, read_tsv
from .markup import esc, fmt_ci, fmt_count, table_html
from .plots import forest_plot


log = get_logger("report")


#: Warning thresholds of the Summary (held-out genes / positives over all folds, pairs)
MIN_TEST_POSITIVES = 30


MIN_TEST_GENES = 50


MIN_TEST_PAIRS = 1000


#: Warn when more than this fraction of a track's windows are missing
MAX_MISSING_FRACTION = 0.2


def data_facts(files: Mapping[str, list[Path]]) -> dict:
    """Counts for the Summary: genes, chromosomes, TFs, windows, co-expression pairs."""
    facts: dict[str, Any] = {"simulated": is_simulated(files)}
    prom = first_file(files, "promoters.tsv")
    if prom is not None:
        df = read_tsv(prom)
        facts["genes"] = len(df)
        if "chrom" in df:
            facts["chromosomes"] = int(df["chrom"].nunique())
    sig = first_file(files, "normalized.h5") or first_file(files, "signal.h5")
    if sig is not None:
        try:
            st = signal_stats(str(sig))
            facts.update(tfs=len(st["tfs"]), low_signal=st["low_signal"], dropped_tfs=st["dropped"],
                         normalize_warnings=st["guard"],
                         signal_genes=st["genes"], windows=st["windows"],
                         missing=dict(zip(st["tfs"], st["missing"])))
            ws = st["window_start"]
            if ws is not None and len(ws):
                facts["window_bp"] = st["window_bp"]
                facts["span"] = (int(ws[0]), int(ws[-1] + st["window_bp"]))
        except Exception as exc:  # reported in Data QC
            log.warning("report: %s: %s", sig, exc)
    health = track_health(files)
    if health:
        facts["health"] = health
    pr = first_file(files, "pairs.report.json")
    if pr is not None:
        rep = read_json(pr)
        facts["pairs"] = rep.get("counts", {})
        facts["pairs_input"] = rep.get("input", {})
        facts["pairs_settings"] = rep.get("settings", {})
    return facts


def collect_warnings(ev: Evaluation, facts: Mapping) -> list[str]:
    """Plain-text warnings for the box at the top (most important first)."""
    out = list(ev.errors)
    t = ev.transformer
    if ev.verdict and ev.kind != "better":
        base = ev.best_baseline or "the best baseline"
        out.append(f"The verdict is not “better”: the transformer is {ev.verdict}. The interpretation "
                   f"and the predicted network below describe a model that does not beat {base}; "
                   "do not read them as findings.")
    elif not ev.verdict:
        out.append("No verdict (no summary.json / universe metrics): the numbers below are not an "
                   "honest held-out comparison with the baselines.")
    n_pos, n_genes, n_pairs = ev.n.get("n_pos"), ev.n.get("n_genes"), ev.n.get("n_pairs")
    if n_pos is not None and n_pos < MIN_TEST_POSITIVES:
        out.append(f"Too few positives: {n_pos} held-out positive pairs (fewer than "
                   f"{MIN_TEST_POSITIVES}); intervals are wide and precision@k is noise.")
    if (n_genes is not None and n_genes < MIN_TEST_GENES) or (n_pairs is not None and n_pairs < MIN_TEST_PAIRS):
        out.append(f"Tiny test set: {n_genes if n_genes is not None else '?'} held-out genes, "
                   f"{n_pairs if n_pairs is not None else '?'} pairs (a demo-sized run; use more genes "
                   "or folds for a real estimate).")
    if t is not None:
        auroc = metric_triple(ev.models.get(t), "auroc")[0]
        if auroc is not None and auroc < 0.5:
            out.append(f"The transformer ranks worse than chance (AUROC {auroc:.3f} < 0.5).")
    elif ev.sampled:
        auroc = (ev.sampled.get(TRANSFORMER) or {}).get("auroc")
        if auroc is not None and auroc < 0.5:
            out.append(f"The transformer ranks worse than chance on the sampled test pairs "
                       f"(AUROC {auroc:.3f} < 0.5).")
    for name, rec in control_rows(ev.control).items():
        mean, lo, hi = metric_triple(rec, "auprc")
        prev = metric_triple(rec, "prevalence")[0] or ev.n.get("prevalence")
        if None not in (lo, hi, prev) and not lo <= prev <= hi:
            out.append(f"The {name} is not at chance (AUPRC {fmt_ci(mean, lo, hi)} vs prevalence "
                       f"{prev:.4f}): a leak between training and test pairs is possible.")
    low = list(facts.get("low_signal") or []) + [t for t in facts.get("dropped_tfs") or []
                                                 if t not in (facts.get("low_signal") or [])]
    if low:
        out.append(f"Low-signal tracks: {len(low)} TF(s) without enrichment ({', '.join(low[:8])}"
                   f"{'…' if len(low) > 8 else ''}); they add noise, not information.")
    guard = facts.get("normalize_warnings") or []
    if guard:
        out.append(f"Normalisation guard: {len(guard)} warning(s) about TF tracks the background "
                   f"model does not describe ({'; '.join(guard[:3])}{'; …' if len(guard) > 3 else ''}); "
                   "their enrichment values are not trustworthy (Data QC).")
    miss = {k: v for k, v in (facts.get("missing") or {}).items() if v > MAX_MISSING_FRACTION}
    if miss:
        worst = sorted(miss.items(), key=lambda kv: -kv[1])[:5]
        out.append(f"Mostly missing tracks: {len(miss)} TF(s) with more than "
                   f"{MAX_MISSING_FRACTION:.0%} of windows missing (" +
                   ", ".join(f"{k} {v:.0%}" for k, v in worst) + "): check chromosome names.")
    for k, x, m in health_outliers(facts.get("health") or {})[:5]:
        h = facts["health"][k]
        out.append(f"Track losing windows: {k} loses {x:.0%} of its windows, the other tracks a median "
                   f"{m:.0%} ({h.get('masked_windows', 0):,} masked, {h.get('nonfinite_windows', 0):,} "
                   f"touched by {h.get('nan_records', 0) + h.get('posinf_records', 0):,} NaN/+inf records): "
                   "check its chromosome names and its values (Data QC, Track health).")
    c = facts.get("pairs") or {}
    before = c.get("positives_before_split")
    cross = c.get("pairs_dropped_crossing_partitions")
    if before and cross and cross / before > 0.5:
        out.append(f"Dropped pairs: {fmt_count(cross)} of {fmt_count(before)} listed positive pairs ({cross / before:.0%}) "
                   "join genes of two partitions and were dropped by the gene-disjoint split.")
    if c.get("pairs_without_promoters_dropped"):
        out.append(f"Dropped pairs: {fmt_count(c['pairs_without_promoters_dropped'])} co-expression pairs name "
                   f"{c.get('genes_without_promoters', '?')} gene(s) without a promoter (e.g. "
                   f"{', '.join((c.get('genes_without_promoters_examples') or [])[:3])}).")
    idm = get_key(facts.get("pairs_input"), "id_map")
    if isinstance(idm, Mapping) and idm.get("ids_unmapped"):
        out.append(f"Unmapped IDs: {fmt_count(idm['ids_unmapped'])} of {fmt_count(idm.get('ids_in_data'))} co-expression "
                   f"IDs are not in the ID map ({fmt_count(idm.get('rows_dropped_unmapped', 0))} lines dropped).")
    return out


def next_steps(ev: Evaluation, facts: Mapping) -> list[str]:
    """What to look at next, given the verdict."""
    base = ev.best_baseline or "the best baseline"
    if ev.kind == "better":
        steps = ["Interpretation: which TFs and promoter positions carry the prediction (knock-outs, "
                 "attributions) — the model beats the baselines, so these are worth reading.",
                 "Predicted network: new co-expression candidates, modules and hub genes."]
        if facts.get("simulated"):
            steps.append("Predicted network: the recovered modules against the planted ones (ARI / NMI).")
        return steps
    if ev.kind == "not_distinguishable":
        return [f"Evaluation: how far the transformer is from {base}, fold by fold.",
                "Data QC: low-signal TFs, missing windows and dropped pairs — the tracks may carry "
                "little information about this co-expression list.",
                "More data narrows the interval: more co-expression positives (a lower --threshold or "
                "larger --top-n) or more folds."]
    if ev.kind == "too_few_positives":
        return ["Give more held-out positives: a larger co-expression list (lower --threshold, larger "
                "--top-n), more genes, or more folds.",
                "Data QC: how many listed pairs were dropped (genes without promoters, crossing pairs)."]
    return ["Run evaluate on every fold and summarize (tfvocab summarize) to get the verdict.",
            "Data QC and Training below describe the run so far."]


def section_summary(files: Mapping[str, list[Path]], ev: Evaluation, facts: Mapping) -> str:
    parts = [verdict_html(ev)]
    warns = collect_warnings(ev, facts)
    if warns:
        parts.append('<div class="warnings"><h3>Warnings</h3><ul>'
                     + "".join(f"<li>{esc(w)}</li>" for w in warns) + "</ul></div>")
    # data
    kind = ("Simulated data (planted regulatory grammar; the truth is known and checked below)"
            if facts.get("simulated") else "Real data (no planted truth)")
    items = [kind]
    if "genes" in facts:
        items.append(f"{fmt_count(facts['genes'])} genes with a promoter"
                     + (f" on {facts['chromosomes']} chromosome(s)" if "chromosomes" in facts else ""))
    if "tfs" in facts:
        low = facts.get("low_signal") or []
        items.append(f"{facts['tfs']} DAP-seq TF tracks" + (f" ({len(low)} low-signal)" if low else "")
                     + (f"; {facts['windows']} windows of {facts.get('window_bp', '?')} bp per promoter"
                        if "windows" in facts else ""))
    if facts.get("health"):
        items.append(health_summary(facts["health"]))
    c = facts.get("pairs") or {}
    if c:
        layout = get_key(facts.get("pairs_input"), "layout")
        items.append(f"{fmt_count(c.get('positives_listed', c.get('positives_before_split')))} co-expressed "
                     f"pairs listed among {fmt_count(c.get('genes_listed'))} genes"
                     + (f" (read as {layout})" if layout and layout != "edges" else ""))
    parts.append("<h3>Data</h3><ul class=\"tight\">" + "".join(f"<li>{esc(i)}</li>" for i in items) + "</ul>")
    # task
    span = facts.get("span")
    region = f"{span[0]}..+{span[1]} bp around the start codon" if span else "promoters"
    folds = f" in {ev.n_folds} gene-disjoint folds" if ev.n_folds else " on held-out genes"
    parts.append("<h3>Task</h3><p>Predict whether two genes are co-expressed from the DAP-seq binding "
                 f"of {facts.get('tfs', 'the')} TFs over their promoters ({esc(region)}). Evaluated{folds}: "
                 "every pair among the held-out genes is scored (listed pairs positive, all others "
                 "unlabelled), against training-free and trained baselines.</p>")
    # key numbers
    if ev.models:
        order = model_order(ev, ev.models)
        rows = dict(ev.models)
        for name, rec in control_rows(ev.control).items():
            rows[name] = rec
            order.append(name)
        df = metrics_frame(rows, order)
        best = [i for i, n in enumerate(df["model"]) if n in (ev.transformer, ev.best_baseline)]
        parts.append("<h3>Key numbers</h3>" + table_html(
            df, max_rows=20, best_rows=best,
            caption="Every pair among the held-out genes (the universe); mean over folds with 95% "
                    "intervals (gene bootstrap within folds + spread across folds). AUPRC is read "
                    "against the prevalence beside it."))
        parts.append(forest_plot(ev))
    parts.append("<h3>What to look at next</h3><ul class=\"tight\">"
                 + "".join(f"<li>{esc(s)}</li>" for s in next_steps(ev, facts)) + "</ul>")
    return "\n".join(parts)
