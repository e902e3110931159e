"""HTML building blocks of the report: CSS, escaping, captioned figures, tables, number formats."""
from __future__ import annotations

import base64
import html
import json
from pathlib import Path
from typing import Iterable, Mapping

import numpy as np
import pandas as pd


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


def png_file(path: Path) -> str:
    """A step's PNG with its caption (:data:`CAPTIONS`; generic for unknown names)."""
    path = Path(path)
    key = "ig_pair" if path.name.startswith("ig_pair") else path.name
    title, what, how = CAPTIONS.get(key, (path.stem.replace("_", " "), f"Figure {path.name}.",
                                          "See docs/output.md for this file."))
    if key == "ig_pair":
        title = f"{title} {path.stem.split('_', 2)[-1].replace('_', ' - ')}"
    return figure(path.read_bytes(), title, what, how, alt=path.name)


def fmt_value(v) -> str:
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


def fmt_count(x) -> str:
    """A count with thousands separators ('?' when unknown)."""
    return f"{int(x):,}" if isinstance(x, (int, np.integer, float, np.floating)) and x == x else "?"


def _digits(x: float) -> int:
    """Decimals that show ~3 significant digits of a metric (0.158 -> 3, 0.0052 -> 4)."""
    x = abs(float(x))
    if x >= 0.1 or x == 0:
        return 3
    return min(6, 2 - int(np.floor(np.log10(x))))


def fmt_ci(mean, lo=None, hi=None, digits: int | None = None) -> str:
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
            cells.append(f'<td class="num">{esc(fmt_value(v))}</td>' if num else f"<td>{esc(fmt_value(v))}</td>")
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
            v = " · ".join(f"{kk} {fmt_value(vv)}" for kk, vv in v.items())      # e.g. per-split counts
        elif isinstance(v, (dict, list)):
            v = json.dumps(v, sort_keys=True, default=str)
            if len(v) > 200:
                v = v[:200] + "..."
        rows.append(f"<tr><th>{esc(k)}</th><td>{esc(fmt_value(v))}</td></tr>")
    cap = f"<caption>{esc(caption)}</caption>" if caption else ""
    return f"<table>{cap}<tbody>{''.join(rows)}</tbody></table>"


def raw_json(obj, label: str) -> str:
    """Raw JSON folded away: ``<details>`` with a one-line summary."""
    text = json.dumps(obj, indent=1, sort_keys=True, default=str)
    return (f"<details><summary>raw {esc(label)} ({len(text):,} characters)</summary>"
            f"<pre>{esc(text)}</pre></details>")


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
