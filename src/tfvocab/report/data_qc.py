"""Data QC section: per-track health from extract, per-TF signal and missingness, promoters and pairs."""
from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Mapping

import numpy as np
import pandas as pd

from ..errors import TfvocabError
from ..log import get_logger
from .files import first_file, get_key, output_files, read_json, read_tsv
from .markup import esc, figure, kv_table, missing, raw_json, table_html
from .plots import fig_png, signal_figure


log = get_logger("report")


#: Warn when a track loses (masked, or touched by NaN/+inf records) more than this fraction of its
#: windows beyond the median of the other tracks
MAX_EXCESS_LOSS = 0.1


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
def signal_stats(path: str) -> dict:
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


def track_health(files: Mapping[str, list[Path]]) -> dict[str, dict]:
    """Per-track health recorded by extract (:func:`tfvocab.data.windowstats.track_health`): the
    ``track_health`` attribute of ``signal.h5`` (merge gathers it) and the ``health`` of any
    ``extract.*.manifest.json`` among the inputs (the manifests win). {} when neither is given."""
    from .. import formats

    out: dict[str, dict] = {}
    sig = first_file(files, "signal.h5")
    if sig is not None:
        try:
            with formats.SignalFile(sig) as f:
                raw = f.attrs.get("track_health")
            out.update(json.loads(raw) if raw else {})
        except (TfvocabError, ValueError, OSError) as exc:
            log.warning("report: %s: track health: %s", sig, exc)
    for name in sorted(n for n in files if n.startswith("extract.") and n.endswith(".manifest.json")):
        for path in output_files(files, name):
            try:
                h = read_json(path).get("health") or {}
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


def section_data_qc(files: Mapping[str, list[Path]], facts: Mapping) -> str:
    parts = []
    rep = first_file(files, "promoters.report.json")
    prom = first_file(files, "promoters.tsv")
    if prom is not None or rep is not None:
        summary = {}
        if prom is not None:
            df = read_tsv(prom)
            clipped = df["clipped"].astype(str).str.lower().isin(["true", "1"]).sum() if "clipped" in df else 0
            summary = {"promoters kept": len(df), "clipped at a chromosome end": int(clipped),
                       "chromosomes": df["chrom"].nunique() if "chrom" in df else "?"}
            if "strand" in df:
                summary["plus / minus strand"] = f"{(df['strand'] == '+').sum()} / {(df['strand'] == '-').sum()}"
        if rep is not None:
            d = read_json(rep)
            for k, label in (("genes_seen", "genes in the annotation"), ("skipped_pseudogene", "pseudogenes skipped"),
                             ("skipped_non_coding", "non-coding genes skipped"), ("no_cds", "genes without CDS"),
                             ("dropped_unmapped_chrom", "genes on unmatched chromosomes")):
                if k in d:
                    summary[label] = d[k]
        parts.append("<h3>Promoters</h3>" + kv_table(summary))
        if rep is not None:
            parts.append(raw_json({k: v for k, v in read_json(rep).items() if k != "provenance"},
                                  "promoters.report.json"))
    else:
        parts.append(missing("promoters.report.json and promoters.tsv (promoters kept/clipped/dropped)"))

    sig = first_file(files, "normalized.h5") or first_file(files, "signal.h5")
    if sig is not None:
        parts.append(_signal_qc(sig, raw=first_file(files, "signal.h5")))
    else:
        parts.append(missing("signal.h5 / normalized.h5 (per-TF signal and missingness)"))
    if facts.get("health"):
        parts.append(_health_qc(facts["health"]))
    else:
        parts.append(missing("signal.h5 or extract.*.manifest.json (per-track health from extract)"))
    pr = first_file(files, "pairs.report.json")
    if pr is not None:
        d = read_json(pr)
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
        idm = get_key(d, "input", "id_map")
        if isinstance(idm, Mapping):
            keep["IDs not in the ID map"] = idm.get("ids_unmapped")
        parts.append("<h3>Labelled pairs</h3>" + kv_table(keep))
        parts.append(raw_json({k: v for k, v in d.items() if k != "provenance"}, "pairs.report.json"))
    else:
        parts.append(missing("pairs.report.json (labelled pair counts and splits)"))
    return "\n".join(parts)


def _signal_qc(path: Path, raw: Path | None) -> str:
    """Per-TF mean signal (raw if available) and missing fraction, as a plot and a table."""
    st = signal_stats(str(path))
    tfs, mean, missf, g = st["tfs"], st["mean"], st["missing"], st["genes"]
    raw_mean = None
    if raw is not None and raw != path:
        rs = signal_stats(str(raw))
        if rs["tfs"] == tfs:
            raw_mean, missf = rs["mean"], np.maximum(missf, rs["missing"])
    shown = raw_mean if raw_mean is not None else mean
    label = "mean raw signal" if raw_mean is not None or path.name == "signal.h5" else "mean normalised signal"
    low = set(st["low_signal"]) | set(st["dropped"])
    fig = signal_figure(tfs, shown, missf, low, label, g)
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
