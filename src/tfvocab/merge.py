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

TF order: the samplesheet's row order, then TFs absent from it (by name). Without a samplesheet:
TF names sorted, so the result does not depend on the order the files were listed in.

All inputs must share the gene list (same order), the window offsets and the window width and
stride; TF names must be unique. Violations raise :class:`TfvocabError` naming the file and the
first differing record, before the output is created. The merge streams blocks of 256 genes
through all input files, so memory is O(256 x W x T), not O(G x W x T).
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd

from .errors import TfvocabError
from .io import atomic_path, get_h5_provenance, provenance, read_strings, set_h5_provenance, write_strings
from .log import get_logger, progress, timed

log = get_logger("merge")

BLOCK = 256
REQUIRED = ("genes", "window_start", "mean", "max", "mask")


def _stem(path: str) -> str:
    name = Path(str(path)).name
    return name.rsplit(".", 1)[0] if "." in name else name


class SignalFile:
    """Header of one ``signal.<tf>.h5``: ``tf``, ``genes`` (list), ``window_start`` (W,), attrs."""

    def __init__(self, path: str | Path):
        import h5py

        self.path = str(path)
        try:
            h5 = h5py.File(self.path, "r")
        except (OSError, ValueError) as exc:
            raise TfvocabError(f"not a readable HDF5 signal file ({exc})", path=self.path,
                               hint="expected signal.<tf>.h5 from tfvocab extract") from None
        with h5:
            missing = [d for d in REQUIRED if d not in h5]
            if missing:
                raise TfvocabError(f"missing dataset(s) {', '.join(missing)}", path=self.path,
                                   hint="expected signal.<tf>.h5 from tfvocab extract")
            tf = h5.attrs.get("tf")
            self.tf = (tf.decode() if isinstance(tf, bytes) else str(tf)) if tf is not None else _stem(self.path).removeprefix("signal.")
            genes = read_strings(h5["genes"])
            # keep a digest, not the list: 300 files x 27,000 IDs would cost ~1 GB of str objects
            self.n_genes = len(genes)
            self.genes_digest = hashlib.sha256("\n".join(genes).encode()).hexdigest()
            del genes
            self.window_start = h5["window_start"][()]
            self.attrs = {k: (v.item() if isinstance(v, np.generic) else v) for k, v in h5.attrs.items()
                          if k in ("window", "stride", "upstream", "downstream", "bigwig")}
            self.shape = h5["mean"].shape
            for name in ("max", "mask"):
                if h5[name].shape != self.shape:
                    raise TfvocabError(f"dataset {name} has shape {h5[name].shape}, mean has {self.shape}",
                                       path=self.path)
            self.provenance = get_h5_provenance(h5)
        if self.shape != (self.n_genes, len(self.window_start)):
            raise TfvocabError(f"mean has shape {self.shape} for {self.n_genes} genes x "
                               f"{len(self.window_start)} windows", path=self.path)


    def read_genes(self) -> list[str]:
        """The gene IDs of this file (read again; not kept in memory)."""
        import h5py

        with h5py.File(self.path, "r") as h5:
            return read_strings(h5["genes"])


def check_compatible(files: Sequence[SignalFile]) -> None:
    """Raise :class:`TfvocabError` unless all files share genes, windows and geometry and TF
    names are unique (the message names the offending file and record)."""
    ref = files[0]
    seen: dict[str, str] = {}
    for f in files:
        if f.tf in seen:
            raise TfvocabError(f"TF name '{f.tf}' also comes from {seen[f.tf]}", path=f.path,
                               hint="each TF must be extracted once (rename with extract --tf)")
        seen[f.tf] = f.path
        if f is ref:
            continue
        if f.genes_digest != ref.genes_digest:
            if f.n_genes != ref.n_genes:
                rec = f"{f.n_genes} genes vs {ref.n_genes} in {ref.path}"
            else:
                a, b = f.read_genes(), ref.read_genes()
                i = next(i for i, (x, y) in enumerate(zip(a, b)) if x != y)
                rec = f"gene {i + 1} is '{a[i]}' vs '{b[i]}' in {ref.path}"
            raise TfvocabError("gene list differs", path=f.path, record=rec,
                               hint="extract every bigWig from the same promoters.tsv")
        if not np.array_equal(f.window_start, ref.window_start):
            raise TfvocabError("window offsets differ", path=f.path,
                               record=f"{len(f.window_start)} windows from {int(f.window_start[0])} vs "
                                      f"{len(ref.window_start)} from {int(ref.window_start[0])} in {ref.path}",
                               hint="extract every bigWig with the same --window/--stride")
        for key in ("window", "stride"):
            if key in f.attrs and key in ref.attrs and f.attrs[key] != ref.attrs[key]:
                raise TfvocabError(f"{key} {f.attrs[key]} differs from {ref.attrs[key]} in {ref.path}",
                                   path=f.path, hint="extract every bigWig with the same --window/--stride")


def read_samplesheet(path: str | Path) -> pd.DataFrame:
    """Read ``samplesheet.csv`` (columns ``tf``, ``bigwig``, optional ``control``).

    Returns a DataFrame with ``tf`` and ``control_name`` (stem of the control bigWig, '' if none).
    """
    path = Path(path)
    try:
        sheet = pd.read_csv(path, dtype=str, keep_default_na=False)
    except FileNotFoundError:
        raise TfvocabError("samplesheet not found", path=str(path)) from None
    except (pd.errors.EmptyDataError, pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise TfvocabError(f"cannot parse samplesheet: {exc}", path=str(path)) from None
    sheet.columns = [c.strip() for c in sheet.columns]
    if "tf" not in sheet.columns:
        raise TfvocabError("missing required column tf", path=str(path), record="header",
                           hint="columns tf,bigwig,control")
    sheet["tf"] = sheet["tf"].str.strip()
    dup = sheet["tf"].duplicated()
    if dup.any():
        i = int(np.flatnonzero(dup.to_numpy())[0])
        raise TfvocabError(f"TF '{sheet['tf'].iloc[i]}' listed twice", path=str(path), record=f"line {i + 2}")
    control = sheet["control"].str.strip() if "control" in sheet.columns else pd.Series([""] * len(sheet))
    sheet["control_name"] = [_stem(c) if c else "" for c in control]
    return sheet


def plan(files: Sequence[SignalFile], sheet: pd.DataFrame | None, sheet_path: str | None = None):
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


def run(signal: Sequence[str | Path], outdir: str | Path,
        samplesheet: str | Path | None = None) -> dict[str, Path]:
    """Merge per-TF signal files into ``<outdir>/signal.h5``; returns ``{"signal": path}``."""
    import h5py

    paths = [str(p) for p in ([signal] if isinstance(signal, (str, Path)) else signal)]
    if not paths:
        raise TfvocabError("no signal files given")
    files = [SignalFile(p) for p in paths]
    check_compatible(files)
    sheet = read_samplesheet(samplesheet) if samplesheet else None
    tf_files, ctl_files, tf_control = plan(files, sheet, str(samplesheet) if samplesheet else None)
    ref = files[0]
    G, W = ref.shape
    T, C = len(tf_files), len(ctl_files)
    log.info("merging %d TF(s) and %d control track(s): %d genes x %d windows", T, C, G, W)
    out = Path(outdir) / "signal.h5"
    bs = max(1, min(G, BLOCK))
    params = {"signal": sorted(paths), "samplesheet": str(samplesheet) if samplesheet else None}
    sources = {f.tf: f.attrs.get("bigwig", "") for f in tf_files + ctl_files}
    with timed(f"merge -> {out}", log), atomic_path(out) as tmp:
        with h5py.File(tmp, "w", rdcc_nbytes=0) as h5:
            write_strings(h5, "genes", ref.read_genes())
            write_strings(h5, "tfs", [f.tf for f in tf_files])
            h5.create_dataset("window_start", data=np.asarray(ref.window_start, dtype=np.int64))
            opts = {"compression": "gzip", "compression_opts": 1}
            dsets = {
                "signal": h5.create_dataset("signal", (G, W, T), np.float32, chunks=(bs, W, T), **opts),
                "max": h5.create_dataset("max", (G, W, T), np.float32, chunks=(bs, W, T), **opts),
                "mask": h5.create_dataset("mask", (G, W, T), bool, chunks=(bs, W, T), **opts),
            }
            if C:
                write_strings(h5, "controls", [f.tf for f in ctl_files])
                h5.create_dataset("tf_control", data=tf_control)
                dsets["control_signal"] = h5.create_dataset("control_signal", (G, W, C), np.float32,
                                                            chunks=(bs, W, C), **opts)
                dsets["control_mask"] = h5.create_dataset("control_mask", (G, W, C), bool,
                                                          chunks=(bs, W, C), **opts)
                h5.attrs["control"] = ",".join(f.tf for f in ctl_files)
            for k in ("window", "stride", "upstream", "downstream"):
                if k in ref.attrs:
                    h5.attrs[k] = ref.attrs[k]
            h5.attrs["sources"] = json.dumps(sources, sort_keys=True)
            handles = {}
            n_masked = 0
            try:
                sources_ds = {}
                for f in tf_files + ctl_files:
                    # every chunk is read once: no chunk cache (it would grow with the TF count)
                    handles[f.path] = h5py.File(f.path, "r", rdcc_nbytes=0)
                    sources_ds[f.path] = {k: handles[f.path][k] for k in ("mean", "max", "mask")}
                blocks = range(0, G, bs)
                for b0 in progress(blocks, desc="merge", total=len(blocks), unit="block"):
                    b1 = min(G, b0 + bs)
                    for names, group in ((("signal", "max", "mask"), tf_files),
                                         (("control_signal", None, "control_mask"), ctl_files)):
                        if not group:
                            continue
                        n = len(group)
                        mean = np.empty((b1 - b0, W, n), np.float32)
                        mx = np.empty((b1 - b0, W, n), np.float32)
                        mask = np.empty((b1 - b0, W, n), bool)
                        for j, f in enumerate(group):
                            src = sources_ds[f.path]
                            mean[:, :, j] = src["mean"][b0:b1]
                            mask[:, :, j] = src["mask"][b0:b1]
                            if names[1]:
                                mx[:, :, j] = src["max"][b0:b1]
                        dsets[names[0]][b0:b1] = mean
                        dsets[names[2]][b0:b1] = mask
                        if names[0] == "signal":
                            n_masked += int(mask.sum())
                        if names[1]:
                            dsets[names[1]][b0:b1] = mx
            finally:
                for h in handles.values():
                    h.close()
            h5.attrs["masked_windows"] = n_masked
            set_h5_provenance(h5, provenance("merge", params))
    log.info("signal.h5: %d of %d TF windows masked", n_masked, G * W * T)
    return {"signal": out}
