"""Bad inputs and faults, as a new user meets them: every case ends in a clear one-line error
(exit 2, the file named, no traceback) or a correct result with a counted warning, and never
leaves partial output behind.

Classes: damaged artifacts (zero-byte, truncated, the wrong kind of file) into every step that
reads them; a damaged file inside a published folder (manifest); stale FASTA indexes (older and
newer than the FASTA); signal tracks from shifted promoters; tokens/model lineage mismatches;
--resume with a changed architecture or a truncated checkpoint; disk full (a small tmpfs) in
promoters, extract and train; kill -9 during merge, then a rerun; two runs writing into one
folder; Ctrl-C; a GFF with a byte-order mark; a header-only co-expression list; track values as
users have them (bigWigs written with pyBigWig: NaN / +inf records, log2-ratio and subtracted
tracks, a mostly-NaN ratio, a signed control; peak values; NaN / infinite co-expression scores; a
signal.h5 whose windows are not coverage), with a clean track's windows checked bit-identical to
the code before and the report naming the one track that loses far more windows.
"""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from tfvocab.cli import main

ROOT = Path(__file__).resolve().parents[1]


# ----------------------------------------------------------------------------------------------
# helpers


def cli(args: list[str]):
    """Run the CLI in-process: (exit code, output, exception)."""
    res = CliRunner().invoke(main, [str(a) for a in args])
    return res.exit_code, res.output, res.exception


def assert_clear_error(args, *names, outdir=None):
    """Exit 2 through the CLI's error path (no traceback), one Error line naming ``names``, and
    ``outdir`` left without any file."""
    code, out, exc = cli(args)
    assert code == 2, out
    assert isinstance(exc, SystemExit), f"raw exception: {exc!r}"
    assert "Traceback" not in out
    errors = [ln for ln in out.splitlines() if ln.startswith("Error:")]
    assert len(errors) == 1, out
    for name in names:
        assert str(name) in errors[0], errors[0]
    if outdir is not None:
        assert not Path(outdir).exists() or not any(Path(outdir).iterdir()), list(Path(outdir).iterdir())
    return errors[0]


def run_cli_process(args, **kwargs):
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "OMP_NUM_THREADS": "1"}
    return subprocess.run([sys.executable, "-m", "tfvocab.cli", *map(str, args)], capture_output=True,
                          text=True, env=env, **kwargs)


def zero_byte(src: Path, dest: Path) -> Path:
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.write_bytes(b"")
    return dest


def truncated(src: Path, dest: Path) -> Path:
    dest.parent.mkdir(parents=True, exist_ok=True)
    data = src.read_bytes()
    dest.write_bytes(data[: len(data) // 2])
    return dest


def wrong_kind(src: Path, dest: Path, other: Path) -> Path:
    dest.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(other, dest)
    return dest


@pytest.fixture(scope="module")
def chain(tiny_sim, tmp_path_factory):
    """The tiny preset's data chain plus a 2-epoch model (defaults otherwise)."""
    from tfvocab.demo import data_steps
    from tfvocab.model.train import run as train_run

    root = tmp_path_factory.mktemp("faults")
    files = data_steps(tiny_sim, root, seed=0, vocab_size=16)
    train_run(tokens=files["tokens"], normalized=files["normalized"], pairs=files["pairs"],
              outdir=root / "train", epochs=2, seed=0)
    files["model"] = root / "train" / "model.pt"
    files["checkpoint"] = root / "train" / "checkpoint.pt"
    files["track"] = sorted((root / "extract").glob("signal.*.h5"))[0]
    files["sim"] = tiny_sim
    files["root"] = root
    return files


def step_args(step: str, f: dict, override: dict, out: Path) -> list:
    """The command line of ``step`` on the chain's files, with ``override`` (flag -> path)."""
    base = {
        "normalize": ["normalize", "--signal", f["signal"]],
        "tokenize": ["tokenize", "--normalized", f["normalized"], "--vocab-size", "8"],
        "tokenize-codebook": ["tokenize", "--normalized", f["normalized"], "--codebook", f["tokens"]],
        "normalize-stats": ["normalize", "--signal", f["signal"], "--stats", f["normalized"]],
        "train": ["train", "--tokens", f["tokens"], "--normalized", f["normalized"], "--pairs",
                  f["pairs"], "--epochs", "1"],
        "evaluate": ["evaluate", "--model", f["model"], "--tokens", f["tokens"], "--normalized",
                     f["normalized"], "--pairs", f["pairs"]],
        "interpret": ["interpret", "--model", f["model"], "--tokens", f["tokens"], "--normalized",
                      f["normalized"], "--pairs", f["pairs"], "--n-pairs", "2", "--steps", "4"],
        "predict": ["predict", "--model", f["model"], "--tokens", f["tokens"], "--normalized",
                    f["normalized"], "--top-k", "3"],
        "merge": ["merge", f["track"]],
        "extract": ["extract", "--promoters", f["promoters"], "--bigwig", f["sim"] / "bigwig" / "input.bw"],
        "pairs": ["pairs", "--coexpression", f["sim"] / "coexpression.tsv", "--promoters", f["promoters"]],
    }[step]
    args = [override.get(a, a) if isinstance(a, Path) and a in override else a for a in base]
    return args + ["--outdir", out]


# (step, which input is damaged) for every step that reads each artifact
READERS = [
    ("normalize", "signal"), ("normalize-stats", "normalized"),
    ("tokenize", "normalized"), ("tokenize-codebook", "tokens"),
    ("train", "tokens"), ("train", "normalized"), ("train", "pairs"),
    ("evaluate", "model"), ("evaluate", "tokens"), ("evaluate", "normalized"), ("evaluate", "pairs"),
    ("interpret", "model"), ("interpret", "tokens"), ("interpret", "normalized"),
    ("predict", "model"), ("predict", "tokens"), ("predict", "normalized"),
    ("merge", "track"), ("extract", "promoters"), ("pairs", "promoters"),
]
#: a file of another kind for each damaged input
OTHER = {"signal": "normalized", "normalized": "tokens", "tokens": "signal", "model": "checkpoint",
         "track": "signal", "pairs": "promoters", "promoters": "tokens"}


@pytest.mark.parametrize("damage", ["zero_byte", "truncated", "wrong_kind"])
@pytest.mark.parametrize("step,what", READERS)
def test_damaged_input_is_a_clear_error(chain, tmp_path, step, what, damage):
    src = chain[what]
    if damage == "truncated" and what in ("pairs", "promoters"):
        # half a table is still a table: cut it inside its header instead
        bad = tmp_path / "bad" / src.name
        bad.parent.mkdir()
        bad.write_text(src.read_text().splitlines()[0][:7] + "\n")
    elif damage == "wrong_kind":
        bad = wrong_kind(src, tmp_path / "bad" / src.name, chain[OTHER[what]])
    else:
        bad = {"zero_byte": zero_byte, "truncated": truncated}[damage](src, tmp_path / "bad" / src.name)
    out = tmp_path / "out"
    assert_clear_error(step_args(step, chain, {src: bad}, out), bad, outdir=out)


def test_checkpoint_truncated_or_zero_byte(chain, tmp_path):
    for damage in (zero_byte, truncated):
        d = tmp_path / damage.__name__
        damage(chain["checkpoint"], d / "checkpoint.pt")
        args = step_args("train", chain, {}, d) + ["--resume", "--epochs", "2"]
        assert_clear_error(args, d / "checkpoint.pt")
        assert sorted(p.name for p in d.iterdir()) == ["checkpoint.pt"]        # nothing else written


def test_file_changed_inside_a_published_folder(chain, tmp_path):
    """A file of a published folder that no longer matches its manifest is refused."""
    folder = tmp_path / "normalize"
    shutil.copytree(chain["normalized"].parent, folder)
    size = (folder / "normalized.h5").stat().st_size
    with open(folder / "normalized.h5", "r+b") as fh:        # same size, other bytes
        fh.seek(size // 2)
        old = fh.read(16)
        fh.seek(size // 2)
        fh.write(bytes(b ^ 0xFF for b in old))
    msg = assert_clear_error(["tokenize", "--normalized", folder / "normalized.h5", "--outdir",
                              tmp_path / "o"], folder / "normalized.h5", outdir=tmp_path / "o")
    assert "manifest" in msg
    # and a file dropped into a published folder by hand
    shutil.copy(chain["tokens"], folder / "stray.h5")
    msg = assert_clear_error(["tokenize", "--normalized", folder / "stray.h5", "--outdir",
                              tmp_path / "o"], "stray.h5", outdir=tmp_path / "o")
    assert "not listed" in msg


# ----------------------------------------------------------------------------------------------
# FASTA index


def _fasta_case(tmp_path, stale: str):
    """A 2-gene GFF + FASTA whose .fai is stale: ``older`` (FASTA rewritten after it) or ``newer``
    (an index of another FASTA, written after this one)."""
    rng = np.random.default_rng(0)
    seq1 = "".join(rng.choice(list("ACGT"), 9000))
    seq2 = "".join(rng.choice(list("GC"), 9000))
    gff = tmp_path / "a.gff3"
    gff.write_text("##gff-version 3\n"
                   "Chr1\tt\tgene\t3001\t4000\t.\t+\t.\tID=AT1G00010\n"
                   "Chr1\tt\tmRNA\t3001\t4000\t.\t+\t.\tID=AT1G00010.1;Parent=AT1G00010\n"
                   "Chr1\tt\tCDS\t3101\t3900\t.\t+\t0\tParent=AT1G00010.1\n"
                   "Chr2\tt\tgene\t3001\t4000\t.\t+\t.\tID=AT2G00010\n"
                   "Chr2\tt\tmRNA\t3001\t4000\t.\t+\t.\tID=AT2G00010.1;Parent=AT2G00010\n"
                   "Chr2\tt\tCDS\t3101\t3900\t.\t+\t0\tParent=AT2G00010.1\n")
    fa = tmp_path / "g.fa"

    def write(s1, s2, width):
        fa.write_text(f">Chr1\n" + "\n".join(s1[i:i + width] for i in range(0, len(s1), width))
                      + f"\n>Chr2\n" + "\n".join(s2[i:i + width] for i in range(0, len(s2), width)) + "\n")

    import pyfaidx

    if stale == "older":
        write(seq1, seq2, 60)
        pyfaidx.Fasta(str(fa)).close()                        # index of the 60-column FASTA
        time.sleep(0.05)
        write(seq2, seq1, 80)                                 # FASTA rewritten: index now older
    else:
        write(seq2, seq1, 80)
        other = tmp_path / "other" / "g.fa"
        other.parent.mkdir()
        other.write_text(f">Chr1\n{seq1}\n>Chr2\n{seq2}\n")
        pyfaidx.Fasta(str(other)).close()
        time.sleep(0.05)
        shutil.copy(Path(f"{other}.fai"), Path(f"{fa}.fai"))   # newer, but of another FASTA
    return gff, fa, seq2, seq1


@pytest.mark.parametrize("stale", ["older", "newer"])
def test_stale_fasta_index_is_rebuilt(tmp_path, stale, caplog):
    gff, fa, chr1, chr2 = _fasta_case(tmp_path, stale)
    code, out, exc = cli(["promoters", "--gff", gff, "--fasta", fa, "--outdir", tmp_path / "p"])
    assert code == 0, out
    assert any("does not match the FASTA" in r.message for r in caplog.records)
    got = _read_fasta(tmp_path / "p" / "promoters.fa")
    # the promoter of AT1G00010: start codon at 0-based 3100, -2000..+500
    assert got["AT1G00010"] == chr1[1100:3601]
    assert got["AT2G00010"] == chr2[1100:3601]
    tab = pd.read_csv(tmp_path / "p" / "promoters.tsv", sep="\t")
    gc = tab.set_index("gene_id")["gc"]
    assert gc["AT1G00010"] == pytest.approx(_gc(chr1[1100:3601]), abs=1e-5)


def _read_fasta(path):
    out, name = {}, None
    for line in Path(path).read_text().splitlines():
        if line.startswith(">"):
            name = line[1:].split()[0]
            out[name] = ""
        else:
            out[name] += line
    return out


def _gc(s):
    return (s.count("G") + s.count("C")) / len(s)


def test_stale_index_that_cannot_be_replaced_is_refused(tmp_path, monkeypatch):
    """A stale .fai in a folder we may not write (simulated: root may write anywhere)."""
    gff, fa, _, _ = _fasta_case(tmp_path, "older")
    real_unlink = Path.unlink

    def unlink(self, *a, **k):
        if self.name.endswith(".fai"):
            raise PermissionError(13, "Permission denied", str(self))
        return real_unlink(self, *a, **k)

    monkeypatch.setattr(Path, "unlink", unlink)
    msg = assert_clear_error(["promoters", "--gff", gff, "--fasta", fa, "--outdir", tmp_path / "p"],
                             "g.fa.fai", outdir=tmp_path / "p")
    assert "does not match the FASTA" in msg and "cannot be replaced" in msg


def test_promoter_past_the_chromosome_end_is_a_counted_warning(tmp_path, caplog):
    gff, fa, _, _ = _fasta_case(tmp_path, "older")
    gff.write_text(gff.read_text() +
                   "Chr1\tt\tgene\t9500\t9900\t.\t+\t.\tID=AT1G00020\n"
                   "Chr1\tt\tmRNA\t9500\t9900\t.\t+\t.\tID=AT1G00020.1;Parent=AT1G00020\n"
                   "Chr1\tt\tCDS\t9600\t9800\t.\t+\t0\tParent=AT1G00020.1\n")
    code, out, _ = cli(["promoters", "--gff", gff, "--fasta", fa, "--outdir", tmp_path / "p"])
    assert code == 0, out
    tab = pd.read_csv(tmp_path / "p" / "promoters.tsv", sep="\t")
    assert "AT1G00020" not in set(tab.gene_id) and (tab.end > tab.start).all()
    import json

    rep = json.loads((tmp_path / "p" / "promoters.report.json").read_text())
    assert rep["beyond_chromosome_end"] == 1 and rep["beyond_chromosome_end_genes"] == ["AT1G00020"]
    assert any("past the end of their FASTA chromosome" in r.message for r in caplog.records)


# ----------------------------------------------------------------------------------------------
# lineage


def test_tracks_from_shifted_promoters_are_refused(chain, tmp_path):
    shifted = pd.read_csv(chain["promoters"], sep="\t")
    shifted[["start", "end", "start_codon"]] += 7                 # same gene IDs, other coordinates
    shifted.to_csv(tmp_path / "promoters.tsv", sep="\t", index=False)
    code, out, _ = cli(["extract", "--promoters", tmp_path / "promoters.tsv", "--bigwig",
                        chain["sim"] / "bigwig" / "input.bw", "--tf", "shifted", "--outdir", tmp_path / "x"])
    assert code == 0, out
    msg = assert_clear_error(["merge", "--outdir", tmp_path / "m", chain["track"],
                              tmp_path / "x" / "signal.shifted.h5"], "signal.shifted.h5",
                             outdir=tmp_path / "m")
    assert "other promoters" in msg


def test_tokens_of_another_run_are_refused(chain, tmp_path):
    code, out, _ = cli(["normalize", "--signal", chain["signal"], "--outdir", tmp_path / "n2",
                        "--transform", "logz"])
    assert code == 0, out
    msg = assert_clear_error(["train", "--tokens", chain["tokens"], "--normalized",
                              tmp_path / "n2" / "normalized.h5", "--pairs", chain["pairs"],
                              "--outdir", tmp_path / "t"], "normalized.h5", outdir=tmp_path / "t")
    assert "another normalized.h5" in msg


def test_model_trained_on_other_promoters_is_refused(chain, tmp_path):
    """The same data written again from shifted promoters: a model of the first run is refused."""
    from tfvocab.formats import NormalizedFile, NormalizedWriter, write_tokens, read_tokens

    with NormalizedFile(chain["normalized"]) as nf:
        sig, msk = nf.block(0, nf.shape[0])
        lin = {**nf.lineage, "promoters": "another-promoters-digest"}
        lin.pop("stats")
        with NormalizedWriter(tmp_path / "normalized.h5", genes=nf.genes, tfs=nf.tfs, geometry=nf.geometry,
                              stats=nf.stats, lineage=lin) as w:
            w.write(0, sig, msk)
    with NormalizedFile(tmp_path / "normalized.h5") as nf:
        norm_id = nf.artifact_id
    tok = read_tokens(chain["tokens"])
    write_tokens(tmp_path / "tokens.h5", genes=tok["genes"], tfs=tok["tfs"], geometry=tok["geometry"],
                 tokens=tok["tokens"], codebook=tok["codebook"], arrays=tok["arrays"],
                 attrs={"mask_token": tok["mask_token"], "null_token": tok["null_token"],
                        "null_threshold": tok["null_threshold"], "top_score": tok["top_score"]},
                 lineage={"promoters": "another-promoters-digest", "normalized": norm_id,
                          "stats": tok["lineage"]["stats"]})
    msg = assert_clear_error(["evaluate", "--model", chain["model"], "--tokens", tmp_path / "tokens.h5",
                              "--normalized", tmp_path / "normalized.h5", "--pairs", chain["pairs"],
                              "--outdir", tmp_path / "e"], "model.pt", outdir=tmp_path / "e")
    assert "other promoters" in msg


def test_resume_with_a_changed_architecture_names_the_option(chain, tmp_path):
    d = tmp_path / "t"
    shutil.copytree(chain["checkpoint"].parent, d)
    msg = assert_clear_error(step_args("train", chain, {}, d) + ["--resume", "--epochs", "2",
                                                                 "--d-model", "64"], "checkpoint.pt")
    assert "--d-model 32 (now 64)" in msg


# ----------------------------------------------------------------------------------------------
# disk full, kill -9, concurrent runs, Ctrl-C


@pytest.fixture()
def small_disk(tmp_path):
    """A 1 MB tmpfs (root), or a private mount namespace's tmpfs (unprivileged user namespaces)."""
    mnt = tmp_path / "disk"
    mnt.mkdir()
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mnt)], capture_output=True)
    if r.returncode != 0:
        pytest.fail(f"cannot mount a tmpfs for the disk-full test: {r.stderr.decode().strip()}")
    try:
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], capture_output=True)


def _fill(folder: Path, leave: int):
    """Fill the file system of ``folder`` until about ``leave`` bytes are free."""
    free = shutil.disk_usage(folder).free
    with open(folder / "ballast", "wb") as fh:
        fh.write(b"\0" * max(0, free - leave))


@pytest.mark.parametrize("step", ["promoters", "extract", "train"])
def test_disk_full_keeps_the_previous_outputs(chain, small_disk, step):
    out = small_disk / step
    if step == "promoters":
        args = ["promoters", "--gff", chain["sim"] / "annotation.gff3", "--fasta", chain["sim"] / "genome.fa"]
    elif step == "extract":
        args = ["extract", "--promoters", chain["promoters"], "--bigwig", chain["sim"] / "bigwig" / "input.bw"]
    else:
        args = ["train", "--tokens", chain["tokens"], "--normalized", chain["normalized"], "--pairs",
                chain["pairs"], "--epochs", "1", "--checkpoint-dir", chain["root"] / f"ck_{step}"]
    code, text, _ = cli(args + ["--outdir", out])
    assert code == 0, text
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    _fill(small_disk, 4096)
    msg = assert_clear_error(args + ["--outdir", out], str(out))
    assert "no space left" in msg
    after = {p.name: p.read_bytes() for p in out.iterdir()}
    assert after == before                                   # old outputs intact, nothing added


def test_kill_during_merge_then_rerun_leaves_nothing(chain, tmp_path):
    out = tmp_path / "m"
    tracks = sorted(chain["track"].parent.glob("signal.*.h5"))
    args = ["merge", "--outdir", out, *tracks]
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen([sys.executable, "-c",
                             "import time, tfvocab.formats.signal as s, tfvocab.cli as c\n"
                             "w = s.SignalWriter.write\n"
                             "def slow(self, *a, **k):\n    w(self, *a, **k); time.sleep(30)\n"
                             "s.SignalWriter.write = slow\nc.main()", *map(str, args)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    t0 = time.time()
    while time.time() - t0 < 60 and not any(out.glob(".tfvocab-staging-*/*")):
        time.sleep(0.1)
    assert any(out.glob(".tfvocab-staging-*/*")), "merge never started writing"
    proc.kill()                                               # kill -9 while writing
    proc.wait()
    assert (out / ".tfvocab.lock").exists() and list(out.glob(".tfvocab-staging-*"))
    code, text, _ = cli(args)
    assert code == 0, text
    assert sorted(p.name for p in out.iterdir()) == ["merge.manifest.json", "signal.h5"]


def test_two_runs_into_one_folder(chain, tmp_path):
    out = tmp_path / "m"
    tracks = sorted(chain["track"].parent.glob("signal.*.h5"))
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "OMP_NUM_THREADS": "1"}
    first = subprocess.Popen([sys.executable, "-c",
                              "import time, tfvocab.formats.signal as s, tfvocab.cli as c\n"
                              "w = s.SignalWriter.write\n"
                              "def slow(self, *a, **k):\n    w(self, *a, **k); time.sleep(5)\n"
                              "s.SignalWriter.write = slow\nc.main()", "merge", "--outdir", str(out),
                              *map(str, tracks)], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    t0 = time.time()
    while time.time() - t0 < 60 and not (out / ".tfvocab.lock").exists():
        time.sleep(0.05)
    second = run_cli_process(["merge", "--outdir", out, *tracks])
    assert second.returncode == 2 and "Traceback" not in second.stderr
    assert "another tfvocab run is writing into this folder" in second.stderr
    assert "tfvocab merge" in second.stderr and str(first.pid) in second.stderr
    assert first.wait(timeout=120) == 0
    assert sorted(p.name for p in out.iterdir()) == ["merge.manifest.json", "signal.h5"]


def test_ctrl_c_in_train_exits_130_and_says_how_to_resume(chain, tmp_path):
    out = tmp_path / "t"
    args = ["train", "--tokens", chain["tokens"], "--normalized", chain["normalized"], "--pairs",
            chain["pairs"], "--epochs", "20", "--patience", "20", "--batch-size", "8", "--outdir", out]
    # batches of 8 pairs: ~1 s per epoch on this chain, so the run is still going when the signal
    # arrives even if this process is starved for seconds (with the default batch 50 epochs took 3.7 s)
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "OMP_NUM_THREADS": "1"}
    err_path = tmp_path / "stderr.txt"
    with open(err_path, "w") as err_file:    # a file, not a pipe: a full pipe would block the child
        # SIGINT back to its default in the child: a test run started as a background job (`cmd &`
        # in a non-interactive shell, as CI scripts do) inherits it ignored, and so would the child
        proc = subprocess.Popen([sys.executable, "-m", "tfvocab.cli", *map(str, args)], env=env,
                                stdout=subprocess.DEVNULL, stderr=err_file, text=True,
                                preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
        t0 = time.time()
        while time.time() - t0 < 600 and not (out / "checkpoint.pt").exists() and proc.poll() is None:
            time.sleep(0.1)
        assert (out / "checkpoint.pt").exists(), err_path.read_text()[-3000:]
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=600)
    err = err_path.read_text()
    assert proc.returncode == 130, err
    assert "Traceback" not in err
    line = [ln for ln in err.splitlines() if ln.startswith("Interrupted:")]
    assert len(line) == 1 and "checkpoint.pt holds epoch" in line[0] and "--resume" in line[0]
    assert not (out / "model.pt").exists() and not list(out.glob(".tfvocab-staging-*"))
    # the printed command continues the run
    cmd = line[0].split("continue with: ", 1)[1].split()
    res = run_cli_process(cmd[1:])
    assert res.returncode == 0, res.stderr
    assert (out / "model.pt").exists()


# ----------------------------------------------------------------------------------------------
# smaller messages


def test_gff_with_a_byte_order_mark(tmp_path):
    gff, fa, _, _ = _fasta_case(tmp_path, "newer")
    gff.write_bytes(b"\xef\xbb\xbf" + gff.read_bytes())
    code, out, _ = cli(["promoters", "--gff", gff, "--fasta", fa, "--outdir", tmp_path / "p"])
    assert code == 0, out
    assert len(pd.read_csv(tmp_path / "p" / "promoters.tsv", sep="\t")) == 2


def test_header_only_coexpression(chain, tmp_path):
    f = tmp_path / "coexpression.tsv"
    f.write_text("gene_a\tgene_b\tscore\n")
    msg = assert_clear_error(["pairs", "--coexpression", f, "--promoters", chain["promoters"],
                              "--outdir", tmp_path / "o"], f, outdir=tmp_path / "o")
    assert "header" in msg and "no data rows" in msg


def test_no_protein_coding_genes_names_the_file(tmp_path):
    gff, fa, _, _ = _fasta_case(tmp_path, "newer")
    gff.write_text("##gff-version 3\nChr1\tt\tgene\t3001\t4000\t.\t+\t.\tID=AT1G00010\n")
    msg = assert_clear_error(["promoters", "--gff", gff, "--fasta", fa, "--outdir", tmp_path / "p"],
                             gff, outdir=tmp_path / "p")
    assert "no protein-coding genes" in msg and "CDS" in msg


def test_no_positive_training_pairs_names_the_file(chain, tmp_path):
    df = pd.read_csv(chain["pairs"], sep="\t")
    df.loc[df.split == "train", "label"] = 0
    bad = tmp_path / "pairs.tsv"
    df.to_csv(bad, sep="\t", index=False)
    msg = assert_clear_error(["train", "--tokens", chain["tokens"], "--normalized", chain["normalized"],
                              "--pairs", bad, "--outdir", tmp_path / "t"], bad, outdir=tmp_path / "t")
    assert "no positive training pairs" in msg and "pairs.report.json" in msg


# ----------------------------------------------------------------------------------------------
# track values as users have them: NaN / +inf records (converters, ratios), log-ratio and
# subtracted tracks, a signed control, peak values, co-expression scores, and a signal.h5 whose
# windows are not coverage. Each case: exit code, message or counts, and a clean track unchanged.

TRACK_CHROMS = {"Chr1": 60_000, "Chr2": 40_000}
#: sha256 of the clean track's mean, max and mask (extract's arrays, every reader), computed by the
#: code before non-finite values were screened (commit d7ad770): the clean path is bit-identical
CLEAN_DIGEST = "93a41da47c816e75ae1234a9ce76e805cf801f41741cd149869aff7e15f2946c"


def _track_promoters() -> pd.DataFrame:
    """Promoters every 2,750 bp on both chromosomes, strands alternating, none clipped."""
    rows = []
    for c, n in TRACK_CHROMS.items():
        for i, sc in enumerate(range(3_000, n - 3_000, 2_750)):
            strand = "+-"[i % 2]
            st, en = (sc - 2000, sc + 501) if strand == "+" else (sc - 500, sc + 2001)
            gid = f"AT{c[-1]}G{(i + 1) * 10:05d}"
            rows.append({"gene_id": gid, "chrom": c, "start": st, "end": en, "strand": strand,
                         "start_codon": sc, "transcript_id": f"{gid}.1", "gc": 0.4, "clipped": False})
    return pd.DataFrame(rows)


def _coverage() -> dict:
    """Coverage in 10 bp records, every value a multiple of 1/8 (exact in float32 and in sums)."""
    out = {}
    for c, n in TRACK_CHROMS.items():
        i = np.arange(n // 10, dtype=np.int64)
        v = ((i * 7919 + len(c) * 13 + n) % 97).astype(np.float64) / 8.0
        v[(i * 31) % 5 == 0] = 0.0
        out[c] = (i * 10, i * 10 + 10, v)
    return out


def _write_bw(path: Path, recs: dict) -> Path:
    bw = __import__("pyBigWig").open(str(path), "w")
    bw.addHeader(list(TRACK_CHROMS.items()))
    for c, (s, e, v) in recs.items():
        if len(s):
            bw.addEntries([c] * len(s), s.tolist(), ends=e.tolist(), values=np.asarray(v, float).tolist())
    bw.close()
    return path


def _window_bases(prom: pd.DataFrame) -> dict:
    """Per chromosome: (G, 50, 50) genomic bases of every window (gene orientation)."""
    out = {}
    offs = np.arange(-2000, 500).reshape(50, 50)
    for c, sub in prom.groupby("chrom", sort=False):
        sc = sub["start_codon"].to_numpy()[:, None, None]
        minus = (sub["strand"].to_numpy() == "-")[:, None, None]
        out[c] = np.where(minus, sc - offs, sc + offs)
    return out


def _touching(prom: pd.DataFrame, chrom: str, s: np.ndarray, e: np.ndarray) -> tuple[int, int]:
    """(records of [s, e) with a base in a promoter window, windows holding such a base): brute force."""
    bases = _window_bases(prom)[chrom]
    hit = np.zeros(TRACK_CHROMS[chrom], bool)
    for a, b in zip(s, e):
        hit[a:b] = True
    covered = np.zeros(TRACK_CHROMS[chrom], bool)
    covered[bases.ravel()] = True
    n_rec = sum(bool(covered[a:b].any()) for a, b in zip(s, e))
    return n_rec, int(hit[bases].any(axis=2).sum())


def _signal_arrays(path: Path):
    import h5py

    with h5py.File(path) as f:
        return f["mean"][()], f["max"][()], f["mask"][()]


def _digest(path: Path) -> str:
    import hashlib

    h = hashlib.sha256()
    for a in _signal_arrays(path):
        h.update(a.tobytes())
    return h.hexdigest()


def _manifest(outdir: Path) -> dict:
    import json

    (m,) = Path(outdir).glob("extract.*.manifest.json")
    return json.loads(m.read_text())


@pytest.fixture(scope="module")
def tracks(tmp_path_factory):
    d = tmp_path_factory.mktemp("tracks")
    prom = _track_promoters()
    prom.to_csv(d / "promoters.tsv", sep="\t", index=False)
    _write_bw(d / "clean.bw", _coverage())
    return {"dir": d, "promoters": d / "promoters.tsv", "prom": prom, "clean": d / "clean.bw"}


def _edited(chrom: str, every: int, value: float, below: int | None = None):
    """The clean coverage with every ``every``-th record of ``chrom`` (before ``below`` bp) set to
    ``value``; also returns the edited records' (starts, ends) and the coverage without them."""
    recs = {c: tuple(np.array(a) for a in r) for c, r in _coverage().items()}
    s, e, v = recs[chrom]
    sel = np.zeros(s.size, bool)
    sel[::every] = True
    if below is not None:
        sel &= s < below
    v[sel] = value
    without = dict(recs)
    without[chrom] = (s[~sel], e[~sel], v[~sel])
    return recs, (s[sel], e[sel]), without


@pytest.mark.parametrize("reader", ["native", "pybigwig", "pybigtools"])
def test_clean_track_windows_are_bit_identical_to_before(tracks, tmp_path, reader):
    code, out, _ = cli(["extract", "--promoters", tracks["promoters"], "--bigwig", tracks["clean"],
                        "--reader", reader, "--outdir", tmp_path])
    assert code == 0, out
    assert _digest(tmp_path / "signal.clean.h5") == CLEAN_DIGEST
    h = _manifest(tmp_path)["health"]["clean"]
    n = len(tracks["prom"])
    assert h == {"windows": n * 50, "masked_windows": 0, "masked_fraction": 0.0, "nan_records": 0,
                 "posinf_records": 0, "nonfinite_windows": 0, "lost_fraction": 0.0, "promoters": n,
                 "promoters_with_signal": n, "promoters_with_signal_fraction": 1.0}


@pytest.mark.parametrize("value,key", [(np.nan, "nan_records"), (np.inf, "posinf_records")])
def test_nan_or_inf_records_are_counted_bases_without_data(tracks, tmp_path, caplog, value, key):
    """A converter's NaN records / a ratio's +inf records: exit 0, the records and the windows they
    touch counted (manifest, signal file, warning), every finite base exact: the windows are
    bit-identical to those of the same track with these records left out."""
    recs, (bs, be), without = _edited("Chr1", 40, value)
    bad = _write_bw(tmp_path / "bad.bw", recs)
    ref = _write_bw(tmp_path / "ref.bw", without)
    n_rec, n_win = _touching(tracks["prom"], "Chr1", bs, be)
    assert n_rec > 0 and n_win > 0
    for reader in ("native", "pybigwig"):
        out = tmp_path / reader
        code, text, _ = cli(["extract", "--promoters", tracks["promoters"], "--bigwig", bad, "--reader", reader,
                             "--outdir", out])
        assert code == 0, text
        h = _manifest(out)["health"]["bad"]
        other = "posinf_records" if key == "nan_records" else "nan_records"
        assert (h[key], h[other], h["nonfinite_windows"], h["masked_windows"]) == (n_rec, 0, n_win, 0)
        assert h["lost_fraction"] == round(n_win / h["windows"], 6)
        import h5py
        import json

        with h5py.File(out / "signal.bad.h5") as f:
            assert json.loads(f.attrs["health"]) == h
    code, text, _ = cli(["extract", "--promoters", tracks["promoters"], "--bigwig", ref, "--outdir", tmp_path / "ref"])
    assert code == 0, text
    for a, b in zip(_signal_arrays(tmp_path / "native" / "signal.bad.h5"),
                    _signal_arrays(tmp_path / "ref" / "signal.ref.h5")):
        assert a.tobytes() == b.tobytes()
    kind = "NaN" if key == "nan_records" else "+inf"
    warned = [r.message for r in caplog.records if "bases without data" in r.message]
    assert warned and f"{n_rec if kind == 'NaN' else 0} NaN and {n_rec if kind == '+inf' else 0} +inf" in warned[0]


def test_log2_ratio_track_is_refused_naming_chromosome_count_and_track_kinds(tracks, tmp_path):
    """bigwigCompare --operation log2 without a pseudocount: -inf where the signal is 0, negative
    values below the input."""
    recs = {}
    for c, (s, e, v) in _coverage().items():
        with np.errstate(divide="ignore"):
            recs[c] = (s, e, np.log2(v / 4.0))
    bad = _write_bw(tmp_path / "log2ratio.bw", recs)
    s, e, v = recs["Chr1"]
    neg = v < 0
    n_rec, _ = _touching(tracks["prom"], "Chr1", s[neg], e[neg])
    n_inf, _ = _touching(tracks["prom"], "Chr1", s[np.isneginf(v)], e[np.isneginf(v)])
    msg = assert_clear_error(["extract", "--promoters", tracks["promoters"], "--bigwig", bad,
                              "--outdir", tmp_path / "o"], bad, "chromosome Chr1", outdir=tmp_path / "o")
    assert f"{n_rec:,} of " in msg and "below 0" in msg and f"{n_inf:,} are -inf" in msg
    assert "log-ratio" in msg and "coverage" in msg and "--peaks" in msg and "control" in msg


def test_subtracted_track_is_refused(tracks, tmp_path):
    """bigwigCompare --operation subtract: finite values below 0, no infinity."""
    recs = {c: (s, e, v - 3.0) for c, (s, e, v) in _coverage().items()}
    bad = _write_bw(tmp_path / "subtract.bw", recs)
    msg = assert_clear_error(["extract", "--promoters", tracks["promoters"], "--bigwig", bad,
                              "--outdir", tmp_path / "o"], bad, "chromosome Chr1", outdir=tmp_path / "o")
    assert "below 0 (minimum -3)" in msg and "-inf" not in msg


def test_mostly_undefined_track_is_refused(tracks, tmp_path):
    """A ratio of two sparse tracks (0/0 = NaN almost everywhere): refused, not extracted as zeros."""
    recs, (bs, be), _ = _edited("Chr1", 1, np.nan)
    recs["Chr2"] = (recs["Chr2"][0], recs["Chr2"][1], np.where(np.arange(recs["Chr2"][0].size) % 2, np.nan,
                                                               recs["Chr2"][2]))
    bad = _write_bw(tmp_path / "ratio.bw", recs)
    n_rec, _ = _touching(tracks["prom"], "Chr1", bs, be)
    msg = assert_clear_error(["extract", "--promoters", tracks["promoters"], "--bigwig", bad,
                              "--outdir", tmp_path / "o"], bad, "chromosome Chr1", outdir=tmp_path / "o")
    assert "NaN/+inf records" in msg and f"({n_rec:,} on this chromosome)" in msg and "more than 50%" in msg


def test_signed_control_track_is_refused_naming_the_control(tracks, tmp_path):
    ctl = _write_bw(tmp_path / "input_log.bw", {c: (s, e, v - 1.0) for c, (s, e, v) in _coverage().items()})
    sheet = tmp_path / "samplesheet.csv"
    sheet.write_text(f"tf,bigwig,control\nTF1,{tracks['clean']},{ctl}\n")
    msg = assert_clear_error(["extract", "--promoters", tracks["promoters"], "--samplesheet", sheet,
                              "--outdir", tmp_path / "o"], ctl, "chromosome Chr1", outdir=tmp_path / "o")
    assert "below 0" in msg


@pytest.mark.parametrize("value,words", [("inf", "non-finite signal value 'inf'"),
                                         ("nan", "non-finite signal value 'nan'"),
                                         ("-2.5", "negative signal value")])
def test_peak_values_that_are_not_coverage_are_refused(tracks, tmp_path, value, words):
    f = tmp_path / "tf.narrowPeak"
    f.write_text("Chr1\t2900\t3100\tp1\t0\t.\t5.0\t1\t1\t100\n"
                 f"Chr1\t5600\t5800\tp2\t0\t.\t{value}\t1\t1\t100\n")
    msg = assert_clear_error(["extract", "--promoters", tracks["promoters"], "--peaks", f,
                              "--outdir", tmp_path / "o"], f, "line 2", outdir=tmp_path / "o")
    assert words in msg and "--peak-value" in msg and "(1 such peaks)" in msg


def _edges(tmp_path: Path, prom: pd.DataFrame, third: str) -> Path:
    g = prom["gene_id"].tolist()
    f = tmp_path / "coexpression.tsv"
    f.write_text("gene_a\tgene_b\tz\n" + "".join(f"{g[i]}\t{g[i + 1]}\t{5 + i}\n" for i in range(8))
                 + f"{g[10]}\t{g[11]}\t{third}\n")
    return f


def test_infinite_coexpression_score_is_refused_naming_the_line(tracks, tmp_path):
    f = _edges(tmp_path, tracks["prom"], "inf")
    msg = assert_clear_error(["pairs", "--coexpression", f, "--promoters", tracks["promoters"], "--threshold",
                              "3", "--outdir", tmp_path / "o"], f, "line 10", outdir=tmp_path / "o")
    assert "1 infinite co-expression score" in msg and "NaN: no score" in msg


def test_nan_coexpression_score_is_no_score_and_counted(tracks, tmp_path):
    import json

    f = _edges(tmp_path, tracks["prom"], "nan")
    code, out, _ = cli(["pairs", "--coexpression", f, "--promoters", tracks["promoters"], "--threshold", "3",
                        "--folds", "2", "--outdir", tmp_path / "o"])
    assert code == 0, out
    counts = json.loads((tmp_path / "o" / "pairs.report.json").read_text())["counts"]
    assert counts["nan_scores"] == 1 and counts["positives_listed"] == 8


def test_infinite_matrix_cell_is_refused_naming_the_cell(tracks, tmp_path):
    g = tracks["prom"]["gene_id"].tolist()[:6]
    m = np.arange(36, dtype=float).reshape(6, 6) / 10
    m[2, 4] = -np.inf
    f = tmp_path / "matrix.tsv"
    pd.DataFrame(m, index=g, columns=g).to_csv(f, sep="\t")
    msg = assert_clear_error(["pairs", "--coexpression", f, "--promoters", tracks["promoters"], "--top-n", "2",
                              "--outdir", tmp_path / "o"], f, f"row {g[2]}, column {g[4]}", outdir=tmp_path / "o")
    assert "infinite co-expression score" in msg


@pytest.mark.parametrize("where", ["signal", "control_signal"])
def test_signal_file_with_values_that_are_not_coverage_is_refused_by_normalize(tmp_path, where):
    """A signal.h5 written from a log-ratio track by another tool or an earlier version."""
    from tfvocab.formats import Geometry, SignalWriter

    rng = np.random.default_rng(0)
    sig = rng.gamma(1.0, 2.0, size=(40, 10, 2)).astype(np.float32)
    ctl = rng.gamma(1.0, 2.0, size=(40, 10, 1)).astype(np.float32)
    (sig if where == "signal" else ctl)[7, 3, -1] = -1.5
    path = tmp_path / "signal.h5"
    with SignalWriter(path, genes=[f"AT1G{i:05d}" for i in range(40)], tfs=["TFA", "TFB"],
                      geometry=Geometry(upstream=0, downstream=9, window=1, stride=1), controls=["input"],
                      tf_control=np.array([0, 0]), lineage={"promoters": "p"}) as w:
        w.write(0, signal=sig, max=sig, mask=np.zeros(sig.shape, bool), control_signal=ctl,
                control_mask=np.zeros(ctl.shape, bool))
    name = "TFB" if where == "signal" else "input"
    msg = assert_clear_error(["normalize", "--signal", path, "--outdir", tmp_path / "n"], path, where,
                             f"'{name}'", outdir=tmp_path / "n")
    assert "gene 8, window 4" in msg and "-1.5" in msg and "re-extract" in msg


def test_report_names_the_track_that_loses_far_more_windows(tracks, tmp_path):
    """NaN records over a quarter of the promoters: extracted (below the refusal level), and the
    report's Summary warns about that one track, its Data QC shows every track's health."""
    recs, _, _ = _edited("Chr1", 3, np.nan, below=25_000)
    lossy = _write_bw(tmp_path / "lossy.bw", recs)
    code, out, _ = cli(["extract", "--promoters", tracks["promoters"], "--bigwig", tracks["clean"], "--bigwig",
                        lossy, "--outdir", tmp_path / "x"])
    assert code == 0, out
    h = _manifest(tmp_path / "x")["health"]
    assert h["clean"]["lost_fraction"] == 0 and 0.1 < h["lossy"]["lost_fraction"] < 0.5
    code, out, _ = cli(["merge", "--outdir", tmp_path / "m", *sorted((tmp_path / "x").glob("signal.*.h5"))])
    assert code == 0, out
    code, out, _ = cli(["report", "--outdir", tmp_path / "r", tmp_path / "m"])
    assert code == 0, out
    text = (tmp_path / "r" / "report.html").read_text()
    summary = text.split('id="evaluation"')[0]
    assert "Track losing windows: lossy loses" in summary and "Track losing windows: clean" not in summary
    assert "Track health (extract, 2 tracks)" in summary and "Track health (extract)</h3>" in text
