"""Evaluate one fold's model and the baselines on the universe of its held-out genes
(``tfvocab evaluate``).

The universe of fold k is every unordered pair among its test genes (genes with a promoter in
fold k, listed in the co-expression table or not); label 1 = listed positive, 0 = unlabelled.
The transformer and every baseline (:mod:`tfvocab.evaluation.baselines`) score all of it, block by block
(:mod:`tfvocab.data.universe`); the metrics (:mod:`tfvocab.model.metrics`): AUPRC with the prevalence
beside it, AUPRC / prevalence, AUROC, partial AUROC at FPR <= 1 %, precision@k, F1 / precision /
recall at the threshold maximising F1 on the validation genes' universe, AUPRC/AUROC per
stratum (pair degree quartile, pair GC quartile), and 95 % gene-bootstrap intervals (the same
resamples for every model, so differences are paired). The verdict compares the transformer
with the best baseline by ΔAUPRC. With simulated data (``truth``) the same universe is scored
against the planted truth (``truth_universe``) and an oracle (1 if the two genes share a true
module, ties broken at random) is added. Controls: a permutation null of the transformer's
universe metrics (every run) and, with ``control_model``, a model trained on shuffled labels.
A secondary table (``sampled``) gives the metrics on sampled pairs (positives + 3 degree-matched
negatives each, drawn from the same universe), as round-1 reports computed them.

Writes ``metrics.json`` (docs/evaluation.md), ``predictions.tsv`` (the transformer's best pairs
with every model's score), ``pr_curve.png`` and ``roc_curve.png``.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import torch

from ..model import metrics as M
from ..data import universe as U
from . import baselines as B
from .baselines import DESCRIPTIONS, TrainingPairs, build_baselines
from ..data.genedata import StreamedValues, load_gene_data, read_pairs
from ..errors import TfvocabError
from ..data.folds import FoldSplit, fold_split, genes_path, read_genes_table
from ..formats import read_promoters
from ..model.inference import embed_genes, load_model, resolve_device
from ..io import atomic_path, provenance, write_json, write_table
from ..log import get_logger, timed
from ..data.negatives import degree_weights, weighted_pairs
from ..publish import step_outputs
from ..model.scoring import FusedHeadScorer, score_block

log = get_logger("evaluate")

TRANSFORMER = "transformer"
ORACLE = "oracle"
SHUFFLED = "shuffled_label"
MIN_POSITIVES = M.MIN_POSITIVES


# --------------------------------------------------------------------------- labels
def truth_pairs(truth_dir) -> pd.DataFrame:
    """``gene_id, module`` rows of the planted truth (``truth/modules.tsv``, or that file)."""
    path = Path(truth_dir)
    if path.is_dir():
        path = path / "modules.tsv"
    if not path.exists():
        raise TfvocabError("no modules.tsv found", path=str(truth_dir), hint="pass simulate's truth/ folder")
    mods = pd.read_csv(path, sep="\t", dtype=str)
    if not {"module", "gene_id"} <= set(mods.columns):
        raise TfvocabError("expected columns module, gene_id", path=str(path))
    return mods


def module_labels(genes: list[str], modules: pd.DataFrame) -> np.ndarray:
    """(N,) bool over the universe of ``genes``: True when the two genes share a module."""
    pos = {g: i for i, g in enumerate(genes)}
    n = len(genes)
    out = np.zeros(U.n_pairs(n), dtype=bool)
    for _, grp in modules.groupby("module", sort=True):
        idx = np.array(sorted({pos[g] for g in grp["gene_id"] if g in pos}), dtype=np.int64)
        if len(idx) > 1:
            a, b = np.triu_indices(len(idx), 1)
            out[U.tri_index(idx[a], idx[b], n)] = True
    return out


def oracle_scores(truth_dir, gene_a, gene_b) -> np.ndarray:
    """1.0 when the two genes share a true module (``truth/modules.tsv``), else 0.0."""
    mods = truth_pairs(truth_dir)
    member: dict[str, set] = {}
    for m, g in zip(mods["module"], mods["gene_id"]):
        member.setdefault(g, set()).add(m)
    return np.array([1.0 if member.get(a, set()) & member.get(b, set()) else 0.0
                     for a, b in zip(gene_a, gene_b)])


def gene_degree(pairs: pd.DataFrame) -> pd.Series:
    """Number of positive partners per gene in ``pairs``."""
    pos = pairs[pairs["label"] == 1]
    return pd.concat([pos["gene_a"], pos["gene_b"]]).value_counts()


# --------------------------------------------------------------------------- one model on a universe
def model_block_scorer(net, data, genes: np.ndarray, device):
    """Block scorer (logits) of the transformer over the universe of ``genes`` (global)."""
    emb = embed_genes(net, data, torch.as_tensor(genes), device)
    try:
        fused = FusedHeadScorer(net, emb, logits=True)
        return lambda ri, rj: fused(ri.to(emb.device), rj.to(emb.device))
    except ValueError:
        return lambda ri, rj: score_block(lambda a, b: net.score(a, b).float(), emb[ri.to(emb.device)],
                                          emb[rj.to(emb.device)])


def sampled_indices(n: int, labels: np.ndarray, degree: np.ndarray, ratio: float,
                    rng: np.random.Generator) -> np.ndarray:
    """Pair indices of a round-1 style sampled test set: every positive plus ``ratio``
    degree-matched unlabelled pairs per positive (``degree`` (n,) positives per gene here)."""
    pos = np.flatnonzero(labels)
    la, lb = U.tri_pairs(pos, n)
    p = degree_weights(degree, la.astype(np.int64), lb.astype(np.int64))
    na, nb = weighted_pairs(p, pos, int(round(ratio * len(pos))), rng)
    return np.sort(np.concatenate([pos, U.tri_index(na, nb, n)]))


class UniverseEval:
    """Metrics of every model on one universe (labels fixed): point estimates on every pair,
    gene-bootstrap intervals on a weighted sample of at most ``max_boot_pairs`` unlabelled pairs
    (plus every positive), strata, and the threshold metrics at given thresholds."""

    def __init__(self, n: int, labels: np.ndarray, mult: np.ndarray, max_boot_pairs: int, seed: int,
                 strata: dict[str, np.ndarray] | None = None):
        self.n, self.labels, self.mult = n, labels, mult
        rng = np.random.default_rng([int(seed), 3])
        self.sub, self.sub_w = U.sample_pairs(labels, max_boot_pairs, rng)
        ga, gb = U.tri_pairs(self.sub, n)
        self.ga, self.gb = ga.astype(np.int64), gb.astype(np.int64)
        self.strata = strata or {}
        self.replicates: dict[str, dict[str, np.ndarray]] = {}

    def evaluate(self, name: str, scores: np.ndarray, threshold: float | None = None) -> dict:
        ranked = M.Ranked(scores, self.labels)
        out = M.universe_metrics(ranked, self.n)
        sub = M.Ranked(scores[self.sub], self.labels[self.sub], self.sub_w)
        rep = M.bootstrap_replicates(sub, self.ga, self.gb, self.mult)
        self.replicates[name] = rep
        out["auprc_ci"] = M.percentile_ci(rep["auprc"])
        out["auroc_ci"] = M.percentile_ci(rep["auroc"])
        if threshold is not None:
            out.update(M.threshold_metrics(self.labels, scores, threshold))
        out["strata"] = [r for key, codes in self.strata.items() for r in M.stratified_metrics(ranked, codes, key)]
        out["curve"] = _curve_points(ranked)
        return out

    def difference(self, a: str, b: str, metric: str = "auprc") -> np.ndarray:
        """Paired bootstrap replicates of ``metric(a) - metric(b)``."""
        return self.replicates[a][metric] - self.replicates[b][metric]


def _curve_points(ranked: M.Ranked, n_points: int = 400) -> dict:
    """PR and ROC curve points (at most ``n_points`` each, log-spaced in rank) for the plots."""
    tp, fp, P, N = ranked._counts(ranked.sorted_weights())
    if P <= 0 or N <= 0 or len(tp) == 0:
        return {}
    pick = np.unique(np.clip(np.geomspace(1, len(tp), n_points).astype(int) - 1, 0, len(tp) - 1))
    rec, prec = tp[pick] / P, tp[pick] / np.maximum(tp[pick] + fp[pick], 1e-12)
    return {"recall": rec.round(5).tolist(), "precision": prec.round(5).tolist(),
            "fpr": (fp[pick] / N).round(6).tolist(), "tpr": rec.round(5).tolist()}


# --------------------------------------------------------------------------- plots
def plot_curves(models: dict, prevalence: float, pr_path, roc_path, title: str) -> None:
    """PR and ROC curves of every model on the universe (PNG; ROC with a log FPR axis)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    for kind, path in (("pr", pr_path), ("roc", roc_path)):
        fig, ax = plt.subplots(figsize=(5.2, 4.6), dpi=110)
        for name, m in models.items():
            c = m.get("curve") or {}
            if not c:
                continue
            lw, ls = (2.0, "-") if name == TRANSFORMER else (1.2, "--" if name in (ORACLE, SHUFFLED) else "-")
            if kind == "pr":
                ax.step(c["recall"], c["precision"], where="post", label=f"{name} ({m['auprc']:.3f})", lw=lw, ls=ls)
            else:
                ax.plot(c["fpr"], c["tpr"], label=f"{name} ({m['auroc']:.3f})", lw=lw, ls=ls)
        if kind == "pr":
            ax.axhline(prevalence, color="grey", ls=":", lw=1, label=f"prevalence ({prevalence:.4f})")
            ax.set(xlabel="recall", ylabel="precision", title=f"Precision-recall, {title}", xlim=(0, 1), ylim=(0, 1.02))
        else:
            ax.plot([1e-5, 1], [1e-5, 1], color="grey", ls=":", lw=1, label="chance")
            ax.set(xlabel="false positive rate (log)", ylabel="true positive rate", xscale="log",
                   title=f"ROC, {title}", xlim=(1e-5, 1), ylim=(0, 1.02))
        ax.legend(fontsize=6.5, loc="best")
        fig.tight_layout()
        with atomic_path(path) as tmp:
            fig.savefig(tmp, format="png")
        plt.close(fig)


# --------------------------------------------------------------------------- step
def _needed_values(data, genes: np.ndarray) -> tuple[np.ndarray | None, np.ndarray | None, np.ndarray | None]:
    """Values (n, W, T), window mask (n, W) and tokens (n, W) of ``genes`` (global indices;
    read from normalized.h5 when the values are streamed)."""
    idx = torch.as_tensor(np.asarray(genes, dtype=np.int64))
    vals = None if data.values is None else data.values[idx].numpy()
    vmask = None if data.value_mask is None else data.value_mask[idx].numpy()
    toks = None if data.tokens is None else data.tokens[idx].numpy()
    return vals, vmask, toks


def evaluate_fold(data, split: FoldSplit, net, input_mode: str, *, device="cpu", truth=None,
                  control=None, gc: np.ndarray | None = None, seed: int = 0, n_boot: int = 200,
                  n_perm: int = 200, max_boot_pairs: int = 1_000_000, max_val_genes: int = 1500,
                  max_fit_genes: int = 4000, neg_ratio: float = 10.0, block: int = 1024,
                  baselines: bool = True) -> dict:
    """Every model on fold ``split.fold``'s universe; the metrics.json content minus provenance.

    ``data``: GeneData of the inputs (every gene of the gene axis); ``net``: the fold's model;
    ``truth``: modules DataFrame (:func:`truth_pairs`) or None; ``control``: a shuffled-label
    model of the same fold or None; ``gc`` (G,) promoter GC or None (strata).
    """
    rng = np.random.default_rng([int(seed), 11])
    test = split.genes("test")
    n = len(test)
    if n < 2:
        raise TfvocabError(f"fold {split.fold} has {n} test gene(s): no pairs to evaluate")
    pa, pb = split.positives_among(test)
    labels = U.pair_labels(n, pa, pb)
    val = split.genes("val")
    if len(val) > max_val_genes:
        val = np.sort(np.random.default_rng([int(seed), 31]).choice(val, size=max_val_genes, replace=False))
    va, vb = split.positives_among(val)
    val_labels = U.pair_labels(len(val), va, vb)
    train = split.genes("train")
    fit = train if len(train) <= max_fit_genes else np.sort(rng.choice(train, size=max_fit_genes, replace=False))
    ta, tb = split.positives_among(fit)
    training = TrainingPairs(np.arange(len(fit)), ta, tb, split.listed_among(fit), neg_ratio, seed)
    log.info("fold %d of %d: universe of %d test genes = %d pairs (%d positive, prevalence %.4g); "
             "threshold from %d validation genes; trained baselines fit on %d training genes (%d positives)",
             split.fold, split.n_folds, n, len(labels), int(labels.sum()), labels.mean(), len(val),
             len(fit), len(ta))

    # strata: degree = listed positive partners (all folds), GC = promoter GC
    deg_all = np.bincount(np.concatenate([split.pos_a, split.pos_b]), minlength=len(split.role)).astype(np.float32)
    strata = {"degree": M.quartile_codes(U.pair_values(deg_all[test], n, lambda a, b: a + b))}
    if gc is not None:
        strata["gc_quartile"] = M.quartile_codes(U.pair_values(gc[test], n, lambda a, b: (a + b) / 2))
    mult = M.gene_bootstrap(n, n_boot, seed)
    ue = UniverseEval(n, labels, mult, max_boot_pairs, seed, strata)
    te = None
    if truth is not None:
        tl = module_labels([data.genes[i] for i in test], truth)
        te = UniverseEval(n, tl, mult, max_boot_pairs, seed)
    sampled_idx = sampled_indices(n, labels, np.bincount(np.concatenate([pa, pb]), minlength=n), 3.0, rng) \
        if labels.any() else np.zeros(0, np.int64)

    models, truth_models, sampled, top = {}, {}, {}, {}
    top_idx = None

    def add(name: str, block_test, block_val) -> None:
        nonlocal top_idx
        with timed(f"{name}: scoring {len(labels):,} pairs", log):
            s = U.score_universe(block_test, n, block)
            sv = U.score_universe(block_val, len(val), block) if len(val) > 1 else np.zeros(0, np.float32)
        thr = M.best_f1_threshold(val_labels, sv) if val_labels.any() else None
        models[name] = ue.evaluate(name, s, thr)
        if te is not None:
            truth_models[name] = te.evaluate(name, s)
            truth_models[name].pop("curve", None)
        if len(sampled_idx):
            sampled[name] = M.binary_metrics(labels[sampled_idx], s[sampled_idx],
                                             thr if thr is not None else float(np.median(s)))
        if top_idx is None:
            top_idx = np.argsort(-s, kind="stable")[:1000]
        top[name] = s[top_idx]
        if name == TRANSFORMER:
            models[name]["_scores"] = s          # kept for the permutation null

    dm = data.with_mode(input_mode)
    add(TRANSFORMER, model_block_scorer(net, dm, test, device), model_block_scorer(net, dm, val, device))
    perm = M.permutation_null(models[TRANSFORMER].pop("_scores"), n, pa, pb, max(n_perm, 1), seed)
    base = {}
    stride = B.window_stride(data.window_start)
    if baselines:
        with timed(f"baselines: features of {len(fit)} training genes and fits", log):
            fit_feats = B.gene_features(*_needed_values(data, fit), data.n_tokens, data.mask_token, stride=stride)
            training.genes = np.arange(len(fit))
            base = build_baselines(fit_feats, training, has_values=data.values is not None,
                                   has_tokens=data.tokens is not None)
            del fit_feats
    if base:
        with timed(f"baselines: features of {len(test)} test and {len(val)} validation genes", log):
            test_feats = B.gene_features(*_needed_values(data, test), data.n_tokens, data.mask_token, stride=stride)
            val_feats = B.gene_features(*_needed_values(data, val), data.n_tokens, data.mask_token, stride=stride)
        for name, b in base.items():
            add(name, b.block_scorer(test_feats), b.block_scorer(val_feats))
        del test_feats, val_feats
    if control is not None:
        add(SHUFFLED, model_block_scorer(control, dm, test, device), model_block_scorer(control, dm, val, device))
    if truth is not None:
        tl_test = te.labels
        jit = np.random.default_rng([int(seed), 5])
        oracle_test = lambda ri, rj: torch.from_numpy(_oracle_block(tl_test, n, ri, rj, jit))  # noqa: E731
        tl_val = module_labels([data.genes[i] for i in val], truth)
        oracle_val = lambda ri, rj: torch.from_numpy(_oracle_block(tl_val, len(val), ri, rj, jit))  # noqa: E731
        add(ORACLE, oracle_test, oracle_val)

    scored = [m for m in models if m in DESCRIPTIONS]
    best = max(scored, key=lambda m: (models[m]["auprc"] if np.isfinite(models[m]["auprc"]) else -1)) \
        if scored else None
    result = {"fold": split.fold, "n_folds": split.n_folds, "universe": models,
              "best_baseline": best, "baselines": {k: DESCRIPTIONS[k] for k in scored}}
    n_pos = int(labels.sum())
    fold_text = f"on fold {split.fold} of {split.n_folds}"
    if best is not None:
        d = ue.difference(TRANSFORMER, best)
        diff = models[TRANSFORMER]["auprc"] - models[best]["auprc"]
        ci = M.percentile_ci(d)
        result["difference"] = {"metric": "auprc", "against": best, "mean": diff, "ci": ci}
        dr = ue.difference(TRANSFORMER, best, "auroc")
        result["difference_auroc"] = {"metric": "auroc", "against": best,
                                      "mean": models[TRANSFORMER]["auroc"] - models[best]["auroc"],
                                      "ci": M.percentile_ci(dr)}
        result["verdict"], result["verdict_kind"] = M.verdict(best, diff, ci, n_pos, 1, MIN_POSITIVES, fold_text)
    else:
        result["verdict"], result["verdict_kind"] = "no baseline could be scored", "not_distinguishable"
    prev = models[TRANSFORMER]["prevalence"]
    control_out = {"permutation": {
        "what": "transformer scores, test-gene labels permuted (same label graph on random genes)",
        "n_perm": perm["n_perm"], "auprc_mean": float(np.mean(perm["auprc"])), "auprc_ci": M.percentile_ci(perm["auprc"]),
        "auroc_mean": float(np.mean(perm["auroc"])), "auroc_ci": M.percentile_ci(perm["auroc"]),
        "p_value_auprc": float((1 + np.sum(perm["auprc"] >= models[TRANSFORMER]["auprc"])) / (1 + perm["n_perm"]))}}
    if control is not None:
        sh = models[SHUFFLED]
        lo, hi = sh["auprc_ci"]
        control_out["shuffled_label"] = {
            "what": "the same model trained on positives whose gene identities were permuted among training genes",
            "auprc": sh["auprc"], "auprc_ci": sh["auprc_ci"], "auroc": sh["auroc"], "prevalence": prev,
            "prevalence_within_ci": bool(lo <= prev <= hi)}
    result["control"] = control_out
    if te is not None:
        result["truth_universe"] = truth_models
    result["sampled"] = {"what": "secondary: positives + 3 degree-matched unlabelled pairs per positive "
                                 "from the same universe (how round-1 metrics were computed); not a headline",
                         "models": sampled}
    result["bootstrap"] = {"n_boot": int(n_boot), "seed": int(seed), "unit": "test genes",
                           "max_unlabelled_pairs": int(max_boot_pairs),
                           "auprc": {k: v["auprc"] for k, v in ue.replicates.items()},
                           "auroc": {k: v["auroc"] for k, v in ue.replicates.items()}}
    if te is not None:
        result["bootstrap_truth"] = {"auprc": {k: v["auprc"] for k, v in te.replicates.items()},
                                     "auroc": {k: v["auroc"] for k, v in te.replicates.items()}}
    ti, tj = U.tri_pairs(top_idx, n)
    top_df = pd.DataFrame({"gene_a": [data.genes[test[i]] for i in ti], "gene_b": [data.genes[test[j]] for j in tj],
                           "label": labels[top_idx].astype(int)})
    if te is not None:
        top_df["truth"] = te.labels[top_idx].astype(int)
    for name, s in top.items():
        top_df[f"score_{name}"] = np.round(s.astype(np.float64), 6)
    result["_top"] = top_df
    return result


def _oracle_block(tl: np.ndarray, n: int, ri, rj, rng) -> np.ndarray:
    """Oracle block: 1 + U(0, 0.5) for pairs sharing a true module, U(0, 0.5) otherwise (ties
    broken at random)."""
    a, b = np.meshgrid(ri.numpy(), rj.numpy(), indexing="ij")
    same = a != b
    t = np.zeros(a.shape, np.float32)
    t[same] = tl[U.tri_index(a[same], b[same], n)]
    return (t + 0.5 * rng.random(a.shape)).astype(np.float32)


def run(model=None, tokens=None, normalized=None, pairs=None, outdir=".", *, genes=None, promoters=None,
        truth=None, control_model=None, device: str = "auto", seed: int = 0, n_boot: int = 200,
        n_perm: int = 200) -> dict[str, Path]:
    """``tfvocab evaluate``: the fold's universe for the model (its fold read from model.pt), the
    baselines, the controls and (with ``truth``) the planted truth; write the report files."""
    if model is None or pairs is None:
        raise TfvocabError("--model and --pairs are required")
    outdir = Path(outdir)
    dev = resolve_device(device)
    with timed("loading inputs", log):
        data_all = load_gene_data(tokens, normalized,
                                  "both" if tokens is not None and normalized is not None
                                  else ("tokens" if tokens is not None else "continuous"), stream=True)
        net, obj = load_model(model, data_all, dev)
        fold = int(obj.get("fold", obj["config"].get("fold", 0)) or 0)
        df = read_pairs(pairs, data_all.index)
        gpath = genes_path(pairs, genes)
        table = read_genes_table(gpath) if gpath is not None else None
        split = fold_split(df, data_all.index, table, fold, path=pairs)
        n_folds_model = obj.get("n_folds", obj["config"].get("n_folds"))
        if n_folds_model is not None and int(n_folds_model) != split.n_folds:
            raise TfvocabError(f"{model} was trained with {n_folds_model} folds, {gpath} has {split.n_folds}",
                               hint="evaluate with the genes.tsv the model was trained on")
        control = None
        if control_model is not None:
            control, cobj = load_model(control_model, data_all, dev)
            if int(cobj.get("fold", 0) or 0) != fold:
                raise TfvocabError(f"--control-model is a fold-{cobj.get('fold')} model, --model is fold {fold}")
        mods = truth_pairs(truth) if truth is not None else None
        gc = None
        if promoters is not None:
            prom = read_promoters(promoters, required=("gene_id", "gc"))
            gcs = prom.set_index("gene_id")["gc"].astype(float)
            gc = np.array([gcs.get(g, np.nan) for g in data_all.genes], dtype=np.float32)
    result = evaluate_fold(data_all, split, net, obj["config"]["input"], device=dev, truth=mods, control=control,
                           gc=gc, seed=seed, n_boot=n_boot, n_perm=n_perm,
                           neg_ratio=float(obj["config"].get("neg_ratio") or 10.0))
    if isinstance(data_all.values, StreamedValues):
        data_all.values.reader.close()
    top = result.pop("_top")
    params = {"model": model, "tokens": tokens, "normalized": normalized, "pairs": pairs, "genes": gpath,
              "promoters": promoters, "truth": truth, "control_model": control_model, "seed": seed,
              "n_boot": n_boot, "n_perm": n_perm}
    prov = provenance("evaluate", params)
    curves = {k: v.pop("curve", None) for k, v in result["universe"].items()}
    result.update(model_file=str(model), input=obj["config"]["input"], best_epoch=obj.get("best_epoch"),
                  vocab_hash=obj.get("vocab_hash"), provenance=prov)
    u = result["universe"]
    with step_outputs(outdir, "evaluate", params) as out:
        write_json(out.path("metrics.json"), M.strict_json(result))
        write_table(out.path("predictions.tsv"), top, prov)
        plot_curves({k: {**v, "curve": curves[k]} for k, v in u.items()}, u[TRANSFORMER]["prevalence"],
                    out.path("pr_curve.png"), out.path("roc_curve.png"),
                    f"fold {fold} universe ({u[TRANSFORMER]['n_pairs']:,} pairs)")
    paths = {k: outdir / f for k, f in (("metrics", "metrics.json"), ("predictions", "predictions.tsv"),
                                         ("pr_curve", "pr_curve.png"), ("roc_curve", "roc_curve.png"))}
    for name, m in u.items():
        log.info("%-18s universe AUPRC %.4f [%.4f, %.4f]  AUROC %.4f  (prevalence %.4f)", name, m["auprc"],
                 *m["auprc_ci"], m["auroc"], m["prevalence"])
    log.info("verdict: %s", result["verdict"])
    return paths
