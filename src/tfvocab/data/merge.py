"""Gather per-TF ``signal.<tf>.h5`` files into one ``signal.h5`` tensor: ``tfvocab merge``.

Output layout (docs/formats.md): ``genes`` (G,), ``tfs`` (T,), ``window_start`` (W,),
``signal`` float32 (G, W, T) = per-window mean, ``max`` float32 (G, W, T), ``mask`` bool (G, W, T),
chunked ``(min(G, 256), W, T)`` so that a minibatch of genes is one chunk read.

Control tracks: with ``--samplesheet`` (CSV ``tf,bigwig,control``), each distinct ``control``
bigWig is a control track named by its file stem (the name ``extract`` gives it by default,
and the name the pipeline passes with ``--tf``). A signal file whose TF name is such a control
goes to ``control_signal`` float32 (G, W, C) / ``control_mask`` bool (G, W, C), named in
``controls`` (C,), not to the TF axis; ``tf_control`` int64 (T,) is each TF's control column
(-1: none) and the root attribute ``control`` names the control track(s) (comma-separated).
The root attribute ``track_health`` (JSON ``{tf: health}``) gathers each track's health from
extract (:func:`tfvocab.data.windowstats.track_health`) for the report.

TF order: the samplesheet's row order, then TFs absent from it (by name). Without a samplesheet:
TF names sorted, so the result does not depend on the order the files were listed in.

All inputs must come from the same promoters.tsv (same lineage digest: the same gene IDs with
shifted coordinates are refused too) and share the window geometry; TF names must be unique
(:func:`tfvocab.formats.check_tracks`). Violations raise :class:`TfvocabError` naming the file,
before the output is created. The merge streams blocks of 256 genes
through all input files, so memory is O(256 x W x T), not O(G x W x T).
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd

from ..errors import TfvocabError
from ..formats import SignalWriter, Track, check_tracks, read_track
from ..io import provenance
from ..publish import step_outputs
from .samplesheet import read_samplesheet
from ..log import get_logger, progress, timed

log = get_logger("merge")

BLOCK = 256


def plan(files: Sequence[Track], sheet: pd.DataFrame | None, sheet_path: str | None = None):
    """Assign files to the TF and control axes.

    Returns ``tf_files`` (ordered list), ``control_files`` (ordered list) and ``tf_control``
    int64 (T,).
    """
    by_name = {f.tf: f for f in files}
    if sheet is None:
        return [by_name[n] for n in sorted(by_name)], [], np.full(len(by_name), -1, dtype=np.int64)
    sheet_tfs = sheet["tf"].tolist()
    controls = [c for c in dict.fromkeys(sheet["control_name"]) if c]
    control_set = set(controls)
    tf_names = [t for t in sheet_tfs if t in by_name]
    extra = sorted(n for n in by_name if n not in set(sheet_tfs) and n not in control_set)
    if extra:
        log.warning("%d signal file(s) not in the samplesheet, appended without control: %s",
                    len(extra), ", ".join(extra[:10]))
    absent = [t for t in sheet_tfs if t not in by_name]
    if absent:
        log.warning("%d samplesheet TF(s) without a signal file (skipped): %s", len(absent),
                    ", ".join(absent[:10]))
    tf_names += extra
    if not tf_names:
        raise TfvocabError("no TF signal file among the inputs (all are controls)", path=sheet_path)
    control_of = dict(zip(sheet["tf"], sheet["control_name"]))
    used = [c for c in controls if any(control_of.get(t) == c for t in tf_names)]
    for t in tf_names:
        c = control_of.get(t, "")
        if c and c not in by_name:
            raise TfvocabError(f"control '{c}' of TF '{t}' has no signal file among the inputs",
                               path=sheet_path, record=f"TF {t}",
                               hint=f"extract the control bigWig too and pass signal.{c}.h5")
    tf_control = np.array([used.index(control_of[t]) if control_of.get(t, "") else -1 for t in tf_names],
                          dtype=np.int64)
    return [by_name[t] for t in tf_names], [by_name[c] for c in used], tf_control


def recorded_health(track: Track) -> dict:
    """The ``health`` extract recorded in a ``signal.<tf>.h5`` ({} when absent or unreadable:
    files of earlier versions have none)."""
    try:
        h = json.loads(track.attrs.get("health") or "{}")
    except (TypeError, ValueError):
        return {}
    return h if isinstance(h, dict) else {}


def run(signal: Sequence[str | Path], outdir: str | Path,
        samplesheet: str | Path | None = None) -> dict[str, Path]:
    """Merge per-TF signal files into ``<outdir>/signal.h5``; returns ``{"signal": path}``."""
    paths = [str(p) for p in ([signal] if isinstance(signal, (str, Path)) else signal)]
    if not paths:
        raise TfvocabError("no signal files given")
    files = [read_track(p) for p in paths]
    check_tracks(files)
    # the pipeline stages the sheet without its tracks: names are all merge needs
    sheet = read_samplesheet(samplesheet, check_files=False) if samplesheet else None
    tf_files, ctl_files, tf_control = plan(files, sheet, str(samplesheet) if samplesheet else None)
    ref = files[0]
    G, W = ref.n_genes, ref.geometry.n_windows
    T, C = len(tf_files), len(ctl_files)
    log.info("merging %d TF(s) and %d control track(s): %d genes x %d windows", T, C, G, W)
    outdir = Path(outdir)
    params = {"signal": sorted(paths), "samplesheet": str(samplesheet) if samplesheet else None}
    sources = {f.tf: f.attrs.get("bigwig", "") for f in tf_files + ctl_files}
    health = {f.tf: h for f in tf_files + ctl_files if (h := recorded_health(f))}
    lineage = {"promoters": ref.lineage.get("promoters"),
               "tracks": [f.artifact_id for f in tf_files + ctl_files]}
    n_masked = 0
    with step_outputs(outdir, "merge", params) as out, timed(f"merge -> {outdir / 'signal.h5'}", log), \
            SignalWriter(out.path("signal.h5"), genes=ref.genes(), tfs=[f.tf for f in tf_files],
                         geometry=ref.geometry, controls=[f.tf for f in ctl_files],
                         tf_control=tf_control, lineage=lineage,
                         attrs={"sources": json.dumps(sources, sort_keys=True),
                                "track_health": json.dumps(health, sort_keys=True)},
                         prov=provenance("merge", params)) as w:
        readers = {}
        try:
            for f in tf_files + ctl_files:
                readers[f.path] = f.open()
            blocks = range(0, G, BLOCK)
            for b0 in progress(blocks, desc="merge", total=len(blocks), unit="block"):
                b1 = min(G, b0 + BLOCK)
                for group, names in ((tf_files, ("signal", "max", "mask")),
                                     (ctl_files, ("control_signal", None, "control_mask"))):
                    if not group:
                        continue
                    n = len(group)
                    mean = np.empty((b1 - b0, W, n), np.float32)
                    mx = np.empty((b1 - b0, W, n), np.float32)
                    mask = np.empty((b1 - b0, W, n), bool)
                    for j, f in enumerate(group):
                        mean[:, :, j], mx[:, :, j], mask[:, :, j] = readers[f.path].block(b0, b1)
                    blk = {names[0]: mean, names[2]: mask}
                    if names[1]:
                        blk[names[1]] = mx
                        n_masked += int(mask.sum())
                    w.write(b0, **blk)
        finally:
            for r in readers.values():
                r.close()
        w.attrs["masked_windows"] = n_masked
    log.info("signal.h5: %d of %d TF windows masked", n_masked, G * W * T)
    return {"signal": outdir / "signal.h5"}
