"""Training section: loss and validation curves (``train_log.tsv``) and the model configuration."""
from __future__ import annotations

from pathlib import Path
from typing import Mapping

from ..errors import TfvocabError
from .files import first_file, flatten, read_tsv
from .markup import figure, kv_table, missing, table_html
from .plots import fig_png, training_figure


def section_training(files: Mapping[str, list[Path]]) -> str:
    logp = first_file(files, "train_log.tsv")
    if logp is None:
        return missing("train_log.tsv (loss and AUPRC per epoch)")
    df = read_tsv(logp)
    need = {"epoch", "train_loss"}
    if not need <= set(df.columns):
        return missing(f"columns {sorted(need - set(df.columns))} in {logp}",
                       "train_log.tsv does not follow the format (epoch, train_loss, val_loss, val_auprc, ...)")
    fig, best = training_figure(df)
    parts = [figure(fig_png(fig), "Training curves",
                    "Left: training and validation loss per epoch. Right: validation AUPRC / AUROC on the "
                    "validation pairs (the dashed line marks the epoch kept).",
                    "Validation loss rising while training loss falls is over-fitting; the kept model is "
                    "the best validation epoch, not the last.", alt="training curves")]
    if best is not None:
        parts.append(f'<p class="note">best validation AUPRC {best["val_auprc"]:.4f} at epoch '
                     f'{int(best["epoch"])}; {len(df)} epochs logged.</p>')
    parts.append("<details><summary>per-epoch table</summary>" + table_html(df, max_rows=200) + "</details>")
    model = first_file(files, "model.pt")
    if model is not None:
        from .. import formats

        try:
            config = formats.read_model(model).get("config") or {}
        except TfvocabError as exc:
            parts.append(missing("a readable model.pt", str(exc)))
            config = {}
        if config:
            parts.append("<details><summary>model configuration</summary>"
                         + kv_table(flatten(config)) + "</details>")
    return "\n".join(parts)
