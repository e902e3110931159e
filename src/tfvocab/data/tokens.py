"""``tfvocab tokenize``: learn the TF vocabulary of ``normalized.h5`` and tokenise every window.

(The module is named ``tokens``: a ``tokenize.py`` would shadow the standard library's module
whenever this folder is on ``sys.path``.)

Read ``normalized.h5`` (:class:`tfvocab.formats.NormalizedFile`) -> fit (or apply, with
``--codebook``) a :class:`tfvocab.data.vocabulary.Vocabulary` -> assign one token per window -> write
``tokens.h5``, ``vocabulary.tsv`` (+ sidecar) and ``vocabulary.png`` together. The statistics
live in :mod:`tfvocab.data.vocabulary`.
"""
from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Iterator

import numpy as np

from .. import formats
from . import vocabulary as voc
from ..errors import TfvocabError
from ..io import provenance, write_sidecar, write_table
from ..log import get_logger, progress, timed
from ..publish import step_outputs

logger = get_logger("tokenize")


def window_chunks(nf: formats.NormalizedFile, desc: str,
                  block: int = voc.CHUNK_GENES) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Window vectors ``(X (n, T) float32, M (n, T) bool)`` of ``block`` genes at a time."""
    G, W, T = nf.shape
    starts = range(0, G, block)
    for g0 in progress(starts, desc=desc, total=len(starts), unit="chunk"):
        sig, msk = nf.block(g0, min(G, g0 + block))
        X = sig.reshape(-1, T)
        yield X, msk.reshape(-1, T).astype(bool) | np.isnan(X)


def run(normalized: str | Path, outdir: str | Path, *, vocab_size: int = 512, seed: int = 0,
        codebook: str | Path | None = None, null_threshold: float | None = None,
        max_fit_windows: int = 100_000) -> dict[str, Path]:
    """Tokenise ``normalized.h5``: writes ``tokens.h5``, ``vocabulary.tsv`` (+ .json sidecar)
    and ``vocabulary.png`` under ``outdir``; returns their paths.

    With ``codebook`` (a previous ``tokens.h5``) its vocabulary is applied instead of fitted.
    """
    normalized, outdir = Path(normalized), Path(outdir)
    if vocab_size < 2:
        raise TfvocabError(f"--vocab-size must be >= 2 (got {vocab_size})",
                           hint="it counts the learned tokens; mask and null tokens are extra")
    if null_threshold is not None and null_threshold <= 0:
        raise TfvocabError(f"--null-threshold must be > 0 (got {null_threshold})")
    params = dict(normalized=str(normalized), vocab_size=vocab_size, seed=seed,
                  codebook=str(codebook) if codebook else None, null_threshold=null_threshold,
                  max_fit_windows=max_fit_windows)
    with formats.NormalizedFile(normalized) as nf:
        G, W, T = nf.shape
        if codebook is not None:
            vocab = voc.align_vocabulary(voc.vocabulary_from_tokens(formats.read_tokens(codebook),
                                                                    str(codebook)),
                                         nf.tfs, path=str(codebook))
            logger.info("applying codebook %s (%d tokens)", codebook, vocab.n_tokens)
        else:
            calib = voc.input_calibration((nf.stats or {}).get("attrs", {}), nf.geometry.stride)
            vocab = voc.fit_vocabulary_chunks(lambda: window_chunks(nf, "fit"), nf.tfs,
                                              vocab_size=vocab_size, seed=seed,
                                              null_threshold=null_threshold,
                                              max_fit_windows=max_fit_windows, n_windows=W, **calib)
        vocab = dataclasses.replace(vocab, n_windows=W)
        tokens = np.empty((G, W), np.int32)
        any_call = np.empty((G, W), bool)
        top_called = np.empty((G, W), bool)
        with timed(f"assigning {G * W} windows to {vocab.n_tokens} tokens", logger):
            g0 = 0
            for X, M in window_chunks(nf, "assign"):
                n = len(X) // W
                t = voc.assign(X, M, vocab)
                a, c = voc.call_summary(t, voc.vocab_calls(X, M, vocab), vocab)
                tokens[g0:g0 + n] = t.reshape(n, W)
                any_call[g0:g0 + n] = a.reshape(n, W)
                top_called[g0:g0 + n] = c.reshape(n, W)
                g0 += n
        prov = provenance("tokenize", params)
        prov["input_provenance"] = nf.provenance
        genes, geometry = nf.genes, nf.geometry
        lineage = {"promoters": nf.lineage.get("promoters"), "normalized": nf.artifact_id,
                   "stats": nf.stats_digest}
    arrays, vattrs = voc.vocabulary_arrays(vocab)
    table, edges = voc.token_table(tokens, geometry.window_start, vocab, any_call=any_call,
                                   top_called=top_called)
    counts = table["count"].to_numpy()
    with step_outputs(outdir, "tokenize", params) as out:
        formats.write_tokens(out.path("tokens.h5"), genes=genes, tfs=vocab.tfs, geometry=geometry,
                             tokens=tokens, codebook=vocab.codebook, arrays=arrays,
                             attrs={**vattrs, "mask_token": voc.MASK_TOKEN,
                                    "null_token": voc.NULL_TOKEN, "top_score": voc.TOP_SCORE},
                             lineage=lineage, prov=prov)
        write_table(out.path("vocabulary.tsv"), table, float_format="%.6g")
        write_sidecar(out.path("vocabulary.tsv"), dict(prov, offset_bin_edges=edges.tolist(),
                                                       vocab_hash=vocab.vocab_hash,
                                                       top_score=voc.TOP_SCORE))
        voc.plot_vocabulary(out.path("vocabulary.png"), vocab, counts)
    logger.info("tokens: %d mask, %d null, %d bound windows; %d of %d cluster tokens used",
                counts[voc.MASK_TOKEN], counts[voc.NULL_TOKEN], counts[voc.N_SPECIAL:].sum(),
                int((counts[voc.N_SPECIAL:] > 0).sum()), vocab.n_tokens - voc.N_SPECIAL)
    return {"tokens": outdir / "tokens.h5", "vocabulary": outdir / "vocabulary.tsv",
            "vocabulary_png": outdir / "vocabulary.png"}
