"""Using a trained model: device choice, loading ``model.pt`` (one function), embedding genes,
scoring pairs. Every step that reads a model (evaluate, interpret, predict, tune) goes through
here; training lives in :mod:`tfvocab.model.train`.

Gene embeddings are computed once per gene (batched, bf16 autocast on CUDA); pairs then only go
through the symmetric pair head, so scoring N pairs among U genes costs U tower passes.
"""
from __future__ import annotations

import numpy as np
import torch

from .. import formats
from ..data.genedata import GeneData, dedup_pairs
from ..errors import TfvocabError
from .model import ModelConfig, SiameseTransformer


def resolve_device(name: str = "auto", local_rank: int = 0) -> torch.device:
    """``auto`` -> CUDA when available, else CPU; ``cuda`` without a GPU is an error."""
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    if name == "cuda":
        if not torch.cuda.is_available():
            raise TfvocabError("--device cuda requested but no CUDA device is available",
                               hint="check the GPU is visible (nvidia-smi; --gpus all / --nv in "
                                    "containers) and that torch is a CUDA build, or use --device auto")
        return torch.device("cuda", local_rank)
    return torch.device(name)


def autocast(device):
    """bf16 autocast on CUDA, a no-op on CPU."""
    return torch.autocast("cuda", dtype=torch.bfloat16, enabled=(torch.device(device).type == "cuda"))


def to_device(t, device):
    return None if t is None else t.to(device, non_blocking=True)


@torch.no_grad()
def embed_genes(model: SiameseTransformer, data: GeneData, idx, device, chunk: int = 256) -> torch.Tensor:
    """Embeddings (U, D) float32 of genes ``idx`` (U,), in eval mode, ``chunk`` genes at a time."""
    was = model.training
    model.eval()
    idx = torch.as_tensor(idx, dtype=torch.long)
    out = []
    for s in range(0, len(idx), chunk):
        sel = idx[s:s + chunk].to(data.mask.device)
        tok, val, m = data.gather(sel)
        with autocast(device):
            # .contiguous(): a CLS embedding is a view that would keep the chunk's whole (B, L, D)
            # hidden state alive until the final cat (O(G) memory in genome-wide predict)
            out.append(model.encode(to_device(tok, device), to_device(val, device),
                                    to_device(m, device)).float().contiguous())
    model.train(was)
    return torch.cat(out) if out else torch.zeros(0, model.out_dim, device=device)


@torch.no_grad()
def score_pairs(model: SiameseTransformer, data: GeneData, ia, ib, device) -> np.ndarray:
    """Logits (N,) float64 for pairs ``(ia[i], ib[i])``: each distinct gene is encoded once."""
    ia = torch.tensor(np.asarray(ia), dtype=torch.long)
    ib = torch.tensor(np.asarray(ib), dtype=torch.long)
    if len(ia) == 0:
        return np.zeros(0, dtype=np.float64)
    uniq, inv_a, inv_b = dedup_pairs(ia, ib)
    emb = embed_genes(model, data, uniq, device)
    was = model.training
    model.eval()
    out = []
    for s in range(0, len(ia), 8192):
        out.append(model.score(emb[inv_a[s:s + 8192].to(device)], emb[inv_b[s:s + 8192].to(device)]).float().cpu())
    model.train(was)
    return torch.cat(out).numpy().astype(np.float64)


def check_model_inputs(meta: dict, data: GeneData, model_path, *, same_promoters: bool = True) -> None:
    """Refuse inputs the model was not trained for (message names the files and what differs).

    Always: the vocabulary (for token models), the TF list, the window geometry and the
    normalisation stats (for models reading the signal). With ``same_promoters`` also the
    promoters the model was trained on (evaluate, interpret); predict may score new genes that
    were normalised and tokenised with the training run's ``--stats`` / ``--codebook``.
    """
    cfg = meta["config"]
    lin = meta.get("lineage", {})
    where = data.tokens_path or data.normalized_path
    if cfg.get("input") in ("tokens", "both") and meta.get("vocab_hash") and data.vocab_hash \
            and meta["vocab_hash"] != data.vocab_hash:
        raise TfvocabError(
            f"vocabulary mismatch: {model_path} was trained with vocab_hash {meta['vocab_hash']} but "
            f"{data.tokens_path} has vocab_hash {data.vocab_hash}",
            hint="use the tokens.h5 the model was trained on, or tokenize with --codebook from it")
    if meta.get("tfs") and data.tfs and list(meta["tfs"]) != list(data.tfs):
        raise TfvocabError(f"TF list differs from the model's ({len(meta['tfs'])} vs {len(data.tfs)} TFs)",
                           path=str(data.normalized_path or data.tokens_path),
                           hint=f"use the inputs {model_path} was trained on")
    geo = formats.Geometry.from_dict(meta["geometry"])
    if data.geometry is not None and geo != data.geometry:
        raise TfvocabError(f"window geometry {data.geometry.describe()} differs from the model's "
                           f"({geo.describe()})", path=str(where),
                           hint=f"extract with the --window/--stride {model_path} was trained with")
    if cfg.get("input") in ("continuous", "both") and lin.get("stats") and data.lineage.get("stats") \
            and lin["stats"] != data.lineage["stats"]:
        raise TfvocabError(f"normalised with other statistics than the model's training data (stats "
                           f"{formats.short(data.lineage['stats'])} vs {formats.short(lin['stats'])})",
                           path=str(data.normalized_path),
                           hint="normalize new genes with --stats <the training run's normalized.h5>")
    if same_promoters and lin.get("promoters") and data.lineage.get("promoters") \
            and lin["promoters"] != data.lineage["promoters"]:
        raise TfvocabError(f"{model_path} was trained on other promoters (promoters digest "
                           f"{formats.short(lin['promoters'])} vs {formats.short(data.lineage['promoters'])})",
                           path=str(where), hint="evaluate a model with the data of its own run")


def load_model(path, data: GeneData | None = None, device="cpu", *, same_promoters: bool = True
               ) -> tuple[SiameseTransformer, dict]:
    """The network of ``model.pt`` in eval mode on ``device``, and the file's record.

    With ``data`` the inputs are checked first (:func:`check_model_inputs`).
    """
    meta = formats.read_model(path)
    cfg = ModelConfig.from_dict(meta["config"])
    if data is not None:
        check_model_inputs(meta, data, path, same_promoters=same_promoters)
        if int(data.mask.shape[1]) != cfg.n_windows:
            raise TfvocabError(f"{data.mask.shape[1]} windows per promoter, model expects {cfg.n_windows}",
                               path=str(data.tokens_path or data.normalized_path))
    try:
        model = SiameseTransformer(cfg)
        model.load_state_dict(meta["state_dict"])
    except (ValueError, RuntimeError, KeyError) as exc:
        raise TfvocabError(f"the weights do not fit the recorded configuration "
                           f"({str(exc).splitlines()[0][:160]})", path=str(path),
                           hint="rerun `tfvocab train`") from None
    model.to(device).eval()
    return model, meta


def model_input(path) -> str:
    """The input mode (tokens / continuous / both) a ``model.pt`` reads."""
    return formats.read_model(path)["input"]

