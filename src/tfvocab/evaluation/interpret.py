"""Why does the model call two genes co-expressed? Attention rollout, integrated gradients, TF knock-outs.

All three work on a set of example pairs: by default the labelled positive pairs of the test split
(with ``truth``: only the truly co-expressed ones), the ``n_pairs`` the model scores highest. The
methods themselves are in :mod:`tfvocab.evaluation.attribution`; this module is the step.

* **Attention rollout** (Abnar & Zuidema 2020), per gene: per layer the attention weights are
  averaged over heads, the residual is added as identity (``0.5 A + 0.5 I``, rows renormalised)
  and the layers are multiplied (``R = A_L ... A_1``). With CLS pooling the CLS row of ``R`` is
  read; with mean (or flatten) pooling the rows of the non-missing windows are averaged. The CLS column is
  dropped and the window weights renormalised to sum to 1: shape (W,), unit = fraction.
* **Integrated gradients** (Sundararajan et al. 2017) of the pair *logit* (log-odds of
  co-expression) with respect to both promoters' inputs at once, trapezoid rule over ``steps``
  points. For models reading the continuous signal the input is the (window x TF) matrix and the
  baseline is "no binding": every TF at its background level ``center`` (the vocabulary's per-TF
  median in normalised units, stored in ``tokens.h5``; zeros = the normalised mean when absent);
  missing windows keep their value (zero attribution). For token models the input is the token
  embedding of each window and the baseline the embedding of the null ("no binding") token.
  Completeness: ``sum(attributions) = f(x) - f(baseline)`` up to the discretisation error,
  which is reported per pair. The default 256 steps: the cosine head (``a cos + b``, ``a`` ~ 10)
  bends the logit sharply along the path; on the small preset the largest error is 28 % of the
  mean gap with 64 steps and 5.6 % with 256 (50 pairs, 9 s vs 14 s in all).
* **In-silico TF knock-out**: one TF's signal is set to its "no binding" value (``center``) in
  every observed window of both promoters; for token models the windows are re-tokenised with the
  codebook (:func:`tfvocab.data.vocabulary.assign`: nearest centroid, or the null token when nothing
  is bound any more); the pair is re-scored. ``delta`` = knocked-out minus original probability.

With ``truth`` (a ``simulate`` truth folder) the results are checked against the planted grammar:
the enrichment of planted module sites (``sites.tsv`` kind ``module``) among each pair's top 10%
IG windows over chance, and the mean knock-out delta of the pair's module TFs
(``grammar.json``) against TFs used by no module.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from .attribution import gene_rollout, integrated_gradients, knockout_values
from ..errors import TfvocabError
from .. import formats
from ..model.inference import load_model, resolve_device, score_pairs
from ..io import atomic_path, provenance, write_json, write_table
from ..log import get_logger, progress, timed
from ..publish import step_outputs

log = get_logger("interpret")

# ----------------------------------------------------------------------------------------------
# knock-outs


def _score_prob(model, ta, va, ma, tb, vb, mb) -> torch.Tensor:
    with torch.no_grad():
        return torch.sigmoid(model.score(model.encode(ta, va, ma), model.encode(tb, vb, mb)).float())


# ----------------------------------------------------------------------------------------------
# truth check


def window_site_overlap(window_start: np.ndarray, site_offsets: np.ndarray, site_width: int,
                        width: int) -> np.ndarray:
    """Bool (W,): window [s, s+width) (bp) overlaps a site [c - site_width//2, c - site_width//2 + site_width)."""
    if len(site_offsets) == 0:
        return np.zeros(len(window_start), bool)
    lo = np.asarray(site_offsets)[None, :] - site_width // 2
    hi = lo + site_width
    ws = np.asarray(window_start)[:, None]
    return ((lo < ws + width) & (hi > ws)).any(axis=1)


def site_enrichment(importance: np.ndarray, overlap: np.ndarray, valid: np.ndarray,
                    top_frac: float = 0.1) -> dict:
    """Planted-site enrichment among the top IG windows of each pair.

    ``importance``, ``overlap``, ``valid``: (P, N) per pair over its N = 2W windows (both
    promoters). Per pair, the top ``ceil(top_frac * valid)`` valid windows are taken; returns
    pooled fractions overlapping a site (top vs all valid windows) and their ratio.
    """
    hits = n_top = 0
    for imp, ov, ok in zip(importance, overlap, valid):
        idx = np.flatnonzero(ok)
        k = max(1, int(np.ceil(top_frac * len(idx))))
        top = idx[np.argsort(-imp[idx], kind="stable")[:k]]
        hits += int(ov[top].sum())
        n_top += k
    frac_top = hits / max(n_top, 1)
    frac_all = float(overlap[valid].mean()) if valid.any() else float("nan")
    return {"top_fraction": top_frac, "top_windows": n_top, "top_windows_on_site": hits,
            "frac_top_on_site": frac_top, "frac_all_on_site": frac_all,
            "enrichment": frac_top / frac_all if frac_all > 0 else float("nan")}


def read_truth(truth: Path) -> dict:
    """``sites`` (module sites), ``pairs`` (true pairs with module), ``rules`` (module -> TFs), width."""
    truth = Path(truth)
    need = ["sites.tsv", "grammar.json", "pairs.tsv"]
    miss = [n for n in need if not (truth / n).exists()]
    if miss:
        raise TfvocabError(f"truth folder lacks {', '.join(miss)}", path=str(truth),
                           hint="give the truth/ folder written by `tfvocab simulate`")
    sites = pd.read_csv(truth / "sites.tsv", sep="\t")
    sites = sites[sites["kind"] == "module"]
    grammar = json.loads((truth / "grammar.json").read_text())
    rules = {r["module"]: list(r["tfs"]) for r in grammar["modules"]}
    tp = pd.read_csv(truth / "pairs.tsv", sep="\t", dtype=str)
    width = int(grammar.get("site_width") or int((sites["end"] - sites["start"]).median()))
    return {"sites": sites, "rules": rules, "pairs": tp, "site_width": width}


# ----------------------------------------------------------------------------------------------
# plots


def _plot_pair(path: Path, pair: tuple[str, str], score: float, window_start: np.ndarray, width: int,
               rollout: list[np.ndarray], attr: list[np.ndarray], tf_names: list[str],
               sites: list[pd.DataFrame] | None, max_tfs: int = 25) -> None:
    """Attention strip + IG heatmap (TFs x offset) for both promoters of a pair; ``width``: window bp."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    x0, x1 = float(window_start[0]), float(window_start[-1] + width)
    mass = np.abs(attr[0]).sum(0) + np.abs(attr[1]).sum(0)
    show = np.argsort(-mass, kind="stable")[: min(max_tfs, len(mass))]
    show = np.sort(show) if attr[0].shape[1] > 1 else np.arange(attr[0].shape[1])
    vmax = max(float(np.abs(np.stack(attr)[..., show]).max()), 1e-9)
    h = 0.22 * len(show) + 0.6
    fig, axes = plt.subplots(4, 1, figsize=(11, 2 * (0.8 + h)), sharex=True,
                             gridspec_kw={"height_ratios": [0.8, h, 0.8, h]})
    for k in range(2):
        ax_att, ax_ig = axes[2 * k], axes[2 * k + 1]
        ax_att.bar(window_start + width / 2, rollout[k], width=width * 0.9, color="#24476b")
        ax_att.set_ylabel("rollout", fontsize=8)
        ax_att.set_title(f"{pair[k]}: attention rollout (top) and integrated gradients (bottom)", fontsize=9)
        im = ax_ig.imshow(attr[k][:, show].T, aspect="auto", cmap="RdBu_r", vmin=-vmax, vmax=vmax,
                          extent=(x0, x1, len(show) - 0.5, -0.5), interpolation="nearest")
        ax_ig.set_yticks(np.arange(len(show)))
        ax_ig.set_yticklabels([tf_names[i] for i in show], fontsize=6)
        if sites is not None and sites[k] is not None and len(sites[k]):
            pos = {tf_names[i]: r for r, i in enumerate(show)}
            for tf, off in zip(sites[k]["tf"], sites[k]["offset"]):
                if tf in pos:
                    ax_ig.plot(off, pos[tf], marker="o", mfc="none", mec="k", ms=6, mew=1.2)
        for ax in (ax_att, ax_ig):
            ax.axvline(0, color="#c0392b", lw=1.2, ls="--")
        ax_att.text(0, ax_att.get_ylim()[1], " ATG", color="#c0392b", fontsize=8, va="top")
    # one colour bar for both heatmaps (same scale), taking width from every row alike
    fig.colorbar(im, ax=list(axes), fraction=0.02, pad=0.01, label="IG (logit)")
    axes[-1].set_xlabel("offset relative to the start codon (bp)")
    fig.suptitle(f"{pair[0]} - {pair[1]}: predicted co-expression {score:.3f}"
                 + ("  (o = planted module site)" if sites is not None else ""), fontsize=10)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=90, bbox_inches="tight")
    plt.close(fig)


def _plot_rollout_profile(path: Path, window_start: np.ndarray, width: int, rollout: np.ndarray,
                          ig_mass: np.ndarray, site_density: np.ndarray | None) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    centers = window_start + width / 2
    fig, ax = plt.subplots(figsize=(10, 3.2))
    ax.plot(centers, rollout.mean(0), "-o", ms=3, label="attention rollout (mean over genes)")
    ig = ig_mass.mean(0)
    ax.plot(centers, ig / max(ig.sum(), 1e-12), "-s", ms=3, label="|IG| mass (mean, normalised)")
    if site_density is not None:
        ax.plot(centers, site_density / max(site_density.sum(), 1e-12), "-", color="grey",
                label="planted module sites (normalised)")
    ax.axvline(0, color="#c0392b", lw=1.2, ls="--")
    ax.set_xlabel("offset relative to the start codon (bp)")
    ax.set_ylabel("fraction per window")
    ax.legend(fontsize=8)
    ax.set_title("Where the model looks along the promoter (interpreted genes)")
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=90, bbox_inches="tight")
    plt.close(fig)


def _plot_tokens(path: Path, table: pd.DataFrame, n: int = 20) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    top = table.head(n)[::-1]
    fig, ax = plt.subplots(figsize=(8, 0.3 * len(top) + 1.2))
    labels = [f"{t} [{s}]" if s else f"{t} [{k}]" for t, s, k in
              zip(top["token"], top["top_tfs"].fillna(""), top["kind"])]
    ax.barh(np.arange(len(top)), top["mean_abs_ig"], color="#24476b")
    ax.set_yticks(np.arange(len(top)))
    ax.set_yticklabels(labels, fontsize=7)
    ax.set_xlabel("mean |IG| mass of windows carrying the token (logit units)")
    ax.set_title("Most influential tokens [their top TFs]")
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=90, bbox_inches="tight")
    plt.close(fig)


# ----------------------------------------------------------------------------------------------
# step


def _select_pairs(pairs: pd.DataFrame, probs: np.ndarray, n_pairs: int, truth: dict | None) -> pd.DataFrame:
    df = pairs.assign(score=probs)
    pos = df[df["label"] == 1]
    test = pos[pos["split"] == "test"]
    sel = test if len(test) else pos
    if truth is not None:
        tp = truth["pairs"]
        key = set(zip(tp["gene_a"], tp["gene_b"])) | set(zip(tp["gene_b"], tp["gene_a"]))
        sel = sel[[(a, b) in key for a, b in zip(sel["gene_a"], sel["gene_b"])]]
        mod = {**{(a, b): m for a, b, m in zip(tp["gene_a"], tp["gene_b"], tp["module"])},
               **{(b, a): m for a, b, m in zip(tp["gene_a"], tp["gene_b"], tp["module"])}}
        sel = sel.assign(module=[mod[(a, b)] for a, b in zip(sel["gene_a"], sel["gene_b"])])
    if len(sel) == 0:
        raise TfvocabError("no positive pairs to interpret" + (" that are true pairs" if truth else ""),
                           hint="check pairs.tsv labels/splits")
    sel = sel.sort_values(["score", "gene_a", "gene_b"], ascending=[False, True, True], kind="mergesort")
    return sel.head(n_pairs).reset_index(drop=True)


@dataclass
class Inputs:
    """What :func:`run` reads: the model, the inputs of the selected pairs' genes, the truth."""

    net: object
    mode: str
    data: object                      # tfvocab.data.genedata.GeneData
    sel: pd.DataFrame                 # selected pairs: gene_a, gene_b, score[, module]
    genes: list[str]                  # distinct genes of the selected pairs
    gpos: dict                        # gene -> row of the per-gene arrays below
    sig: np.ndarray                   # (N, W, T) normalised signal, NaN where missing
    emask: np.ndarray                 # (N, W, T) missing entries
    tok: object                       # (N, W) tokens on the device, or None
    val: object                       # (N, W, T) model values on the device, or None
    wmask: object                     # (N, W) missing windows on the device
    tokens: dict                      # tfvocab.formats.read_tokens record
    vocab: object                     # tfvocab.data.vocabulary.Vocabulary or None
    null_level: np.ndarray            # (T,) "no binding" level per TF
    window_start: np.ndarray          # (W,) bp
    width: int                        # window width, bp
    truth: dict | None
    dev: object

    @property
    def reads_values(self) -> bool:
        return self.net.val_proj is not None

    @property
    def reads_tokens(self) -> bool:
        return self.net.tok_emb is not None

    def gene_inputs(self, g: str) -> dict:
        i = self.gpos[g]
        return {"tokens": None if self.tok is None else self.tok[i],
                "values": None if self.val is None else self.val[i], "mask": self.wmask[i]}


def read_inputs(model, tokens, normalized, pairs, *, n_pairs: int, truth, device) -> Inputs:
    """Load the model and data, score the candidate pairs and select the ones to interpret."""
    from ..data.genedata import load_gene_data, read_pairs
    from ..data import vocabulary as voc

    dev = resolve_device(device)
    with timed("loading model and inputs", log):
        mode = formats.read_model(model)["input"]
        data = load_gene_data(tokens, normalized, mode)
        net, _ = load_model(model, data, device="cpu")
        net = net.to(dev).eval()
        for prm in net.parameters():
            prm.requires_grad_(False)
        df = read_pairs(pairs, data.index)
        tok_all = formats.read_tokens(tokens)
        try:
            vocab = voc.align_vocabulary(voc.vocabulary_from_tokens(tok_all, str(tokens)),
                                         list(data.tfs), str(tokens))
        except TfvocabError as exc:
            vocab = None
            log.warning("no codebook background in %s (%s): baseline = zeros, knock-outs cannot "
                        "re-tokenise", tokens, exc)
    T = len(data.tfs)
    tr = read_truth(truth) if truth is not None else None
    with timed("scoring candidate pairs", log):
        cand = df[df["label"] == 1]
        probs = 1 / (1 + np.exp(-score_pairs(net, data, np.array(cand["ia"]), np.array(cand["ib"]), dev)))
    sel = _select_pairs(cand, probs, n_pairs, tr)
    genes = list(dict.fromkeys(list(sel["gene_a"]) + list(sel["gene_b"])))
    gidx = torch.as_tensor([data.index[g] for g in genes])
    with formats.NormalizedFile(normalized) as nf:                  # raw rows, NaN where missing
        pos = {g: i for i, g in enumerate(nf.genes)}
        rows = np.array([pos[g] for g in genes])
        order = np.argsort(rows)
        sig = np.empty((len(rows),) + nf.shape[1:], np.float32)
        msk = np.empty(sig.shape, bool)
        sig[order], msk[order] = nf.rows(rows[order])
    tok, val, wmask = data.gather(gidx)
    null_level = (vocab.center if vocab is not None else np.zeros(T, np.float32)).astype(np.float32)
    return Inputs(net=net, mode=mode, data=data, sel=sel, genes=genes,
                  gpos={g: i for i, g in enumerate(genes)}, sig=sig, emask=msk | np.isnan(sig),
                  tok=None if tok is None else tok.to(dev), val=None if val is None else val.to(dev),
                  wmask=wmask.to(dev), tokens=tok_all, vocab=vocab, null_level=null_level,
                  window_start=np.asarray(data.window_start, dtype=np.int64),
                  width=int(data.geometry.window), truth=tr, dev=dev)


def rollout(inp: Inputs) -> np.ndarray:
    """Attention rollout (N, W) of every interpreted gene."""
    with timed(f"attention rollout of {len(inp.genes)} genes", log):
        return gene_rollout(inp.net, inp.tok, inp.val, inp.wmask).cpu().numpy()


def pair_gradients(inp: Inputs, steps: int) -> dict:
    """Integrated gradients of every selected pair.

    Returns ``ig_vals`` (P, 2, W, T) | None (signal input), ``ig_tok`` (P, 2, W) | None (token
    input), ``logit``/``base_logit``/``attr_sum`` (P,), ``completeness`` (dict) and ``imp``
    (P, 2, W): |IG| mass per window (summed over TFs for the signal input).
    """
    net, dev, sel = inp.net, inp.dev, inp.sel
    P, W, T = len(sel), int(inp.wmask.shape[1]), len(inp.data.tfs)
    ig_vals = np.zeros((P, 2, W, T), np.float32) if inp.reads_values else None
    ig_tok = np.zeros((P, 2, W), np.float32) if inp.reads_tokens else None
    logit, base_logit, attr_sum = np.zeros(P), np.zeros(P), np.zeros(P)
    null_tok = int(inp.tokens["null_token"]) if inp.tokens["null_token"] >= 0 else 0
    level = torch.as_tensor(inp.null_level, device=dev)
    with torch.enable_grad():
        for p, (ga, gb) in enumerate(progress(list(zip(sel["gene_a"], sel["gene_b"])),
                                              desc="integrated gradients", total=P, unit="pair")):
            a, b = inp.gene_inputs(ga), inp.gene_inputs(gb)
            if inp.reads_values:
                ba = torch.where(a["mask"][:, None], a["values"], level)
                bb = torch.where(b["mask"][:, None], b["values"], level)
                r = integrated_gradients(net, a, b, ba, bb, "values", steps)
                ig_vals[p, 0], ig_vals[p, 1] = r["attr_a"].cpu().numpy(), r["attr_b"].cpu().numpy()
            if inp.reads_tokens:
                base = net.tok_emb(torch.full((W,), null_tok, dtype=torch.long, device=dev)).detach()
                ba = torch.where(a["mask"][:, None], net.tok_emb(a["tokens"]).detach(), base)
                bb = torch.where(b["mask"][:, None], net.tok_emb(b["tokens"]).detach(), base)
                rt = integrated_gradients(net, a, b, ba, bb, "embedding", steps)
                ig_tok[p, 0], ig_tok[p, 1] = (rt["attr_a"].sum(-1).cpu().numpy(),
                                              rt["attr_b"].sum(-1).cpu().numpy())
                if not inp.reads_values:
                    r = rt
            logit[p], base_logit[p], attr_sum[p] = r["logit"], r["baseline_logit"], r["delta_sum"]
    gap = logit - base_logit
    err = np.abs(attr_sum - gap)
    completeness = {"max_abs_error": float(err.max()), "mean_abs_error": float(err.mean()),
                    "max_rel_error": float((err / np.maximum(np.abs(gap), 1e-6)).max()),
                    "mean_abs_gap": float(np.abs(gap).mean()), "steps": steps,
                    "input": "values (window x TF)" if inp.reads_values else "token embeddings (window)",
                    "baseline": "per-TF background (no binding)" if inp.reads_values else "null-token embedding"}
    log.info("IG completeness: |sum(attr) - (f(x) - f(baseline))| max %.4g (mean |f(x)-f(b)| %.4g)",
             completeness["max_abs_error"], completeness["mean_abs_gap"])
    imp = np.abs(ig_vals).sum(-1) if inp.reads_values else np.abs(ig_tok)
    return {"ig_vals": ig_vals, "ig_tok": ig_tok, "logit": logit, "base_logit": base_logit,
            "attr_sum": attr_sum, "completeness_error": err, "completeness": completeness, "imp": imp}


def knockouts(inp: Inputs) -> pd.DataFrame:
    """Every single-TF knock-out of every selected pair: ``pair, gene_a, gene_b, tf, score,
    delta, base_score`` (probabilities; delta = knocked-out - original)."""
    from ..data import vocabulary as voc

    T, W, dev = len(inp.data.tfs), int(inp.wmask.shape[1]), inp.dev
    rows = []
    with timed(f"TF knock-outs: {len(inp.sel)} pairs x {T} TFs", log):
        for ga, gb, s0 in zip(inp.sel["gene_a"], inp.sel["gene_b"], inp.sel["score"]):
            ins = []
            for g in (ga, gb):
                i = inp.gpos[g]
                x = np.nan_to_num(inp.sig[i], nan=0.0)
                xk = knockout_values(x, ~inp.emask[i], inp.null_level)                   # (T, W, T)
                vk = torch.as_tensor(np.where(inp.emask[i][None], 0.0, xk), dtype=torch.float32, device=dev)
                tk = None
                if inp.reads_tokens:
                    base_t = inp.tok[i].cpu().numpy()
                    if inp.vocab is not None:
                        orig = voc.assign(inp.sig[i], inp.emask[i], inp.vocab)
                        new = voc.assign(np.where(inp.emask[i][None], np.nan, xk).reshape(-1, T),
                                         np.repeat(inp.emask[i][None], T, 0).reshape(-1, T),
                                         inp.vocab).reshape(T, W)
                        tk = np.where(new != orig[None], new, base_t[None])
                    else:
                        tk = np.repeat(base_t[None], T, 0)
                    tk = torch.as_tensor(tk, dtype=torch.long, device=dev)
                ins.append((tk, vk if inp.reads_values else None, inp.wmask[i].expand(T, W)))
            pk = _score_prob(inp.net, *ins[0], *ins[1]).cpu().numpy()
            for t in range(T):
                rows.append((f"{ga}|{gb}", ga, gb, inp.data.tfs[t], float(pk[t]),
                             float(pk[t] - float(s0)), float(s0)))
    return pd.DataFrame(rows, columns=["pair", "gene_a", "gene_b", "tf", "score", "delta", "base_score"])


def token_importance(inp: Inputs, ig: dict) -> pd.DataFrame:
    """Mean |IG| mass of the windows carrying each token among the interpreted pairs."""
    from ..data import vocabulary as voc

    tok_all = inp.tokens
    pos = {g: i for i, g in enumerate(tok_all["genes"])}
    tok_ids = tok_all["tokens"][[pos[g] for g in inp.genes]]
    tcodes = np.stack([np.stack([tok_ids[inp.gpos[a]], tok_ids[inp.gpos[b]]])
                       for a, b in zip(inp.sel["gene_a"], inp.sel["gene_b"])])
    tflat, iflat = tcodes.reshape(-1), ig["imp"].reshape(-1)
    K = int(tok_all["n_tokens"])
    cnt = np.bincount(tflat, minlength=K)
    mass = np.bincount(tflat, weights=iflat, minlength=K)
    kinds = np.full(K, "cluster", dtype=object)           # the kinds of vocabulary.tsv
    if tok_all["mask_token"] >= 0:
        kinds[tok_all["mask_token"]] = "mask"
    if tok_all["null_token"] >= 0:
        kinds[tok_all["null_token"]] = "unbound"
    top_cb = [""] * K
    if inp.vocab is not None and inp.vocab.n_tokens == K:
        for k, idx in enumerate(voc.top_tfs(inp.vocab.scores())):
            top_cb[k] = ",".join(inp.vocab.tfs[j] for j in idx[:5]) if kinds[k] == "cluster" else ""
    top_ig = [""] * K
    if inp.reads_values:
        T = len(inp.data.tfs)
        per_tf = np.zeros((K, T))
        np.add.at(per_tf, tflat, np.abs(ig["ig_vals"]).reshape(-1, T))
        for k in np.flatnonzero(cnt):
            order = np.argsort(-per_tf[k], kind="stable")[:3]
            top_ig[k] = ",".join(inp.data.tfs[j] for j in order)
    present = np.flatnonzero(cnt)
    ti = pd.DataFrame({"token": present, "kind": kinds[present], "n_windows": cnt[present],
                       "mean_abs_ig": mass[present] / cnt[present], "total_abs_ig": mass[present],
                       "top_tfs": [top_cb[k] for k in present], "top_ig_tfs": [top_ig[k] for k in present]})
    ti["reliable"] = ti["n_windows"] >= 3
    return ti.sort_values(["reliable", "mean_abs_ig", "token"], ascending=[False, False, True],
                          kind="mergesort").drop(columns="reliable").reset_index(drop=True)


def check_truth(inp: Inputs, ig: dict, ko: pd.DataFrame, rng: np.random.Generator):
    """The planted-grammar check (simulated data): ``(summary dict, per-pair site tables)``."""
    tr, sel, ws = inp.truth, inp.sel, inp.window_start
    P, W = len(sel), len(ws)
    by_gene = {g: d for g, d in tr["sites"].groupby("gene_id")}
    ov = np.zeros((P, 2, W), bool)
    pair_sites = []
    for p, (ga, gb) in enumerate(zip(sel["gene_a"], sel["gene_b"])):
        row = []
        for k, g in enumerate((ga, gb)):
            s = by_gene.get(g)
            row.append(s)
            if s is not None:
                ov[p, k] = window_site_overlap(ws, s["offset"].to_numpy(), tr["site_width"], inp.width)
        pair_sites.append(row)
    valid = ~np.stack([np.stack([inp.wmask[inp.gpos[a]].cpu().numpy(), inp.wmask[inp.gpos[b]].cpu().numpy()])
                       for a, b in zip(sel["gene_a"], sel["gene_b"])])
    enr = site_enrichment(ig["imp"].reshape(P, -1), ov.reshape(P, -1), valid.reshape(P, -1), 0.1)
    all_module_tfs = {t for tfs in tr["rules"].values() for t in tfs}
    mod_d, other_d, rand_d = [], [], []
    for pair_id, module in zip(ko["pair"].unique(), sel["module"]):
        d = ko[ko["pair"] == pair_id].set_index("tf")["delta"]
        mt = [t for t in tr["rules"].get(module, []) if t in d.index]
        others = [t for t in d.index if t not in all_module_tfs] or [t for t in d.index if t not in mt]
        mod_d.append(float(d[mt].mean()) if mt else np.nan)
        other_d.append(float(d[others].mean()))
        rand_d.append(float(d[others[int(rng.integers(len(others)))]]))
    check = {**{f"ig_site_{k}": v for k, v in enr.items()}, "site_width": tr["site_width"],
             "ko_module_tf_mean_delta": float(np.nanmean(mod_d)),
             "ko_non_module_tf_mean_delta": float(np.mean(other_d)),
             "ko_random_non_module_tf_mean_delta": float(np.mean(rand_d)), "n_pairs": P}
    check["ig_enrichment_at_least_3x"] = bool(enr["enrichment"] >= 3)
    check["ko_module_below_random"] = bool(check["ko_module_tf_mean_delta"]
                                           < check["ko_random_non_module_tf_mean_delta"])
    log.info("truth check: top-10%% IG windows on planted module sites %.1f%% vs %.1f%% chance "
             "(x%.2f); knock-out mean delta module TFs %.4f vs random non-module TF %.4f",
             100 * enr["frac_top_on_site"], 100 * enr["frac_all_on_site"], enr["enrichment"],
             check["ko_module_tf_mean_delta"], check["ko_random_non_module_tf_mean_delta"])
    return check, pair_sites


def write_outputs(out, inp: Inputs, roll: np.ndarray, ig: dict, ko: pd.DataFrame, ti: pd.DataFrame,
                  check: dict | None, pair_sites, n_plots: int, prov: dict) -> list[str]:
    """Write every output of ``tfvocab interpret`` through ``out`` (a publish.StepOutputs);
    returns the names of the example pair plots."""
    sel, ws, data = inp.sel, inp.window_start, inp.data
    lineage = dict(data.lineage)
    formats.write_results(
        out.path("attention.h5"), "attention", geometry=data.geometry,
        strings={"genes": inp.genes, "tfs": list(data.tfs)},
        # pair_genes: per pair, the rows of `rollout` for gene_a and gene_b, (P, 2)
        arrays={"rollout": roll.astype(np.float32),
                "pair_genes": np.array([[inp.gpos[a], inp.gpos[b]] for a, b in zip(sel["gene_a"], sel["gene_b"])],
                                       dtype=np.int64).reshape(-1, 2)},
        attrs={"method": "attention rollout (Abnar & Zuidema 2020), residual identity, head mean",
               "pooling": inp.net.config.pooling}, lineage=lineage, prov=prov)
    arrays = {"score": sel["score"].to_numpy(np.float64), "logit": ig["logit"],
              "baseline_logit": ig["base_logit"], "attribution_sum": ig["attr_sum"],
              "completeness_error": ig["completeness_error"]}
    if ig["ig_vals"] is not None:
        arrays.update(ig=ig["ig_vals"], baseline_values=inp.null_level)
    if ig["ig_tok"] is not None:
        arrays["ig_tokens"] = ig["ig_tok"]
    formats.write_results(
        out.path("attributions.h5"), "attributions", geometry=data.geometry,
        strings={"gene_a": list(sel["gene_a"]), "gene_b": list(sel["gene_b"]), "tfs": list(data.tfs)},
        arrays=arrays, attrs={"method": "integrated gradients of the pair logit, trapezoid rule",
                              "steps": ig["completeness"]["steps"],
                              "baseline": ig["completeness"]["baseline"]},
        lineage=lineage, prov=prov)
    write_table(out.path("tf_knockout.tsv"), ko, prov, float_format="%.6g")
    write_table(out.path("token_importance.tsv"), ti, prov, float_format="%.6g")
    _plot_tokens(out.path("token_importance.png"),
                 ti[ti["kind"] == "cluster"] if (ti["kind"] == "cluster").any() else ti)
    W = len(ws)
    site_density = None
    if inp.truth is not None:
        sd = np.zeros(W)
        for g in inp.genes:
            s = inp.truth["sites"][inp.truth["sites"]["gene_id"] == g]
            sd += window_site_overlap(ws, s["offset"].to_numpy(), inp.truth["site_width"], inp.width)
        site_density = sd
    gene_mass = np.zeros((len(inp.genes), W))
    gene_n = np.zeros(len(inp.genes))
    for p, (ga, gb) in enumerate(zip(sel["gene_a"], sel["gene_b"])):
        for k, g in enumerate((ga, gb)):
            gene_mass[inp.gpos[g]] += ig["imp"][p, k]
            gene_n[inp.gpos[g]] += 1
    gene_mass /= np.maximum(gene_n, 1)[:, None]
    _plot_rollout_profile(out.path("attention_profile.png"), ws, inp.width, roll, gene_mass, site_density)
    plots = []
    for p in range(min(n_plots, len(sel))):
        ga, gb = sel["gene_a"].iloc[p], sel["gene_b"].iloc[p]
        attr = ([ig["ig_vals"][p, 0], ig["ig_vals"][p, 1]] if inp.reads_values
                else [ig["ig_tok"][p, 0][:, None], ig["ig_tok"][p, 1][:, None]])
        names = list(data.tfs) if inp.reads_values else ["token"]
        name = f"ig_pair{p + 1:02d}_{ga}_{gb}.png".replace("/", "_")
        _plot_pair(out.path(name), (ga, gb), float(sel["score"].iloc[p]), ws, inp.width,
                   [roll[inp.gpos[ga]], roll[inp.gpos[gb]]], attr, names,
                   pair_sites[p] if pair_sites is not None else None)
        plots.append(name)
    summary = {"n_pairs": len(sel), "pairs": [f"{a}|{b}" for a, b in zip(sel["gene_a"], sel["gene_b"])],
               "input": inp.mode, "pooling": inp.net.config.pooling, "completeness": ig["completeness"],
               "mean_score": float(sel["score"].mean()),
               "top_knockouts": (ko.groupby("tf")["delta"].mean().sort_values().head(5).round(5).to_dict()),
               "window": inp.width, "provenance": prov}
    if check is not None:
        summary["truth_check"] = check
    write_json(out.path("interpret.summary.json"), summary)
    return plots


def run(model, tokens, normalized, pairs, outdir, *, promoters=None, n_pairs: int = 20, truth=None,
        steps: int = 256, n_plots: int = 4, device: str = "cpu", seed: int = 0) -> dict[str, Path]:
    """``tfvocab interpret``: attention rollout, IG and TF knock-outs for the top test pairs.

    Writes ``attention.h5``, ``attributions.h5``, ``tf_knockout.tsv``, ``token_importance.tsv``
    (+ ``.png``), ``attention_profile.png``, ``ig_pairNN_<a>_<b>.png`` for the ``n_plots`` best
    pairs, and ``interpret.summary.json`` (completeness, and with ``truth`` the planted-grammar
    check), published together. Returns the paths by name.
    """
    outdir = Path(outdir)
    params = {"model": str(model), "tokens": str(tokens), "normalized": str(normalized), "pairs": str(pairs),
              "promoters": None if promoters is None else str(promoters), "n_pairs": n_pairs,
              "truth": None if truth is None else str(truth), "steps": steps, "n_plots": n_plots, "seed": seed}
    prov = provenance("interpret", params)
    if steps < 2:
        raise TfvocabError("--steps must be >= 2")
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    inp = read_inputs(model, tokens, normalized, pairs, n_pairs=n_pairs, truth=truth, device=device)
    roll = rollout(inp)
    ig = pair_gradients(inp, steps)
    ko = knockouts(inp)
    ti = token_importance(inp, ig)
    check, pair_sites = check_truth(inp, ig, ko, rng) if inp.truth is not None else (None, None)
    with step_outputs(outdir, "interpret", params) as out:
        plots = write_outputs(out, inp, roll, ig, ko, ti, check, pair_sites, n_plots, prov)
    names = {"attention": "attention.h5", "attributions": "attributions.h5",
             "tf_knockout": "tf_knockout.tsv", "token_importance": "token_importance.tsv",
             "token_importance_png": "token_importance.png", "attention_profile": "attention_profile.png",
             "summary": "interpret.summary.json",
             **{f"plot_{i + 1}": n for i, n in enumerate(plots)}}
    return {k: outdir / v for k, v in names.items()}
