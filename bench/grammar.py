"""Grammar acceptance: does the model read TF order and spacing? (``--preset grammar``)

Every module of the ``grammar`` preset is an ordered TF pair (A then B, 20-40 bp apart, half the
instances inside one 50 bp window and half across a window boundary) in a module-specific band;
per module gene there is one decoy gene with the pair reversed in the band (``decoy_order``) and
one with the pair in order but 150-300 bp apart (``decoy_spaced``) (``truth/roles.tsv``). Decoys are
not co-expressed with anything.

Per seed the chain simulate -> promoters -> extract (stride 50 and/or 25; plus each window's
signal centre of mass, :func:`tfvocab.data.windowstats.window_com`, kept in memory/cache, not in the
pipeline's files) -> merge -> normalize -> tokenize -> ``pairs --folds 5`` (``--split gene`` or
``community``: pairs.tsv + genes.tsv) is built once under ``--data`` and reused. The split is
fold 0 of the pipeline's contract (:func:`tfvocab.data.folds.fold_split`: test genes = fold 0,
validation genes = ``val_fold == 0``, training genes = the rest). Each model variant of
:data:`VARIANTS` trains with :func:`tfvocab.model.train.train_model` (the ``tfvocab train`` defaults:
fresh ``mixed`` negatives every epoch, early stopping on the validation genes' universe AUPRC)
plus the variant's overrides; the baselines (:mod:`tfvocab.evaluation.baselines`, as ``tfvocab evaluate``
fits them, ``ordered_pairs_lr`` included) fit on the same training genes. Scored on

* the **universe**: every unordered pair of held-out (test) genes, labels = the listed
  co-expressed pairs among them (AUPRC with a 95 % gene-bootstrap interval and the prevalence,
  AUROC), and the same pairs against the planted truth (same module);
* **member-vs-decoy** pairs among held-out genes: positives = pairs of members of one module,
  negatives = (member, decoy of that module) pairs, per decoy kind (``reversed`` =
  decoy_order, ``spaced`` = decoy_spaced): AUROC pooled over modules. Bag-of-TFs scores
  (mean profiles) cannot separate them (~0.5 by construction).

    OMP_NUM_THREADS=1 python -P bench/grammar.py --data /tmp/gram --seeds 0 1 2 \
        --variants previous grammar_cos grammar_sim --split gene

Targets (issue): transformer >= 0.90 against reversed and against spaced decoys; bag-of-TFs ~0.5.

``--position-ceiling`` trains nothing: it prints ``ordered_pairs_oracle`` with the same events
placed by the z-centroid, by the raw coverage and by the planted sites (:func:`position_ceiling`),
to show how much of the order signal the event positions lose.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
TARGET = 0.90
#: decoy kinds of truth/roles.tsv reported (label in the tables -> kind)
DECOY_KINDS = {"reversed": "decoy_order", "spaced": "decoy_spaced"}


# ----------------------------------------------------------------------------- data chain
def build_chain(root: Path, seed: int = 0, stride: int = 50, vocab_size: int = 128,
                preset: str = "grammar", transform: str = "enrichment", split: str = "gene",
                folds: int = 5, variant: str = "dense", normalize_rev: str | None = None) -> dict:
    """simulate (``root/simulate``), promoters (``root/promoters``), ``pairs --folds folds
    --split split`` (``root/pairs_<split>``: pairs.tsv + genes.tsv), then per stride
    ``root/s<stride>/{extract,merge,normalize,tokenize}`` (``s<stride>_logz/{normalize,tokenize}``
    for the logz transform). ``com`` names ``com.npy`` (G, W, T) float32, each window's signal
    centre of mass in bp from its 5' end (gene orientation, NaN without signal), written on first
    use by :func:`gene_inputs`. Steps whose output exists are skipped. ``variant``: the
    simulation's track variant (``simulate --tracks``); ``normalize_rev``: normalise with the
    ``normalize`` of that commit instead (``s<stride>_<transform>_<rev>``; bench/normalize.py's
    :func:`baseline_module`), for before/after tables."""
    from tfvocab.data import extract, merge, normalize, pairs, promoters, tokens
    from tfvocab.simulate import dataset as simulate
    from tfvocab.data.samplesheet import read_samplesheet, tracks

    root = Path(root)
    sim = root / "simulate"
    if not (sim / "truth" / "roles.tsv").exists():
        simulate.run(preset=preset, seed=seed, outdir=sim, tracks=variant)
    prom = root / "promoters" / "promoters.tsv"
    if not prom.exists():
        promoters.run(gff=sim / "annotation.gff3", fasta=sim / "genome.fa", outdir=root / "promoters")
    pdir = root / f"pairs_{split}"
    if not (pdir / "genes.tsv").exists():
        pairs.run(coexpression=sim / "coexpression.tsv", promoters=prom, outdir=pdir, split=split,
                  folds=folds, seed=seed)
    base = d = root / f"s{stride}"
    if transform != "enrichment" or normalize_rev:  # same extract/merge, another normalize/tokenize
        d = root / (f"s{stride}_{transform}" + (f"_{normalize_rev}" if normalize_rev else ""))
    sheet = sim / "samplesheet.csv"
    trk = tracks(read_samplesheet(sheet))
    if not (base / "merge" / "signal.h5").exists():
        for name, path, _kind in trk:
            extract.run(promoters=prom, bigwig=[path], tf=[name], outdir=base / "extract", stride=stride)
        merge.run(signal=sorted((base / "extract").glob("signal.*.h5")), outdir=base / "merge",
                  samplesheet=sheet)
    if not (d / "normalize" / "normalized.h5").exists():
        norm = normalize if not normalize_rev else _bench_normalize().baseline_module(normalize_rev, root)
        norm.run(signal=base / "merge" / "signal.h5", outdir=d / "normalize", transform=transform)
    if not (d / "tokenize" / "tokens.h5").exists():
        tokens.run(normalized=d / "normalize" / "normalized.h5", outdir=d / "tokenize",
                   vocab_size=vocab_size, seed=seed)
    return {"root": root, "sim": sim, "truth": sim / "truth", "promoters": prom,
            "pairs": pdir / "pairs.tsv", "genes": pdir / "genes.tsv", "split": split,
            "signal": base / "merge" / "signal.h5", "normalized": d / "normalize" / "normalized.h5",
            "tokens": d / "tokenize" / "tokens.h5", "com": base / "com.npy", "stride": stride,
            "bigwigs": {name: path for name, path, kind in trk if kind != "control"}}


def _bench_normalize():
    """bench/normalize.py (its :func:`baseline_module` loads an earlier commit's normalize)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("bench_normalize", HERE / "normalize.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def centre_of_mass(promoters_tsv: Path, bigwigs: dict, signal_h5: Path, stride: int) -> np.ndarray:
    """(G, W, T) float32 centre of mass per window of each TF of ``signal_h5`` (its TF order),
    read again from the bigWigs with :func:`tfvocab.data.extract.extract_track` (``com=True``)."""
    from tfvocab import formats
    from tfvocab.data.chroms import resolve
    from tfvocab.data.extract import extract_track, infer_flanks, make_layout
    from tfvocab.data.trackreaders import open_bigwig

    with formats.SignalFile(signal_h5) as sf:
        tfs, width = list(sf.tfs), int(sf.geometry.window)
    df = formats.read_promoters(promoters_tsv)
    up, down = infer_flanks(df)
    lay = make_layout(df, width, stride, up, down)
    out = []
    for tf in tfs:
        bw = open_bigwig(bigwigs[tf])
        res = resolve(list(lay.chroms), list(bw.chroms), None, source_label="promoters",
                      target_label=str(bigwigs[tf]))
        out.append(extract_track(bw, lay, res.mapping, com=True)["com"])
        bw.close()
    return np.stack(out, axis=-1).astype(np.float32)


def load_com(chain: dict) -> np.ndarray:
    """The chain's ``com.npy`` (:func:`centre_of_mass`, signal.h5's gene and TF order), computed
    from the bigWigs on first use."""
    if not chain["com"].exists():
        np.save(chain["com"], centre_of_mass(chain["promoters"], chain["bigwigs"], chain["signal"],
                                             chain["stride"]))
    return np.load(chain["com"])


# ----------------------------------------------------------------------------- split and labels
def make_split(chain: dict, data, fold: int = 0) -> dict:
    """Fold ``fold`` of the chain's ``pairs --folds`` output on ``data``'s gene axis:
    ``pairs`` (pairs.tsv as :func:`tfvocab.formats.read_pairs` reads it, ``ia, ib`` on
    ``data.genes``), ``split`` (:class:`tfvocab.data.folds.FoldSplit`), ``split_name``."""
    from tfvocab import formats
    from tfvocab.data.folds import fold_split, read_genes_table

    pairs = formats.read_pairs(chain["pairs"], data.index)
    split = fold_split(pairs, data.index, read_genes_table(chain["genes"]), fold, path=chain["pairs"])
    return {"pairs": pairs, "split": split, "split_name": chain["split"]}


def universe(genes: list[str], split, truth_dir: Path, part: str = "test") -> dict:
    """Every unordered pair of the genes of role ``part`` (:mod:`tfvocab.data.universe` order):
    ``ia, ib`` (indices into ``genes``), ``label`` (listed co-expressed pair), ``truth`` (same
    planted module), ``genes`` (the role's global indices)."""
    from tfvocab.data import universe as U

    idx = split.genes(part)
    a, b = U.tri_pairs(np.arange(U.n_pairs(len(idx))), len(idx))
    ia, ib = idx[a], idx[b]
    pa, pb = split.positives_among(idx)
    label = U.pair_labels(len(idx), pa, pb)
    modules = pd.read_csv(Path(truth_dir) / "modules.tsv", sep="\t")
    mod = dict(zip(modules.gene_id, modules.module))
    m = np.array([mod.get(g, "") for g in genes], dtype=object)
    truth = (m[ia] == m[ib]) & (m[ia] != "")
    return {"ia": ia, "ib": ib, "label": label.astype(np.int8), "truth": truth.astype(np.int8),
            "genes": idx}


def decoy_pairs(genes: list[str], split, truth_dir: Path, part: str = "test") -> dict:
    """Member-vs-decoy pairs among the genes of role ``part`` of ``split``, per decoy label of
    :data:`DECOY_KINDS`: ``{label: (ia, ib, y)}`` (indices into ``genes``) with y = 1 for two
    members of one module and 0 for a (member, decoy of that module) pair. Pooled over modules."""
    roles = pd.read_csv(Path(truth_dir) / "roles.tsv", sep="\t")
    inside = set(split.genes(part).tolist())
    pos = {g: i for i, g in enumerate(genes) if i in inside}
    roles = roles[roles.gene_id.map(lambda g: g in pos)]
    out = {}
    for label, kind in DECOY_KINDS.items():
        ia, ib, y = [], [], []
        for _, grp in roles.groupby("module"):
            mem = [pos[g] for g in grp.gene_id[grp.kind == "module"]]
            dec = [pos[g] for g in grp.gene_id[grp.kind == kind]]
            for i in range(len(mem)):
                for j in range(i + 1, len(mem)):
                    ia.append(mem[i]); ib.append(mem[j]); y.append(1)        # noqa: E702
                for d in dec:
                    ia.append(mem[i]); ib.append(d); y.append(0)              # noqa: E702
        out[label] = (np.array(ia, np.int64), np.array(ib, np.int64), np.array(y, np.int8))
    return out


def auprc_ci(label: np.ndarray, score: np.ndarray, ia: np.ndarray, ib: np.ndarray,
             n_boot: int = 100, seed: int = 0) -> tuple[float, float]:
    """95% gene-bootstrap interval of the AUPRC over a set of pairs: genes are resampled with
    replacement and every pair is weighted by the product of its two genes' draw counts."""
    from sklearn.metrics import average_precision_score

    rng = np.random.default_rng(seed)
    genes = np.unique(np.concatenate([ia, ib]))
    li = np.searchsorted(genes, ia)
    lj = np.searchsorted(genes, ib)
    vals = []
    for _ in range(n_boot):
        w = np.bincount(rng.integers(0, len(genes), len(genes)), minlength=len(genes))
        pw = (w[li] * w[lj]).astype(np.float64)
        keep = pw > 0
        if label[keep].min() == label[keep].max():
            continue
        vals.append(average_precision_score(label[keep], score[keep], sample_weight=pw[keep]))
    lo, hi = np.percentile(vals, [2.5, 97.5]) if vals else (np.nan, np.nan)
    return float(lo), float(hi)


def score_metrics(score_fn, uni: dict, dec: dict, ci: bool = True) -> dict:
    """Universe AUPRC/AUROC (listed labels and planted truth) and member-vs-decoy AUROCs of a
    pair scorer ``score_fn(ia, ib) -> scores``."""
    from sklearn.metrics import average_precision_score, roc_auc_score

    s = np.asarray(score_fn(uni["ia"], uni["ib"]), dtype=np.float64)
    out = {"auprc": float(average_precision_score(uni["label"], s)),
           "auroc": float(roc_auc_score(uni["label"], s)),
           "prevalence": float(uni["label"].mean()), "n_pairs": int(len(s)),
           "n_genes": int(len(uni["genes"])), "n_pos": int(uni["label"].sum()),
           "truth_auprc": float(average_precision_score(uni["truth"], s)),
           "truth_auroc": float(roc_auc_score(uni["truth"], s))}
    if ci:
        out["auprc_ci"] = auprc_ci(uni["label"], s, uni["ia"], uni["ib"])
    for label, (ia, ib, y) in dec.items():
        if len(y) and 0 < y.sum() < len(y):
            out[f"auroc_{label}"] = float(roc_auc_score(y, score_fn(ia, ib)))
            out[f"n_{label}"] = [int(y.sum()), int((1 - y).sum())]
    return out


# ----------------------------------------------------------------------------- inputs and models
def com_feature(com: np.ndarray, values: np.ndarray, width: int = 50, gate: float = 1.0) -> np.ndarray:
    """Model channel from the centre of mass: ``2 * (com / width - 0.5)`` in [-1, 1] (-1 = the
    window's 5' end, +1 its 3' end) where the TF's normalised value exceeds ``gate``, else 0
    (a background window's centre of mass is noise). (G, W, T) float32."""
    c = np.nan_to_num(2.0 * (com / width - 0.5), nan=0.0)
    return np.where(values > gate, c, 0.0).astype(np.float32)


def gene_inputs(chain: dict, features: tuple = ("mean",), mode: str = "continuous"):
    """``tfvocab.data.genedata.GeneData`` of the chain with ``features`` as value channels (concatenated
    on the TF axis: ``mean`` = normalized.h5's signal, ``com`` = :func:`com_feature`)."""
    import torch

    from tfvocab.data.genedata import load_gene_data

    data = load_gene_data(chain["tokens"], chain["normalized"], "both").with_mode(mode)
    vals = data.values.numpy()
    chans, names = [], []
    for f in features:
        if f == "mean":
            chans.append(vals)
            names += list(data.tfs)
        elif f == "com":
            chans.append(com_feature(load_com(chain), vals))
            names += [f"{t}:com" for t in data.tfs]
        elif f == "events":                  # z at binding events only (tfvocab.model.grammar.events)
            from tfvocab.model import grammar

            ev, _ = grammar.events(torch.from_numpy(vals), grammar.default_threshold(vals.shape[-1]),
                                   int(np.diff(data.window_start).min()))
            chans.append(np.where(ev.numpy(), vals, 0.0).astype(np.float32))
            names += list(data.tfs)
        else:
            raise ValueError(f"unknown feature {f!r}")
    data.base_values = vals
    data.values = torch.from_numpy(np.ascontiguousarray(np.concatenate(chans, axis=-1)))
    data.tfs = names
    return data


def training_pairs(split, neg_ratio: float = 10.0, seed: int = 0):
    """:class:`tfvocab.evaluation.baselines.TrainingPairs` of the fold's training genes (positives among
    them; fresh uniform negatives outside the listed pairs, ``neg_ratio`` per positive), as
    ``tfvocab evaluate`` fits its baselines."""
    from tfvocab.evaluation.baselines import TrainingPairs

    fit = split.genes("train")
    ta, tb = split.positives_among(fit)
    return TrainingPairs(fit, ta, tb, split.listed_among(fit), neg_ratio, seed)


def train_transformer(data, sp: dict, config: dict, seed: int, workdir: Path):
    """Train fold ``sp["split"]``'s model with :func:`tfvocab.model.train.train_model` (the ``tfvocab
    train`` defaults < ``config``); returns the model (best epoch) and the result."""
    import torch

    from tfvocab.model import train

    torch.set_num_threads(1)
    params = train.resolve_params(**{**config, "seed": seed, "device": "cpu",
                                     "fold": sp["split"].fold})
    params["n_folds"] = sp["split"].n_folds
    workdir.mkdir(parents=True, exist_ok=True)
    res = train.train_model(data, sp["pairs"], params, workdir, write_model=False, split=sp["split"])
    return res["model"], res


def transformer_scorer(model, data):
    from tfvocab.model.inference import score_pairs

    return lambda ia, ib: score_pairs(model, data, ia, ib, "cpu")


def baseline_scorers(data, split, seed: int, truth_dir: Path | None = None) -> dict:
    """Pair scorers ``f(ia, ib)`` (global gene indices) of :mod:`tfvocab.evaluation.baselines` as ``tfvocab
    evaluate`` builds them (trained ones fit on the fold's training genes): bag-of-TFs
    (``cosine_profile``, ``logreg_profile``: mean TF profiles), ``bag_of_tokens`` (token
    frequencies), position-resolved ``window_correlation`` (Pearson correlation of the
    flattened windows x TFs profiles) and ``window_logreg``, ``binding_mass``, and the grammar
    representation with the simplest trained reader, ``ordered_pairs_lr`` (logistic regression on
    the products of the two genes' signed ordered-pair bags); with ``truth_dir`` also
    ``ordered_pairs_oracle`` (:func:`oracle_scorer`: the representation's ceiling)."""
    from tfvocab.evaluation import baselines as B

    vals = data.base_values
    feats = B.gene_features(vals, data.value_mask.numpy(), data.tokens.numpy(), data.n_tokens,
                            data.mask_token, stride=B.window_stride(data.window_start))
    tp = training_pairs(split, seed=seed)
    tp_local = B.TrainingPairs(np.arange(len(tp.genes)), tp.pa, tp.pb, tp.listed, tp.neg_ratio, seed)
    fit = {k: v[tp.genes] for k, v in feats.items()}
    base = B.build_baselines(fit, tp_local)
    out = {name: (lambda b: lambda ia, ib: b.score_pairs(feats, ia, ib))(b) for name, b in base.items()}
    if truth_dir is not None:
        out["ordered_pairs_oracle"] = oracle_scorer(feats["pairs"], list(data.tfs), truth_dir)
    return out


def oracle_scorer(bags: np.ndarray, tfs: list[str], truth_dir: Path):
    """The ceiling of the ordered-pair representation: ``sum_h u_h a_h b_h`` over the genes' bags
    (G, H) with u = 1 on each planted rule's TF-pair coordinate and 0 elsewhere (read from
    ``truth/roles.tsv``; no reader of the bags, trained or not, knows more). Where it stays below
    a target, the bags' events and positions are the limit, not the model that reads them."""
    import torch

    from tfvocab.model import grammar as gr

    roles = pd.read_csv(Path(truth_dir) / "roles.tsv", sep="\t")
    u = np.zeros(bags.shape[1], np.float32)
    for combo in roles.loc[roles.kind == "module", "tfs"].unique():
        names = combo.split(",")
        for i in range(len(names)):
            for j in range(i + 1, len(names)):
                a, b = tfs.index(names[i]), tfs.index(names[j])
                u[gr.pair_index(torch.tensor([a]), torch.tensor([b]), len(tfs), bags.shape[1])[0].item()] = 1.0
    return lambda ia, ib: (bags[ia] * bags[ib]) @ u


# ----------------------------------------------------------------------------- event positions
def site_positions(truth_dir: Path, genes: list[str], tfs: list[str], window_start: np.ndarray,
                   ev, pos, reach_bp: float = 100.0):
    """Event positions (B, W, T) bp from the first window's start with each event moved to the
    nearest planted site centre of its TF in its promoter (``truth/sites.tsv``) within
    ``reach_bp``; events with no site that close keep ``pos``. Knowing the answer: the ceiling of
    any position estimate."""
    sites = pd.read_csv(Path(truth_dir) / "sites.tsv", sep="\t").dropna(subset=["offset"])
    gi, ti = {g: i for i, g in enumerate(genes)}, {t: i for i, t in enumerate(tfs)}
    near: dict = {}
    for g, t, o in zip(sites.gene_id, sites.tf, sites.offset):
        if g in gi and t in ti:
            near.setdefault((gi[g], ti[t]), []).append(float(o) - float(window_start[0]))
    out = pos.clone()
    for b, w, t in ev.nonzero().tolist():
        x = float(pos[b, w, t])
        best = min(near.get((b, t), []), key=lambda v: abs(v - x), default=None)
        if best is not None and abs(best - x) <= reach_bp:
            out[b, w, t] = best
    return out


def coverage_positions(chain: dict, genes: list[str], tfs: list[str], ev, pos, reach: int = 2):
    """Event positions (B, W, T) from the raw coverage: the centre of mass of ``signal.h5``'s
    window means placed at each window's own centre of mass (:func:`centre_of_mass`, cached in
    ``com.npy``) over +-``reach`` windows around the event; other entries keep ``pos``. What a
    position channel written by extract could give the model."""
    import torch
    import torch.nn.functional as F

    from tfvocab import formats

    com = load_com(chain)
    with formats.SignalFile(chain["signal"]) as sf:
        rows, cols = [sf.genes.index(g) for g in genes], [sf.tfs.index(t) for t in tfs]
        width = int(sf.geometry.window)
        sig = np.concatenate([np.where(m, 0.0, s) for s, m, _, _ in sf.chunks(use_control=False)])
    sig = sig[rows][:, :, cols]
    com = com[rows][:, :, cols]
    B, W, T = sig.shape
    x = np.arange(W)[None, :, None] * chain["stride"] + np.nan_to_num(com, nan=width / 2.0)
    flat = lambda a: torch.from_numpy(np.ascontiguousarray(a, np.float64)).permute(0, 2, 1).reshape(-1, 1, W)  # noqa: E731
    m, xx = flat(sig), flat(x)
    ones = torch.ones(1, 1, 2 * reach + 1, dtype=torch.float64)
    c = F.conv1d(m * xx, ones, padding=reach) / F.conv1d(m, ones, padding=reach).clamp_min(1e-12)
    return torch.where(ev, c.reshape(B, T, W).permute(0, 2, 1).float(), pos)


def position_ceiling(chain: dict, data, dec: dict) -> list[dict]:
    """``ordered_pairs_oracle`` (:func:`oracle_scorer`) with the same events placed three ways:
    the z-centroid (:func:`tfvocab.model.grammar.events`, what the model and the baselines read),
    the raw coverage's centre of mass over +-1 and +-2 windows (:func:`coverage_positions`), and
    the planted sites (:func:`site_positions`). Rows: position source, AUROC per decoy kind."""
    import torch
    from sklearn.metrics import roc_auc_score

    from tfvocab.evaluation.baselines import PAIR_CAP, window_stride
    from tfvocab.model import grammar as gr

    z = torch.from_numpy(np.ascontiguousarray(data.base_values))
    T = z.shape[-1]
    stride, thr = window_stride(data.window_start), gr.default_threshold(T)
    ev, pos = gr.events(z, thr, stride)
    sources = {"z-centroid": pos}
    for k in (1, 2):
        sources[f"coverage +-{k} windows"] = coverage_positions(chain, data.genes, list(data.tfs), ev, pos, k)
    sources["planted sites"] = site_positions(chain["truth"], data.genes, list(data.tfs),
                                              data.window_start, ev, pos)
    rows = []
    for name, p in sources.items():
        with torch.no_grad():
            bag = gr.pair_bag(z, None, thr, stride, gr.bag_size(T, PAIR_CAP), positions=p)
        fn = oracle_scorer(bag.numpy(), list(data.tfs), chain["truth"])
        rows.append({"positions": name, **{f"auroc_{lab}": float(roc_auc_score(y, fn(ia, ib)))
                                           for lab, (ia, ib, y) in dec.items()}})
    return rows


#: model variants: (stride, value features, input mode, tfvocab.model.train overrides[, normalize
#: transform]); the baselines use the stride-50 enrichment chain. ``default`` = the ``tfvocab
#: train`` defaults (since this bench chose them: grammar bag 1024 + similarity head = ``grammar_sim``);
#: ``previous`` = the defaults before (no grammar bag, full head)
PREV = {"grammar_bag": 0, "pair_features": "full"}
VARIANTS = {
    "default": (50, ("mean",), "continuous", {}),
    "previous": (50, ("mean",), "continuous", PREV),
    # training batches and heads (tfvocab.model.batches; bench/train.py for their cost)
    "pairs": (50, ("mean",), "continuous", {"batching": "pairs"}),
    "genes_cos": (50, ("mean",), "continuous", {"batching": "genes", "pair_features": "cosine"}),
    "genes_sim": (50, ("mean",), "continuous", {"batching": "genes", "pair_features": "similarity"}),
    "genes_cos_i0_g20": (50, ("mean",), "continuous", {"batching": "genes", "pair_features": "cosine",
                                                       "grammar_init": 0.0, "grammar_gain": 20.0}),
    "genes_sim_i0_g20": (50, ("mean",), "continuous", {"batching": "genes", "pair_features": "similarity",
                                                       "grammar_init": 0.0, "grammar_gain": 20.0}),
    "genes_cos_i0_g50": (50, ("mean",), "continuous", {"batching": "genes", "pair_features": "cosine",
                                                       "grammar_init": 0.0, "grammar_gain": 50.0}),
    "genes_cos_i0_g20_pf8": (50, ("mean",), "continuous", {"batching": "genes", "pair_features": "cosine",
                                                           "grammar_init": 0.0, "grammar_gain": 20.0,
                                                           "partner_fraction": 0.8}),
    "genes_cos_b512": (50, ("mean",), "continuous", {"batching": "genes", "pair_features": "cosine",
                                                     "batch_genes": 512}),
    "bilinear": (50, ("mean",), "continuous", {"pair_features": "bilinear"}),
    "bilinear_g20": (50, ("mean",), "continuous", {"pair_features": "bilinear", "grammar_gain": 20.0}),
    "sim_g20": (50, ("mean",), "continuous", {"pair_features": "similarity", "grammar_gain": 20.0}),
    "bilinear_b256": (50, ("mean",), "continuous", {"pair_features": "bilinear", "batch_genes": 256}),
    "sim_lr5": (50, ("mean",), "continuous", {"lr": 5e-4}),
    "sim_i0_g20": (50, ("mean",), "continuous", {"grammar_init": 0.0, "grammar_gain": 20.0}),
    "bilinear_i0_g20": (50, ("mean",), "continuous", {"pair_features": "bilinear", "grammar_init": 0.0,
                                                      "grammar_gain": 20.0}),
    "sim_g20_lr5": (50, ("mean",), "continuous", {"grammar_gain": 20.0, "lr": 5e-4}),
    "sim_i0_g20_lr5": (50, ("mean",), "continuous", {"grammar_init": 0.0, "grammar_gain": 20.0, "lr": 5e-4}),
    "b256_i0_g20": (50, ("mean",), "continuous", {"batch_genes": 256, "grammar_init": 0.0, "grammar_gain": 20.0}),
    "b256": (50, ("mean",), "continuous", {"batch_genes": 256}),
    "b512": (50, ("mean",), "continuous", {"batch_genes": 512}),
    "b512_g20": (50, ("mean",), "continuous", {"batch_genes": 512, "grammar_gain": 20.0}),
    "b512_i0_g20": (50, ("mean",), "continuous", {"batch_genes": 512, "grammar_init": 0.0, "grammar_gain": 20.0}),
    "grammar": (50, ("mean",), "continuous", {"grammar_bag": 1024, "pair_features": "full"}),
    "grammar_sim": (50, ("mean",), "continuous", {"grammar_bag": 1024, "pair_features": "similarity"}),
    "sim": (50, ("mean",), "continuous", {"grammar_bag": 0, "pair_features": "similarity"}),
    "grammar_cos": (50, ("mean",), "continuous", {"grammar_bag": 1024, "pair_features": "cosine"}),
    "cos": (50, ("mean",), "continuous", {"grammar_bag": 0, "pair_features": "cosine"}),
    "s25_grammar_sim": (25, ("mean",), "continuous",
                        {"grammar_bag": 1024, "pair_features": "similarity", "window_stride": 25}),
    "com": (50, ("mean", "com"), "continuous", PREV),
    "relbias_grammar_sim": (50, ("mean",), "continuous",
                            {"grammar_bag": 1024, "pair_features": "similarity", "rel_bias": 8}),
    # input modes (tokens cannot carry the grammar bag: it reads the values)
    "tokens": (50, ("mean",), "tokens", {"pair_features": "cosine"}),
    "both": (50, ("mean",), "both", {"grammar_bag": 1024, "pair_features": "cosine"}),
    "tokens_sim": (50, ("mean",), "tokens", {"pair_features": "similarity"}),
    "both_sim": (50, ("mean",), "both", {"grammar_bag": 1024, "pair_features": "similarity"}),
    # the previous normalisation (log2 + z-score, tokens on robust thresholds) as model input
    "previous_logz": (50, ("mean",), "continuous", PREV, "logz"),
    "grammar_sim_logz": (50, ("mean",), "continuous", {"grammar_bag": 1024, "pair_features": "similarity"},
                         "logz"),
    "grammar_cos_logz": (50, ("mean",), "continuous", {"grammar_bag": 1024, "pair_features": "cosine"},
                         "logz"),
}
BASELINES = ("window_correlation", "cosine_profile", "binding_mass", "window_logreg", "logreg_profile",
             "bag_of_tokens", "ordered_pairs_lr", "ordered_pairs_oracle")


def run_seed(data_root: Path, seed: int, variants: list[str], split: str = "gene",
             baselines: bool = True, workdir: Path | None = None, preset: str = "grammar",
             fold: int = 0, tracks: str = "dense", normalize_rev: str | None = None,
             epochs: int | None = None) -> list[dict]:
    """Every variant (and the baselines) on one seed's chain, fold ``fold`` of ``pairs --folds 5
    --split split``: a list of result rows."""
    rows = []
    chains, inputs = {}, {}
    workdir = Path(workdir or data_root / "train")
    key = lambda v: (VARIANTS[v][0], VARIANTS[v][4] if len(VARIANTS[v]) > 4 else "enrichment")  # noqa: E731
    need = {key(v) for v in variants} | ({(50, "enrichment")} if baselines else set())
    for ck in sorted(need):
        chains[ck] = build_chain(data_root / f"seed{seed}", seed=seed, stride=ck[0], preset=preset,
                                 transform=ck[1], split=split, variant=tracks,
                                 normalize_rev=normalize_rev)

    def inp(ck, feats, mode):
        k = (ck, feats, mode)
        if k not in inputs:
            inputs[k] = gene_inputs(chains[ck], feats, mode)
        return inputs[k]

    if baselines:
        ref = inp((50, "enrichment"), ("mean",), "continuous")
        ch = chains[(50, "enrichment")]
        sp = make_split(ch, ref, fold)
        uni = universe(ref.genes, sp["split"], ch["truth"])
        dec = decoy_pairs(ref.genes, sp["split"], ch["truth"])
        scorers = baseline_scorers(ref, sp["split"], seed, ch["truth"])
        for name, fn in scorers.items():
            rows.append({"seed": seed, "split": split, "model": name,
                         "kind": "oracle" if name.endswith("_oracle") else "baseline",
                         **score_metrics(fn, uni, dec)})
    for v in variants:
        stride, feats, mode, cfg = VARIANTS[v][:4]
        data = inp(key(v), feats, mode)
        ch = chains[key(v)]
        sp = make_split(ch, data, fold)
        uni = universe(data.genes, sp["split"], ch["truth"])
        dec = decoy_pairs(data.genes, sp["split"], ch["truth"])
        t0 = time.perf_counter()
        cap = {} if epochs is None else {"epochs": int(epochs)}
        model, res = train_transformer(data, sp, {**cfg, "input": mode, **cap}, seed,
                                       workdir / f"{v}_s{seed}_{split}{'_' + normalize_rev if normalize_rev else ''}")
        rows.append({"seed": seed, "split": split, "model": v, "kind": "transformer",
                     "train_seconds": round(time.perf_counter() - t0, 1), "best_epoch": res["best_epoch"],
                     "epochs_run": int(len(res["log"])), **score_metrics(transformer_scorer(model, data), uni, dec)})
    return rows


def print_table(rows: list[dict]) -> None:
    df = pd.DataFrame(rows)
    cols = ["auprc", "auprc_ci", "prevalence", "truth_auprc", "auroc", "auroc_reversed", "auroc_spaced"]
    print("model                seed split   AUPRC [95% CI]          prev.   truthAUPRC  AUROC  "
          "rev.AUROC  spaced.AUROC")
    for r in df.itertuples():
        ci = getattr(r, "auprc_ci", (np.nan, np.nan))
        print(f"{r.model:20s} {r.seed:4d} {r.split:7s} {r.auprc:.3f} [{ci[0]:.3f}, {ci[1]:.3f}]  "
              f"{r.prevalence:.4f}  {r.truth_auprc:10.3f}  {r.auroc:.3f}  "
              f"{getattr(r, 'auroc_reversed', np.nan):9.3f}  {getattr(r, 'auroc_spaced', np.nan):12.3f}")
    if df.seed.nunique() > 1:
        print("\nmean over seeds (min, max):")
        agg = df.groupby(["split", "model"], sort=False)
        for (split, m), g in agg:
            parts = [f"{c} {g[c].mean():.3f} ({g[c].min():.3f}, {g[c].max():.3f})"
                     for c in ("auprc", "auroc_reversed", "auroc_spaced") if c in g]
            print(f"  {split:9s} {m:20s} " + "  ".join(parts))
    del cols


# ----------------------------------------------------------------------------- genome scale
def synthetic_z(g0: int, n: int, W: int = 50, T: int = 300, events: int = 120) -> np.ndarray:
    """(n, W, T) float32 enrichment z-scores of genes ``g0 .. g0 + n`` (seeded by ``g0``): N(0, 1)
    background plus ``events`` peaks per promoter (random window and TF, height 4 + Exp(4) z,
    spilling 20-60 % into both neighbouring windows). 120 events per promoter at T = 300 is
    ~10,000 promoter peaks per TF over 27,000 genes, DAP-seq-like."""
    rng = np.random.default_rng([g0, 7])
    z = rng.standard_normal((n, W, T), dtype=np.float32)
    gi = np.repeat(np.arange(n), events)
    w = rng.integers(0, W, n * events)
    t = rng.integers(0, T, n * events)
    h = (4.0 + rng.exponential(4.0, n * events)).astype(np.float32)
    np.add.at(z, (gi, w, t), h)
    for dw in (-1, 1):
        ok = (w + dw >= 0) & (w + dw < W)
        np.add.at(z, (gi[ok], w[ok] + dw, t[ok]), h[ok] * rng.uniform(0.2, 0.6, ok.sum()).astype(np.float32))
    return z


def scale_child(variant: str, genes: int, T: int, events: int, steps: int, batch: int) -> dict:
    """One model of :data:`VARIANTS` at genome scale on :func:`synthetic_z` inputs (1 thread):
    embedding of ``genes`` promoters (no gradient, 256 at a time, as ``tfvocab predict`` /
    ``evaluate``), blockwise pair scoring of 2,048 x 2,048 genes
    (:class:`tfvocab.model.scoring.FusedHeadScorer`, extrapolated to all-vs-all), then ``steps`` training steps of ``batch`` pairs drawn among 4,096 genes (tower
    on chunks of 512 genes, BCE, AdamW: ``tfvocab train``'s step). Wall times, peak RSS."""
    import resource

    import torch

    from tfvocab.model import grammar
    from tfvocab.model.model import ModelConfig, SiameseTransformer

    torch.set_num_threads(1)
    torch.manual_seed(0)
    W = 50
    cfg = {k: v for k, v in VARIANTS[variant][3].items()}
    model = SiameseTransformer(ModelConfig(input="continuous", n_tfs=T, n_windows=W, **cfg))
    out = {"variant": variant, "genes": genes, "tfs": T, "events_per_promoter": events,
           "out_dim": model.out_dim, "bag_dim": model.bag_dim}
    model.eval()
    t_emb = t_gen = 0.0
    n_ev = n_pairs = 0
    emb = torch.empty(genes, model.out_dim)
    with torch.no_grad():
        for g0 in range(0, genes, 256):
            n = min(256, genes - g0)
            t0 = time.perf_counter()
            z = torch.from_numpy(synthetic_z(g0, n, W, T, events))
            t_gen += time.perf_counter() - t0
            m = torch.zeros(n, W, dtype=torch.bool)
            t0 = time.perf_counter()
            emb[g0:g0 + n] = model.encode(None, z, m)
            t_emb += time.perf_counter() - t0
            if g0 == 0:
                thr = grammar.default_threshold(T)
                ev, pos = grammar.events(z, thr, 50)
                n_ev = int(ev.sum()) / n
                n_pairs = len(grammar.ordered_pairs(ev, pos, z, 50)["gene"]) / n
    out.update(embed_seconds=round(t_emb, 1), embed_mb=round(emb.numel() * 4 / 2**20, 1),
               events_per_gene=round(n_ev, 1), ordered_pairs_per_gene=round(n_pairs, 1))
    from tfvocab.model.scoring import FusedHeadScorer

    fused = FusedHeadScorer(model, emb[:2048])          # the blockwise head of evaluate / predict
    r = torch.arange(min(2048, genes))
    with torch.no_grad():
        t0 = time.perf_counter()
        for i in range(0, len(r), 1024):
            fused(r[i:i + 1024], r)
        sec = time.perf_counter() - t0
    per_m = sec / (len(r) ** 2 / 1e6)
    out.update(score_seconds_per_mpairs=round(per_m, 3),
               all_vs_all_hours=round(per_m * genes * (genes - 1) / 2 / 1e6 / 3600, 2))
    del emb
    model.train()
    pool = torch.from_numpy(np.concatenate([synthetic_z(10**6 + g0, 256, W, T, events)
                                            for g0 in range(0, 4096, 256)]))
    opt = torch.optim.AdamW(model.parameters(), lr=2e-3, weight_decay=5e-2)
    g = torch.Generator().manual_seed(0)
    times = []
    for s in range(steps + 1):
        ia = torch.randint(0, len(pool), (batch,), generator=g)
        ib = torch.randint(0, len(pool), (batch,), generator=g)
        y = (torch.rand(batch, generator=g) < 0.09).float()
        t0 = time.perf_counter()
        uniq, inv = torch.unique(torch.cat([ia, ib]), return_inverse=True)
        val = pool[uniq]
        m = torch.zeros(len(uniq), W, dtype=torch.bool)
        e = torch.cat([model.encode(None, val[c:c + 512], m[c:c + 512]) for c in range(0, len(uniq), 512)])
        logits = model.score(e[inv[:batch]], e[inv[batch:]])
        loss = torch.nn.functional.binary_cross_entropy_with_logits(logits, y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        if s:                                   # step 0 warms up
            times.append(time.perf_counter() - t0)
    out.update(step_seconds=round(float(np.median(times)), 2), genes_per_step=int(len(uniq)),
               peak_rss_mb=round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024))
    return out


def scale(variants: list[str], genes: int, T: int, events: int, steps: int, batch: int) -> list[dict]:
    """:func:`scale_child` of each variant in its own process (own peak RSS); prints a table."""
    import os
    import subprocess

    rows = []
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    for v in variants:
        cmd = [sys.executable, "-P", __file__, "--scale-child", v, "--genes", str(genes), "--tfs", str(T),
               "--events", str(events), "--steps", str(steps), "--batch", str(batch)]
        res = subprocess.run(cmd, env=env, capture_output=True, text=True)
        if res.returncode:
            raise SystemExit(res.stderr[-3000:])
        rows.append(json.loads(res.stdout.strip().splitlines()[-1]))
    print(f"genome scale: {genes} genes x 50 windows x {T} TFs, {events} planted peaks per promoter, 1 thread")
    print("model          D     bag  events/gene  pairs/gene  embed s  embed MB  score s/M pairs  all-vs-all h  "
          "step s (batch, genes)  peak RSS MB")
    for r in rows:
        print(f"{r['variant']:12s} {r['out_dim']:5d} {r['bag_dim']:5d} {r['events_per_gene']:11.1f} "
              f"{r['ordered_pairs_per_gene']:11.1f} {r['embed_seconds']:8.1f} {r['embed_mb']:9.1f} "
              f"{r['score_seconds_per_mpairs']:15.3f} {r['all_vs_all_hours']:12.2f}  "
              f"{r['step_seconds']:7.2f} ({batch}, {r['genes_per_step']})  {r['peak_rss_mb']:10d}")
    if len(rows) > 1:
        b = rows[0]
        for r in rows[1:]:
            print(f"{r['variant']} / {b['variant']}: embedding time {r['embed_seconds'] / b['embed_seconds']:.2f}x, "
                  f"memory {r['embed_mb'] / b['embed_mb']:.2f}x, pair scoring "
                  f"{r['score_seconds_per_mpairs'] / b['score_seconds_per_mpairs']:.2f}x, "
                  f"training step {r['step_seconds'] / b['step_seconds']:.2f}x")
    return rows


def main():
    ap = argparse.ArgumentParser(description="grammar preset: member-vs-decoy AUROC and universe AUPRC")
    ap.add_argument("--data", default=None, help="folder of the per-seed chains (built if missing)")
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--variants", nargs="+", default=["previous", "grammar_cos", "grammar_sim"],
                    choices=list(VARIANTS))
    ap.add_argument("--split", default="gene", choices=["gene", "community"])
    ap.add_argument("--no-baselines", action="store_true")
    ap.add_argument("--preset", default="grammar", help="simulate preset of the chains [grammar]")
    ap.add_argument("--tracks", default="dense", choices=["dense", "sparse", "sparse-nocontrol"],
                    help="simulate --tracks of the chains (one --data folder per variant) [dense]")
    ap.add_argument("--epochs", type=int, default=None, help="cap the training epochs [train's default]")
    ap.add_argument("--normalize-rev", default=None,
                    help="normalise with the normalize of this commit (before/after tables)")
    ap.add_argument("--out", default=None, help="JSON file for the result rows")
    ap.add_argument("--position-ceiling", action="store_true", help="instead of training: "
                    "ordered_pairs_oracle with events placed by the z-centroid, the raw coverage "
                    "and the planted sites (fold 0's held-out genes)")
    ap.add_argument("--scale", action="store_true", help="genome-scale cost of the --variants instead "
                    "(synthetic inputs; the first variant is the peer)")
    ap.add_argument("--scale-child", default=None, help=argparse.SUPPRESS)
    ap.add_argument("--genes", type=int, default=27_000)
    ap.add_argument("--tfs", type=int, default=300)
    ap.add_argument("--events", type=int, default=120, help="planted peaks per promoter (--scale)")
    ap.add_argument("--steps", type=int, default=5, help="training steps timed (--scale)")
    ap.add_argument("--batch", type=int, default=4096, help="pairs per training step (--scale)")
    a = ap.parse_args()
    if a.scale_child:
        print(json.dumps(scale_child(a.scale_child, a.genes, a.tfs, a.events, a.steps, a.batch)))
        return
    if a.scale:
        rows = scale(a.variants, a.genes, a.tfs, a.events, a.steps, a.batch)
        if a.out:
            Path(a.out).write_text(json.dumps(rows, indent=1))
        return
    if not a.data:
        ap.error("--data is required")
    import torch

    torch.set_num_threads(1)
    rows = []
    if a.position_ceiling:
        for s in a.seeds:
            ch = build_chain(Path(a.data) / f"seed{s}", seed=s, preset=a.preset, split=a.split, variant=a.tracks)
            data = gene_inputs(ch)
            dec = decoy_pairs(data.genes, make_split(ch, data)["split"], ch["truth"])
            for r in position_ceiling(ch, data, dec):
                rows.append({"seed": s, **r})
                print(f"seed {s}  {r['positions']:22s}  " + "  ".join(
                    f"{k[6:]} {v:.3f}" for k, v in r.items() if k.startswith("auroc_")), flush=True)
        if a.out:
            Path(a.out).write_text(json.dumps(rows, indent=1))
        return
    for s in a.seeds:
        rows += run_seed(Path(a.data), s, a.variants, a.split, baselines=not a.no_baselines,
                         preset=a.preset, tracks=a.tracks, normalize_rev=a.normalize_rev,
                         epochs=a.epochs)
        print_table([r for r in rows if r["seed"] == s])
        sys.stdout.flush()
        if a.out:                                   # after every seed: a long run keeps its rows
            Path(a.out).write_text(json.dumps(rows, indent=1, default=float))
    if len(a.seeds) > 1:
        print_table(rows)
    if a.out:
        Path(a.out).write_text(json.dumps(rows, indent=1, default=float))


if __name__ == "__main__":
    main()
