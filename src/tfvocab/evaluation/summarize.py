"""Aggregate the folds' ``metrics.json`` into one summary and one verdict (``tfvocab summarize``).

For every model and universe metric: the mean over the K folds and a 95 % interval; the paired
difference transformer - best baseline (the baseline with the highest mean universe AUPRC)
with its interval; the verdict sentence. Intervals of AUPRC and AUROC (and of their
differences) come from a two-level bootstrap (:func:`hierarchical_mean_ci`): folds resampled
with replacement, then, inside each drawn fold, one of its gene-bootstrap replicates (the same
replicate index for every model of a fold, so differences stay paired). The interval therefore
holds the spread across folds (training genes, models) and the sampling of test genes within a
fold; it is conservative (the within-fold variance is counted in both levels). Metrics without
replicates (prevalence, partial AUROC, precision@k) get a t-interval over the folds.

Writes ``summary.json`` (docs/evaluation.md), ``summary.tsv`` (one row per model and metric)
and ``summary.png`` (universe AUPRC and AUROC per model with intervals).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ..model import metrics as M
from ..errors import TfvocabError
from ..io import atomic_path, provenance, read_json, write_json, write_table
from ..log import get_logger
from ..publish import step_outputs

log = get_logger("summarize")

TRANSFORMER = "transformer"
NOT_BASELINES = ("transformer", "oracle", "shuffled_label")
#: universe metrics summarised (precision@k under "precision_at_<k>")
METRICS = ("auprc", "auroc", "prevalence", "auprc_over_prevalence", "pauroc_fpr01")
BOOTSTRAPPED = ("auprc", "auroc")


def read_metrics(paths) -> list[dict]:
    """Read and check the folds' metrics.json: one per fold, same n_folds, no fold twice."""
    out = []
    for p in paths:
        p = Path(p)
        m = read_json(p, "metrics.json")
        for key in ("universe", "fold", "n_folds", "bootstrap"):
            if key not in m:
                raise TfvocabError(f"no '{key}' in this metrics.json", path=str(p),
                                   hint="use the metrics.json of `tfvocab evaluate` (one per fold)")
        m["_path"] = str(p)
        out.append(m)
    if not out:
        raise TfvocabError("no metrics.json given", hint="tfvocab summarize --outdir DIR fold*/metrics.json")
    folds = [m["fold"] for m in out]
    if len(set(folds)) != len(folds):
        dup = next(f for f in folds if folds.count(f) > 1)
        raise TfvocabError(f"fold {dup} is given twice", path=[m["_path"] for m in out if m["fold"] == dup][1])
    nf = {m["n_folds"] for m in out}
    if len(nf) > 1:
        raise TfvocabError(f"the metrics come from designs with different fold counts {sorted(nf)}")
    if len(out) < next(iter(nf)):
        log.warning("%d of %d folds given: the summary covers those only", len(out), next(iter(nf)))
    return sorted(out, key=lambda m: m["fold"])


def hierarchical_mean_ci(replicates: list[np.ndarray], n_draws: int = 4000, seed: int = 0,
                         level: float = 0.95) -> list[float]:
    """Interval of the mean over folds: ``replicates[k]`` (B_k,) are fold k's bootstrap
    replicates (or paired differences). Each draw resamples the K folds with replacement and
    one replicate inside each drawn fold; returns the percentile interval of the draws' means."""
    reps = [np.asarray(r, dtype=np.float64) for r in replicates]
    reps = [r[np.isfinite(r)] for r in reps]
    if not reps or any(len(r) == 0 for r in reps):
        return [float("nan"), float("nan")]
    rng = np.random.default_rng(seed)
    K = len(reps)
    draws = np.empty(n_draws)
    folds = rng.integers(0, K, size=(n_draws, K))
    for d in range(n_draws):
        draws[d] = np.mean([reps[k][rng.integers(len(reps[k]))] for k in folds[d]])
    return M.percentile_ci(draws, level)


def t_interval(values, level: float = 0.95) -> list[float]:
    """Student-t interval of the mean of ``values`` (NaN with fewer than two finite values)."""
    from scipy import stats

    v = np.asarray([x for x in values if x is not None and np.isfinite(x)], dtype=np.float64)
    if len(v) < 2:
        return [float("nan"), float("nan")]
    h = stats.t.ppf(0.5 + level / 2, len(v) - 1) * v.std(ddof=1) / np.sqrt(len(v))
    return [float(v.mean() - h), float(v.mean() + h)]


def _value(m: dict, metric: str):
    if metric.startswith("precision_at_"):
        v = (m.get("precision_at") or {}).get(metric.removeprefix("precision_at_"))
    else:
        v = m.get(metric)
    return float("nan") if v is None else float(v)


def summarize_models(folds: list[dict], key: str = "universe", boot_key: str = "bootstrap",
                     seed: int = 0) -> dict:
    """``{model: {metric: {mean, ci, per_fold}}}`` over the folds that scored the model (all of
    them for the transformer and the baselines; a control may cover fewer, ``folds`` says which)."""
    names = list(dict.fromkeys(n for f in folds for n in f.get(key, {})))
    ks = sorted({k for f in folds for m in f.get(key, {}).values() for k in (m.get("precision_at") or {})},
                key=lambda k: (not k.isdigit(), int(k) if k.isdigit() else 0, k))
    out = {}
    for name in names:
        have = [f for f in folds if name in f.get(key, {})]
        row = {}
        for metric in METRICS + tuple(f"precision_at_{k}" for k in ks):
            per = [_value(f[key][name], metric) for f in have]
            if metric in BOOTSTRAPPED and all(name in f.get(boot_key, {}).get(metric, {}) for f in have):
                ci = hierarchical_mean_ci([f[boot_key][metric][name] for f in have], seed=seed)
            else:
                ci = t_interval(per)
            row[metric] = {"mean": float(np.nanmean(per)) if np.isfinite(per).any() else float("nan"),
                           "ci": ci, "per_fold": per}
        if len(have) < len(folds):
            row["folds"] = [f["fold"] for f in have]
        out[name] = row
    return out


def summarize(folds: list[dict], seed: int = 0, min_pos: int = M.MIN_POSITIVES) -> dict:
    """The summary.json content (without provenance) of the folds' metrics."""
    K = len(folds)
    models = summarize_models(folds, seed=seed)
    baselines = [n for n in models if n not in NOT_BASELINES and "folds" not in models[n]]
    out = {"n_folds": K, "folds": [f["fold"] for f in folds], "models": models}
    n_pos = int(sum(f["universe"][TRANSFORMER]["n_pos"] for f in folds)) if TRANSFORMER in models else 0
    out["n_pos"] = n_pos
    if TRANSFORMER in models and baselines:
        best = max(baselines, key=lambda n: np.nan_to_num(models[n]["auprc"]["mean"], nan=-1))
        out["best_baseline"] = best
        for metric, name in (("auprc", "difference"), ("auroc", "difference_auroc")):
            per = [_value(f["universe"][TRANSFORMER], metric) - _value(f["universe"][best], metric) for f in folds]
            reps = [np.asarray(f["bootstrap"][metric][TRANSFORMER], dtype=np.float64)
                    - np.asarray(f["bootstrap"][metric][best], dtype=np.float64) for f in folds]
            out[name] = {"metric": metric, "against": best, "mean": float(np.mean(per)),
                         "ci": hierarchical_mean_ci(reps, seed=seed), "per_fold": per}
        d = out["difference"]
        out["verdict"], out["verdict_kind"] = M.verdict(best, d["mean"], d["ci"], n_pos, K, min_pos)
    else:
        out["best_baseline"] = None
        out["verdict"], out["verdict_kind"] = "no transformer and baseline in every fold", "not_distinguishable"
    if all("truth_universe" in f for f in folds):
        out["truth"] = summarize_models(folds, "truth_universe", "bootstrap_truth", seed=seed)
    ctrl = {}
    perm = [f.get("control", {}).get("permutation") for f in folds]
    if all(p is not None for p in perm):
        ctrl["permutation"] = {"auprc_mean": float(np.mean([p["auprc_mean"] for p in perm])),
                               "p_value_auprc_per_fold": [p["p_value_auprc"] for p in perm]}
    if "shuffled_label" in models:
        sh = models["shuffled_label"]["auprc"]
        prev = models[TRANSFORMER]["prevalence"]["mean"]
        ctrl["shuffled_label"] = {"auprc_mean": sh["mean"], "auprc_ci": sh["ci"], "prevalence": prev,
                                  "prevalence_within_ci": bool(sh["ci"][0] <= prev <= sh["ci"][1])}
    out["control"] = ctrl
    return out


def summary_table(summary: dict) -> pd.DataFrame:
    """One row per (labels, model, metric): mean, ci_lo, ci_hi and the per-fold values."""
    rows = []
    for labels, block in (("listed", summary["models"]), ("truth", summary.get("truth", {}))):
        for name, row in block.items():
            for metric, v in row.items():
                if metric == "folds":
                    continue
                rows.append({"labels": labels, "model": name, "metric": metric, "mean": v["mean"],
                             "ci_lo": v["ci"][0], "ci_hi": v["ci"][1],
                             "per_fold": ",".join("" if not np.isfinite(x) else f"{x:.6g}" for x in v["per_fold"])})
    for key in ("difference", "difference_auroc"):
        if key in summary:
            d = summary[key]
            rows.append({"labels": "listed", "model": f"transformer - {d['against']}", "metric": d["metric"],
                         "mean": d["mean"], "ci_lo": d["ci"][0], "ci_hi": d["ci"][1],
                         "per_fold": ",".join(f"{x:.6g}" for x in d["per_fold"])})
    return pd.DataFrame(rows)


def plot_summary(summary: dict, path) -> None:
    """Universe AUPRC (with the prevalence) and AUROC per model: fold means and 95 % intervals."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    models = summary["models"]
    names = sorted(models, key=lambda n: -np.nan_to_num(models[n]["auprc"]["mean"], nan=-1))
    fig, axes = plt.subplots(1, 2, figsize=(10, 0.45 * len(names) + 1.8), dpi=110)
    for ax, metric in zip(axes, ("auprc", "auroc")):
        mean = np.array([models[n][metric]["mean"] for n in names], dtype=float)
        lo = np.array([models[n][metric]["ci"][0] for n in names], dtype=float)
        hi = np.array([models[n][metric]["ci"][1] for n in names], dtype=float)
        err = np.vstack([np.clip(mean - lo, 0, None), np.clip(hi - mean, 0, None)])
        err = np.nan_to_num(err)
        colors = ["#c0392b" if n == TRANSFORMER else ("#7f8c8d" if n in NOT_BASELINES else "#2c7fb8") for n in names]
        y = np.arange(len(names))[::-1]
        ax.barh(y, np.nan_to_num(mean), xerr=err, color=colors, capsize=3)
        for yi, n in zip(y, names):
            for x in models[n][metric]["per_fold"]:
                ax.plot(x, yi, "k.", ms=3)
        ax.set_yticks(y, names, fontsize=8)
        if metric == "auprc":
            prev = models[names[0]]["prevalence"]["mean"]
            ax.axvline(prev, color="grey", ls=":", lw=1)
            ax.set_xlabel(f"universe AUPRC (prevalence {prev:.4f}, dotted)")
        else:
            ax.axvline(0.5, color="grey", ls=":", lw=1)
            ax.set_xlabel("universe AUROC (chance 0.5, dotted)")
    fig.suptitle(summary["verdict"], fontsize=8.5)
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png")
    plt.close(fig)


def run(metrics, outdir=".", *, seed: int = 0) -> dict[str, Path]:
    """``tfvocab summarize``: read the folds' metrics.json, write summary.json/.tsv/.png."""
    folds = read_metrics(metrics)
    summary = summarize(folds, seed=seed)
    params = {"metrics": [str(p) for p in metrics], "seed": seed}
    prov = provenance("summarize", params)
    summary["provenance"] = prov
    outdir = Path(outdir)
    with step_outputs(outdir, "summarize", params) as out:
        write_json(out.path("summary.json"), M.strict_json(summary))
        write_table(out.path("summary.tsv"), summary_table(summary), prov, float_format="%.6g")
        plot_summary(summary, out.path("summary.png"))
    log.info("%d folds: %s", summary["n_folds"], summary["verdict"])
    return {"summary": outdir / "summary.json", "table": outdir / "summary.tsv", "plot": outdir / "summary.png"}
