"""One self-contained ``report.html`` from whatever step outputs are given.

Inputs are files or step folders (searched recursively); known files are recognised by name
(``promoters.tsv``, ``normalized.h5``, ``train_log.tsv``, ``metrics.json``, ``summary.json``...).
Each section is built by one function from the files it needs; a missing or unreadable input
makes that section say what is missing instead of failing the report. The page has no external
references: images are embedded as base64 PNG, CSS is inline, there is no JavaScript.

The page opens with **Summary**: the data (simulated or real, with counts), the task, the
verdict with its n and interval (``summary.json`` of ``tfvocab summarize``; else one fold's
``metrics.json``), a box of warnings (tiny test set, too few positives, a model below chance,
low-signal tracks, a track losing far more windows than the others, dropped pairs, a verdict
that is not "better") and what to look at next. The data part and Data QC show each track's
health from extract (:func:`track_health`: windows masked, NaN/+inf records, promoters with
signal).
Then Evaluation, Data QC, Vocabulary, Training, Interpretation, Predicted network and Run.
Raw JSON is folded away (``<details>``); every figure has a caption saying what it shows and
how to read it. On simulated data (SIMULATE's ``truth/``) the predicted modules are compared
with the planted ones (adjusted Rand index and normalised mutual information, scikit-learn).
When the verdict is not "better", the Interpretation and Predicted network sections open with
a visible note.

``metrics.json`` / ``summary.json`` keys follow docs/formats.md (``universe``,
``truth_universe``, ``control``, ``verdict``, ``verdict_kind``, ``best_baseline``, ``fold``,
``n_folds``; summary: ``models.<name>.<metric>.{mean, ci, per_fold}``, ``difference``).
"""
from __future__ import annotations

import base64
import functools
import html
import io
import json
import platform
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping

import numpy as np
import pandas as pd

from .. import __version__
from ..errors import TfvocabError
from ..io import atomic_path, provenance, write_sidecar
from ..log import get_logger, timed
from ..publish import step_outputs

log = get_logger("report")

SECTIONS = ["Summary", "Evaluation", "Data QC", "Vocabulary", "Training", "Interpretation",
            "Predicted network", "Run"]
TRANSFORMER = "transformer"
#: Warning thresholds of the Summary (held-out genes / positives over all folds, pairs)
MIN_TEST_POSITIVES = 30
MIN_TEST_GENES = 50
MIN_TEST_PAIRS = 1000
#: Warn when more than this fraction of a track's windows are missing
MAX_MISSING_FRACTION = 0.2
#: Warn when a track loses (masked, or touched by NaN/+inf records) more than this fraction of its
#: windows beyond the median of the other tracks
MAX_EXCESS_LOSS = 0.1

# names the report knows about (everything else is only listed in the Run section)
KNOWN = {
    "promoters.report.json", "promoters.tsv", "signal.h5", "normalized.h5", "tokens.h5",
    "vocabulary.tsv", "vocabulary.png", "pairs.report.json", "pairs.tsv", "train_log.tsv",
    "model.pt", "metrics.json", "summary.json", "summary.tsv", "summary.png", "pr_curve.png",
    "roc_curve.png", "predictions.tsv", "attention.h5", "attributions.h5", "tf_knockout.tsv",
    "token_importance.tsv", "token_importance.png", "attention_profile.png",
    "interpret.summary.json", "predicted_pairs.tsv", "network.graphml", "modules.tsv", "hubs.tsv",
    "predict.summary.json",
}

METRIC_LABELS = {
    "auprc": "AUPRC", "prevalence": "prevalence", "auprc_over_prevalence": "AUPRC / prevalence",
    "auroc": "AUROC", "pauroc_fpr01": "pAUROC (FPR ≤ 1%)", "precision_at.10": "precision@10",
    "precision_at.100": "precision@100", "precision_at.n_pos": "precision@n_pos",
}
KIND_TEXT = {"better": "better than the best baseline",
             "not_distinguishable": "not distinguishable from the best baseline",
             "too_few_positives": "too few held-out positives for a verdict"}

CSS = """
body{font-family:-apple-system,Segoe UI,Helvetica,Arial,sans-serif;margin:0;color:#222;background:#fafafa;font-size:15px;line-height:1.45}
header{background:#24476b;color:#fff;padding:16px 32px}
header h1{margin:0;font-size:24px}
nav{padding:8px 32px;background:#e8eef4;font-size:14px;position:sticky;top:0;z-index:2}
nav a{margin-right:14px;color:#24476b;text-decoration:none}
main{padding:8px 32px 40px 32px;max-width:1200px}
section{background:#fff;border:1px solid #dde3ea;border-radius:6px;padding:10px 20px 16px 20px;margin:16px 0}
h2{color:#24476b;border-bottom:1px solid #dde3ea;padding-bottom:4px}
h3{color:#333;font-size:16px;margin-bottom:6px}
table{border-collapse:collapse;font-size:14px;margin:8px 0}
caption{text-align:left;font-size:13px;color:#555;padding:2px 0}
th,td{border:1px solid #ccd5de;padding:3px 8px;text-align:left;vertical-align:top}
th{background:#eef2f6}
td.num{text-align:right;font-variant-numeric:tabular-nums}
tr.best td{font-weight:600}
img{max-width:100%;border:1px solid #eee;margin:6px 0}
figure{margin:10px 0 18px 0}
figcaption{font-size:13.5px;color:#333;max-width:1000px}
figcaption b{color:#24476b}
.missing{color:#8a5a00;background:#fff6e0;border-left:4px solid #e0a800;padding:6px 10px}
.note{color:#555;font-size:14px}
.verdict{font-size:19px;padding:12px 16px;border-radius:6px;margin:8px 0 12px 0;border:1px solid}
.verdict small{display:block;font-size:14px;color:#444;margin-top:4px}
.v-better{background:#e6f4ea;border-color:#2e7d32}
.v-not_distinguishable{background:#fff3cd;border-color:#c79100}
.v-too_few_positives,.v-none{background:#eceff1;border-color:#78909c}
.warnings{background:#fff8e1;border:1px solid #e0a800;border-left:6px solid #e0a800;border-radius:4px;padding:6px 14px;margin:10px 0}
.warnings h3{margin:4px 0;color:#7a5200}
.warnings li{margin:3px 0}
.caution{background:#fff3cd;border-left:6px solid #c79100;padding:8px 12px;margin:8px 0;font-size:15px}
pre{background:#f4f6f8;padding:6px;font-size:12px;white-space:pre-wrap;word-break:break-all;max-height:480px;overflow:auto}
details{margin:6px 0}
details summary{cursor:pointer;color:#24476b}
.scroll{overflow-x:auto;max-width:100%}
ul.tight li{margin:2px 0}
"""


# ----------------------------------------------------------------------------------------------
# finding files


def collect_files(paths: Iterable[str | Path]) -> dict[str, list[Path]]:
    """Map file name -> paths found (given files, and every file under given folders).

    Hidden files and temporary files (``.name.*.tmp``) are skipped. Paths are sorted, so the
    first path of a name is deterministic. Raises TfvocabError for a path that does not exist.
    """
    found: dict[str, list[Path]] = {}
    for p in paths:
        p = Path(p)
        if not p.exists():
            raise TfvocabError("result path does not exist", path=str(p),
                               hint="give step output files or folders")
        files = [p] if p.is_file() else sorted(f for f in p.rglob("*") if f.is_file())
        for f in files:
            if any(part.startswith(".") for part in f.relative_to(p if p.is_dir() else p.parent).parts):
                continue
            found.setdefault(f.name, [])
            if f not in found[f.name]:
                found[f.name].append(f)
    return found


def _is_truth(p: Path) -> bool:
    return "truth" in p.parts


def _first(files: Mapping[str, list[Path]], name: str) -> Path | None:
    """The first path of ``name``; a simulation's ``truth/`` files (same names as step outputs,
    e.g. ``modules.tsv``, ``pairs.tsv``) only when nothing else has the name."""
    paths = files.get(name)
    if not paths:
        return None
    return sorted(paths, key=_is_truth)[0]


def _outputs(files: Mapping[str, list[Path]], name: str) -> list[Path]:
    """Every path of ``name`` outside ``truth/`` (e.g. one ``metrics.json`` per fold)."""
    return [p for p in files.get(name, []) if not _is_truth(p)]


def _truth(files: Mapping[str, list[Path]], name: str) -> Path | None:
    return next((p for p in files.get(name, []) if _is_truth(p)), None)


def is_simulated(files: Mapping[str, list[Path]]) -> bool:
    """True when the inputs include SIMULATE's planted truth (``truth/`` files)."""
    return any(_is_truth(p) for paths in files.values() for p in paths)


# ----------------------------------------------------------------------------------------------
# HTML helpers


def esc(x) -> str:
    return html.escape(str(x), quote=True)


def missing(what: str, why: str = "not found among the given inputs") -> str:
    return f'<p class="missing">Missing: {esc(what)} &mdash; {esc(why)}.</p>'


def figure(data: bytes, title: str, what: str, how: str, alt: str | None = None) -> str:
    """A PNG embedded as a base64 data URI, with a caption: what it shows and how to read it."""
    b64 = base64.b64encode(data).decode("ascii")
    return (f'<figure><img alt="{esc(alt or title)}" src="data:image/png;base64,{b64}">'
            f"<figcaption><b>{esc(title)}.</b> {esc(what)} <i>How to read it:</i> {esc(how)}"
            "</figcaption></figure>")


#: Captions of the PNGs written by the steps: (title, what it shows, how to read it)
CAPTIONS: dict[str, tuple[str, str, str]] = {
    "pr_curve.png": ("Precision-recall curves",
                     "Precision against recall of every model on the test pairs that evaluate scored; "
                     "the dotted line is the fraction of positives (a random ranking).",
                     "Higher curves rank true partners first; a curve on the dotted line is chance. "
                     "With few positives the curves are coarse steps."),
    "roc_curve.png": ("ROC curves",
                      "True-positive against false-positive rate of every model on the same pairs; "
                      "the diagonal is chance.",
                      "A curve above the diagonal ranks positives above unlabelled pairs; AUROC is the "
                      "area under it. Below the diagonal the model ranks worse than chance."),
    "summary.png": ("Per-fold summary",
                    "The summarize step's figure of each model's held-out metric over the folds.",
                    "Spread across folds shows how much one split could mislead; compare the "
                    "transformer's points with the best baseline's."),
    "vocabulary.png": ("TF vocabulary (tokenize)",
                       "The tokenize step's heatmap of the most frequent tokens' binding scores per TF.",
                       "Each row is a token (a cluster of windows with a similar TF-binding vector), "
                       "each column a TF; bright cells are TFs bound in that token."),
    "attention_profile.png": ("Where the model looks along the promoter",
                              "Mean attention rollout and |integrated gradients| per window position "
                              "over the interpreted genes (grey: planted module sites on simulated data).",
                              "Peaks are promoter positions that drive the predictions; the dashed red "
                              "line is the start codon. A flat profile means no positional preference."),
    "token_importance.png": ("Most influential tokens",
                             "Mean |integrated gradients| of the windows carrying each token, with the "
                             "token's top TFs in brackets.",
                             "Longer bars are tokens whose windows move the predicted score most."),
    "ig_pair": ("Example pair",
                "For two co-expressed genes: attention rollout per window (bars) and integrated "
                "gradients per TF and window (heatmap, logit units) for each promoter.",
                "Red cells raise the predicted co-expression, blue cells lower it; circles mark "
                "planted module sites (simulated data); the dashed line is the start codon."),
}


def png_file(path: Path) -> str:
    """A step's PNG with its caption (:data:`CAPTIONS`; generic for unknown names)."""
    path = Path(path)
    key = "ig_pair" if path.name.startswith("ig_pair") else path.name
    title, what, how = CAPTIONS.get(key, (path.stem.replace("_", " "), f"Figure {path.name}.",
                                          "See docs/output.md for this file."))
    if key == "ig_pair":
        title = f"{title} {path.stem.split('_', 2)[-1].replace('_', ' - ')}"
    return figure(path.read_bytes(), title, what, how, alt=path.name)


def fig_png(fig) -> bytes:
    """Render a matplotlib figure to PNG bytes (and close it)."""
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=96, bbox_inches="tight")
    plt.close(fig)
    return buf.getvalue()


def _plt():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.rcParams.update({"font.size": 11, "axes.titlesize": 12, "axes.labelsize": 11,
                         "xtick.labelsize": 10, "ytick.labelsize": 10, "legend.fontsize": 10})
    return plt


def _fmt(v) -> str:
    if isinstance(v, (bool, np.bool_)):
        return "yes" if v else "no"
    if isinstance(v, (float, np.floating)):
        if not np.isfinite(v):
            return "–"
        if v != 0 and abs(v) < 1e-3:
            return f"{v:.2e}"
        return f"{v:.4g}" if abs(v) < 1e5 else f"{v:,.0f}"
    if isinstance(v, (int, np.integer)):
        return f"{int(v):,}" if abs(int(v)) >= 10_000 else str(int(v))
    if v is None:
        return "–"
    return str(v)


def _n(x) -> str:
    """A count with thousands separators ('?' when unknown)."""
    return f"{int(x):,}" if isinstance(x, (int, np.integer, float, np.floating)) and x == x else "?"


def _digits(x: float) -> int:
    """Decimals that show ~3 significant digits of a metric (0.158 -> 3, 0.0052 -> 4)."""
    x = abs(float(x))
    if x >= 0.1 or x == 0:
        return 3
    return min(6, 2 - int(np.floor(np.log10(x))))


def _ci(mean, lo=None, hi=None, digits: int | None = None) -> str:
    """``0.123 [0.100, 0.150]`` (or the mean alone), to ~3 significant digits."""
    if mean is None or (isinstance(mean, float) and not np.isfinite(mean)):
        return "–"
    d = digits if digits is not None else _digits(mean)
    if lo is None or hi is None:
        return f"{mean:.{d}f}"
    return f"{mean:.{d}f} [{lo:.{d}f}, {hi:.{d}f}]"


def table_html(df: pd.DataFrame, max_rows: int = 30, caption: str | None = None,
               best_rows: Iterable[int] = ()) -> str:
    """A plain HTML table of the first ``max_rows`` rows of ``df`` (numbers right-aligned)."""
    head = "".join(f"<th>{esc(c)}</th>" for c in df.columns)
    rows = []
    best = set(best_rows)
    for i, (_, r) in enumerate(df.head(max_rows).iterrows()):
        cells = []
        for v in r.tolist():
            num = isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool)
            cells.append(f'<td class="num">{esc(_fmt(v))}</td>' if num else f"<td>{esc(_fmt(v))}</td>")
        cls = ' class="best"' if i in best else ""
        rows.append(f"<tr{cls}>" + "".join(cells) + "</tr>")
    more = (f'<p class="note">showing {max_rows} of {len(df)} rows</p>' if len(df) > max_rows else "")
    cap = f"<caption>{esc(caption)}</caption>" if caption else ""
    return (f'<div class="scroll"><table>{cap}<thead><tr>{head}</tr></thead><tbody>{"".join(rows)}'
            f"</tbody></table></div>{more}")


def kv_table(d: Mapping, caption: str | None = None) -> str:
    rows = []
    for k, v in d.items():
        if isinstance(v, Mapping) and len(v) <= 6 and all(not isinstance(x, (dict, list)) for x in v.values()):
            v = " · ".join(f"{kk} {_fmt(vv)}" for kk, vv in v.items())      # e.g. per-split counts
        elif isinstance(v, (dict, list)):
            v = json.dumps(v, sort_keys=True, default=str)
            if len(v) > 200:
                v = v[:200] + "..."
        rows.append(f"<tr><th>{esc(k)}</th><td>{esc(_fmt(v))}</td></tr>")
    cap = f"<caption>{esc(caption)}</caption>" if caption else ""
    return f"<table>{cap}<tbody>{''.join(rows)}</tbody></table>"


def raw_json(obj, label: str) -> str:
    """Raw JSON folded away: ``<details>`` with a one-line summary."""
    text = json.dumps(obj, indent=1, sort_keys=True, default=str)
    return (f"<details><summary>raw {esc(label)} ({len(text):,} characters)</summary>"
            f"<pre>{esc(text)}</pre></details>")


def _read_json(path: Path) -> dict:
    return json.loads(Path(path).read_text())


def _read_tsv(path: Path) -> pd.DataFrame:
    # keep_default_na=False: the token kind "null" (and gene IDs like "NA") stay strings
    return pd.read_csv(path, sep="\t", keep_default_na=False, na_values=["", "NaN", "nan"])


def _flatten(d: Mapping, prefix: str = "") -> dict:
    out = {}
    for k, v in d.items():
        key = f"{prefix}{k}"
        if isinstance(v, Mapping):
            out.update(_flatten(v, key + "."))
        else:
            out[key] = v
    return out


def _get(d: Mapping | None, *keys, default=None):
    for k in keys:
        if not isinstance(d, Mapping) or k not in d:
            return default
        d = d[k]
    return d


# ----------------------------------------------------------------------------------------------
# HDF5 readers (one place; these move to tfvocab.formats)


def _low_signal(value) -> list[str]:
    """``low_signal_tfs`` attribute: a JSON list (normalized.h5 root) or comma-separated text."""
    if value is None:
        return []
    text = value.decode() if isinstance(value, bytes) else str(value)
    try:
        got = json.loads(text)
        if isinstance(got, list):
            return [str(t) for t in got]
    except ValueError:
        pass
    return [t for t in text.split(",") if t]


@functools.lru_cache(maxsize=8)
def _signal_stats(path: str) -> dict:
    """Per-TF mean signal and missing fraction of ``signal.h5`` / ``normalized.h5``, read in gene
    blocks through :mod:`tfvocab.formats` (validated, bounded memory), plus low-signal /
    dropped TFs and the window geometry."""
    from .. import formats

    normalized = Path(path).name != "signal.h5"
    reader = formats.NormalizedFile(path) if normalized else formats.SignalFile(path)
    with reader as f:
        tfs = list(f.tfs)
        g, w, t = f.shape
        sums, cnt, miss = np.zeros(t), np.zeros(t), np.zeros(t)
        if normalized:
            blocks = (f.block(lo, min(g, lo + 512)) for lo in range(0, g, 512))
        else:
            blocks = ((sig, msk) for sig, msk, _, _ in f.chunks(use_control=False, block=512))
        for sig, msk in blocks:
            x = sig.astype(np.float64)
            m = np.asarray(msk, bool) | np.isnan(x)
            sums += np.where(m, 0, x).sum(axis=(0, 1))
            cnt += (~m).sum(axis=(0, 1))
            miss += m.sum(axis=(0, 1))
        dropped = list(getattr(f, "dropped_tfs", []) or [])
        low = _low_signal(f.attrs.get("low_signal_tfs"))
        stats = getattr(f, "stats", None)
        if not low and stats:
            low = _low_signal(stats.get("attrs", {}).get("low_signal_tfs"))
        guard = _low_signal(f.attrs.get("normalize_warnings"))     # normalize's guard (JSON list)
        ws = np.asarray(f.geometry.window_start)
    return {"tfs": tfs, "mean": sums / np.maximum(cnt, 1), "missing": miss / max(g * w, 1),
            "genes": g, "windows": w, "dropped": dropped, "low_signal": low, "window_start": ws,
            "window_bp": int(f.geometry.window), "guard": guard}


# ----------------------------------------------------------------------------------------------
# evaluation facts (summary.json / metrics.json)


def _triple(m: Mapping | None, metric: str) -> tuple:
    """(mean, lo, hi) of ``metric`` from a summary entry ``{mean, ci}`` or a metrics.json record
    (``metric`` and ``metric_ci``); dotted names reach into ``precision_at``."""
    if not isinstance(m, Mapping):
        return (None, None, None)
    if "." in metric:
        head, tail = metric.split(".", 1)
        if isinstance(m.get(head), Mapping) and not {"mean", "ci"} & set(m[head]):
            return _triple(m[head], tail)
        return _triple(m, metric.replace(".", "_"))
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
    for p in _outputs(files, "metrics.json"):
        try:
            ev.folds.append((p, _read_json(p)))
        except (OSError, ValueError) as exc:
            ev.errors.append(f"{p} is unreadable ({type(exc).__name__}: {exc})")
            log.warning("report: cannot read %s: %s", p, exc)
    ev.folds.sort(key=lambda t: (t[1].get("fold") is None, t[1].get("fold") or 0, str(t[0])))
    summ = next((p for p in _outputs(files, "summary.json")), None)
    s = None
    if summ is not None:
        try:
            s = _read_json(summ)
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
    recs = [_get(m, "universe", t) for _, m in ev.folds if isinstance(_get(m, "universe", t), Mapping)]
    if ev.source != "summary.json" and recs:
        recs = recs[:1]
    for key in ("n_pairs", "n_genes", "n_pos"):
        vals = [r.get(key) for r in recs if r.get(key) is not None]
        if vals:
            ev.n[key] = int(sum(vals))
        elif t is not None and isinstance(_get(ev.models, t, key), Mapping):
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
        ev.n["prevalence"] = _triple(ev.models.get(t), "prevalence")[0]
    return ev


def _control_rows(control) -> dict:
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
            mean, lo, hi = _triple(m, key)
            if mean is None:
                continue
            row[label] = _ci(mean, lo, hi) if key in ("auprc", "auroc") else _ci(mean)
        rows.append(row)
    return pd.DataFrame(rows)


def _model_order(ev: Evaluation, models: Mapping) -> list[str]:
    t = ev.transformer
    first = [n for n in (t, ev.best_baseline) if n in models]
    rest = sorted((n for n in models if n not in first),
                  key=lambda n: -(_triple(models[n], "auprc")[0] or -1))
    return first + rest


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
        parts.append(f"n = {_n(n['n_genes'])} held-out genes")
    if n.get("n_pairs") is not None:
        parts.append(f"{_n(n['n_pairs'])} pairs (every pair among them)")
    if n.get("n_pos") is not None:
        prev = n.get("prevalence")
        parts.append(f"{_n(n['n_pos'])} positives" + (f" (prevalence {prev:.4f})" if prev else ""))
    if ev.n_folds:
        parts.append(f"{ev.n_folds} fold{'s' if ev.n_folds != 1 else ''}")
    diff = ev.difference or {}
    dtxt = ""
    if diff.get("mean") is not None and "Δ" not in ev.verdict:
        ci = diff.get("ci") or [None, None]
        dtxt = (f"Transformer − {ev.best_baseline}: Δ{str(diff.get('metric', 'auprc')).upper()} = "
                f"{_ci(diff['mean'], ci[0], ci[1])} (95% CI). ")
    return (f'<div class="verdict v-{esc(kind)}"><b>Verdict:</b> the transformer is {esc(ev.verdict)}.'
            f"<small>{esc(dtxt)}{esc('; '.join(parts))}. Source: {esc(ev.source)}.</small></div>")


def forest_plot(ev: Evaluation) -> str:
    """Universe AUPRC (and AUROC) of every model with its interval, prevalence as a line."""
    models = ev.models
    order = _model_order(ev, models)
    pts = [(name, *_triple(models[name], "auprc")) for name in order]
    pts = [p for p in pts if p[1] is not None]
    if not pts:
        return ""
    plt = _plt()
    fig, axes = plt.subplots(1, 2, figsize=(11, 0.42 * len(pts) + 1.6), sharey=True)
    y = np.arange(len(pts))[::-1]
    for ax, metric, ref, label in ((axes[0], "auprc", ev.n.get("prevalence"), "prevalence (chance)"),
                                   (axes[1], "auroc", 0.5, "chance")):
        for yi, name in zip(y, [p[0] for p in pts]):
            mean, lo, hi = _triple(models[name], metric)
            if mean is None:
                continue
            color = "#c0392b" if name == ev.transformer else ("#24476b" if name == ev.best_baseline
                                                              else "#7f8c8d")
            if lo is not None and hi is not None:
                ax.errorbar(mean, yi, xerr=[[mean - lo], [hi - mean]], fmt="o", color=color,
                            capsize=4, ms=7, lw=2)
            else:
                ax.plot(mean, yi, "o", color=color, ms=7)
        if ref:
            ax.axvline(ref, color="grey", ls="--", lw=1.2, label=label)
            ax.legend(loc="lower right")
        ax.set_xlabel(f"{metric.upper()} over all held-out pairs (95% CI)")
        ax.grid(axis="x", alpha=0.3)
    axes[0].set_yticks(y)
    axes[0].set_yticklabels([p[0] + ("  (best baseline)" if p[0] == ev.best_baseline else "")
                             for p in pts])
    fig.suptitle("Held-out performance: every pair among the test genes", y=1.0)
    return figure(fig_png(fig), "Models on the held-out universe",
                  "Left: AUPRC of each model over every pair among the held-out genes (mean over folds, "
                  "95% interval); the dashed line is the prevalence, what a random ranking scores. Right: "
                  "AUROC, chance at 0.5. Red: the transformer; blue: the best baseline.",
                  "Points further right are better. Overlapping intervals mean the data cannot tell "
                  "the models apart; the verdict uses the paired difference, which is tighter than "
                  "comparing these intervals by eye.")


# ----------------------------------------------------------------------------------------------
# track health (extract)


def track_health(files: Mapping[str, list[Path]]) -> dict[str, dict]:
    """Per-track health recorded by extract (:func:`tfvocab.extract.track_health`): the
    ``track_health`` attribute of ``signal.h5`` (merge gathers it) and the ``health`` of any
    ``extract.*.manifest.json`` among the inputs (the manifests win). {} when neither is given."""
    from .. import formats

    out: dict[str, dict] = {}
    sig = _first(files, "signal.h5")
    if sig is not None:
        try:
            with formats.SignalFile(sig) as f:
                raw = f.attrs.get("track_health")
            out.update(json.loads(raw) if raw else {})
        except (TfvocabError, ValueError, OSError) as exc:
            log.warning("report: %s: track health: %s", sig, exc)
    for name in sorted(n for n in files if n.startswith("extract.") and n.endswith(".manifest.json")):
        for path in _outputs(files, name):
            try:
                h = _read_json(path).get("health") or {}
            except (ValueError, OSError) as exc:
                log.warning("report: %s: %s", path, exc)
                continue
            out.update({k: v for k, v in h.items() if isinstance(v, Mapping)})
    return out


def health_outliers(health: Mapping[str, Mapping], excess: float = MAX_EXCESS_LOSS
                    ) -> list[tuple[str, float, float]]:
    """Tracks whose ``lost_fraction`` exceeds the median of the other tracks' by more than
    ``excess``: ``(name, lost, median of the others)``, worst first (needs two tracks)."""
    lost = {k: float(v.get("lost_fraction", v.get("masked_fraction", 0.0)) or 0.0) for k, v in health.items()}
    out = []
    for k, x in lost.items():
        others = [y for j, y in lost.items() if j != k]
        if others and x - float(np.median(others)) > excess:
            out.append((k, x, float(np.median(others))))
    return sorted(out, key=lambda r: r[2] - r[1])


def health_frame(health: Mapping[str, Mapping]) -> pd.DataFrame:
    """One row per track, most windows lost first."""
    rows = [{"track": k, "windows lost (%)": 100 * float(v.get("lost_fraction", 0.0)),
             "masked (%)": 100 * float(v.get("masked_fraction", 0.0)),
             "NaN records": int(v.get("nan_records", 0)), "+inf records": int(v.get("posinf_records", 0)),
             "windows touched by NaN/+inf": int(v.get("nonfinite_windows", 0)),
             "promoters with signal (%)": 100 * float(v.get("promoters_with_signal_fraction", 0.0))}
            for k, v in health.items()]
    df = pd.DataFrame(rows, columns=["track", "windows lost (%)", "masked (%)", "NaN records", "+inf records",
                                     "windows touched by NaN/+inf", "promoters with signal (%)"])
    return df.sort_values(["windows lost (%)", "track"], ascending=[False, True], kind="stable")


def health_summary(health: Mapping[str, Mapping]) -> str:
    """One line for the Summary's data list."""
    df = health_frame(health)
    worst = df.iloc[0]
    nf = int(df["NaN records"].sum() + df["+inf records"].sum())
    return (f"Track health (extract, {len(df)} tracks): windows lost median "
            f"{df['windows lost (%)'].median():.1f}%, most {worst['track']} {worst['windows lost (%)']:.1f}%; "
            f"promoters with signal median {df['promoters with signal (%)'].median():.1f}%; "
            f"{nf:,} NaN/+inf records read as bases without data")


def _health_qc(health: Mapping[str, Mapping]) -> str:
    out = ["<h3>Track health (extract)</h3>",
           '<p class="note">Per track: windows lost = masked (chromosome absent, off the chromosome, '
           "or uncovered with --mask-uncovered) or touched by NaN/+inf records (read as bases without "
           "data); promoters with signal = promoters with any window above 0. "
           f"A track losing more than {MAX_EXCESS_LOSS:.0%} of its windows beyond the median of the "
           "others is named in the Summary's warnings.</p>",
           table_html(health_frame(health), max_rows=30, caption="most windows lost first")]
    bad = health_outliers(health)
    if bad:
        out.append('<p class="note">Far more windows lost than the other tracks: '
                   + esc(", ".join(f"{k} {x:.0%} (others {m:.0%})" for k, x, m in bad)) + "</p>")
    return "\n".join(out)


# ----------------------------------------------------------------------------------------------
# facts shared by Summary and the warnings


def data_facts(files: Mapping[str, list[Path]]) -> dict:
    """Counts for the Summary: genes, chromosomes, TFs, windows, co-expression pairs."""
    facts: dict[str, Any] = {"simulated": is_simulated(files)}
    prom = _first(files, "promoters.tsv")
    if prom is not None:
        df = _read_tsv(prom)
        facts["genes"] = len(df)
        if "chrom" in df:
            facts["chromosomes"] = int(df["chrom"].nunique())
    sig = _first(files, "normalized.h5") or _first(files, "signal.h5")
    if sig is not None:
        try:
            st = _signal_stats(str(sig))
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
    pr = _first(files, "pairs.report.json")
    if pr is not None:
        rep = _read_json(pr)
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
        auroc = _triple(ev.models.get(t), "auroc")[0]
        if auroc is not None and auroc < 0.5:
            out.append(f"The transformer ranks worse than chance (AUROC {auroc:.3f} < 0.5).")
    elif ev.sampled:
        auroc = (ev.sampled.get(TRANSFORMER) or {}).get("auroc")
        if auroc is not None and auroc < 0.5:
            out.append(f"The transformer ranks worse than chance on the sampled test pairs "
                       f"(AUROC {auroc:.3f} < 0.5).")
    for name, rec in _control_rows(ev.control).items():
        mean, lo, hi = _triple(rec, "auprc")
        prev = _triple(rec, "prevalence")[0] or ev.n.get("prevalence")
        if None not in (lo, hi, prev) and not lo <= prev <= hi:
            out.append(f"The {name} is not at chance (AUPRC {_ci(mean, lo, hi)} vs prevalence "
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
        out.append(f"Dropped pairs: {_n(cross)} of {_n(before)} listed positive pairs ({cross / before:.0%}) "
                   "join genes of two partitions and were dropped by the gene-disjoint split.")
    if c.get("pairs_without_promoters_dropped"):
        out.append(f"Dropped pairs: {_n(c['pairs_without_promoters_dropped'])} co-expression pairs name "
                   f"{c.get('genes_without_promoters', '?')} gene(s) without a promoter (e.g. "
                   f"{', '.join((c.get('genes_without_promoters_examples') or [])[:3])}).")
    idm = _get(facts.get("pairs_input"), "id_map")
    if isinstance(idm, Mapping) and idm.get("ids_unmapped"):
        out.append(f"Unmapped IDs: {_n(idm['ids_unmapped'])} of {_n(idm.get('ids_in_data'))} co-expression "
                   f"IDs are not in the ID map ({_n(idm.get('rows_dropped_unmapped', 0))} lines dropped).")
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


# ----------------------------------------------------------------------------------------------
# provenance


def _manifest_entry(path: Path) -> dict:
    """Step, version and parameters of the publish manifest that lists ``path`` ({} if none)."""
    from ..publish import MANIFEST, read_manifest

    for m in sorted(path.parent.glob(f"*{MANIFEST}")):
        d = read_manifest(m)
        if d and path.name in d.get("files", {}):
            return {"step": d.get("step"), "version": d.get("version"), "params": d.get("params", {})}
    return {}


def file_provenance(path: Path) -> dict:
    """The provenance record of one output file ({} when it has none).

    The publish manifest of the file's folder when it lists the file; else HDF5 artifacts and
    ``model.pt`` through their :mod:`tfvocab.formats` readers, JSON files' top-level
    ``provenance`` key, or the ``<file>.json`` sidecar.
    """
    path = Path(path)
    try:
        entry = _manifest_entry(path)
        if entry:
            return entry
        if path.suffix in (".h5", ".pt"):
            from .. import formats

            name = path.name
            if name == "model.pt":
                obj = formats.read_model(path)
                return {"step": "train", "version": obj.get("version"), "params": obj.get("config", {})}
            if name == "checkpoint.pt":
                obj = formats.read_checkpoint(path)
                return {"step": "train", "version": obj.get("version"), "params": obj.get("params", {})}
            if name == "normalized.h5":
                with formats.NormalizedFile(path) as f:
                    return dict(f.provenance)
            if name == "signal.h5":
                with formats.SignalFile(path) as f:
                    return dict(f.provenance)
            if name.startswith("signal.") and name.endswith(".h5"):
                return dict(formats.read_track(path).provenance)
            if name == "tokens.h5":
                return dict(formats.read_tokens(path).get("provenance", {}))
            return {}
        sidecar = path.with_name(path.name + ".json")
        if sidecar.exists():
            return _read_json(sidecar)
        if path.suffix == ".json":
            d = _read_json(path)
            if isinstance(d, Mapping) and isinstance(d.get("provenance"), Mapping):
                return dict(d["provenance"])
    except Exception as exc:  # unreadable provenance is reported, not fatal
        return {"error": f"{type(exc).__name__}: {exc}"}
    return {}


# ----------------------------------------------------------------------------------------------
# sections: each returns inner HTML


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
        items.append(f"{_n(facts['genes'])} genes with a promoter"
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
        layout = _get(facts.get("pairs_input"), "layout")
        items.append(f"{_n(c.get('positives_listed', c.get('positives_before_split')))} co-expressed "
                     f"pairs listed among {_n(c.get('genes_listed'))} genes"
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
        order = _model_order(ev, ev.models)
        rows = dict(ev.models)
        for name, rec in _control_rows(ev.control).items():
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


def section_evaluation(files: Mapping[str, list[Path]], ev: Evaluation) -> str:
    parts = []
    if not ev.folds and ev.source is None:
        return missing("metrics.json / summary.json (held-out metrics vs baselines)")
    if ev.truth:
        order = _model_order(ev, ev.truth)
        parts.append("<h3>Against the planted truth (simulated data)</h3>" + table_html(
            metrics_frame(ev.truth, order), caption="The same universe scored against the true "
                                                    "modules instead of the observed co-expression list"))
    with_uni = [(p, m) for p, m in ev.folds if isinstance(m.get("universe"), Mapping)]
    if with_uni:
        names = _model_order(ev, {n: r for _, m in with_uni for n, r in m["universe"].items()})
        for metric in ("auprc", "auroc"):
            rows = []
            for name in names:
                row = {"model": name}
                for p, m in with_uni:
                    row[f"fold {m.get('fold', '?')}"] = _ci(*_triple(m["universe"].get(name), metric))
                rows.append(row)
            sizes = {"model": "held-out genes / pairs / positives"}
            for p, m in with_uni:
                r = m["universe"].get(ev.transformer) or next(iter(m["universe"].values()))
                sizes[f"fold {m.get('fold', '?')}"] = f"{_n(r.get('n_genes'))} / {_n(r.get('n_pairs'))} / {_n(r.get('n_pos'))}"
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
        q = _first(files, name)
        if q is not None:
            figs.append(png_file(q))
    parts.extend(figs)
    summ = next(iter(_outputs(files, "summary.json")), None)
    if summ is not None:
        try:
            parts.append(raw_json(_read_json(summ), "summary.json"))
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


def section_data_qc(files: Mapping[str, list[Path]], facts: Mapping) -> str:
    parts = []
    rep = _first(files, "promoters.report.json")
    prom = _first(files, "promoters.tsv")
    if prom is not None or rep is not None:
        summary = {}
        if prom is not None:
            df = _read_tsv(prom)
            clipped = df["clipped"].astype(str).str.lower().isin(["true", "1"]).sum() if "clipped" in df else 0
            summary = {"promoters kept": len(df), "clipped at a chromosome end": int(clipped),
                       "chromosomes": df["chrom"].nunique() if "chrom" in df else "?"}
            if "strand" in df:
                summary["plus / minus strand"] = f"{(df['strand'] == '+').sum()} / {(df['strand'] == '-').sum()}"
        if rep is not None:
            d = _read_json(rep)
            for k, label in (("genes_seen", "genes in the annotation"), ("skipped_pseudogene", "pseudogenes skipped"),
                             ("skipped_non_coding", "non-coding genes skipped"), ("no_cds", "genes without CDS"),
                             ("dropped_unmapped_chrom", "genes on unmatched chromosomes")):
                if k in d:
                    summary[label] = d[k]
        parts.append("<h3>Promoters</h3>" + kv_table(summary))
        if rep is not None:
            parts.append(raw_json({k: v for k, v in _read_json(rep).items() if k != "provenance"},
                                  "promoters.report.json"))
    else:
        parts.append(missing("promoters.report.json and promoters.tsv (promoters kept/clipped/dropped)"))

    sig = _first(files, "normalized.h5") or _first(files, "signal.h5")
    if sig is not None:
        parts.append(_signal_qc(sig, raw=_first(files, "signal.h5")))
    else:
        parts.append(missing("signal.h5 / normalized.h5 (per-TF signal and missingness)"))
    if facts.get("health"):
        parts.append(_health_qc(facts["health"]))
    else:
        parts.append(missing("signal.h5 or extract.*.manifest.json (per-track health from extract)"))
    pr = _first(files, "pairs.report.json")
    if pr is not None:
        d = _read_json(pr)
        c = d.get("counts", {})
        keep = {}
        for k, label in (("rows_read", "co-expression rows read"), ("positives_listed", "positive pairs listed"),
                         ("genes_listed", "genes listed"), ("genes_without_promoters", "listed genes without a promoter"),
                         ("pairs_dropped_crossing_partitions", "pairs dropped: genes in two partitions"),
                         ("positives_kept", "positives kept"), ("fraction_positives_kept", "fraction kept"),
                         ("pairs_written", "pairs written"), ("genes_per_split", "genes per split"),
                         ("positives_per_split", "positives per split"), ("negatives_per_split", "negatives per split")):
            if k in c:
                keep[label] = c[k]
        idm = _get(d, "input", "id_map")
        if isinstance(idm, Mapping):
            keep["IDs not in the ID map"] = idm.get("ids_unmapped")
        parts.append("<h3>Labelled pairs</h3>" + kv_table(keep))
        parts.append(raw_json({k: v for k, v in d.items() if k != "provenance"}, "pairs.report.json"))
    else:
        parts.append(missing("pairs.report.json (labelled pair counts and splits)"))
    return "\n".join(parts)


def _signal_qc(path: Path, raw: Path | None) -> str:
    """Per-TF mean signal (raw if available) and missing fraction, as a plot and a table."""
    st = _signal_stats(str(path))
    tfs, mean, missf, g = st["tfs"], st["mean"], st["missing"], st["genes"]
    raw_mean = None
    if raw is not None and raw != path:
        rs = _signal_stats(str(raw))
        if rs["tfs"] == tfs:
            raw_mean, missf = rs["mean"], np.maximum(missf, rs["missing"])
    shown = raw_mean if raw_mean is not None else mean
    label = "mean raw signal" if raw_mean is not None or path.name == "signal.h5" else "mean normalised signal"
    plt = _plt()
    fig, axes = plt.subplots(2, 1, figsize=(max(7, min(16, 0.26 * len(tfs) + 3)), 5.5), sharex=True)
    x = np.arange(len(tfs))
    low = set(st["low_signal"]) | set(st["dropped"])
    axes[0].bar(x, shown, color=["#e0a800" if t in low else "#24476b" for t in tfs])
    axes[0].set_ylabel(label)
    axes[1].bar(x, 100 * missf, color="#c0392b")
    axes[1].set_ylabel("missing windows (%)")
    axes[1].set_xlabel("TF")
    if len(tfs) <= 70:
        axes[1].set_xticks(x)
        axes[1].set_xticklabels(tfs, rotation=90, fontsize=10 if len(tfs) <= 40 else 8)
    fig.suptitle(f"Per-TF signal and missingness ({g:,} genes)")
    df = pd.DataFrame({"tf": tfs, label: shown, "missing_fraction": missf})
    worst = df.sort_values("missing_fraction", ascending=False)
    out = ["<h3>Per-TF signal and missingness</h3>",
           figure(fig_png(fig), "Signal per TF",
                  f"Top: {label} of each TF track over all promoter windows (amber: low-signal TFs). "
                  "Bottom: the percentage of windows without data (chromosome absent from the track or "
                  "window off the chromosome).",
                  "Tracks far below the others carry little binding; a high missing percentage usually "
                  "means chromosome names that did not match.", alt="per-TF signal"),
           f'<p class="note">{len(tfs)} TFs, {g:,} genes; overall missing fraction '
           f"{missf.mean():.3%}.</p>",
           table_html(worst, max_rows=10, caption="TFs with most missing windows")]
    if low:
        out.append(f'<p class="note">Low-signal / dropped TFs: {esc(", ".join(sorted(low)))}</p>')
    if st["guard"]:
        out.append('<p class="note">Normalisation guard (tfvocab normalize warned; also in '
                   'normalize.manifest.json):</p><ul>' +
                   "".join(f"<li>{esc(m)}</li>" for m in st["guard"]) + "</ul>")
    return "\n".join(out)


def _vocab_heatmap(df: pd.DataFrame, n_tokens: int = 25, n_tfs: int = 30) -> str:
    """A readable heatmap of the most frequent learned tokens' top-TF weights (vocabulary.tsv)."""
    if not {"top_tfs", "top_weights", "count"} <= set(df.columns):
        return ""
    learned = df[df["kind"].astype(str) == "cluster"] if "kind" in df else df
    learned = learned[learned["top_tfs"].astype(str) != ""].sort_values("count", ascending=False).head(n_tokens)
    if learned.empty:
        return ""
    weights: dict[str, dict[str, float]] = {}
    for tok, tfs, ws in zip(learned["token"], learned["top_tfs"].astype(str), learned["top_weights"].astype(str)):
        names = [t for t in tfs.split(",") if t]
        vals = [float(w) for w in ws.split(",") if w.strip()] if ws.strip() else [1.0] * len(names)
        weights[str(tok)] = dict(zip(names, vals))
    tf_tot: dict[str, float] = {}
    for w in weights.values():
        for t, v in w.items():
            tf_tot[t] = tf_tot.get(t, 0.0) + abs(v)
    cols = sorted(tf_tot, key=lambda t: -tf_tot[t])[:n_tfs]
    rows = list(weights)
    mat = np.array([[weights[r].get(c, 0.0) for c in cols] for r in rows])
    plt = _plt()
    fig, ax = plt.subplots(figsize=(max(6, 0.42 * len(cols) + 2.5), max(3, 0.36 * len(rows) + 1.6)))
    im = ax.imshow(mat, aspect="auto", cmap="viridis", vmin=0)
    ax.set_xticks(np.arange(len(cols)))
    ax.set_xticklabels(cols, rotation=60, ha="right", fontsize=11)
    counts = dict(zip(learned["token"].astype(str), learned["count"]))
    ax.set_yticks(np.arange(len(rows)))
    ax.set_yticklabels([f"token {r} (n={counts[r]:,})" for r in rows], fontsize=11)
    if mat.size <= 400:
        for i in range(mat.shape[0]):
            for j in range(mat.shape[1]):
                if mat[i, j] > 0:
                    ax.text(j, i, f"{mat[i, j]:.1f}", ha="center", va="center", fontsize=9,
                            color="white" if mat[i, j] < 0.6 * mat.max() else "black")
    fig.colorbar(im, ax=ax, fraction=0.03, pad=0.02, label="binding score")
    ax.set_title(f"The {len(rows)} most frequent learned tokens and their top TFs")
    return figure(fig_png(fig), "TF vocabulary",
                  "Each row is a learned token (a k-means cluster of windows with similar TF-binding "
                  "vectors), with how many windows carry it; each column a TF among the tokens' top TFs; "
                  "the number is the token centroid's binding score for that TF (0 = background, "
                  "1 = a typical bound window).",
                  "A row with one bright cell is a single-TF site; several bright cells in a row are TFs "
                  "that bind together in the same 50 bp window (a candidate composite element).",
                  alt="vocabulary heatmap")


def section_vocabulary(files: Mapping[str, list[Path]]) -> str:
    parts = []
    voc = _first(files, "vocabulary.tsv")
    png = _first(files, "vocabulary.png")
    if voc is not None:
        df = _read_tsv(voc)
        for c in ("top_tfs", "top_weights"):
            if c in df:
                df[c] = df[c].fillna("")
        # learned tokens are kind "cluster" (docs/formats.md); mask / unbound (null) are special
        n_special = int((~df["kind"].isin(["cluster", "window"])).sum()) if "kind" in df else 0
        parts.append(f'<p class="note">{len(df)} tokens ({n_special} special).</p>')
        parts.append(_vocab_heatmap(df))
        cols = [c for c in ["token", "kind", "count", "frequency", "top_tfs", "top_weights", "mean_offset"]
                if c in df.columns]
        top = df.sort_values("count", ascending=False) if "count" in df else df
        parts.append("<details><summary>the 25 most frequent tokens as a table</summary>"
                     + table_html(top[cols] if cols else top, max_rows=25) + "</details>")
    else:
        parts.append(missing("vocabulary.tsv"))
    if png is not None:
        parts.append("<details><summary>the tokenize step's own heatmap (vocabulary.png)</summary>"
                     + png_file(png) + "</details>")
    return "\n".join(parts)


def section_training(files: Mapping[str, list[Path]]) -> str:
    logp = _first(files, "train_log.tsv")
    if logp is None:
        return missing("train_log.tsv (loss and AUPRC per epoch)")
    df = _read_tsv(logp)
    need = {"epoch", "train_loss"}
    if not need <= set(df.columns):
        return missing(f"columns {sorted(need - set(df.columns))} in {logp}",
                       "train_log.tsv does not follow the format (epoch, train_loss, val_loss, val_auprc, ...)")
    plt = _plt()
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.8))
    for col, style in (("train_loss", "-o"), ("val_loss", "-s")):
        if col in df:
            axes[0].plot(df["epoch"], df[col], style, label=col, ms=4)
    axes[0].set_xlabel("epoch")
    axes[0].set_ylabel("loss")
    axes[0].legend()
    for col, style in (("val_auprc", "-o"), ("val_auroc", "-s")):
        if col in df:
            axes[1].plot(df["epoch"], df[col], style, label=col, ms=4)
    best = None
    if "val_auprc" in df and len(df) and df["val_auprc"].notna().any():
        best = df.loc[df["val_auprc"].idxmax()]
        axes[1].axvline(best["epoch"], color="grey", ls="--", lw=1, label="best epoch")
    axes[1].set_xlabel("epoch")
    axes[1].set_ylabel("validation metric")
    axes[1].legend()
    from matplotlib.ticker import MaxNLocator

    for ax in axes:
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    parts = [figure(fig_png(fig), "Training curves",
                    "Left: training and validation loss per epoch. Right: validation AUPRC / AUROC on the "
                    "validation pairs (the dashed line marks the epoch kept).",
                    "Validation loss rising while training loss falls is over-fitting; the kept model is "
                    "the best validation epoch, not the last.", alt="training curves")]
    if best is not None:
        parts.append(f'<p class="note">best validation AUPRC {best["val_auprc"]:.4f} at epoch '
                     f'{int(best["epoch"])}; {len(df)} epochs logged.</p>')
    parts.append("<details><summary>per-epoch table</summary>" + table_html(df, max_rows=200) + "</details>")
    model = _first(files, "model.pt")
    if model is not None:
        from .. import formats

        try:
            config = formats.read_model(model).get("config") or {}
        except TfvocabError as exc:
            parts.append(missing("a readable model.pt", str(exc)))
            config = {}
        if config:
            parts.append("<details><summary>model configuration</summary>"
                         + kv_table(_flatten(config)) + "</details>")
    return "\n".join(parts)


def caution_note(ev: Evaluation, what: str) -> str:
    """The visible note of sections that describe the model when the verdict is not "better"."""
    if ev.kind == "better":
        return ""
    base = ev.best_baseline or "the best baseline"
    state = (f"the transformer is {ev.verdict}" if ev.verdict else "there is no verdict for this run")
    return (f'<p class="caution"><b>Read with care:</b> {esc(state)}. {esc(what)} describe what this model '
            f"learned, not biology it has shown to predict better than {esc(base)}.</p>")


def section_interpretation(files: Mapping[str, list[Path]], ev: Evaluation) -> str:
    parts = [caution_note(ev, "The knock-outs, attributions and tokens below")]
    summ = _first(files, "interpret.summary.json")
    if summ is not None:
        d = _read_json(summ)
        d.pop("provenance", None)
        truth = d.get("truth_check")
        keep = {k: d[k] for k in ("n_pairs", "input", "pooling", "mean_score") if k in d}
        comp = d.get("completeness") or {}
        if "max_rel_error" in comp:
            keep["integrated gradients completeness (max relative error)"] = comp["max_rel_error"]
        parts.append(kv_table(keep, caption="interpretation run"))
        if truth:
            parts.append("<h3>Check against the planted truth</h3>" + kv_table(_flatten(truth)))
        parts.append(raw_json(d, "interpret.summary.json"))
    ko = _first(files, "tf_knockout.tsv")
    if ko is not None:
        df = _read_tsv(ko)
        agg = (df.groupby("tf")["delta"].agg(["mean", "min", "count"]).sort_values("mean")
               .reset_index().rename(columns={"mean": "mean_delta", "min": "min_delta",
                                              "count": "pairs"}))
        parts.append("<h3>TF knock-outs</h3>" + table_html(
            agg, max_rows=15, caption="TFs whose knock-out (signal set to background) lowers the pair "
                                      "score most: mean change of the predicted probability"))
    else:
        parts.append(missing("tf_knockout.tsv"))
    ti = _first(files, "token_importance.tsv")
    if ti is not None:
        parts.append("<h3>Most influential tokens</h3>" + table_html(_read_tsv(ti), max_rows=15))
    else:
        parts.append(missing("token_importance.tsv"))
    for name in ("attention_profile.png", "token_importance.png"):
        q = _first(files, name)
        if q is not None:
            parts.append(png_file(q))
    pngs = sorted({p for name, ps in files.items() for p in ps
                   if name.endswith(".png") and name.startswith(("attention_pair", "ig_", "attribution"))})
    if pngs:
        parts.append("<h3>Example pairs</h3>")
        parts.extend(png_file(p) for p in pngs[:3])             # full width: readable heatmap text
        if len(pngs) > 3:
            parts.append(f"<details><summary>{len(pngs) - 3} more example pairs</summary>"
                         + "".join(png_file(p) for p in pngs[3:12]) + "</details>")
    elif ko is None and summ is None:
        parts.append(missing("interpretation heatmaps (ig_*.png)"))
    return "\n".join(parts)


def module_agreement(pred: pd.DataFrame, truth: pd.DataFrame) -> dict:
    """Predicted vs planted modules on the genes in both (sklearn ARI / NMI).

    ``pred``: ``gene_id, module``; ``truth``: ``gene_id, module``. Returns ``ari``, ``nmi``,
    ``n_genes`` (genes in both), ``true_genes_covered`` (fraction of true-module genes that are
    in a predicted module) and the contingency table (true x predicted gene counts).
    """
    from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

    p = pred.drop_duplicates("gene_id").set_index("gene_id")["module"].astype(str)
    t = truth.drop_duplicates("gene_id").set_index("gene_id")["module"].astype(str)
    common = t.index.intersection(p.index)
    out = {"n_genes": int(len(common)), "true_genes": int(len(t)), "true_modules": int(t.nunique()),
           "predicted_modules": int(p.nunique()),
           "true_genes_covered": float(len(common) / max(len(t), 1))}
    if len(common) < 2:
        out.update(ari=float("nan"), nmi=float("nan"), table=pd.DataFrame())
        return out
    out["ari"] = float(adjusted_rand_score(t[common], p[common]))
    out["nmi"] = float(normalized_mutual_info_score(t[common], p[common]))
    out["table"] = pd.crosstab(t[common], p[common])
    return out


def _module_figure(table: pd.DataFrame, max_rows: int = 14, max_cols: int = 14) -> str:
    if table.empty:
        return ""
    rows = table.sum(axis=1).sort_values(ascending=False).index[:max_rows]
    cols = table.sum(axis=0).sort_values(ascending=False).index[:max_cols]
    sub = table.loc[rows, cols]
    plt = _plt()
    fig, ax = plt.subplots(figsize=(max(5, 0.55 * len(cols) + 2.5), max(3, 0.42 * len(rows) + 1.5)))
    im = ax.imshow(sub.to_numpy(), aspect="auto", cmap="Blues")
    ax.set_xticks(np.arange(len(cols)))
    ax.set_xticklabels([str(c) for c in cols], fontsize=11)
    ax.set_yticks(np.arange(len(rows)))
    ax.set_yticklabels([str(r) for r in rows], fontsize=11)
    vmax = max(int(sub.to_numpy().max()), 1)
    for i in range(sub.shape[0]):
        for j in range(sub.shape[1]):
            v = int(sub.iat[i, j])
            if v:
                ax.text(j, i, str(v), ha="center", va="center", fontsize=10,
                        color="white" if v > 0.6 * vmax else "black")
    ax.set_xlabel("predicted module (predict)")
    ax.set_ylabel("planted module (truth)")
    fig.colorbar(im, ax=ax, fraction=0.03, pad=0.02, label="genes")
    return figure(fig_png(fig), "Predicted vs planted modules",
                  "Genes of each planted module (rows) by the predicted network module they fell in "
                  "(columns); the largest modules of each.",
                  "A perfect recovery has one dark cell per row and per column; a row spread over many "
                  "columns is a planted module the network split; a column collecting several rows merged "
                  "modules.", alt="module contingency")


def section_network(files: Mapping[str, list[Path]], ev: Evaluation) -> str:
    parts = [caution_note(ev, "The predicted pairs, modules and hub genes below")]
    summ = _first(files, "predict.summary.json")
    if summ is not None:
        d = _read_json(summ)
        d.pop("provenance", None)
        keep = {k: d[k] for k in ("mode", "n_genes", "n_pairs_scored", "top_k", "n_edges",
                                  "n_genes_in_network", "n_modules", "median_edge_score") if k in d}
        parts.append(kv_table(keep, caption="predicted network"))
        parts.append(raw_json(d, "predict.summary.json"))
    pp = _first(files, "predicted_pairs.tsv")
    if pp is not None and summ is None:
        df = _read_tsv(pp)
        parts.append(kv_table({"predicted pairs": len(df),
                               "genes": len(set(df["gene_a"]) | set(df["gene_b"])),
                               "median score": float(df["score"].median()) if len(df) else float("nan")},
                              caption="predicted_pairs.tsv"))
    if pp is None and summ is None:
        parts.append(missing("predicted_pairs.tsv / predict.summary.json"))
    mod = next(iter(_outputs(files, "modules.tsv")), None)
    if mod is not None:
        df = _read_tsv(mod)
        sizes = df.groupby("module").size().sort_values(ascending=False)
        tab = pd.DataFrame({"module": sizes.index, "genes": sizes.values})
        ex = df.groupby("module")["gene_id"].apply(lambda s: ", ".join(map(str, list(s)[:8])))
        tab["example genes"] = tab["module"].map(ex)
        parts.append(f"<h3>Modules</h3><p class=\"note\">{len(sizes)} modules over {len(df)} genes; "
                     f"largest {int(sizes.iloc[0]) if len(sizes) else 0} genes.</p>")
        parts.append(table_html(tab, max_rows=15))
        tru = _truth(files, "modules.tsv")
        if tru is not None:
            agree = module_agreement(df, _read_tsv(tru))
            parts.append("<h3>Modules against the planted truth</h3>"
                         f"<p>Adjusted Rand index <b>{_fmt(agree['ari'])}</b>, normalised mutual information "
                         f"<b>{_fmt(agree['nmi'])}</b> over the {agree['n_genes']} genes that are in both a "
                         f"planted module ({agree['true_modules']} modules, {agree['true_genes']} genes) and a "
                         f"predicted one ({agree['true_genes_covered']:.0%} of the planted genes). "
                         "ARI is 0 for a random partition and 1 for a perfect one; NMI 0..1.</p>")
            parts.append(_module_figure(agree["table"]))
    else:
        parts.append(missing("modules.tsv"))
    hubs = _first(files, "hubs.tsv")
    if hubs is not None:
        parts.append("<h3>Hub genes</h3>" + table_html(_read_tsv(hubs), max_rows=15))
    else:
        parts.append(missing("hubs.tsv"))
    return "\n".join(parts)


def section_run(files: Mapping[str, list[Path]], inputs: list[Path]) -> str:
    import importlib.metadata as md

    versions = {"tfvocab": __version__, "python": platform.python_version()}
    for pkg in ("torch", "numpy", "pandas", "h5py", "igraph", "networkx", "matplotlib", "scikit-learn"):
        try:
            versions[pkg] = md.version(pkg)
        except md.PackageNotFoundError:
            versions[pkg] = "not installed"
    parts = ["<h3>Inputs</h3><ul>" + "".join(f"<li><code>{esc(p)}</code></li>" for p in inputs)
             + "</ul>", "<h3>Versions (report environment)</h3>", kv_table(versions)]
    rows = []
    for name in sorted(files):
        if name.endswith(".json") and name[:-5] in files:
            continue  # a sidecar: shown with its file
        for p in files[name]:
            prov = file_provenance(p)
            params = prov.get("params", {})
            ptxt = json.dumps(params, sort_keys=True, default=str) if params else ""
            rows.append({"file": str(p), "step": prov.get("step", ""),
                         "version": prov.get("version", ""), "params": ptxt})
    if rows:
        body = []
        for r in rows:
            params = (f"<details><summary>parameters</summary><pre>{esc(r['params'])}</pre></details>"
                      if r["params"] else "")
            body.append(f"<tr><td><code>{esc(r['file'])}</code></td><td>{esc(r['step'])}</td>"
                        f"<td>{esc(r['version'])}</td><td>{params}</td></tr>")
        steps = sorted({r["step"] for r in rows if r["step"]})
        parts.append("<h3>Files and provenance (step, tfvocab version, parameters)</h3>"
                     f"<details><summary>{len(rows)} files from {len(steps)} steps "
                     f"({esc(', '.join(steps))})</summary>"
                     "<table><thead><tr><th>file</th><th>step</th><th>version</th><th>parameters</th>"
                     f"</tr></thead><tbody>{''.join(body)}</tbody></table></details>")
    else:
        parts.append(missing("result files", "no files were found under the given paths"))
    return "\n".join(parts)


def _safe(builder: Callable[[], str], title: str) -> str:
    try:
        return builder()
    except Exception as exc:  # a broken input makes its section say so, not the report fail
        log.warning("report section %s: %s: %s", title, type(exc).__name__, exc)
        return missing("a readable input for this section", f"{type(exc).__name__}: {exc}")


def build_html(files: Mapping[str, list[Path]], inputs: list[Path], title: str = "tfvocab report") -> str:
    """The whole report page as one HTML string (no external references)."""
    try:
        ev = load_evaluation(files)
    except Exception as exc:  # unreadable metrics: the Summary says so
        log.warning("report: evaluation files: %s: %s", type(exc).__name__, exc)
        ev = Evaluation()
    try:
        facts = data_facts(files)
    except Exception as exc:
        log.warning("report: data files: %s: %s", type(exc).__name__, exc)
        facts = {"simulated": is_simulated(files)}
    builders = {
        "Summary": lambda: section_summary(files, ev, facts),
        "Evaluation": lambda: section_evaluation(files, ev),
        "Data QC": lambda: section_data_qc(files, facts),
        "Vocabulary": lambda: section_vocabulary(files),
        "Training": lambda: section_training(files),
        "Interpretation": lambda: section_interpretation(files, ev),
        "Predicted network": lambda: section_network(files, ev),
        "Run": lambda: section_run(files, inputs),
    }
    body, nav = [], []
    for name in SECTIONS:
        sid = name.lower().replace(" ", "-")
        nav.append(f'<a href="#{sid}">{esc(name)}</a>')
        with timed(f"report section {name}", log):
            inner = _safe(builders[name], name)
        body.append(f'<section id="{sid}"><h2>{esc(name)}</h2>\n{inner}\n</section>')
    _signal_stats.cache_clear()
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>{esc(title)}</title><style>{CSS}</style></head><body>"
            f"<header><h1>{esc(title)}</h1><div>tfvocab {esc(__version__)}</div></header>"
            f"<nav>{''.join(nav)}</nav><main>{''.join(body)}</main></body></html>\n")


def run(result_paths: Iterable[str | Path], outdir: str | Path, title: str = "tfvocab report") -> dict[str, Path]:
    """Write ``outdir/report.html`` from the given step outputs (files or folders).

    Returns ``{"report": path}``. The provenance sidecar ``report.html.json`` lists the inputs.
    """
    outdir = Path(outdir)
    inputs = [Path(p) for p in result_paths]
    if not inputs:
        raise TfvocabError("no result paths given", hint="pass step output folders or files")
    files = collect_files(inputs)
    # never read our own previous output back in
    files.pop("report.html", None)
    files.pop("report.html.json", None)
    log.info("report: %d files found (%d known names)", sum(map(len, files.values())),
             len(KNOWN & set(files)))
    page = build_html(files, inputs, title=title)
    params = {"result_paths": [str(p) for p in inputs], "title": title}
    with step_outputs(outdir, "report", params) as out:
        with atomic_path(out.path("report.html")) as tmp:
            tmp.write_text(page, encoding="utf-8")
        write_sidecar(out.path("report.html"), provenance("report", params))
    return {"report": outdir / "report.html"}
