"""The planted regulatory grammar: TF names, module rules, binding sites and co-expression.

Offsets are gene-relative (bp, gene orientation, 0 = first base of the representative isoform's
start codon; ``tfvocab.coords``): a site at offset ``o`` has its centre at genomic ``sc + o`` on
'+' and ``sc - o`` on '-'. A site occupies ``[centre - width//2, centre - width//2 + width)``.

A *rule* is an ordered combination of 2-3 TFs with fixed spacing (``spacing[i]`` = offset of TF
``i`` relative to TF 0, 5'->3', total span <= 50 bp) inside a module-specific position band
(``band = [b0, b1)`` offsets of the first TF's anchor). With ``balanced`` anchors every instance
(and reversed decoy) is drawn, with probability 1/2 each, so that its first and last sites fall in
the same default 50 bp window (``shared``) or in two adjacent ones (``straddle``): grammar that a
window-level reader must resolve inside a window and across a window boundary. Site kinds:

* ``module``: a module gene's instance of its rule (anchor jittered uniformly within the band);
* ``decoy_far``: the rule's TFs in a non-module promoter, pairwise > 300 bp apart;
* ``decoy_band``: the full combination (same order and spacing) > 300 bp away from the band;
* ``decoy_order``: the combination in the band but in reversed order (mirrored spacing);
* ``decoy_spaced``: the rule's TFs in the rule's order with the first TF's anchor in the band but
  every gap widened to ``spaced_gap`` bp (the same pair, too far apart to act as one);
* ``background``: random promoter sites of every TF, plus genome-wide sites (``gene_id`` '.',
  ``offset`` empty).
"""
from __future__ import annotations

import functools
import itertools

import numpy as np
import pandas as pd

FAMILIES = ["MYB", "bZIP", "WRKY", "NAC", "ERF", "bHLH", "HSF", "TCP", "GATA", "DOF",
            "ARF", "HB", "MADS", "SBP", "GRF", "LBD", "BES1", "E2F", "CAMTA", "Trihelix"]
SITE_COLUMNS = ["gene_id", "tf", "chrom", "start", "end", "offset", "module", "kind", "height"]
PROMOTER_RANGE = (-2000, 500)       # inclusive offsets where promoter sites may sit


def tf_names(n: int) -> list[str]:
    """``n`` unique, filename-safe TF names like ``MYB1``, ``bZIP1``, ..., cycling the families."""
    return [f"{FAMILIES[i % len(FAMILIES)]}{i // len(FAMILIES) + 1}" for i in range(n)]


def make_grammar(rng: np.random.Generator, tfs: list[str], n_modules: int, usable: np.ndarray,
                 band_width: int = 150, band_range: tuple = (-1500, -50), max_span: int = 50,
                 share_prob: float = 0.6, rule_sizes: tuple = (2, 3),
                 rule_size_p: tuple = (0.55, 0.45), min_gap: int = 12) -> list[dict]:
    """Draw ``n_modules`` rules over the TFs flagged in ``usable`` (bool, (T,)).

    Each rule: ``rule_sizes`` distinct TFs (ordered; drawn with probabilities ``rule_size_p``),
    ``spacing`` (offsets of each TF relative to the first, increasing, gaps >= ``min_gap`` bp,
    span <= ``max_span``), ``band`` [b0, b1) of width ``band_width`` inside
    ``band_range``. With probability ``share_prob`` a rule reuses a TF from an earlier rule, so
    TFs are shared between modules with different partners. Combinations are unique as sets.
    """
    pool = [t for t, u in zip(tfs, usable) if u]
    if len(pool) < 2:
        raise ValueError("need at least 2 usable TFs to build a grammar")
    uses = {t: 0 for t in pool}
    seen: set = set()
    rules = []
    for m in range(n_modules):
        for _attempt in range(200):
            k = int(min(len(pool), rng.choice(list(rule_sizes), p=list(rule_size_p))))
            chosen: list[str] = []
            used = [t for t in pool if uses[t] > 0]
            if used and rng.random() < share_prob:
                chosen.append(str(rng.choice(used)))
            while len(chosen) < k:
                rest = [t for t in pool if t not in chosen]
                w = np.array([1.0 / (1 + uses[t]) ** 2 for t in rest])
                chosen.append(str(rng.choice(rest, p=w / w.sum())))
            if frozenset(chosen) not in seen:
                break
        seen.add(frozenset(chosen))
        rng.shuffle(chosen)
        gaps = rng.integers(min_gap, max(min_gap, max_span // (k - 1)) + 1, size=k - 1)
        spacing = np.concatenate([[0], np.cumsum(gaps)]).astype(int)
        b0 = int(rng.integers(band_range[0], band_range[1] - band_width - spacing[-1] + 1))
        for t in chosen:
            uses[t] += 1
        rules.append({"module": f"M{m + 1:02d}", "tfs": chosen, "spacing": spacing.tolist(),
                      "band": [b0, b0 + band_width], "span": int(spacing[-1])})
    return rules


def assign_modules(rng: np.random.Generator, candidates: np.ndarray, rules: list[dict],
                   size_range: tuple) -> pd.DataFrame:
    """Disjoint module membership: ``module, gene_id`` drawn from ``candidates`` (gene IDs)."""
    sizes = rng.integers(size_range[0], size_range[1] + 1, size=len(rules))
    total = int(sizes.sum())
    if total > len(candidates):
        sizes = np.maximum(2, (sizes * len(candidates) * 0.5 / total).astype(int))
    picked = rng.permutation(candidates)
    rows, i = [], 0
    for r, n in zip(rules, sizes):
        for g in sorted(picked[i:i + n]):
            rows.append((r["module"], str(g)))
        i += n
    return pd.DataFrame(rows, columns=["module", "gene_id"])


def _spread(rng: np.random.Generator, k: int, lo: int, hi: int, min_gap: int) -> np.ndarray:
    """``k`` sorted integers in [lo, hi] pairwise more than ``min_gap`` apart."""
    room = hi - lo - (min_gap + 1) * (k - 1)
    u = np.sort(rng.integers(0, room + 1, size=k))
    return lo + u + (min_gap + 1) * np.arange(k)


WINDOW_GRID = (PROMOTER_RANGE[0], 50)    # the default window grid: first window start, width (bp)


def window_index(offset) -> np.ndarray:
    """Index of the default 50 bp window (``WINDOW_GRID``) holding each offset: int array."""
    return (np.asarray(offset) - WINDOW_GRID[0]) // WINDOW_GRID[1]


def window_relation(offsets) -> str:
    """How a grammar instance's site centres sit on the default window grid: ``shared`` (one
    window), ``straddle`` (two adjacent windows) or ``apart`` (three or more)."""
    k = window_index(offsets)
    n = int(k.max() - k.min())
    return "shared" if n == 0 else "straddle" if n == 1 else "apart"


def _anchor(rng: np.random.Generator, b0: int, b1: int, span: int, balanced: bool) -> int:
    """Offset of an instance's first site, uniform in ``[b0, b1 - span]``; with ``balanced``,
    first a fair coin for ``shared`` / ``straddle`` (:func:`window_relation`), then uniform over
    the anchors giving that relation (any anchor when none does)."""
    if not balanced:
        return int(rng.integers(b0, b1 - span + 1))
    cand = np.arange(b0, b1 - span + 1)
    same = window_index(cand) == window_index(cand + span)
    want = same if rng.random() < 0.5 else ~same
    pick = cand[want] if want.any() else cand
    return int(pick[rng.integers(len(pick))])


def grammar_sites(rng: np.random.Generator, rules: list[dict], modules: pd.DataFrame,
                  pool: np.ndarray, decoy_far: float, decoy_band: float,
                  decoy_order: float, decoy_spaced: float = 0.0, spaced_gap: tuple = (150, 300),
                  balanced: bool = False) -> pd.DataFrame:
    """Module instances and decoys: columns ``gene_id, tf, offset, module, kind``.

    ``pool``: gene IDs eligible as decoys (non-module, unclipped); each gets at most one decoy.
    Decoy counts per module are ``rate * module size`` (rounded). ``spaced_gap``: (lo, hi) bp,
    inclusive, of each gap of a ``decoy_spaced`` instance. ``balanced``: see :func:`_anchor`.
    """
    lo, hi = PROMOTER_RANGE[0] + 50, PROMOTER_RANGE[1] - 50
    pool = list(rng.permutation(pool))
    rows = []
    for r in rules:
        tfs, sp, (b0, b1), span = r["tfs"], np.array(r["spacing"]), r["band"], r["span"]
        genes = modules.loc[modules.module == r["module"], "gene_id"].tolist()
        for g in genes:
            p = _anchor(rng, b0, b1, span, balanced)
            rows += [(g, t, p + int(s), r["module"], "module") for t, s in zip(tfs, sp)]
        n = len(genes)
        for kind, rate in (("decoy_far", decoy_far), ("decoy_band", decoy_band),
                           ("decoy_order", decoy_order), ("decoy_spaced", decoy_spaced)):
            for _ in range(int(round(rate * n))):
                if not pool:
                    break
                g = str(pool.pop())
                if kind == "decoy_far":
                    pos = rng.permutation(_spread(rng, len(tfs), lo, hi, 300))
                    rows += [(g, t, int(o), r["module"], kind) for t, o in zip(tfs, pos)]
                elif kind == "decoy_band":
                    allowed = np.r_[lo:max(lo, b0 - 300 - span), min(hi, b1 + 300):hi - span]
                    p = int(rng.choice(allowed))
                    rows += [(g, t, p + int(s), r["module"], kind) for t, s in zip(tfs, sp)]
                elif kind == "decoy_order":
                    p = _anchor(rng, b0, b1, span, balanced)
                    rows += [(g, t, p + span - int(s), r["module"], kind) for t, s in zip(tfs, sp)]
                else:
                    gaps = rng.integers(spaced_gap[0], spaced_gap[1] + 1, size=len(tfs) - 1)
                    off = np.concatenate([[0], np.cumsum(gaps)])
                    p = int(rng.integers(b0, b1))
                    p = min(p, hi - int(off[-1]))
                    rows += [(g, t, p + int(o), r["module"], kind) for t, o in zip(tfs, off)]
    return pd.DataFrame(rows, columns=["gene_id", "tf", "offset", "module", "kind"])


ROLE_COLUMNS = ["gene_id", "module", "role", "kind", "tfs", "offsets", "spacing", "window_relation"]


def gene_roles(sites: pd.DataFrame) -> pd.DataFrame:
    """One row per gene carrying a module instance or a decoy (``truth/roles.tsv``).

    ``role``: ``member`` (kind ``module``) or ``decoy``; ``kind``: the site kind (decoy kind);
    ``tfs`` / ``offsets``: the instance's TFs and site-centre offsets 5'->3' (comma-separated);
    ``spacing``: last minus first offset (bp); ``window_relation``: :func:`window_relation`.
    ``sites``: gene-anchored grammar sites (``gene_id, tf, offset, module, kind``).
    """
    gram = sites[sites.kind.isin(["module", "decoy_far", "decoy_band", "decoy_order", "decoy_spaced"])]
    rows = []
    for (g, m, kind), grp in gram.groupby(["gene_id", "module", "kind"], sort=True):
        grp = grp.sort_values("offset", kind="stable")
        off = grp.offset.to_numpy(np.int64)
        rows.append((g, m, "member" if kind == "module" else "decoy", kind, ",".join(grp.tf),
                     ",".join(str(int(o)) for o in off), int(off[-1] - off[0]), window_relation(off)))
    return pd.DataFrame(rows, columns=ROLE_COLUMNS)


def background_promoter_sites(rng: np.random.Generator, gene_ids: np.ndarray, tfs: list[str],
                              rate: float) -> pd.DataFrame:
    """Poisson(``rate``) random sites per (gene, TF), offsets uniform over the promoter."""
    counts = rng.poisson(rate, size=(len(gene_ids), len(tfs)))
    gi, ti = np.nonzero(counts)
    reps = counts[gi, ti]
    gi, ti = np.repeat(gi, reps), np.repeat(ti, reps)
    off = rng.integers(PROMOTER_RANGE[0], PROMOTER_RANGE[1] + 1, size=len(gi))
    return pd.DataFrame({"gene_id": np.asarray(gene_ids)[gi], "tf": np.asarray(tfs)[ti],
                         "offset": off, "module": ".", "kind": "background"})


def to_genomic(sites: pd.DataFrame, genes: pd.DataFrame, width: int) -> pd.DataFrame:
    """Add ``chrom, start, end`` to gene-anchored sites (``genes``: gene_id, chrom, strand,
    start_codon)."""
    g = genes.set_index("gene_id").loc[sites.gene_id]
    sc = g.start_codon.to_numpy(np.int64)
    centre = np.where(g.strand.to_numpy() == "-", sc - sites.offset.to_numpy(), sc + sites.offset.to_numpy())
    out = sites.copy()
    out["chrom"] = g.chrom.to_numpy()
    out["start"] = centre - width // 2
    out["end"] = out["start"] + width
    return out


def genome_background_sites(rng: np.random.Generator, chroms: dict, tfs: list[str],
                            per_mb: float, width: int) -> pd.DataFrame:
    """Genome-wide random sites: Poisson(``per_mb`` * Mb) per TF, uniform over the genome."""
    names = list(chroms)
    lens = np.array([chroms[c] for c in names], dtype=np.int64)
    total = int(lens.sum())
    counts = rng.poisson(per_mb * total / 1e6, size=len(tfs))
    ti = np.repeat(np.arange(len(tfs)), counts)
    pos = rng.integers(width, total - width, size=len(ti))
    cum = np.concatenate([[0], np.cumsum(lens)])
    ci = np.searchsorted(cum, pos, side="right") - 1
    local = pos - cum[ci]
    local = np.clip(local, width, lens[ci] - width)
    start = local - width // 2
    return pd.DataFrame({"gene_id": ".", "tf": np.asarray(tfs)[ti], "chrom": np.asarray(names)[ci],
                         "start": start, "end": start + width, "offset": pd.NA,
                         "module": ".", "kind": "background"})


def true_pairs(modules: pd.DataFrame) -> pd.DataFrame:
    """All within-module pairs ``gene_a, gene_b, module`` with gene_a < gene_b, sorted."""
    rows = []
    for m, grp in modules.groupby("module", sort=True):
        for a, b in itertools.combinations(sorted(grp.gene_id), 2):
            rows.append((a, b, m))
    return pd.DataFrame(rows, columns=["gene_a", "gene_b", "module"]).sort_values(
        ["gene_a", "gene_b"], ignore_index=True)


def observed_pairs(rng: np.random.Generator, truth: pd.DataFrame, gene_ids: np.ndarray,
                   withheld: float, false_pos: float) -> pd.DataFrame:
    """The observed co-expression list ``gene_a, gene_b, score``.

    Keeps ``round((1 - withheld) * N)`` of the N true pairs and adds false-positive pairs (random
    gene pairs that are not true) making up ``false_pos`` of the list. Scores are correlation-like:
    true ~ N(0.82, 0.08), false ~ N(0.72, 0.07), clipped to [0.6, 1.0], 4 decimals.
    """
    n_keep = int(round((1 - withheld) * len(truth)))
    keep = truth.iloc[np.sort(rng.choice(len(truth), size=n_keep, replace=False))]
    n_fp = int(round(false_pos * n_keep / max(1e-9, 1 - false_pos)))
    true_set = set(zip(truth.gene_a, truth.gene_b))
    fp: set = set()
    ids = np.sort(np.asarray(gene_ids))
    while len(fp) < n_fp:
        a, b = rng.choice(len(ids), size=2, replace=False)
        pair = (ids[min(a, b)], ids[max(a, b)])
        if pair not in true_set:
            fp.add(pair)
    fp_df = pd.DataFrame(sorted(fp), columns=["gene_a", "gene_b"])
    s_true = np.clip(rng.normal(0.82, 0.08, size=len(keep)), 0.6, 1.0)
    s_fp = np.clip(rng.normal(0.72, 0.07, size=len(fp_df)), 0.6, 1.0)
    out = pd.concat([keep[["gene_a", "gene_b"]].assign(score=s_true), fp_df.assign(score=s_fp)],
                    ignore_index=True)
    out["score"] = out.score.round(4)
    return out.sort_values(["gene_a", "gene_b"], ignore_index=True)


# --- evaluation settings of the co-expression list (SimParams.unlisted_frac / labels_independent)
def label_settings(rng: np.random.Generator, observed: pd.DataFrame, modules: pd.DataFrame,
                   gene_ids: np.ndarray, unlisted_frac: float = 0.0,
                   labels_independent: bool = False) -> pd.DataFrame:
    """The observed list under an evaluation setting (truth/ is left as planted).

    ``unlisted_frac``: that fraction of module genes is dropped from the list (every pair
    touching them removed): true co-expression partners the list never names, as for genes a
    real co-expression resource does not cover. ``labels_independent``: the list's gene IDs are
    permuted among ``gene_ids`` (a fixed random bijection), so the listed pairs keep their graph
    but carry no information about the genes' promoters (a null for the evaluation).
    """
    out = observed
    if unlisted_frac > 0:
        members = np.sort(modules.gene_id.unique())
        drop = set(rng.choice(members, size=int(round(unlisted_frac * len(members))), replace=False))
        out = out[~(out.gene_a.isin(drop) | out.gene_b.isin(drop))]
    if labels_independent:
        ids = np.sort(np.asarray(gene_ids))
        perm = dict(zip(ids, rng.permutation(ids)))
        a, b = out.gene_a.map(perm), out.gene_b.map(perm)
        out = out.assign(gene_a=np.minimum(a, b), gene_b=np.maximum(a, b))
    return out.sort_values(["gene_a", "gene_b"], ignore_index=True)


@functools.lru_cache(maxsize=1)
def jaspar_motifs() -> dict:
    """All Arabidopsis (taxon 3702) JASPAR CORE motifs from pyjaspar's bundled database.

    Returns {matrix_id: (name, probabilities float64 (L, 4) over A, C, G, T)}, sorted by ID;
    probabilities are counts + 0.25 pseudocount, row-normalised.
    """
    try:
        from pyjaspar import jaspardb
    except ImportError as exc:                     # pragma: no cover - optional extra
        from ..errors import TfvocabError
        raise TfvocabError("motif planting needs pyjaspar", hint="pip install pyjaspar") from exc
    out = {}
    for m in sorted(jaspardb().fetch_motifs(collection="CORE", tax_group=["plants"], species=["3702"]),
                    key=lambda m: m.matrix_id):
        counts = np.array([list(m.counts[b]) for b in "ACGT"], dtype=np.float64).T + 0.25
        out[m.matrix_id] = (m.name, counts / counts.sum(axis=1, keepdims=True))
    return out


def jaspar_pfms(rng: np.random.Generator, tfs: list[str]) -> dict:
    """Assign each TF a distinct Arabidopsis JASPAR motif (cycled if there are too few).

    Returns {tf: (matrix_id, motif name, probabilities (L, 4))}.
    """
    table = jaspar_motifs()
    ids = list(table)
    pick = rng.permutation(len(ids))
    return {tf: (ids[int(pick[i % len(ids)])], *table[ids[int(pick[i % len(ids)])]])
            for i, tf in enumerate(tfs)}


def sample_motifs(rng: np.random.Generator, probs: np.ndarray, n: int) -> np.ndarray:
    """``n`` sequences drawn from a PFM ``probs`` (L, 4): uint8 ASCII array (n, L)."""
    cum = np.cumsum(probs, axis=1)
    u = rng.random((n, probs.shape[0], 1))
    idx = (u > cum[None, :, :3]).sum(axis=2)
    return np.frombuffer(b"ACGT", dtype=np.uint8)[idx]


def plant_motifs(rng: np.random.Generator, seqs: dict, sites: pd.DataFrame, pfms: dict) -> None:
    """Write a PFM-sampled motif instance (random orientation) centred on every site (in place)."""
    comp = np.zeros(256, dtype=np.uint8)
    for a, b in zip(b"ACGTN", b"TGCAN"):
        comp[a] = b
    for tf, grp in sites.groupby("tf", sort=True):
        probs = pfms[tf]
        L = probs.shape[0]
        inst = sample_motifs(rng, probs, len(grp))
        flip = rng.random(len(grp)) < 0.5
        inst[flip] = comp[inst[flip][:, ::-1]]
        left = ((grp.start.to_numpy() + grp.end.to_numpy()) // 2 - L // 2).astype(np.int64)
        for c in grp.chrom.unique():
            sel = (grp.chrom.to_numpy() == c) & (left >= 0) & (left + L <= len(seqs[c]))
            pos = left[sel][:, None] + np.arange(L)[None, :]
            seqs[c][pos.ravel()] = inst[sel].ravel()


def site_windows(sites: pd.DataFrame, promoters: pd.DataFrame, genes: list[str],
                 window_start: np.ndarray, width: int, tfs: list[str], reach: int = 60
                 ) -> tuple[np.ndarray, np.ndarray]:
    """Where the planted sites fall on a window grid: ``holding`` and ``near`` bool (G, W, T).

    ``holding[g, w, t]``: a site of TF ``t`` has its centre in window ``w`` of gene ``g``;
    ``near``: a site of ``t`` has its centre within ``reach`` bp of the window (window extended by
    ``reach`` on both sides). Every site of ``sites`` counts (module, decoy, background,
    genome-wide ones), mapped through each gene's start codon and strand (``promoters``:
    gene_id, chrom, strand, start_codon), so overlapping promoters share their sites.
    ``window_start`` (W,) offsets, ``width`` bp.
    """
    G, W, T = len(genes), len(window_start), len(tfs)
    holding = np.zeros((G, W, T), bool)
    near = np.zeros((G, W, T), bool)
    tix = {t: i for i, t in enumerate(tfs)}
    s = sites[sites.tf.isin(list(tix))]
    centre = ((s.start.to_numpy() + s.end.to_numpy()) // 2).astype(np.int64)
    tcol = s.tf.map(tix).to_numpy()
    chrom = s.chrom.to_numpy()
    p = promoters.set_index("gene_id").loc[list(genes)]
    ws = np.asarray(window_start, np.int64)
    lo_off, hi_off = int(ws.min()) - reach, int(ws.max()) + width + reach
    for c in np.unique(p.chrom.to_numpy()):
        sel = chrom == c
        order = np.argsort(centre[sel], kind="stable")
        cc, tt = centre[sel][order], tcol[sel][order]
        for gi in np.flatnonzero(p.chrom.to_numpy() == c):
            sc, minus = int(p.start_codon.iloc[gi]), p.strand.iloc[gi] == "-"
            a, b = ((sc - hi_off, sc - lo_off) if minus else (sc + lo_off, sc + hi_off))
            i0, i1 = np.searchsorted(cc, [a, b + 1])
            if i0 == i1:
                continue
            off = (sc - cc[i0:i1]) if minus else (cc[i0:i1] - sc)
            t = tt[i0:i1]
            inside = (off[:, None] >= ws[None, :]) & (off[:, None] < ws[None, :] + width)
            close = (off[:, None] >= ws[None, :] - reach) & (off[:, None] < ws[None, :] + width + reach)
            k, w = np.nonzero(inside)
            holding[gi, w, t[k]] = True
            k, w = np.nonzero(close)
            near[gi, w, t[k]] = True
    return holding, near


def call_accuracy(on: np.ndarray, holding: np.ndarray, near: np.ndarray) -> dict:
    """Precision / recall of per-TF window calls ``on`` (G, W, T) against planted sites
    (:func:`site_windows`), at the call level and the window level.

    * ``call_precision``: calls (w, t) with a site of t within reach of w; ``call_recall``:
      (w, t) holding a site of t that are called;
    * ``window_precision``: bound windows (any call) in which *every* called TF has a site
      within reach; ``window_recall``: windows holding a planted site (any TF) that are bound;
    * ``bound_frac``: fraction of windows bound; ``holding_frac``: fraction holding a site.
    """
    bound = on.any(axis=2)
    hold_any = holding.any(axis=2)
    return {"call_precision": float(near[on].mean()) if on.any() else float("nan"),
            "call_recall": float(on[holding].mean()) if holding.any() else float("nan"),
            "window_precision": float(((on & ~near).sum(axis=2) == 0)[bound].mean())
            if bound.any() else float("nan"),
            "window_recall": float(bound[hold_any].mean()) if hold_any.any() else float("nan"),
            "bound_frac": float(bound.mean()), "holding_frac": float(hold_any.mean()),
            "calls_per_window": float(on.sum() / max(1, bound.size))}
