"""Contract tests of the Nextflow layer against the package, without Nextflow.

* every module's ``tfvocab <step>`` command line (with the ext.args of conf/modules.config, every
  branch of its optional options) is accepted by the step's click command: options exist,
  required ones are given, choices valid;
* includes resolve, every ``X.out.<name>`` used exists as an ``emit:``;
* nextflow_schema.json declares exactly the params of nextflow.config, with the same defaults;
* the workflow runs the steps in the pipeline's order and publishes one folder per step;
* every module has meta.yml, environment.yml, a stub, tag, label, versions, task.cpus passed on.
(Samplesheets: tests/test_samplesheet.py; meta.yml against main.nf: test_meta_yml.py.)
"""
from __future__ import annotations

import importlib
import itertools
import json
import re
import shlex
from pathlib import Path

import click
import jsonschema
import pytest
import yaml

from tfvocab.cli import STEPS
from tfvocab.cli import main as tfvocab_main

import nfparse as nf
from pipeline import (FOLD_STEPS, LABELS, MODULE_IDS, MODULES, NF_SCHEMA_INTERNALS, PIPELINE_ORDER, ROOT,
                      config_params, modules_config_blocks, nextflow_files, procs, schema, schema_params,
                      step_of)

#: path inputs that are folders (SIMULATE's truth/)
DIR_INPUTS = {"truth"}


# --------------------------------------------------------------------------------------------
# params
# --------------------------------------------------------------------------------------------
def _dummy_param_value(name: str):
    """A value for ``params.name``: its default, or a valid non-null value of its schema type."""
    value = config_params().get(name)
    if value is not None:
        return value
    spec = schema_params()[name]
    if "enum" in spec:
        return spec["enum"][0]
    if spec.get("type") in ("integer", "number"):
        low = spec.get("minimum", spec.get("exclusiveMinimum", 0) + 1)
        return max(low, 2) if spec["type"] == "integer" else max(low, 1.5)
    return {"boolean": True}.get(spec.get("type"), f"{name}.txt")


def test_schema_params_equal_config_params():
    config, declared = set(config_params()), set(schema_params())
    assert config - declared - NF_SCHEMA_INTERNALS == set(), "params in nextflow.config missing from nextflow_schema.json"
    assert declared - config - NF_SCHEMA_INTERNALS == set(), "params in nextflow_schema.json missing from nextflow.config"


def test_schema_is_valid_draft_2020_12_and_defaults_match_config():
    s = schema()
    assert s["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    jsonschema.Draft202012Validator.check_schema(s)
    assert {ref["$ref"].split("/")[-1] for ref in s["allOf"]} == set(s["$defs"])
    config = config_params()
    computed = {"trace_report_suffix", "custom_config_base"}     # Groovy expressions in the config
    for name, spec in schema_params().items():
        if "default" in spec and name not in computed:
            assert spec["default"] == config[name] and type(spec["default"]) is type(config[name]), \
                f"default of {name}: schema {spec['default']!r} vs config {config[name]!r}"
        elif name not in computed:
            assert config[name] is None, f"{name} has a config default but none in the schema"
    assert schema_params()["custom_config_base"]["default"] == \
        f"https://raw.githubusercontent.com/nf-core/configs/{config['custom_config_version']}"
    # the config defaults validate against the schema
    defaults = {k: v for k, v in config.items() if v is not None and k not in computed}
    jsonschema.Draft202012Validator(s).validate(defaults)


def test_schema_accepts_the_documented_real_data_command():
    """README / docs/usage.md run the pipeline on TAIR10_chr_all.fas and Araport11_GFF3_genes.gff."""
    props = schema_params()
    for name, value in [("fasta", "TAIR10_chr_all.fas"), ("fasta", "genome.fa.gz"), ("fasta", "x.fna"),
                        ("gff", "Araport11_GFF3_genes.gff"), ("gff", "TAIR10_GFF3_genes.gff3.gz"),
                        ("input", "samplesheet.csv")]:
        assert re.search(props[name]["pattern"], value), f"--{name} {value} fails the schema pattern {props[name]['pattern']}"
    for text in (ROOT / "README.md").read_text(), (ROOT / "docs/usage.md").read_text():
        for m in re.finditer(r"--(fasta|gff|input) ([^\s$]\S*)", text):
            assert re.search(props[m.group(1)]["pattern"], m.group(2)), m.group(0)


def test_every_params_reference_is_declared():
    declared = set(config_params()) | NF_SCHEMA_INTERNALS
    for path in nextflow_files():
        text = nf.strip_comments(path.read_text())
        for name in re.findall(r"(?<![\w/.])params\.(\w+)", text):
            assert name in declared, f"{path.relative_to(ROOT)}: params.{name} is not declared in nextflow.config"
        for m in re.finditer(r"params\[\s*'(\w+)'\s*\]", text):
            assert m.group(1) in declared
    # profiles only set declared params
    for profile, values in nf.profile_params(ROOT / "nextflow.config").items():
        assert set(values) <= declared, f"profile {profile} sets undeclared params {set(values) - declared}"


# --------------------------------------------------------------------------------------------
# includes, emits, order
# --------------------------------------------------------------------------------------------
def _definitions(path: Path) -> set[str]:
    text = nf.strip_comments(path.read_text())
    return set(re.findall(r"(?m)^\s*(?:process|workflow|def)\s+(\w+)", text))


def _resolve(base: Path, source: str) -> Path | None:
    for cand in (base / source, base / f"{source}.nf", base / source / "main.nf"):
        if cand.is_file():
            return cand
    return None


def test_includes_resolve_to_definitions():
    checked = 0
    for path in nextflow_files():
        if path.suffix != ".nf":
            continue
        for name, _alias, source in nf.includes(path):
            if source.startswith("plugin/"):
                continue
            target = _resolve(path.parent, source)
            assert target is not None, f"{path.relative_to(ROOT)}: include from '{source}' does not resolve"
            assert name in _definitions(target), f"{path.relative_to(ROOT)}: {target.relative_to(ROOT)} defines no {name}"
            checked += 1
    assert checked >= len(MODULES) + 3


def _emits_of(path: Path) -> dict[str, set[str]]:
    """emits of every process / named workflow reachable through the includes of ``path``."""
    out: dict[str, set[str]] = {}
    for name, alias, source in nf.includes(path):
        if source.startswith("plugin/"):
            continue
        target = _resolve(path.parent, source)
        ps = nf.processes(target)
        if name in ps:
            out[alias] = set(ps[name].emits)
        wfs = nf.workflows(target)
        if name in wfs:
            out[alias] = set(nf.workflow_emits(wfs[name]))
    return out


def test_every_out_channel_used_is_emitted():
    used = 0
    for path in [ROOT / "main.nf", *sorted((ROOT / "workflows").glob("*.nf")), *sorted((ROOT / "subworkflows").rglob("*.nf"))]:
        emits = _emits_of(path)
        text = nf.strip_comments(path.read_text())
        for proc, channel in re.findall(r"\b([A-Z][A-Z0-9_]*)\.out\.(\w+)", text):
            assert proc in emits, f"{path.relative_to(ROOT)}: {proc} is not included"
            assert channel in emits[proc], f"{path.relative_to(ROOT)}: {proc}.out.{channel} is not an emit of {proc} ({sorted(emits[proc])})"
            used += 1
    assert used > 20


def test_workflow_runs_steps_in_pipeline_order():
    body = nf.workflows(ROOT / "workflows/tfvocab.nf")["TFVOCAB"]
    calls = [m.group(1) for m in re.finditer(r"(?m)^\s*(TFVOCAB_[A-Z]+)\(", body)]
    assert [step_of(c) for c in calls] == PIPELINE_ORDER
    assert sorted(MODULE_IDS) == sorted(PIPELINE_ORDER), "every module is called, every step has its module"
    # the CLI lists the steps in the same order (steps it does not have yet are skipped here)
    cli_order = [s for s in STEPS if s in PIPELINE_ORDER]
    assert cli_order == [s for s in PIPELINE_ORDER if s in STEPS]


def test_folds_scatter_train_and_evaluate_and_fold0_feeds_interpret_predict():
    body = nf.workflows(ROOT / "workflows/tfvocab.nf")["TFVOCAB"]
    assert re.search(r"channel\.fromList\(\(0\.\.<\(params\.folds as int\)\)", body), "one TRAIN task per fold"
    assert "fold: fold" in body
    assert re.search(r"TFVOCAB_INTERPRET\(ch_model_pairs\.filter \{ item -> item\[0\]\.fold == 0 \}", body)
    assert re.search(r"TFVOCAB_PREDICT\(ch_model_data\.filter \{ item -> item\[0\]\.fold == 0 \}", body)
    assert "TFVOCAB_SUMMARIZE(ch_fold_metrics)" in body and "TFVOCAB_EVALUATE.out.metrics" in body
    assert "TFVOCAB_SUMMARIZE.out.json" in body.split("ch_report_in", 1)[1], "REPORT gets the summary"
    summarize = procs()["TFVOCAB_SUMMARIZE"]
    assert "stageAs: 'metrics.fold*.json'" in summarize.sections["input"], "distinct names for the folds' metrics.json"
    train = procs()["TFVOCAB_TRAIN"]
    assert "--fold ${meta.fold}" in train.command_lines[0]
    assert "--folds ${params.folds}" in nf.closure_or_value(modules_config_blocks()["TFVOCAB_PAIRS"], "ext.args")


def test_publish_dirs_are_one_folder_per_step():
    blocks = modules_config_blocks()
    for proc in procs():
        step = step_of(proc)
        assert proc in blocks, f"conf/modules.config has no withName: '{proc}'"
        publish = nf.closure_or_value(blocks[proc], "publishDir")
        folder = f"${{params.outdir}}/{step}" + ("/fold_${meta.fold}" if step in FOLD_STEPS else "")
        assert publish and f'"{folder}"' in publish, f"{proc}: publishDir {publish}"
        assert "versions.yml" in publish, f"{proc}: versions.yml must not be published"


# --------------------------------------------------------------------------------------------
# modules
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("module", MODULES, ids=MODULE_IDS)
def test_module_files_and_conventions(module: Path):
    for f in ("main.nf", "meta.yml", "environment.yml", "tests/main.nf.test"):
        assert (module / f).is_file(), f"{module.name}/{f} is missing"
    ps = nf.processes(module / "main.nf")
    assert list(ps) == [f"TFVOCAB_{module.name.upper()}"]
    p = ps[f"TFVOCAB_{module.name.upper()}"]
    d = p.directives
    assert re.search(r"(?m)^\s*tag\s+['\"]", d), "no tag"
    if module.name in FOLD_STEPS | {"interpret", "predict"}:
        assert "fold ${meta.fold}" in d, "per-fold tasks are tagged with their fold"
    labels = re.findall(r"(?m)^\s*label\s+['\"](\w+)['\"]", d)
    assert len(labels) == 1 and labels[0] in LABELS, f"labels {labels}"
    assert (labels[0] == "process_gpu") == (module.name == "train"), "only TRAIN runs on the GPU"
    if module.name == "train":
        # the CUDA environment when the task has an accelerator (-profile conda,gpu)
        assert '''conda "${moduleDir}/${task.accelerator ? 'environment.gpu.yml' : 'environment.yml'}"''' in d
        assert (module / "environment.gpu.yml").is_file()
    else:
        assert re.search(r'(?m)^\s*conda\s+"\$\{moduleDir\}/environment.yml"', d), "conda directive"
    assert re.search(r"(?m)^\s*container\s+'ghcr\.io/tfvocab/tfvocab:[\d.]+'$", d), "the CPU image; conf/base.config decides the rest"
    assert "stub" in p.sections and "touch" in p.sections["stub"], "stub block touching outputs"
    assert "versions" in p.emits and 'path "versions.yml", emit: versions' in p.sections["output"]
    assert "versions.yml" in p.sections["stub"] and "versions.yml" in p.script
    assert re.search(r"(?m)^\s*def args = task\.ext\.args \?: ''", p.script)
    assert len(p.command_lines) == 1, f"exactly one tfvocab command, got {p.command_lines}"
    assert p.command_lines[0].split()[1] == module.name
    assert "${args}" in p.command_lines[0]
    # threads follow the task's cpus (inside the container: beforeScript runs on the host)
    assert "export OMP_NUM_THREADS=${task.cpus}" in p.script
    # inputs: tuple val(meta), path(...) (plus lone path/val inputs)
    assert p.inputs and re.match(r"(tuple val\(meta\), path\(|val\(meta\)$)", p.inputs[0]), p.inputs[0]
    # every literal (non-glob) output file is touched by the stub
    for name in re.findall(r'path\("([^"*?{}$]+)"\)', p.sections["output"]):
        if "/" not in name:
            assert name in p.sections["stub"], f"stub does not create {name}"
    meta = yaml.safe_load((module / "meta.yml").read_text())
    assert meta["name"] == f"tfvocab_{module.name}"
    for env_file in sorted(module.glob("environment*.yml")):
        env = yaml.safe_load(env_file.read_text())
        assert env["channels"] == ["conda-forge", "bioconda"], env_file.name
        deps = env["dependencies"]
        assert all(isinstance(dep, str) and re.match(r"(conda-forge|bioconda)::\S+$", dep) for dep in deps if not isinstance(dep, dict))
        pips = [dep["pip"] for dep in deps if isinstance(dep, dict)]
        assert len(pips) == 1 and all(not re.match(r"\.|/", spec) for spec in pips[0]), \
            f"{env_file.name}: pip installs the released package, not a path relative to the conda working folder ({pips})"
        torch = [dep for dep in deps if isinstance(dep, str) and "pytorch" in dep]
        assert torch == (["conda-forge::pytorch-gpu>=2.1"] if env_file.name == "environment.gpu.yml" else ["conda-forge::pytorch-cpu>=2.1"])


def test_extract_passes_cpus_and_the_track_kind():
    p = procs()["TFVOCAB_EXTRACT"]
    assert "--jobs ${task.cpus}" in p.command_lines[0]
    assert p.script_defs["track_opt"] == """meta.kind == 'peaks' ? "--peaks ${track}" : "--bigwig ${track}\""""


def test_train_resumes_only_on_a_retry_with_a_checkpoint():
    p = procs()["TFVOCAB_TRAIN"]
    defs = p.script_defs
    assert defs["device"] == "task.accelerator ? '--device cuda' : ''", "no GPU asked = no --device cuda"
    assert defs["checkpoint_dir"] == "task.ext.checkpoint_dir ?: ''"
    assert defs["resume"].startswith("task.attempt > 1 && checkpoint_dir && file(\"${checkpoint_dir}/checkpoint.pt\").exists()")
    for opt in ("${device}", "${checkpoint}", "${resume}"):
        assert opt in p.command_lines[0]
    ckpt = nf.closure_or_value(modules_config_blocks()["TFVOCAB_TRAIN"], "ext.checkpoint_dir")
    assert "${workflow.sessionId}/fold_${meta.fold}" in ckpt, "keyed by run id and fold"
    assert "params.checkpoint_dir" in ckpt and "contains('://')" in ckpt


# --------------------------------------------------------------------------------------------
# the command lines against the click CLI
# --------------------------------------------------------------------------------------------
def _ext_args(process: str) -> str:
    """ext.args of ``process`` in conf/modules.config, with every optional flag switched on."""
    block = modules_config_blocks().get(process, "")
    src = nf.closure_or_value(block, "ext.args")
    if not src:
        return ""
    parts = [lit for lit in nf.string_literals(src) if lit.lstrip().startswith("--")]
    return " ".join(_interpolate(part, {}) for part in parts)


def _interpolate(text: str, values: dict[str, str]) -> str:
    def sub(m: re.Match) -> str:
        expr = m.group(1) or m.group(2)
        if expr.startswith("params."):
            value = _dummy_param_value(expr.split(".", 1)[1])
            return str(value).lower() if isinstance(value, bool) else str(value)
        if expr in values:
            return values[expr]
        raise KeyError("no dummy value for ${" + expr + "}")
    return re.sub(r"\$\{([^}]+)\}|\$(\w+(?:\.\w+)*)", sub, text)


def _def_variants(expr: str) -> list[str]:
    """The option strings a script-local ``def x = cond ? "--opt ${y}" : ''`` can take: every
    non-empty string branch (each is checked), or '' when it has none."""
    lits = nf.string_literals(expr)
    options = [lit for lit in lits if lit.strip().startswith("--")]
    return options + ([""] if not options or "" in lits else [])


def _dummy_commands(p: nf.Process, workdir: Path) -> list[list[str]]:
    """The module's command with Nextflow interpolations replaced by dummy values of the right
    kind (staged files/folders that exist under ``workdir``, meta fields, ext.args), once per
    combination of its optional options."""
    values = {"meta.id": "TF1", "meta.preset": "tiny", "meta.seed": "0", "meta.fold": "0",
              "args": _ext_args(p.name), "task.cpus": "2", "checkpoint_dir": str(workdir / "ckpt")}
    for m in re.finditer(r"path\((\w+)(?:,\s*stageAs:\s*'([^']+)')?\)", p.sections["input"]):
        name, stage = m.group(1), m.group(2)
        if stage and "*" in stage:
            files = [workdir / stage.replace("*", str(i)) for i in (1, 2)]
            for f in files:
                f.parent.mkdir(parents=True, exist_ok=True)
                f.touch()
            values[name] = " ".join(str(f.relative_to(workdir)) for f in files)
        elif name in DIR_INPUTS:
            (workdir / name).mkdir(exist_ok=True)
            values[name] = name
        else:
            (workdir / f"{name}.dat").touch()
            values[name] = f"{name}.dat"
    defs = {name: expr for name, expr in p.script_defs.items() if name not in ("args", "prefix") and name not in values}
    commands = []
    for combo in itertools.product(*(_def_variants(expr) for expr in defs.values())):
        local = dict(values)
        for name, option in zip(defs, combo):
            local[name] = option
        for name, option in zip(defs, combo):
            local[name] = _interpolate(option, local)
        commands.append(shlex.split(_interpolate(p.command_lines[0], local)))
    return commands


def _command_available(step: str) -> bool:
    try:
        importlib.import_module(f"tfvocab.commands.{step}")
    except ModuleNotFoundError as exc:
        if exc.name == f"tfvocab.commands.{step}":
            return False
        raise
    return True


@pytest.mark.parametrize("module", MODULES, ids=MODULE_IDS)
def test_module_command_line_is_accepted_by_the_cli(module: Path, tmp_path, monkeypatch):
    p = next(iter(nf.processes(module / "main.nf").values()))
    commands = _dummy_commands(p, tmp_path)
    step = commands[0][1]
    assert all(argv[0] == "tfvocab" and argv[1] == module.name for argv in commands)
    if step not in STEPS or not _command_available(step):
        pytest.skip(f"`tfvocab {step}` does not exist yet (step command not landed)")
    monkeypatch.chdir(tmp_path)
    with click.Context(tfvocab_main) as ctx:
        command = tfvocab_main.get_command(ctx, step)
    known = {opt for prm in command.params for opt in (*prm.opts, *prm.secondary_opts)}
    for argv in commands:
        args = argv[2:]
        # every option on the line exists for this sub-command
        for tok in args:
            if tok.startswith("--"):
                assert tok.split("=")[0] in known, f"`tfvocab {step}` has no option {tok} (line: {' '.join(argv)})"
        # every required option is given
        for prm in command.params:
            if isinstance(prm, click.Option) and prm.required:
                assert any(o in args for o in prm.opts), f"`tfvocab {step}`: required {prm.opts[0]} missing"
        # and click parses the whole line (types, choices, files that must exist)
        try:
            command.make_context(step, list(args))
        except click.UsageError as exc:
            pytest.fail(f"`{' '.join(argv)}` rejected by click: {exc.format_message()}")


def test_dummy_command_expansion_catches_a_bad_option(tmp_path):
    """The check above would fail on an option the CLI does not have."""
    p = procs()["TFVOCAB_PROMOTERS"]
    argv = _dummy_commands(p, tmp_path)[0]
    assert argv[:2] == ["tfvocab", "promoters"]
    assert "--upstream" in argv and "2000" in argv   # ext.args expanded from params
    with click.Context(tfvocab_main) as ctx:
        command = tfvocab_main.get_command(ctx, "promoters")
    with pytest.raises(click.UsageError):
        command.make_context("promoters", argv[2:] + ["--no-such-option", "1"])


def test_every_branch_of_an_optional_option_is_checked(tmp_path):
    """TRAIN's --device/--checkpoint-dir/--resume are each expanded on and off (8 lines)."""
    lines = [" ".join(argv) for argv in _dummy_commands(procs()["TFVOCAB_TRAIN"], tmp_path)]
    assert len(lines) == 8
    assert sum("--device cuda" in ln for ln in lines) == 4 and sum("--resume" in ln for ln in lines) == 4
    assert any("--checkpoint-dir" in ln and "--resume" in ln and "--device cuda" in ln for ln in lines)
    assert any(not any(o in ln for o in ("--checkpoint-dir", "--resume", "--device")) for ln in lines)
