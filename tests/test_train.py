"""Training: checkpoint/resume equals an uninterrupted run, vocabulary checks, losses, tune -> train --config."""
import json
import shutil

import h5py
import numpy as np
import pandas as pd
import pytest
import torch
from click.testing import CliRunner

from tfvocab.model import train as T
from tfvocab.model import batches, training
from tfvocab.cli import main
from tfvocab.data.genedata import load_gene_data, read_pairs, write_synthetic
from tfvocab.errors import TfvocabError
from tfvocab.model.inference import load_model

torch.set_num_threads(1)
TINY = dict(d_model=16, n_layers=1, n_heads=2, head_width=16, batch_size=64, neg_ratio=3, batch_genes=24)


@pytest.fixture(scope="module")
def synth(tmp_path_factory):
    return write_synthetic(tmp_path_factory.mktemp("synth"), n_genes=120, n_windows=16, seed=1)


def _run(synth, outdir, **kw):
    opts = {**TINY, "epochs": 4, "input": "both", "seed": 3, **kw}
    return T.run(tokens=synth["tokens"], normalized=synth["normalized"], pairs=synth["pairs"],
                 outdir=outdir, **opts)


def test_model_file_and_log(synth, tmp_path):
    paths = _run(synth, tmp_path, epochs=2)
    obj = torch.load(paths["model"], weights_only=False)
    with h5py.File(synth["tokens"]) as h5:
        vh = h5.attrs["vocab_hash"]
    assert obj["vocab_hash"] == vh and obj["input"] == "both"
    assert obj["tfs"] == [f"TF{i}" for i in range(8)]
    assert obj["config"]["d_model"] == 16 and obj["config"]["lr"] == T.TRAIN_DEFAULTS["lr"]
    assert set(obj) >= {"state_dict", "config", "vocab_hash", "tfs", "input", "version", "best_epoch", "val_auprc"}
    log = pd.read_csv(paths["train_log"], sep="\t")
    assert list(log.columns) == ["epoch", "train_loss", "val_loss", "val_auprc", "val_auroc", "lr", "seconds"]
    assert log["epoch"].tolist() == [1, 2] and log["val_auprc"].between(0, 1).all()
    assert (tmp_path / "train_log.tsv.json").exists()


@pytest.mark.parametrize("batching", ["genes", "pairs"])
def test_resume_after_kill_matches_uninterrupted_run(synth, tmp_path, batching):
    full = _run(synth, tmp_path / "full", batching=batching)
    # the steps of epochs 1-2 (each epoch's batches depend on (seed, epoch) only)
    _run(synth, tmp_path / "two", batching=batching, epochs=2)
    two = torch.load(tmp_path / "two" / "checkpoint.pt", weights_only=False)["state"]["step"]
    with pytest.raises(T.TrainingInterrupted):   # killed mid-epoch 3
        _run(synth, tmp_path / "cut", batching=batching, stop_after_steps=two + 1)
    ck = torch.load(tmp_path / "cut" / "checkpoint.pt", weights_only=False)
    assert ck["state"]["epoch"] == 2 and not (tmp_path / "cut" / "model.pt").exists()
    resumed = _run(synth, tmp_path / "cut", batching=batching, resume=True)
    a = pd.read_csv(full["train_log"], sep="\t").drop(columns="seconds")
    b = pd.read_csv(resumed["train_log"], sep="\t").drop(columns="seconds")
    pd.testing.assert_frame_equal(a, b, check_exact=True)
    sa = torch.load(full["model"], weights_only=False)["state_dict"]
    sb = torch.load(resumed["model"], weights_only=False)["state_dict"]
    assert all(torch.equal(sa[k], sb[k]) for k in sa)


def test_early_stopping_keeps_best_epoch(synth, tmp_path):
    paths = _run(synth, tmp_path, epochs=12, patience=1, lr=1e-6)
    log = pd.read_csv(paths["train_log"], sep="\t")
    obj = torch.load(paths["model"], weights_only=False)
    assert len(log) < 12
    assert obj["best_epoch"] == int(log.loc[log["val_auprc"].idxmax(), "epoch"])
    assert obj["val_auprc"] == pytest.approx(log["val_auprc"].max())


def test_learns_planted_signal(tmp_path):
    synth = write_synthetic(tmp_path / "d", n_genes=160, n_windows=20, seed=0)
    paths = _run(synth, tmp_path, input="tokens", epochs=20, lr=2e-3, patience=20, d_model=32, head_width=32,
                 seed=0)
    log = pd.read_csv(paths["train_log"], sep="\t")
    pairs = pd.read_csv(synth["pairs"], sep="\t")
    chance = pairs.loc[pairs.split == "val", "label"].mean()
    assert log["val_auprc"].max() > chance + 0.3


def test_vocabulary_mismatch_fails_clearly(synth, tmp_path):
    paths = _run(synth, tmp_path / "m", epochs=1)
    other = tmp_path / "other_tokens.h5"
    shutil.copy(synth["tokens"], other)
    with h5py.File(other, "r+") as h5:
        cb = h5["codebook"][()] + 1.0
        del h5["codebook"]
        h5["codebook"] = cb
        from tfvocab.io import sha256_array
        h5.attrs["vocab_hash"] = sha256_array(cb)
        new_hash = h5.attrs["vocab_hash"]
    old_hash = torch.load(paths["model"], weights_only=True)["vocab_hash"]
    data = load_gene_data(other, synth["normalized"], "both")
    with pytest.raises(TfvocabError) as err:
        load_model(paths["model"], data)
    msg = str(err.value)
    assert old_hash in msg and new_hash in msg and "model.pt" in msg and "other_tokens.h5" in msg
    # resuming a checkpoint on another vocabulary fails the same way; the CLI exits 2 with one line
    res = CliRunner().invoke(main, ["train", "--tokens", str(other), "--normalized", str(synth["normalized"]),
                                    "--pairs", str(synth["pairs"]), "--outdir", str(tmp_path / "m"), "--resume"])
    assert res.exit_code == 2 and "vocabulary mismatch" in res.output and new_hash in res.output


def test_nnpu_loss_is_non_negative_risk():
    logits = torch.tensor([3.0, 2.0, -4.0, -3.0, -5.0])
    labels = torch.tensor([1.0, 1.0, 0.0, 0.0, 0.0])
    obj, risk = batches.nnpu_loss(logits, labels, prior=0.3)
    pos = torch.nn.functional.softplus(-logits[:2]).mean()
    neg = torch.nn.functional.softplus(logits[2:]).mean() - 0.3 * torch.nn.functional.softplus(logits[:2]).mean()
    assert torch.isclose(risk, 0.3 * pos + neg)
    # an over-fitted batch (unlabelled scored as negatives below the prior's share) flips to -neg
    obj2, risk2 = batches.nnpu_loss(torch.tensor([-1.0, -1.0, -9.0]), torch.tensor([1.0, 1.0, 0.0]), prior=0.9)
    assert float(obj2) > 0 and not torch.isclose(obj2, risk2)


def test_nnpu_training_and_prior(synth, tmp_path):
    with pytest.raises(TfvocabError, match="prior"):
        _run(synth, tmp_path, loss="nnpu", prior=1.5)
    paths = _run(synth, tmp_path, loss="nnpu", prior=0.2, epochs=1, scheduler="plateau")
    assert torch.load(paths["model"], weights_only=False)["config"]["loss"] == "nnpu"
    # without --prior: the listed prevalence of the training universe
    paths = _run(synth, tmp_path / "auto", loss="nnpu", epochs=1)
    cfg = torch.load(paths["model"], weights_only=False)["config"]
    pairs = pd.read_csv(synth["pairs"], sep="\t")
    tr = pairs[pairs.split == "train"]
    n = len(set(tr.gene_a) | set(tr.gene_b))
    assert cfg["prior"] == pytest.approx((tr.label == 1).sum() / (n * (n - 1) / 2))


def test_tune_best_config_is_accepted_by_train(synth, tmp_path):
    from tfvocab.model import tune

    paths = tune.run(tokens=synth["tokens"], normalized=synth["normalized"], pairs=synth["pairs"],
                     outdir=tmp_path / "tune", n_trials=2, epochs=1, seed=5, batch_size=128)
    tab = pd.read_csv(paths["tune"], sep="\t")
    assert len(tab) == 2 and tab["val_auprc"].between(0, 1).all()
    best = json.loads(paths["best_config"].read_text())
    assert best["val_auprc"] == pytest.approx(tab["val_auprc"].max())
    assert tune.sample_configs(2, seed=5) == tune.sample_configs(2, seed=5)
    res = CliRunner().invoke(main, ["train", "--tokens", str(synth["tokens"]), "--normalized", str(synth["normalized"]),
                                    "--pairs", str(synth["pairs"]), "--outdir", str(tmp_path / "tr"),
                                    "--config", str(paths["best_config"]), "--epochs", "1"])
    assert res.exit_code == 0, res.output
    cfg = torch.load(tmp_path / "tr" / "model.pt", weights_only=False)["config"]
    for k in ("d_model", "n_layers", "n_heads", "lr", "input"):
        assert cfg[k] == best["config"][k]
    assert cfg["epochs"] == 1   # command-line options override the config file


def test_read_pairs_rejects_unknown_gene(synth, tmp_path):
    bad = tmp_path / "pairs.tsv"
    df = pd.read_csv(synth["pairs"], sep="\t")
    df.loc[5, "gene_b"] = "AT9G99999"
    df.to_csv(bad, sep="\t", index=False)
    data = load_gene_data(synth["tokens"], synth["normalized"], "tokens")
    with pytest.raises(TfvocabError, match="line 7.*AT9G99999"):
        read_pairs(bad, data.index)
