"""Load the model's inputs (``tokens.h5``, ``normalized.h5``, ``pairs.tsv``) into tensors.

Layouts are fixed in ``docs/formats.md``. All genes are held in memory as one tensor per kind:

* ``tokens``  int64 (G, W): token id per 50 bp window (``mask_token`` where missing);
* ``values``  float32 (G, W, T): normalised TF signal per window, NaN/masked entries set to 0;
* ``mask``    bool (G, W): True where the *window* is missing (key padding mask of the model).

``load_gene_data(..., stream=True)`` keeps ``values`` on disk instead: a :class:`StreamedValues`
that reads the requested genes' rows from ``normalized.h5`` on indexing (``tfvocab predict`` embeds
the genome that way, in bounded memory). Both paths read through :class:`NormalizedRows`, gene
block by gene block, and clean values with :func:`clean_values`.

Pairs are index pairs ``(ia, ib)`` into the gene axis. A minibatch of pairs is encoded by
encoding each distinct gene once (:func:`dedup_pairs`).

:func:`write_synthetic` writes a small dataset in exactly these layouts with a planted signal
(module genes share a TF pattern at fixed windows); tests and benchmarks use it.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import TfvocabError
from .. import formats
from ..io import provenance, write_table

INPUT_MODES = ("tokens", "continuous", "both")


@dataclass
class GeneData:
    """Per-gene model inputs, aligned on one gene axis (G genes, W windows, T TFs)."""

    genes: list[str]
    window_start: np.ndarray                 # (W,) int64, bp relative to the start codon
    tokens: "object | None" = None           # torch.LongTensor (G, W) or None
    values: "object | None" = None           # torch.FloatTensor (G, W, T) or None
    mask: "object | None" = None             # torch.BoolTensor (G, W): window missing (for `mode`)
    token_mask: "object | None" = None       # (G, W) token is the mask token (None without tokens.h5)
    value_mask: "object | None" = None       # (G, W) every TF missing (None without normalized.h5)
    mode: str = "continuous"
    tfs: list[str] = field(default_factory=list)
    n_tokens: int = 0
    mask_token: int = -1
    null_token: int = -1
    vocab_hash: str | None = None
    tokens_path: str | None = None
    normalized_path: str | None = None
    geometry: "object | None" = None         # tfvocab.formats.Geometry of the windows
    lineage: dict = field(default_factory=dict)   # promoters / normalized / stats / tokens / vocab digests

    @property
    def index(self) -> dict[str, int]:
        return {g: i for i, g in enumerate(self.genes)}

    def gather(self, idx):
        """Inputs of genes ``idx`` (LongTensor (U,)): ``tokens (U,W)|None, values (U,W,T)|None, mask (U,W)``."""
        tok = None if self.tokens is None else self.tokens[idx]
        val = None if self.values is None else self.values[idx]
        return tok, val, self.mask[idx]

    def with_mode(self, mode: str) -> "GeneData":
        """A shallow copy whose ``mask`` is the window mask of input ``mode`` (see :func:`load_gene_data`)."""
        import copy

        if mode in ("tokens", "both") and self.tokens is None:
            raise TfvocabError(f"input mode '{mode}' needs tokens.h5 (--tokens)")
        if mode in ("continuous", "both") and self.values is None:
            raise TfvocabError(f"input mode '{mode}' needs normalized.h5 (--normalized)")
        out = copy.copy(self)
        out.mode = mode
        out.mask = {"tokens": self.token_mask, "continuous": self.value_mask}.get(mode)
        if mode == "both":
            out.mask = self.token_mask & self.value_mask
        return out

    def to(self, device) -> "GeneData":
        for name in ("tokens", "values", "mask", "token_mask", "value_mask"):
            t = getattr(self, name)
            if t is not None:
                setattr(self, name, t.to(device))
        return self


def read_tokens_h5(path) -> dict:
    """``tokens.h5`` as :func:`tfvocab.formats.read_tokens` reads it (validated)."""
    return formats.read_tokens(path)


def clean_values(signal: np.ndarray, mask: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """Model inputs from raw ``normalized.h5`` rows.

    ``signal`` (g, W, T) float, ``mask`` (g, W, T) bool or None (True = missing). Returns
    ``values`` (g, W, T) float32 with missing / NaN / inf entries set to 0, and ``window_missing``
    (g, W) bool: every TF of the window is missing (mask or NaN).
    """
    sig = np.asarray(signal, dtype=np.float32)
    m = np.isnan(sig) if mask is None else (np.asarray(mask, dtype=bool) | np.isnan(sig))
    vals = np.where(m, np.float32(0.0), np.nan_to_num(sig, nan=0.0, posinf=0.0, neginf=0.0))
    return vals.astype(np.float32, copy=False), np.ascontiguousarray(m.all(axis=2))


class NormalizedRows:
    """Gene-row reader of ``normalized.h5`` (``signal`` + ``mask``), cleaned by :func:`clean_values`.

    ``rows`` (G,) int: file row of each gene, in the caller's gene order (None = file order). Reads
    are HDF5 hyperslabs of at most ``block_genes`` genes (:meth:`tfvocab.formats.NormalizedFile.rows`),
    so memory is O(block_genes * W * T) whatever G. The file stays open until :meth:`close`.
    """

    def __init__(self, path, rows: np.ndarray | None = None, block_genes: int = 256,
                 file: "formats.NormalizedFile | None" = None):
        self.path = str(path)
        self._nf = file if file is not None else formats.NormalizedFile(path)
        n_file = self._nf.shape[0]
        self.rows = np.arange(n_file, dtype=np.int64) if rows is None else np.asarray(rows, dtype=np.int64)
        self.block_genes = max(1, int(block_genes))
        self.shape = (len(self.rows),) + tuple(self._nf.shape[1:])

    def read(self, idx) -> tuple[np.ndarray, np.ndarray]:
        """``values`` (n, W, T) float32 and ``window_missing`` (n, W) bool of genes ``idx`` (n,)."""
        idx = np.asarray(idx, dtype=np.int64).reshape(-1)
        n, (_, W, T) = len(idx), self.shape
        vals = np.empty((n, W, T), np.float32)
        miss = np.empty((n, W), bool)
        if n == 0:
            return vals, miss
        file_rows = self.rows[idx]
        for s in range(0, n, self.block_genes):
            fr = file_rows[s:s + self.block_genes]
            uniq, inv = np.unique(fr, return_inverse=True)
            sig, msk = self._nf.rows(uniq)
            v, m = clean_values(sig, msk)
            vals[s:s + len(fr)] = v[inv]
            miss[s:s + len(fr)] = m[inv]
        return vals, miss

    def blocks(self):
        """Yield ``(start, values (b, W, T), window_missing (b, W))`` over every gene, in order."""
        for s in range(0, self.shape[0], self.block_genes):
            v, m = self.read(np.arange(s, min(s + self.block_genes, self.shape[0])))
            yield s, v, m

    def window_missing(self) -> np.ndarray:
        """(G, W) bool: every TF of the window missing, streamed block by block."""
        out = np.empty(self.shape[:2], bool)
        for s, _, m in self.blocks():
            out[s:s + len(m)] = m
        return out

    def read_all(self) -> tuple[np.ndarray, np.ndarray]:
        """Every gene: ``values`` (G, W, T) float32, ``window_missing`` (G, W) (one output array,
        filled block by block: peak ~ the output + one block)."""
        vals = np.empty(self.shape, np.float32)
        miss = np.empty(self.shape[:2], bool)
        for s, v, m in self.blocks():
            vals[s:s + len(v)] = v
            miss[s:s + len(m)] = m
        return vals, miss

    def close(self) -> None:
        if getattr(self, "_nf", None) is not None:
            self._nf.close()
            self._nf = None

    def __del__(self):
        try:
            self.close()
        except Exception:  # noqa: BLE001 - interpreter shutdown
            pass


class StreamedValues:
    """Stand-in for ``GeneData.values`` that reads gene rows from ``normalized.h5`` when indexed.

    ``values[idx]`` (idx: LongTensor / array (n,)) -> FloatTensor (n, W, T) on :attr:`device`,
    exactly what the in-memory tensor would give. ``shape`` (G, W, T); ``to(device)`` moves
    future reads (no data is held).
    """

    def __init__(self, reader: NormalizedRows, device="cpu"):
        self.reader, self.device = reader, device
        self.shape = reader.shape

    def __len__(self) -> int:
        return self.shape[0]

    def dim(self) -> int:
        return 3

    def __getitem__(self, idx):
        import torch

        if isinstance(idx, slice):
            idx = np.arange(self.shape[0])[idx]
        idx = idx.cpu().numpy() if hasattr(idx, "cpu") else np.asarray(idx)
        vals, _ = self.reader.read(idx)
        return torch.from_numpy(vals).to(self.device)

    def to(self, device) -> "StreamedValues":
        self.device = device
        return self


def load_gene_data(tokens=None, normalized=None, input_mode: str = "continuous", *,
                   stream: bool = False, block_genes: int = 256) -> GeneData:
    """Load and align the given inputs; ``input_mode`` (tokens / continuous / both) sets ``mask``.

    Every file given is loaded and checked: tokens.h5 must have been made from this
    normalized.h5 (lineage), with the same window geometry and TF list; genes are aligned to the
    tokens file's order. Window mask: ``tokens`` mode — token is the mask token; ``continuous``
    — every TF of the window is missing; ``both`` — missing in both. ``normalized.h5`` is read
    ``block_genes`` genes at a time (:class:`NormalizedRows`); with ``stream`` its values stay on
    disk (``values`` is a :class:`StreamedValues`, read when indexed: memory O(G * W) instead of
    O(G * W * T)). ``data.lineage`` collects the digests of both inputs (model files record it).
    """
    import torch

    if input_mode not in INPUT_MODES:
        raise TfvocabError(f"unknown input mode '{input_mode}'", hint=f"choose one of {INPUT_MODES}")
    if input_mode in ("tokens", "both") and tokens is None:
        raise TfvocabError(f"input mode '{input_mode}' needs --tokens")
    if input_mode in ("continuous", "both") and normalized is None:
        raise TfvocabError(f"input mode '{input_mode}' needs --normalized")
    tok = formats.read_tokens(tokens) if tokens is not None else None
    nf = formats.NormalizedFile(normalized) if normalized is not None else None
    genes = tok["genes"] if tok is not None else nf.genes
    data = GeneData(genes=list(genes), window_start=None,
                    tokens_path=None if tokens is None else str(tokens),
                    normalized_path=None if normalized is None else str(normalized))
    if tok is not None:
        data.window_start, data.geometry = tok["window_start"], tok["geometry"]
        data.tfs = tok["tfs"]
        data.n_tokens, data.mask_token, data.null_token = tok["n_tokens"], tok["mask_token"], tok["null_token"]
        data.vocab_hash = tok["vocab_hash"]
        data.tokens = torch.from_numpy(tok["tokens"])
        data.token_mask = torch.from_numpy(tok["tokens"] == tok["mask_token"])
        data.lineage.update({"promoters": tok["lineage"].get("promoters"), "tokens": tok["artifact_id"],
                             "vocab": tok["vocab_hash"], "normalized": tok["lineage"].get("normalized"),
                             "stats": tok["lineage"].get("stats")})
    if nf is not None:
        try:
            if tok is not None:
                made_from = tok["lineage"].get("normalized")
                if made_from and nf.artifact_id and made_from != nf.artifact_id:
                    raise TfvocabError(
                        f"{tokens} was tokenised from another normalized.h5 (normalized "
                        f"{formats.short(made_from)} vs {formats.short(nf.artifact_id)})",
                        path=str(normalized), hint="pass the normalized.h5 tokens.h5 was made from, "
                        "or tokenise this one (tokenize --codebook to keep the vocabulary)")
                if nf.geometry != data.geometry:
                    raise TfvocabError(f"window geometry {nf.geometry.describe()} differs from "
                                       f"{tokens}'s ({data.geometry.describe()})", path=str(normalized))
            order = None
            if nf.genes != data.genes:
                pos = {g: i for i, g in enumerate(nf.genes)}
                missing = [g for g in data.genes if g not in pos]
                if missing:
                    raise TfvocabError(f"{len(missing)} genes of {tokens} are absent (first: {missing[0]})",
                                       path=str(normalized), hint="tokens.h5 and normalized.h5 must come from the same run")
                order = np.array([pos[g] for g in data.genes], dtype=np.int64)
            if data.tfs and list(nf.tfs) != list(data.tfs):
                raise TfvocabError("TF list differs from tokens.h5", path=str(normalized),
                                   hint="tokenize this normalized.h5 again")
            data.tfs = list(nf.tfs)
            if data.geometry is None:
                data.window_start, data.geometry = nf.window_start, nf.geometry
            data.lineage.update({"promoters": nf.lineage.get("promoters"), "normalized": nf.artifact_id,
                                 "stats": nf.stats_digest})
            reader = NormalizedRows(normalized, order, block_genes=block_genes, file=nf)
        except BaseException:
            nf.close()
            raise
        if stream:
            data.values = StreamedValues(reader)
            data.value_mask = torch.from_numpy(reader.window_missing())
        else:
            vals, miss = reader.read_all()
            reader.close()
            data.values = torch.from_numpy(vals)
            data.value_mask = torch.from_numpy(miss)
    return data.with_mode(input_mode)


def read_pairs(path, genes: list[str] | dict[str, int]) -> pd.DataFrame:
    """Read ``pairs.tsv`` (:func:`tfvocab.formats.read_pairs`) with gene indices ``ia, ib``."""
    return formats.read_pairs(path, genes)


def dedup_pairs(ia, ib):
    """Distinct genes of a batch of pairs.

    ``ia, ib``: LongTensor (B,). Returns ``uniq`` (U,) gene indices and ``inv_a, inv_b`` (B,)
    positions into ``uniq``, so ``emb[inv_a]`` is gene ``ia``'s embedding when ``emb = encode(uniq)``.
    """
    import torch

    both = torch.cat([ia, ib])
    uniq, inv = torch.unique(both, return_inverse=True)
    n = ia.shape[0]
    return uniq, inv[:n], inv[n:]


# --------------------------------------------------------------------------- synthetic fixtures
def write_synthetic(outdir, *, n_genes: int = 160, n_windows: int = 20, n_tfs: int = 8,
                    n_modules: int = 4, module_size: int = 16, neg_ratio: int = 3,
                    missing_frac: float = 0.05, noise: float = 0.5, strength: float = 3.0,
                    seed: int = 0) -> dict[str, Path]:
    """Write a small planted dataset: ``tokens.h5, normalized.h5, pairs.tsv, promoters.tsv, truth/modules.tsv``.

    Module ``m`` genes carry TFs ``(m % T, (m+1) % T)`` at windows ``(p_m, p_m + 2)`` (signal
    + ``strength`` over N(0, ``noise``)); every other gene carries the same TFs at random windows
    (decoys), so only the position pattern identifies a module. Genes are split gene-disjointly
    70/15/15; positives = within-module pairs inside a split, negatives = random other pairs
    (``neg_ratio`` per positive). About ``missing_frac`` windows are missing (NaN + mask).
    """
    outdir = Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    G, W, T = n_genes, n_windows, n_tfs
    genes = [f"AT1G{i:05d}" for i in range(G)]
    sig = rng.normal(0.0, noise, size=(G, W, T)).astype(np.float32)
    module = np.full(G, -1)
    member = rng.permutation(G)[: n_modules * module_size]
    module[member] = np.repeat(np.arange(n_modules), module_size)
    pos = rng.choice(np.arange(W - 2), size=n_modules, replace=False)
    for g in range(G):
        m = module[g]
        if m >= 0:
            t1, t2, p = m % T, (m + 1) % T, pos[m]
        else:
            mm = rng.integers(n_modules)
            t1, t2, p = mm % T, (mm + 1) % T, rng.integers(W - 2)
        sig[g, p, t1] += strength
        sig[g, p + 2, t2] += strength
    wmiss = rng.random((G, W)) < missing_frac
    mask = np.repeat(wmiss[:, :, None], T, axis=2)
    sig[mask] = np.nan
    # tokens: argmax TF if strong, else null; special rows: null (T) and mask (T+1)
    K = T + 2
    null_token, mask_token = T, T + 1
    codebook = np.zeros((K, T), dtype=np.float32)
    codebook[np.arange(T), np.arange(T)] = strength
    filled = np.nan_to_num(sig, nan=0.0)
    tokens = np.where(filled.max(axis=2) > strength / 2, filled.argmax(axis=2), null_token)
    tokens = np.where(wmiss, mask_token, tokens).astype(np.int32)
    geometry = formats.Geometry(upstream=2000, downstream=50 * W - 2001)   # W windows of 50 bp from -2000
    tfs = [f"TF{i}" for i in range(T)]
    prov = provenance("synthetic", {"seed": seed, "n_genes": G, "n_windows": W, "n_tfs": T})
    paths = {}
    prom = pd.DataFrame({"gene_id": genes, "chrom": "Chr1", "start": 3000 * np.arange(G),
                         "end": 3000 * np.arange(G) + 2501, "strand": "+",
                         "start_codon": 3000 * np.arange(G) + 2000,
                         "transcript_id": [g + ".1" for g in genes],
                         "gc": np.round(np.random.default_rng([seed, 1]).uniform(0.25, 0.45, G), 4),
                         "clipped": False})
    lineage = {"promoters": formats.promoters_digest(prom)}
    stats = {"tfs": tfs, "arrays": {"mean": np.zeros(T), "std": np.ones(T)}, "attrs": {"synthetic": True}}
    with formats.NormalizedWriter(outdir / "normalized.h5", genes=genes, tfs=tfs, geometry=geometry,
                                  stats=stats, lineage=lineage, prov=prov) as w:
        w.write(0, sig, mask)
    paths["normalized"] = outdir / "normalized.h5"
    with formats.NormalizedFile(paths["normalized"]) as nf:
        norm_id, stats_id = nf.artifact_id, nf.stats_digest
    formats.write_tokens(outdir / "tokens.h5", genes=genes, tfs=tfs, geometry=geometry, tokens=tokens,
                         codebook=codebook,
                         arrays={"center": np.zeros(T), "scale": np.ones(T), "bound": np.full(T, strength)},
                         attrs={"mask_token": mask_token, "null_token": null_token,
                                "null_threshold": strength / 2, "top_score": 0.5},
                         lineage={**lineage, "normalized": norm_id, "stats": stats_id}, prov=prov)
    paths["tokens"] = outdir / "tokens.h5"
    # gene-disjoint split and pairs
    split_of = np.empty(G, dtype=object)
    perm = rng.permutation(G)
    n_tr, n_va = int(0.7 * G), int(0.15 * G)
    split_of[perm[:n_tr]], split_of[perm[n_tr:n_tr + n_va]], split_of[perm[n_tr + n_va:]] = "train", "val", "test"
    rows = []
    for split in ("train", "val", "test"):
        idx = np.flatnonzero(split_of == split)
        pos_pairs = {(a, b) for a in idx for b in idx if a < b and module[a] >= 0 and module[a] == module[b]}
        for a, b in sorted(pos_pairs):
            rows.append((genes[a], genes[b], 1, split, "positive"))
        want, seen, tries = neg_ratio * max(len(pos_pairs), 1), set(), 0
        while len(seen) < want and tries < 100 * want:
            tries += 1
            a, b = sorted(rng.choice(idx, size=2, replace=False))
            if (a, b) in pos_pairs or (a, b) in seen:
                continue
            seen.add((a, b))
            rows.append((genes[a], genes[b], 0, split, "negative_uniform"))
    pairs = pd.DataFrame(rows, columns=["gene_a", "gene_b", "label", "split", "source"])
    paths["pairs"] = formats.write_pairs(outdir / "pairs.tsv", pairs, prov, lineage)
    paths["promoters"] = formats.write_promoters(outdir / "promoters.tsv", prom, prov,
                                                 upstream=2000, downstream=500)
    mods = pd.DataFrame({"module": [f"M{module[g]}" for g in member], "gene_id": [genes[g] for g in member]})
    paths["truth"] = outdir / "truth"
    write_table(outdir / "truth" / "modules.tsv", mods.sort_values(["module", "gene_id"]))
    return paths
