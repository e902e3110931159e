"""``tfvocab train``: thin click wrapper around :func:`tfvocab.model.train.run`."""
from __future__ import annotations

import click

from ..model.batches import BATCHING
from ..model.model import PAIR_FEATURES, ModelConfig
from ..data.negatives import SCHEMES
from ..model.train import TRAIN_DEFAULTS

_M = ModelConfig()


def _d(v):
    return f"default: {v}"


@click.command(name="train", context_settings={"show_default": False})
@click.option("--tokens", type=click.Path(exists=True, dir_okay=False), required=True, help="tokens.h5 from `tfvocab tokenize`.")
@click.option("--normalized", type=click.Path(exists=True, dir_okay=False), required=True, help="normalized.h5 from `tfvocab normalize`.")
@click.option("--pairs", type=click.Path(exists=True, dir_okay=False), required=True, help="pairs.tsv from `tfvocab pairs` (the listed pairs).")
@click.option("--genes", type=click.Path(exists=True, dir_okay=False), default=None,
              help="genes.tsv from `tfvocab pairs` (the folds).  [default: genes.tsv next to --pairs]")
@click.option("--fold", type=click.IntRange(0, None), default=None,
              help=f"Which fold this model holds out: trains on the genes of the other folds, minus the fold's "
                   f"validation genes ({_d(TRAIN_DEFAULTS['fold'])}).")
@click.option("--negatives", type=click.Choice(list(SCHEMES)), default=None,
              help=f"Negatives with --batching pairs: 'universe' = fresh uniform pairs among the training genes every epoch (listed "
                   f"pairs excepted); 'uniform' / 'degree' = one uniform / degree-matched draw; 'listed' = "
                   f"the label-0 rows of a hand-made pairs.tsv; 'mixed' = half universe, half degree-matched, fresh every epoch ({_d(TRAIN_DEFAULTS['negatives'])}).")
@click.option("--neg-ratio", type=float, default=None,
              help=f"Negatives per positive pair, per epoch, with --batching pairs ({_d(TRAIN_DEFAULTS['neg_ratio'])}).")
@click.option("--shuffle-labels", is_flag=True, default=None,
              help="Control: permute the gene identities of the training positives and of the validation positives "
                   "(labels independent of the promoters, model selection included; evaluate it with `evaluate --control-model`).")
@click.option("--outdir", type=click.Path(file_okay=False), required=True, help="Output folder (model.pt, train_log.tsv, checkpoint.pt).")
@click.option("--config", type=click.Path(exists=True, dir_okay=False), default=None,
              help="JSON hyperparameters (e.g. best_config.json from `tfvocab tune`); options given here override it.")
@click.option("--input", "input_", type=click.Choice(["tokens", "continuous", "both"]), default=None,
              help=f"Tower input: token embeddings, normalised window vectors, or their sum ({_d(TRAIN_DEFAULTS['input'])}).")
@click.option("--epochs", type=int, default=None, help=f"Maximum epochs ({_d(TRAIN_DEFAULTS['epochs'])}).")
@click.option("--batching", type=click.Choice(list(BATCHING)), default=None,
              help=f"'genes': each step embeds --batch-genes training genes (positives' genes with their partners, "
                   f"plus random others) and scores every pair among them; 'pairs': positives plus --neg-ratio "
                   f"sampled --negatives per positive, --batch-size pairs per step ({_d(TRAIN_DEFAULTS['batching'])}).")
@click.option("--batch-genes", type=click.IntRange(2, None), default=None,
              help=f"Genes per step with --batching genes ({_d(TRAIN_DEFAULTS['batch_genes'])}).")
@click.option("--batch-size", type=int, default=None, help=f"Pairs per step with --batching pairs ({_d(TRAIN_DEFAULTS['batch_size'])}).")
@click.option("--max-steps-per-epoch", type=click.IntRange(0, None), default=None,
              help="End each epoch after this many steps, on a prefix of its shuffled pairs (0 = all; "
              "for time-boxed runs, e.g. genome-scale benchmarks on CPU).")
@click.option("--lr", type=float, default=None, help=f"Peak AdamW learning rate ({_d(TRAIN_DEFAULTS['lr'])}).")
@click.option("--weight-decay", type=float, default=None, help=f"AdamW weight decay ({_d(TRAIN_DEFAULTS['weight_decay'])}).")
@click.option("--warmup-epochs", type=float, default=None, help=f"Linear warm-up length in epochs, cosine schedule only ({_d(TRAIN_DEFAULTS['warmup_epochs'])}).")
@click.option("--scheduler", type=click.Choice(["cosine", "plateau"]), default=None,
              help=f"LR schedule: warm-up + cosine per step, or ReduceLROnPlateau on val AUPRC ({_d(TRAIN_DEFAULTS['scheduler'])}).")
@click.option("--patience", type=int, default=None, help=f"Early stopping: epochs without val AUPRC gain ({_d(TRAIN_DEFAULTS['patience'])}).")
@click.option("--loss", type=click.Choice(["bce", "nnpu"]), default=None,
              help=f"Class-balanced BCE, or non-negative PU risk ({_d(TRAIN_DEFAULTS['loss'])}).")
@click.option("--prior", type=float, default=None, help="nnPU class prior: fraction of positives among unlabelled pairs (default: the listed prevalence of the training universe).")
@click.option("--d-model", type=int, default=None, help=f"Hidden size ({_d(_M.d_model)}).")
@click.option("--n-layers", type=int, default=None, help=f"Encoder layers ({_d(_M.n_layers)}).")
@click.option("--n-heads", type=int, default=None, help=f"Attention heads, must divide d-model ({_d(_M.n_heads)}).")
@click.option("--d-ff", type=int, default=None, help="Feed-forward width (default: 0 = 4 x d-model).")
@click.option("--dropout", type=float, default=None, help=f"Residual/FFN dropout ({_d(_M.dropout)}).")
@click.option("--attn-dropout", type=float, default=None, help=f"Attention dropout ({_d(_M.attn_dropout)}).")
@click.option("--positions", type=click.Choice(["learned", "sinusoidal"]), default=None, help=f"Window position encoding ({_d(_M.positions)}).")
@click.option("--pooling", type=click.Choice(["cls", "mean", "flatten"]), default=None,
              help=f"Promoter embedding: CLS vector, masked mean, or per-window features concatenated ({_d(_M.pooling)}).")
@click.option("--pool-dim", type=int, default=None, help=f"Features per window for --pooling flatten ({_d(_M.pool_dim)}).")
@click.option("--head-layers", type=int, default=None, help=f"Dense layers in the pair head ({_d(_M.head_layers)}).")
@click.option("--head-width", type=int, default=None, help=f"Pair-head hidden width ({_d(_M.head_width)}).")
@click.option("--head-dropout", type=float, default=None, help=f"Pair-head dropout ({_d(_M.head_dropout)}).")
@click.option("--pair-features", type=click.Choice(list(PAIR_FEATURES)), default=None,
              help=f"Pair head: MLP on [vA+vB, |vA-vB|, vA*vB], MLP on [|vA-vB|, vA*vB], a*cos(vA,vB)+b, or "
                   f"bilinear sum_k d_k p_k(vA) p_k(vB) + b of a per-gene MLP p ({_d(_M.pair_features)}).")
@click.option("--grammar-bag", type=click.IntRange(0, None), default=None,
              help=f"Buckets of the signed bag of ordered TF pairs read from the enrichment z-scores (TF A "
                   f"then B <= 60 bp apart; continuous/both input); 0 = off ({_d(_M.grammar_bag)}).")
@click.option("--activation", type=click.Choice(["gelu", "relu"]), default=None, help=f"Activation ({_d(_M.activation)}).")
@click.option("--resume", is_flag=True, help="Continue from the checkpoint.pt of --checkpoint-dir (written every epoch); "
              "refused when the options or inputs differ from the interrupted run's.")
@click.option("--checkpoint-dir", type=click.Path(file_okay=False), default=None,
              help="Folder of checkpoint.pt (default: --outdir), e.g. on storage that survives a preempted job.")
@click.option("--seed", type=int, default=None, help=f"Random seed for initialisation, shuffling, dropout ({_d(TRAIN_DEFAULTS['seed'])}).")
@click.option("--device", type=click.Choice(["auto", "cpu", "cuda"]), default=None,
              help="auto = CUDA if available, else CPU (default: auto). Use torchrun for several GPUs.")
def cli(tokens, normalized, pairs, genes, outdir, config, input_, resume, checkpoint_dir, **options):
    """Train the Siamese transformer of one fold; writes model.pt and train_log.tsv."""
    from ..model.train import run

    paths = run(tokens=tokens, normalized=normalized, pairs=pairs, genes=genes, outdir=outdir, config=config,
                resume=resume, checkpoint_dir=checkpoint_dir, input=input_, **options)
    click.echo(paths["model"] if "model" in paths else outdir)
