"""Grammar acceptance: does the model read TF order and spacing? (``--preset grammar``)

Every module of the ``grammar`` preset is an ordered TF pair (A then B, 20-40 bp apart, half the
instances inside one 50 bp window and half across a window boundary) in a module-specific band;
per module gene there is one decoy gene with the pair reversed in the band (``decoy_order``) and
one with the pair in order but 150-300 bp apart (``decoy_spaced``) (``truth/roles.tsv``). Decoys are
not co-expressed with anything.

Per seed the chain simulate -> promoters -> extract (stride 50 and/or 25; plus each window's
signal centre of mass, :func:`tfvocab.extract.window_com`, kept in memory/cache, not in the
pipeline's files) -> merge -> normalize -> tokenize -> pairs (``--split gene`` or ``community``)
is built once under ``--data`` and reused. Then each model variant of :data:`VARIANTS` and the
baselines are trained on the same split and scored on

* the **universe**: every unordered pair of held-out (test) genes, labels = the observed
  co-expression list (AUPRC with prevalence, AUROC), and the same pairs against the planted
  truth (same module);
* **member-vs-decoy** pairs among held-out genes: positives = pairs of members of one module,
  negatives = (member, decoy of that module) pairs, per decoy kind (``reversed`` =
  decoy_order, ``spaced`` = decoy_spaced): AUROC pooled over modules. Bag-of-TFs scores
  (mean profiles) cannot separate them (~0.5 by construction).

    OMP_NUM_THREADS=1 python -P bench/grammar.py --data /tmp/gram --seeds 0 1 2 \
        --variants default flat50 --split gene

Targets (issue): transformer >= 0.90 against reversed and against spaced decoys; bag-of-TFs ~0.5.
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
                preset: str = "grammar", transform: str = "enrichment") -> dict:
    """simulate (``root/simulate``), promoters (``root/promoters``), then per stride
    ``root/s<stride>/{extract,merge,normalize,tokenize}`` (``s<stride>_logz/{normalize,tokenize}``
    for the logz transform). ``com`` names ``com.npy`` (G, W, T) float32, each window's signal
    centre of mass in bp from its 5' end (gene orientation, NaN without signal), written on first
    use by :func:`gene_inputs`. Steps whose output exists are skipped."""
    from tfvocab import extract, merge, normalize, promoters, simulate, vocabulary
    from tfvocab.demo import samplesheet_tracks

    root = Path(root)
    sim = root / "simulate"
    if not (sim / "truth" / "roles.tsv").exists():
        simulate.run(preset=preset, seed=seed, outdir=sim)
    prom = root / "promoters" / "promoters.tsv"
    if not prom.exists():
        promoters.run(gff=sim / "annotation.gff3", fasta=sim / "genome.fa", outdir=root / "promoters")
    base = d = root / f"s{stride}"
    if transform != "enrichment":              # same extract/merge, another normalize/tokenize
        d = root / f"s{stride}_{transform}"
    tracks = samplesheet_tracks(sim / "samplesheet.csv")
    if not (base / "merge" / "signal.h5").exists():
        for name, bw in tracks:
            extract.run(promoters=prom, bigwig=[bw], tf=[name], outdir=base / "extract", stride=stride)
        merge.run(signal=sorted((base / "extract").glob("signal.*.h5")), outdir=base / "merge",
                  samplesheet=sim / "samplesheet.csv")
    if not (d / "normalize" / "normalized.h5").exists():
        normalize.run(signal=base / "merge" / "signal.h5", outdir=d / "normalize", transform=transform)
    if not (d / "tokenize" / "tokens.h5").exists():
        vocabulary.run(normalized=d / "normalize" / "normalized.h5", outdir=d / "tokenize",
                       vocab_size=vocab_size, seed=seed)
    return {"root": root, "sim": sim, "truth": sim / "truth", "promoters": prom,
            "signal": base / "merge" / "signal.h5", "normalized": d / "normalize" / "normalized.h5",
            "tokens": d / "tokenize" / "tokens.h5", "com": base / "com.npy", "stride": stride,
            "bigwigs": dict(tracks)}


def centre_of_mass(promoters_tsv: Path, bigwigs: dict, signal_h5: Path, stride: int) -> np.ndarray:
    """(G, W, T) float32 centre of mass per window of each TF of ``signal_h5`` (its TF order),
    read again from the bigWigs with :func:`tfvocab.extract.extract_track` (``com=True``)."""
    import h5py

    from tfvocab.chroms import resolve
    from tfvocab.extract import infer_flanks, make_layout, open_bigwig
    from tfvocab.io import read_strings
    from tfvocab.promoters import read_promoters

    with h5py.File(signal_h5, "r") as f:
        tfs = read_strings(f["tfs"])
        width = int(f.attrs.get("window", 50))
    df = read_promoters(promoters_tsv)
    up, down = infer_flanks(df)
    lay = make_layout(df, width, stride, up, down)
    out = []
    for tf in tfs:
        bw = open_bigwig(bigwigs[tf])
        res = resolve(list(lay.chroms), list(bw.chroms), None, source_label="promoters",
                      target_label=str(bigwigs[tf]))
        from tfvocab.extract import extract_track
        out.append(extract_track(bw, lay, res.mapping, com=True)["com"])
        bw.close()
    return np.stack(out, axis=-1).astype(np.float32)


# ----------------------------------------------------------------------------- split and labels
def make_split(chain: dict, split: str = "gene", seed: int = 0, negatives: str = "degree",
               neg_ratio: float = 3.0) -> dict:
    """The pairs step in memory (``tfvocab.pairs.build_pairs``, pipeline defaults) plus the gene
    partition it used: ``pairs`` (gene_a, gene_b, label, split, source), ``assign`` {gene: split},
    ``positives`` (the cleaned listed pairs: the universe's labels)."""
    from tfvocab import pairs as P
    from tfvocab.promoters import read_promoters

    prom = read_promoters(chain["promoters"])
    coexp = P.read_coexpression(chain["sim"] / "coexpression.tsv")
    pairs, _ = P.build_pairs(coexp, prom, split=split, seed=seed, negatives=negatives,
                             neg_ratio=neg_ratio)
    positives, _, _ = P.clean_positives(coexp, prom["gene_id"].astype(str).tolist(),
                                        header_detected=True)
    chrom = dict(zip(prom["gene_id"].astype(str), prom["chrom"].astype(str)))
    assign = P.split_genes(sorted(chrom), positives, method=split, seed=seed, chrom=chrom)
    return {"pairs": pairs, "assign": assign, "positives": positives, "split": split}


def universe(genes: list[str], assign: dict, positives: pd.DataFrame, truth_dir: Path,
             part: str = "test") -> dict:
    """Every unordered pair of the genes of partition ``part``: ``ia, ib`` (indices into
    ``genes``), ``label`` (listed co-expressed pair), ``truth`` (same planted module)."""
    idx = np.array([i for i, g in enumerate(genes) if assign.get(g) == part], dtype=np.int64)
    a, b = np.triu_indices(len(idx), k=1)
    ia, ib = idx[a], idx[b]
    n = len(genes)
    key = np.minimum(ia, ib) * n + np.maximum(ia, ib)
    pos = {g: i for i, g in enumerate(genes)}

    def keys(df, ca, cb):
        x = df[ca].map(pos).to_numpy()
        y = df[cb].map(pos).to_numpy()
        ok = ~(pd.isna(x) | pd.isna(y))
        x, y = x[ok].astype(np.int64), y[ok].astype(np.int64)
        return np.minimum(x, y) * n + np.maximum(x, y)

    modules = pd.read_csv(Path(truth_dir) / "modules.tsv", sep="\t")
    mod = dict(zip(modules.gene_id, modules.module))
    m = np.array([mod.get(g, "") for g in genes], dtype=object)
    truth = (m[ia] == m[ib]) & (m[ia] != "")
    label = np.isin(key, keys(positives, "gene_a", "gene_b"))
    return {"ia": ia, "ib": ib, "label": label.astype(np.int8), "truth": truth.astype(np.int8),
            "genes": idx}


def decoy_pairs(genes: list[str], assign: dict, truth_dir: Path, part: str = "test") -> dict:
    """Member-vs-decoy pairs among the genes of ``part``, per decoy label of :data:`DECOY_KINDS`:
    ``{label: (ia, ib, y)}`` with y = 1 for two members of one module and 0 for a (member,
    decoy of that module) pair. Pooled over modules."""
    roles = pd.read_csv(Path(truth_dir) / "roles.tsv", sep="\t")
    pos = {g: i for i, g in enumerate(genes)}
    roles = roles[roles.gene_id.map(lambda g: assign.get(g) == part and g in pos)]
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
    """``tfvocab.data.GeneData`` of the chain with ``features`` as value channels (concatenated
    on the TF axis: ``mean`` = normalized.h5's signal, ``com`` = :func:`com_feature`)."""
    import torch

    from tfvocab.data import load_gene_data

    data = load_gene_data(chain["tokens"], chain["normalized"], "both").with_mode(mode)
    vals = data.values.numpy()
    chans, names = [], []
    for f in features:
        if f == "mean":
            chans.append(vals)
            names += list(data.tfs)
        elif f == "com":
            if not chain["com"].exists():          # computed once, on first use
                np.save(chain["com"], centre_of_mass(chain["promoters"], chain["bigwigs"],
                                                     chain["signal"], chain["stride"]))
            chans.append(com_feature(np.load(chain["com"]), vals))
            names += [f"{t}:com" for t in data.tfs]
        elif f == "events":                  # z at binding events only (tfvocab.grammar.events)
            from tfvocab import grammar

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


def index_pairs(pairs: pd.DataFrame, genes: list[str]) -> pd.DataFrame:
    pos = {g: i for i, g in enumerate(genes)}
    out = pairs.assign(ia=pairs.gene_a.map(pos), ib=pairs.gene_b.map(pos)).dropna(subset=["ia", "ib"])
    return out.astype({"ia": np.int64, "ib": np.int64})


def train_transformer(data, pairs: pd.DataFrame, config: dict, seed: int, workdir: Path):
    """Train with ``tfvocab.train.train_model`` (its defaults < ``config``); returns the model."""
    import torch

    from tfvocab import train

    torch.set_num_threads(1)
    params = train.resolve_params(**{**config, "seed": seed, "device": "cpu"})
    workdir.mkdir(parents=True, exist_ok=True)
    res = train.train_model(data, index_pairs(pairs, data.genes), params, workdir, write_model=False)
    return res["model"], res


def transformer_scorer(model, data):
    from tfvocab.train import score_pairs

    return lambda ia, ib: score_pairs(model, data, ia, ib, "cpu")


def baseline_scorers(data, pairs: pd.DataFrame, seed: int) -> dict:
    """Pair scorers of the baselines: bag-of-TFs (``cosine_profile``: cosine of mean TF profiles;
    ``logreg_profile``: logistic regression on their symmetric pair features, trained on the
    train pairs), ``bag_of_tokens`` (same on token frequencies) and the position-resolved
    ``window_corr`` (Pearson correlation of the two flattened windows x TFs profiles)."""
    from tfvocab import baselines as B

    vals = data.base_values
    wmask = data.value_mask.numpy()
    prof = B.mean_profiles(vals, wmask)
    tr = index_pairs(pairs[pairs.split == "train"], data.genes)
    ia, ib, y = tr.ia.to_numpy(), tr.ib.to_numpy(), tr.label.to_numpy()
    out = {"cosine_profile": lambda a, b: B.cosine_scores(prof, a, b)}
    lr = B.fit_logistic(B.symmetric_features(prof, ia, ib), y, seed)
    out["logreg_profile"] = lambda a, b: lr.predict_proba(B.symmetric_features(prof, a, b))[:, 1]
    freq = B.token_frequencies(data.tokens.numpy(), data.n_tokens, data.mask_token)
    lt = B.fit_logistic(B.symmetric_features(freq, ia, ib), y, seed)
    out["bag_of_tokens"] = lambda a, b: lt.predict_proba(B.symmetric_features(freq, a, b))[:, 1]
    flat = vals.reshape(len(vals), -1).astype(np.float64)
    flat = flat - flat.mean(1, keepdims=True)
    flat /= np.maximum(np.linalg.norm(flat, axis=1, keepdims=True), 1e-12)
    out["window_corr"] = lambda a, b: (flat[a] * flat[b]).sum(1)
    return out


def ordered_pairs_scorer(data, pairs: pd.DataFrame, seed: int):
    """The ``ordered_pairs_lr`` baseline: logistic regression on the products of the two genes'
    signed ordered-pair bags (:mod:`tfvocab.grammar`, exact pair coordinates, no tower): the
    grammar representation with the simplest trained reader."""
    import torch
    from sklearn.linear_model import LogisticRegression

    from tfvocab import grammar

    vals = torch.from_numpy(data.base_values)
    stride = int(np.diff(data.window_start).min())
    T = vals.shape[-1]
    thr = grammar.default_threshold(T)
    ev, pos = grammar.events(vals, thr, stride)
    p = grammar.ordered_pairs(ev, pos, vals, stride)
    w = grammar.pair_weights(p, vals, pos, thr)
    size = T * (T - 1) // 2
    idx, sign = grammar.pair_index(p["first"], p["second"], T, size)
    bag = np.zeros((len(vals), size), np.float32)
    np.add.at(bag, (p["gene"].numpy(), idx.numpy()), (w * sign).detach().numpy())
    bag = np.sign(bag) * np.log1p(np.abs(bag))
    tr = index_pairs(pairs[pairs.split == "train"], data.genes)
    ia, ib = tr.ia.to_numpy(), tr.ib.to_numpy()
    lr = LogisticRegression(C=0.1, max_iter=3000, class_weight="balanced", random_state=seed)
    lr.fit(bag[ia] * bag[ib], tr.label.to_numpy())
    return lambda a, b: lr.decision_function(bag[a] * bag[b])


#: model variants: (stride, value features, input mode, tfvocab.train overrides[, normalize
#: transform]); the baselines use the stride-50 enrichment chain
VARIANTS = {
    "default": (50, ("mean",), "continuous", {}),
    "grammar": (50, ("mean",), "continuous", {"grammar_bag": 1024}),
    "grammar_sim": (50, ("mean",), "continuous", {"grammar_bag": 1024, "pair_features": "similarity"}),
    "sim": (50, ("mean",), "continuous", {"pair_features": "similarity"}),
    "grammar_cos": (50, ("mean",), "continuous", {"grammar_bag": 1024, "pair_features": "cosine"}),
    "cos": (50, ("mean",), "continuous", {"pair_features": "cosine"}),
    "s25_grammar_sim": (25, ("mean",), "continuous",
                        {"grammar_bag": 1024, "pair_features": "similarity", "window_stride": 25}),
    "com": (50, ("mean", "com"), "continuous", {}),
    "relbias_grammar_sim": (50, ("mean",), "continuous",
                            {"grammar_bag": 1024, "pair_features": "similarity", "rel_bias": 8}),
    # input modes of the chosen model, grammar_cos (tokens cannot carry the grammar bag: it reads
    # the values); continuous = grammar_cos
    "tokens": (50, ("mean",), "tokens", {"pair_features": "cosine"}),
    "both": (50, ("mean",), "both", {"grammar_bag": 1024, "pair_features": "cosine"}),
    "tokens_sim": (50, ("mean",), "tokens", {"pair_features": "similarity"}),
    "both_sim": (50, ("mean",), "both", {"grammar_bag": 1024, "pair_features": "similarity"}),
    # the previous normalisation (log2 + z-score, tokens on robust thresholds) as model input
    "default_logz": (50, ("mean",), "continuous", {}, "logz"),
    "grammar_sim_logz": (50, ("mean",), "continuous", {"grammar_bag": 1024, "pair_features": "similarity"},
                         "logz"),
    "grammar_cos_logz": (50, ("mean",), "continuous", {"grammar_bag": 1024, "pair_features": "cosine"},
                         "logz"),
}
BASELINES = ("cosine_profile", "logreg_profile", "bag_of_tokens", "window_corr", "ordered_pairs_lr")


def run_seed(data_root: Path, seed: int, variants: list[str], split: str = "gene",
             baselines: bool = True, workdir: Path | None = None, preset: str = "grammar") -> list[dict]:
    """Every variant (and the baselines) on one seed's chain and split: a list of result rows."""
    rows = []
    chains, splits, inputs = {}, {}, {}
    workdir = Path(workdir or data_root / "train")
    key = lambda v: (VARIANTS[v][0], VARIANTS[v][4] if len(VARIANTS[v]) > 4 else "enrichment")  # noqa: E731
    need = {key(v) for v in variants} | ({(50, "enrichment")} if baselines else set())
    for ck in sorted(need):
        chains[ck] = build_chain(data_root / f"seed{seed}", seed=seed, stride=ck[0], preset=preset,
                                 transform=ck[1])
        splits[ck] = make_split(chains[ck], split, seed)

    def inp(ck, feats, mode):
        k = (ck, feats, mode)
        if k not in inputs:
            inputs[k] = gene_inputs(chains[ck], feats, mode)
        return inputs[k]

    ref = inp((50, "enrichment"), ("mean",), "continuous") if baselines else None
    if baselines:
        sp, ch = splits[(50, "enrichment")], chains[(50, "enrichment")]
        uni = universe(ref.genes, sp["assign"], sp["positives"], ch["truth"])
        dec = decoy_pairs(ref.genes, sp["assign"], ch["truth"])
        scorers = baseline_scorers(ref, sp["pairs"], seed)
        scorers["ordered_pairs_lr"] = ordered_pairs_scorer(ref, sp["pairs"], seed)
        for name, fn in scorers.items():
            rows.append({"seed": seed, "split": split, "model": name, "kind": "baseline",
                         **score_metrics(fn, uni, dec)})
    for v in variants:
        stride, feats, mode, cfg = VARIANTS[v][:4]
        data = inp(key(v), feats, mode)
        sp, ch = splits[key(v)], chains[key(v)]
        uni = universe(data.genes, sp["assign"], sp["positives"], ch["truth"])
        dec = decoy_pairs(data.genes, sp["assign"], ch["truth"])
        t0 = time.perf_counter()
        model, res = train_transformer(data, sp["pairs"], {**cfg, "input": mode}, seed,
                                       workdir / f"{v}_s{seed}_{split}")
        rows.append({"seed": seed, "split": split, "model": v, "kind": "transformer",
                     "train_seconds": round(time.perf_counter() - t0, 1), "best_epoch": res["best_epoch"],
                     **score_metrics(transformer_scorer(model, data), uni, dec)})
    return rows


def print_table(rows: list[dict]) -> None:
    df = pd.DataFrame(rows)
    cols = ["auprc", "auprc_ci", "prevalence", "truth_auprc", "auroc", "auroc_reversed", "auroc_spaced"]
    print("model               seed split   AUPRC [95% CI]          prev.   truthAUPRC  AUROC  "
          "rev.AUROC  spaced.AUROC")
    for r in df.itertuples():
        ci = getattr(r, "auprc_ci", (np.nan, np.nan))
        print(f"{r.model:19s} {r.seed:4d} {r.split:7s} {r.auprc:.3f} [{ci[0]:.3f}, {ci[1]:.3f}]  "
              f"{r.prevalence:.4f}  {r.truth_auprc:10.3f}  {r.auroc:.3f}  "
              f"{getattr(r, 'auroc_reversed', np.nan):9.3f}  {getattr(r, 'auroc_spaced', np.nan):12.3f}")
    if df.seed.nunique() > 1:
        print("\nmean over seeds (min, max):")
        agg = df.groupby(["split", "model"], sort=False)
        for (split, m), g in agg:
            parts = [f"{c} {g[c].mean():.3f} ({g[c].min():.3f}, {g[c].max():.3f})"
                     for c in ("auprc", "auroc_reversed", "auroc_spaced") if c in g]
            print(f"  {split:9s} {m:19s} " + "  ".join(parts))
    del cols


def main():
    ap = argparse.ArgumentParser(description="grammar preset: member-vs-decoy AUROC and universe AUPRC")
    ap.add_argument("--data", required=True, help="folder of the per-seed chains (built if missing)")
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--variants", nargs="+", default=["default", "grammar_sim"],
                    choices=list(VARIANTS))
    ap.add_argument("--split", default="gene", choices=["gene", "community"])
    ap.add_argument("--no-baselines", action="store_true")
    ap.add_argument("--preset", default="grammar", help="simulate preset of the chains [grammar]")
    ap.add_argument("--out", default=None, help="JSON file for the result rows")
    a = ap.parse_args()
    import torch

    torch.set_num_threads(1)
    rows = []
    for s in a.seeds:
        rows += run_seed(Path(a.data), s, a.variants, a.split, baselines=not a.no_baselines,
                         preset=a.preset)
        print_table([r for r in rows if r["seed"] == s])
        sys.stdout.flush()
    if len(a.seeds) > 1:
        print_table(rows)
    if a.out:
        Path(a.out).write_text(json.dumps(rows, indent=1, default=float))


if __name__ == "__main__":
    main()
