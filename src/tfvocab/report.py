"""One self-contained ``report.html`` from whatever step outputs are given.

Inputs are files or step folders (searched recursively); known files are recognised by name
(``promoters.tsv``, ``normalized.h5``, ``train_log.tsv``, ``metrics.json``...). Each section is
built by one function from the files it needs; a missing or unreadable input makes that section
say what is missing instead of failing the report. The page has no external references: images
are embedded as base64 PNG, CSS is inline, there is no JavaScript.

Sections (in order): Run, Data QC, Vocabulary, Training, Evaluation, Interpretation,
Predicted network.
"""
from __future__ import annotations

import base64
import html
import io
import json
import platform
from pathlib import Path
from typing import Callable, Iterable, Mapping

import numpy as np
import pandas as pd

from . import __version__
from .errors import TfvocabError
from .io import atomic_path, provenance, write_sidecar
from .log import get_logger, timed
from .publish import step_outputs

log = get_logger("report")

SECTIONS = ["Run", "Data QC", "Vocabulary", "Training", "Evaluation", "Interpretation",
            "Predicted network"]

# names the report knows about (everything else is only listed in the Run section)
KNOWN = {
    "promoters.report.json", "promoters.tsv", "signal.h5", "normalized.h5", "tokens.h5",
    "vocabulary.tsv", "vocabulary.png", "pairs.report.json", "pairs.tsv", "train_log.tsv",
    "model.pt", "metrics.json", "pr_curve.png", "roc_curve.png", "predictions.tsv",
    "attention.h5", "attributions.h5", "tf_knockout.tsv", "token_importance.tsv",
    "token_importance.png", "interpret.summary.json", "predicted_pairs.tsv", "network.graphml",
    "modules.tsv", "hubs.tsv", "predict.summary.json",
}

CSS = """
body{font-family:-apple-system,Segoe UI,Helvetica,Arial,sans-serif;margin:0;color:#222;background:#fafafa}
header{background:#24476b;color:#fff;padding:18px 32px}
header h1{margin:0;font-size:24px}
nav{padding:8px 32px;background:#e8eef4;font-size:14px}
nav a{margin-right:14px;color:#24476b;text-decoration:none}
main{padding:8px 32px 40px 32px;max-width:1200px}
section{background:#fff;border:1px solid #dde3ea;border-radius:6px;padding:10px 20px 16px 20px;margin:16px 0}
h2{color:#24476b;border-bottom:1px solid #dde3ea;padding-bottom:4px}
h3{color:#333;font-size:16px}
table{border-collapse:collapse;font-size:13px;margin:8px 0}
th,td{border:1px solid #ccd5de;padding:3px 8px;text-align:left;vertical-align:top}
th{background:#eef2f6}
td.num{text-align:right;font-variant-numeric:tabular-nums}
img{max-width:100%;border:1px solid #eee;margin:6px 0}
.missing{color:#8a5a00;background:#fff6e0;border-left:4px solid #e0a800;padding:6px 10px}
.note{color:#555;font-size:13px}
pre{background:#f4f6f8;padding:6px;font-size:12px;white-space:pre-wrap;word-break:break-all}
details summary{cursor:pointer;color:#24476b}
.figs{display:flex;flex-wrap:wrap;gap:12px}
.figs figure{margin:0;flex:1 1 45%}
figcaption{font-size:12px;color:#555}
.scroll{overflow-x:auto;max-width:100%}
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


def _first(files: Mapping[str, list[Path]], name: str) -> Path | None:
    """The first path of ``name``; a simulation's ``truth/`` files (same names as step outputs,
    e.g. ``modules.tsv``, ``pairs.tsv``) only when nothing else has the name."""
    paths = files.get(name)
    if not paths:
        return None
    return sorted(paths, key=lambda p: "truth" in p.parts)[0]


# ----------------------------------------------------------------------------------------------
# HTML helpers


def esc(x) -> str:
    return html.escape(str(x), quote=True)


def missing(what: str, why: str = "not found among the given inputs") -> str:
    return f'<p class="missing">Missing: {esc(what)} &mdash; {esc(why)}.</p>'


def png_tag(data: bytes, alt: str, caption: str | None = None) -> str:
    """An <img> with the PNG embedded as a base64 data URI (wrapped in a <figure>)."""
    b64 = base64.b64encode(data).decode("ascii")
    cap = f"<figcaption>{esc(caption)}</figcaption>" if caption else ""
    return f'<figure><img alt="{esc(alt)}" src="data:image/png;base64,{b64}">{cap}</figure>'


def png_file(path: Path, caption: str | None = None) -> str:
    return png_tag(Path(path).read_bytes(), alt=Path(path).name, caption=caption or Path(path).name)


def fig_png(fig) -> bytes:
    """Render a matplotlib figure to PNG bytes (and close it)."""
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90, bbox_inches="tight")
    plt.close(fig)
    return buf.getvalue()


def _fmt(v) -> str:
    if isinstance(v, (float, np.floating)):
        if not np.isfinite(v):
            return str(v)
        return f"{v:.4g}"
    return str(v)


def table_html(df: pd.DataFrame, max_rows: int = 30, caption: str | None = None) -> str:
    """A plain HTML table of the first ``max_rows`` rows of ``df`` (numbers right-aligned)."""
    head = "".join(f"<th>{esc(c)}</th>" for c in df.columns)
    rows = []
    for _, r in df.head(max_rows).iterrows():
        cells = []
        for v in r.tolist():
            num = isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool)
            cells.append(f'<td class="num">{esc(_fmt(v))}</td>' if num else f"<td>{esc(_fmt(v))}</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    more = (f'<p class="note">showing {max_rows} of {len(df)} rows</p>' if len(df) > max_rows else "")
    cap = f"<caption>{esc(caption)}</caption>" if caption else ""
    return (f'<div class="scroll"><table>{cap}<thead><tr>{head}</tr></thead><tbody>{"".join(rows)}'
            f"</tbody></table></div>{more}")


def kv_table(d: Mapping, caption: str | None = None) -> str:
    rows = []
    for k, v in d.items():
        if isinstance(v, (dict, list)):
            v = json.dumps(v, sort_keys=True, default=str)
            if len(v) > 300:
                v = v[:300] + "..."
        rows.append(f"<tr><th>{esc(k)}</th><td>{esc(_fmt(v))}</td></tr>")
    cap = f"<caption>{esc(caption)}</caption>" if caption else ""
    return f"<table>{cap}<tbody>{''.join(rows)}</tbody></table>"


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


# ----------------------------------------------------------------------------------------------
# provenance


def file_provenance(path: Path) -> dict:
    """The provenance record of one output file ({} when it has none).

    HDF5: root attribute; JSON: a top-level ``provenance`` key; model.pt: version + config;
    anything else: the ``<file>.json`` sidecar.
    """
    path = Path(path)
    try:
        if path.suffix == ".h5":
            import h5py

            from .io import get_h5_provenance
            with h5py.File(path, "r") as f:
                return get_h5_provenance(f)
        if path.suffix == ".pt":
            import torch

            ckpt = torch.load(path, map_location="cpu", weights_only=False)
            if isinstance(ckpt, Mapping):
                return {"step": "train", "version": ckpt.get("version"),
                        "params": ckpt.get("config", {})}
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
# sections: each takes the file map and returns inner HTML


def section_run(files: Mapping[str, list[Path]], inputs: list[Path]) -> str:
    import importlib.metadata as md

    versions = {"tfvocab": __version__, "python": platform.python_version()}
    for pkg in ("torch", "numpy", "pandas", "h5py", "networkx", "matplotlib", "scikit-learn"):
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


def section_data_qc(files: Mapping[str, list[Path]]) -> str:
    parts = []
    rep = _first(files, "promoters.report.json")
    prom = _first(files, "promoters.tsv")
    if rep is not None:
        d = _read_json(rep)
        d = {k: v for k, v in _flatten(d).items() if not k.startswith("provenance")}
        parts.append("<h3>Promoters</h3>" + kv_table(d, caption="promoters.report.json"))
    if prom is not None:
        df = _read_tsv(prom)
        clipped = df["clipped"].astype(str).str.lower().isin(["true", "1"]).sum() if "clipped" in df else 0
        summary = {"promoters kept": len(df), "clipped at a chromosome end": int(clipped),
                   "chromosomes": df["chrom"].nunique() if "chrom" in df else "?"}
        if "strand" in df:
            summary["plus / minus strand"] = f"{(df['strand'] == '+').sum()} / {(df['strand'] == '-').sum()}"
        parts.append(kv_table(summary, caption="promoters.tsv"))
    if rep is None and prom is None:
        parts.append(missing("promoters.report.json and promoters.tsv (promoters kept/clipped/dropped)"))

    sig = _first(files, "normalized.h5") or _first(files, "signal.h5")
    if sig is not None:
        parts.append(_signal_qc(sig, raw=_first(files, "signal.h5")))
    else:
        parts.append(missing("signal.h5 / normalized.h5 (per-TF signal and missingness)"))
    pr = _first(files, "pairs.report.json")
    if pr is not None:
        d = {k: v for k, v in _flatten(_read_json(pr)).items() if not k.startswith("provenance")}
        parts.append("<h3>Labelled pairs</h3>" + kv_table(d, caption="pairs.report.json"))
    else:
        parts.append(missing("pairs.report.json (labelled pair counts and splits)"))
    return "\n".join(parts)


def _signal_qc(path: Path, raw: Path | None) -> str:
    """Per-TF mean signal (raw if available) and missing fraction, as a plot and a table."""
    import h5py
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from .io import read_strings

    def per_tf(p: Path):
        with h5py.File(p, "r") as f:
            tfs = read_strings(f["tfs"])
            sig = f["signal"]
            g = sig.shape[0]
            sums = np.zeros(len(tfs))
            cnt = np.zeros(len(tfs))
            miss = np.zeros(len(tfs))
            for i in range(0, g, 512):  # genes in chunks: bounded memory
                x = sig[i:i + 512].astype(np.float64)
                m = f["mask"][i:i + 512] if "mask" in f else np.isnan(x)
                m = m | np.isnan(x)
                sums += np.where(m, 0, x).sum(axis=(0, 1))
                cnt += (~m).sum(axis=(0, 1))
                miss += m.sum(axis=(0, 1))
            total = sig.shape[0] * sig.shape[1]
            dropped = read_strings(f["dropped_tfs"]) if "dropped_tfs" in f else []
        return tfs, sums / np.maximum(cnt, 1), miss / max(total, 1), g, dropped

    tfs, mean, missf, g, dropped = per_tf(path)
    raw_mean = None
    if raw is not None and raw != path:
        rtfs, rmean, rmiss, _, _ = per_tf(raw)
        if rtfs == tfs:
            raw_mean, missf = rmean, np.maximum(missf, rmiss)
    shown = raw_mean if raw_mean is not None else mean
    label = "mean raw signal" if raw_mean is not None or path.name == "signal.h5" else "mean normalised signal"
    fig, axes = plt.subplots(2, 1, figsize=(max(6, min(18, 0.12 * len(tfs) + 3)), 5), sharex=True)
    x = np.arange(len(tfs))
    axes[0].bar(x, shown, color="#24476b")
    axes[0].set_ylabel(label)
    axes[1].bar(x, 100 * missf, color="#c0392b")
    axes[1].set_ylabel("missing windows (%)")
    axes[1].set_xlabel("TF")
    if len(tfs) <= 60:
        axes[1].set_xticks(x)
        axes[1].set_xticklabels(tfs, rotation=90, fontsize=7)
    fig.suptitle(f"Per-TF signal and missingness ({g} genes, {path.name})")
    df = pd.DataFrame({"tf": tfs, label: shown, "missing_fraction": missf})
    worst = df.sort_values("missing_fraction", ascending=False)
    out = ["<h3>Per-TF signal and missingness</h3>", png_tag(fig_png(fig), "per-TF signal"),
           f'<p class="note">{len(tfs)} TFs, {g} genes; overall missing fraction '
           f"{missf.mean():.3%}.</p>", table_html(worst, max_rows=10,
                                                   caption="TFs with most missing windows")]
    if dropped:
        out.append(f'<p class="note">Dropped low-signal TFs: {esc(", ".join(dropped))}</p>')
    return "\n".join(out)


def section_vocabulary(files: Mapping[str, list[Path]]) -> str:
    parts = []
    voc = _first(files, "vocabulary.tsv")
    png = _first(files, "vocabulary.png")
    if voc is not None:
        df = _read_tsv(voc)
        # learned tokens are kind "cluster" (docs/formats.md); mask / unbound (null) are special
        n_special = int((~df["kind"].isin(["cluster", "window"])).sum()) if "kind" in df else 0
        parts.append(f'<p class="note">{len(df)} tokens ({n_special} special).</p>')
        cols = [c for c in ["token", "kind", "count", "frequency", "top_tfs", "top_weights", "mean_offset"]
                if c in df.columns]
        top = df.sort_values("count", ascending=False) if "count" in df else df
        for c in ("top_tfs", "top_weights"):
            if c in top:
                top[c] = top[c].fillna("")
        parts.append(table_html(top[cols] if cols else top, max_rows=25,
                                caption="most frequent tokens"))
    else:
        parts.append(missing("vocabulary.tsv"))
    parts.append(png_file(png) if png is not None else missing("vocabulary.png"))
    return "\n".join(parts)


def section_training(files: Mapping[str, list[Path]]) -> str:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    logp = _first(files, "train_log.tsv")
    if logp is None:
        return missing("train_log.tsv (loss and AUPRC per epoch)")
    df = _read_tsv(logp)
    need = {"epoch", "train_loss"}
    if not need <= set(df.columns):
        return missing(f"columns {sorted(need - set(df.columns))} in {logp}",
                       "train_log.tsv does not follow the format (epoch, train_loss, val_loss, val_auprc, ...)")
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.6))
    for col, style in (("train_loss", "-o"), ("val_loss", "-s")):
        if col in df:
            axes[0].plot(df["epoch"], df[col], style, label=col, ms=3)
    axes[0].set_xlabel("epoch")
    axes[0].set_ylabel("loss (BCE)")
    axes[0].legend()
    for col, style in (("val_auprc", "-o"), ("val_auroc", "-s")):
        if col in df:
            axes[1].plot(df["epoch"], df[col], style, label=col, ms=3)
    axes[1].set_xlabel("epoch")
    axes[1].set_ylabel("validation metric")
    axes[1].legend()
    parts = [png_tag(fig_png(fig), "training curves", "loss (left) and validation AUPRC/AUROC (right)")]
    if "val_auprc" in df and len(df):
        best = df.loc[df["val_auprc"].idxmax()]
        parts.append(f'<p class="note">best validation AUPRC {best["val_auprc"]:.4f} at epoch '
                     f'{int(best["epoch"])}; {len(df)} epochs logged.</p>')
    parts.append(table_html(df, max_rows=50))
    model = _first(files, "model.pt")
    if model is not None:
        prov = file_provenance(model)
        if prov.get("params"):
            parts.append("<h3>Model configuration</h3>" + kv_table(_flatten(prov["params"])))
    return "\n".join(parts)


def section_evaluation(files: Mapping[str, list[Path]]) -> str:
    parts = []
    mp = _first(files, "metrics.json")
    if mp is not None:
        m = _read_json(mp)
        m = {k: v for k, v in m.items() if k != "provenance"}
        parts.append(_metrics_tables(m))
    else:
        parts.append(missing("metrics.json (test metrics vs baselines)"))
    figs = []
    for name in ("pr_curve.png", "roc_curve.png"):
        p = _first(files, name)
        figs.append(png_file(p) if p is not None else missing(name))
    parts.append('<div class="figs">' + "".join(figs) + "</div>")
    return "\n".join(parts)


METRIC_COLUMNS = ["auprc", "auroc", "precision_at_10", "precision_at_50", "precision_at_100",
                  "precision_at_npos", "f1", "accuracy", "n", "n_pos", "pos_fraction"]


def _metrics_tables(m: Mapping) -> str:
    """metrics.json as tables: one row per model/baseline (from a list of per-model records or a
    dict of per-model dicts), the main metrics first; scalars as a key/value table."""
    tables, seen, scalars = [], set(), {}
    for k, v in m.items():
        recs = None
        if isinstance(v, list) and v and all(isinstance(x, Mapping) for x in v):
            recs = [dict(x) for x in v]
            name_key = next((c for c in ("model", "method", "name") if c in recs[0]), None)
            for i, r in enumerate(recs):
                r["method"] = r.pop(name_key) if name_key else f"{k}[{i}]"
        elif isinstance(v, Mapping) and v and all(isinstance(x, Mapping) for x in v.values()):
            recs = [{"method": kk, **_flatten(vv)} for kk, vv in v.items()]
        elif isinstance(v, Mapping) and v and all(isinstance(x, (int, float, type(None))) for x in v.values()):
            recs = [{"method": k, **v}]
        elif isinstance(v, (int, float, str)) and not isinstance(v, bool):
            scalars[k] = v
            continue
        if not recs:
            continue
        methods = frozenset(r["method"] for r in recs)
        if methods in seen:
            continue  # the same models again (e.g. "models" after "summary")
        seen.add(methods)
        df = pd.DataFrame(recs)
        num = [c for c in df.columns if c != "method" and pd.api.types.is_numeric_dtype(df[c])]
        cols = [c for c in METRIC_COLUMNS if c in num] or num
        if "auprc" in df:
            df = df.sort_values("auprc", ascending=False)
        tables.append(table_html(df[["method"] + cols], max_rows=50, caption=f"{k} (test set)"))
    out = tables + ([kv_table(scalars, caption="run")] if scalars else [])
    return "\n".join(out) if out else '<p class="note">metrics.json has no metrics table.</p>'


def section_interpretation(files: Mapping[str, list[Path]]) -> str:
    parts = []
    summ = _first(files, "interpret.summary.json")
    if summ is not None:
        d = _read_json(summ)
        d.pop("provenance", None)
        truth = d.pop("truth_check", None)
        parts.append(kv_table(_flatten({k: v for k, v in d.items() if not isinstance(v, list)}),
                              caption="interpretation summary"))
        if truth:
            parts.append("<h3>Check against the planted truth</h3>" + kv_table(_flatten(truth)))
    ko = _first(files, "tf_knockout.tsv")
    if ko is not None:
        df = _read_tsv(ko)
        agg = (df.groupby("tf")["delta"].agg(["mean", "min", "count"]).sort_values("mean")
               .reset_index().rename(columns={"mean": "mean_delta", "min": "min_delta",
                                              "count": "pairs"}))
        parts.append("<h3>TF knock-outs</h3>" + table_html(
            agg, max_rows=15, caption="TFs whose knock-out lowers the pair score most (mean delta)"))
    else:
        parts.append(missing("tf_knockout.tsv"))
    ti = _first(files, "token_importance.tsv")
    if ti is not None:
        parts.append("<h3>Most influential tokens</h3>" + table_html(_read_tsv(ti), max_rows=15))
    else:
        parts.append(missing("token_importance.tsv"))
    pngs = sorted({p for name, ps in files.items() for p in ps
                   if name.endswith(".png") and (name.startswith(("attention", "ig_", "attribution"))
                                                  or name == "token_importance.png")})
    if pngs:
        parts.append("<h3>Example pairs</h3>")
        parts.append('<div class="figs">' + "".join(png_file(p) for p in pngs[:12]) + "</div>")
    else:
        parts.append(missing("interpretation heatmaps (attention_*.png / ig_*.png)"))
    return "\n".join(parts)


def section_network(files: Mapping[str, list[Path]]) -> str:
    parts = []
    summ = _first(files, "predict.summary.json")
    if summ is not None:
        d = _read_json(summ)
        d.pop("provenance", None)
        parts.append(kv_table(_flatten(d), caption="predicted network"))
    pp = _first(files, "predicted_pairs.tsv")
    if pp is not None and summ is None:
        df = _read_tsv(pp)
        parts.append(kv_table({"predicted pairs": len(df),
                               "genes": len(set(df["gene_a"]) | set(df["gene_b"])),
                               "median score": float(df["score"].median()) if len(df) else float("nan")},
                              caption="predicted_pairs.tsv"))
    if pp is None and summ is None:
        parts.append(missing("predicted_pairs.tsv / predict.summary.json"))
    mod = _first(files, "modules.tsv")
    if mod is not None:
        df = _read_tsv(mod)
        sizes = df.groupby("module").size().sort_values(ascending=False)
        tab = pd.DataFrame({"module": sizes.index, "genes": sizes.values})
        ex = df.groupby("module")["gene_id"].apply(lambda s: ", ".join(map(str, list(s)[:8])))
        tab["example genes"] = tab["module"].map(ex)
        parts.append(f"<h3>Modules</h3><p class=\"note\">{len(sizes)} modules over {len(df)} genes; "
                     f"largest {int(sizes.iloc[0]) if len(sizes) else 0} genes.</p>")
        parts.append(table_html(tab, max_rows=15))
    else:
        parts.append(missing("modules.tsv"))
    hubs = _first(files, "hubs.tsv")
    if hubs is not None:
        parts.append("<h3>Hub genes</h3>" + table_html(_read_tsv(hubs), max_rows=15))
    else:
        parts.append(missing("hubs.tsv"))
    return "\n".join(parts)


def _safe(builder: Callable[[], str], title: str) -> str:
    try:
        return builder()
    except Exception as exc:  # a broken input makes its section say so, not the report fail
        log.warning("report section %s: %s: %s", title, type(exc).__name__, exc)
        return missing("a readable input for this section",
                       f"{type(exc).__name__}: {exc}")


def build_html(files: Mapping[str, list[Path]], inputs: list[Path], title: str = "tfvocab report") -> str:
    """The whole report page as one HTML string (no external references)."""
    builders = {
        "Run": lambda: section_run(files, inputs),
        "Data QC": lambda: section_data_qc(files),
        "Vocabulary": lambda: section_vocabulary(files),
        "Training": lambda: section_training(files),
        "Evaluation": lambda: section_evaluation(files),
        "Interpretation": lambda: section_interpretation(files),
        "Predicted network": lambda: section_network(files),
    }
    body, nav = [], []
    for name in SECTIONS:
        sid = name.lower().replace(" ", "-")
        nav.append(f'<a href="#{sid}">{esc(name)}</a>')
        with timed(f"report section {name}", log):
            inner = _safe(builders[name], name)
        body.append(f'<section id="{sid}"><h2>{esc(name)}</h2>\n{inner}\n</section>')
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
