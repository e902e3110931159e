"""Contract tests of the Nextflow layer against the package, without Nextflow.

* every module's ``tfvocab <step>`` command line (with the ext.args of conf/modules.config) is
  accepted by the step's click command: options exist, required ones are given, choices valid;
* includes resolve, every ``X.out.<name>`` used exists as an ``emit:``;
* nextflow_schema.json declares exactly the params of nextflow.config;
* samplesheets validate against assets/schema_input.json;
* every module has meta.yml (matching its emits), environment.yml, a stub, tag, label, versions;
* the workflow runs the steps in tfvocab.cli.STEPS order and publishes one folder per step.
"""
from __future__ import annotations

import csv
import importlib
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

ROOT = Path(__file__).resolve().parents[2]
MODULES = sorted(p.parent for p in (ROOT / "modules/local").glob("*/main.nf"))
MODULE_IDS = [m.name for m in MODULES]
#: the steps the pipeline runs, in order (tune and demo are not pipeline processes)
PIPELINE_STEPS = [s for s in STEPS if s not in ("tune", "demo")]
#: params nf-schema handles itself (documented in docs/usage.md); none is used at the moment
NF_CORE_INTERNALS = {"help", "help_full", "show_hidden"}
LABELS = {"process_single", "process_low", "process_medium", "process_high", "process_gpu"}
#: path inputs that are folders (SIMULATE's truth/)
DIR_INPUTS = {"truth"}



def _procs() -> dict[str, nf.Process]:
    out = {}
    for m in MODULES:
        out.update(nf.processes(m / "main.nf"))
    return out


def _step_of(process: str) -> str:
    return process.removeprefix("TFVOCAB_").lower()


def _nextflow_files() -> list[Path]:
    return [p for p in ROOT.rglob("*") if p.suffix in (".nf", ".config") and p.is_file()
            and not any(part in ("work", ".nextflow", ".nf-test", "results", ".git") for part in p.relative_to(ROOT).parts)]


# --------------------------------------------------------------------------------------------
# params
# --------------------------------------------------------------------------------------------
def _config_params() -> dict:
    return {k: nf.literal(v) for k, v in nf.config_params(ROOT / "nextflow.config").items()}


def _schema_params() -> dict[str, dict]:
    schema = json.loads((ROOT / "nextflow_schema.json").read_text())
    props = dict(schema.get("properties", {}))
    for group in schema.get("$defs", {}).values():
        props.update(group.get("properties", {}))
    return props


def _dummy_param_value(name: str):
    """A value for ``params.name``: its default, or a valid non-null value of its schema type."""
    value = _config_params().get(name)
    if value is not None:
        return value
    spec = _schema_params()[name]
    if "enum" in spec:
        return spec["enum"][0]
    if spec.get("type") in ("integer", "number"):
        low = spec.get("minimum", spec.get("exclusiveMinimum", 0) + 1)
        return max(low, 2) if spec["type"] == "integer" else max(low, 1.5)
    return {"boolean": True}.get(spec.get("type"), f"{name}.txt")


def test_schema_params_equal_config_params():
    config, schema = set(_config_params()), set(_schema_params())
    assert config - schema - NF_CORE_INTERNALS == set(), "params in nextflow.config missing from nextflow_schema.json"
    assert schema - config - NF_CORE_INTERNALS == set(), "params in nextflow_schema.json missing from nextflow.config"


def test_schema_is_valid_draft_2020_12_and_defaults_match_config():
    schema = json.loads((ROOT / "nextflow_schema.json").read_text())
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    jsonschema.Draft202012Validator.check_schema(schema)
    assert {ref["$ref"].split("/")[-1] for ref in schema["allOf"]} == set(schema["$defs"])
    config = _config_params()
    for name, spec in _schema_params().items():
        if "default" in spec:
            assert spec["default"] == config[name], f"default of {name}: schema {spec['default']!r} vs config {config[name]!r}"
        else:
            assert config[name] is None or name == "trace_report_suffix", f"{name} has a config default but none in the schema"
    # the config defaults validate against the schema
    defaults = {k: v for k, v in config.items() if v is not None and k != "trace_report_suffix"}
    jsonschema.Draft202012Validator(schema).validate(defaults)


def test_every_params_reference_is_declared():
    declared = set(_config_params())
    for path in _nextflow_files():
        text = nf.strip_comments(path.read_text())
        for name in re.findall(r"(?<![\w/.])params\.(\w+)", text):
            assert name in declared, f"{path.relative_to(ROOT)}: params.{name} is not declared in nextflow.config"
        for m in re.finditer(r"params\[\s*'(\w+)'\s*\]", text):
            assert m.group(1) in declared
    # profile configs only set declared params
    for conf in (ROOT / "conf").glob("*.config"):
        assert set(nf.config_params(conf)) <= declared, conf.name


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
    for path in _nextflow_files():
        if path.suffix != ".nf":
            continue
        for name, _alias, source in nf.includes(path):
            if source.startswith("plugin/"):
                continue
            target = _resolve(path.parent, source)
            assert target is not None, f"{path.relative_to(ROOT)}: include from '{source}' does not resolve"
            assert name in _definitions(target), f"{path.relative_to(ROOT)}: {target.relative_to(ROOT)} defines no {name}"
            checked += 1
    assert checked >= len(MODULES) + 1


def _emits_of(path: Path) -> dict[str, set[str]]:
    """emits of every process / named workflow reachable through the includes of ``path``."""
    out: dict[str, set[str]] = {}
    for name, alias, source in nf.includes(path):
        if source.startswith("plugin/"):
            continue
        target = _resolve(path.parent, source)
        procs = nf.processes(target)
        if name in procs:
            out[alias] = set(procs[name].emits)
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
    assert [_step_of(c) for c in calls] == PIPELINE_STEPS
    # every module is called, every step has its module
    assert sorted(MODULE_IDS) == sorted(PIPELINE_STEPS)


def test_publish_dirs_are_one_folder_per_step():
    blocks = nf.with_name_blocks((ROOT / "conf/modules.config").read_text())
    for proc in _procs():
        assert proc in blocks, f"conf/modules.config has no withName: '{proc}'"
        publish = nf.closure_or_value(blocks[proc], "publishDir")
        assert publish and f'"${{params.outdir}}/{_step_of(proc)}"' in publish, f"{proc}: publishDir {publish}"
        assert "versions.yml" in publish, f"{proc}: versions.yml must not be published"


# --------------------------------------------------------------------------------------------
# modules
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("module", MODULES, ids=MODULE_IDS)
def test_module_files_and_conventions(module: Path):
    for f in ("main.nf", "meta.yml", "environment.yml", "tests/main.nf.test"):
        assert (module / f).is_file(), f"{module.name}/{f} is missing"
    procs = nf.processes(module / "main.nf")
    assert list(procs) == [f"TFVOCAB_{module.name.upper()}"]
    p = procs[f"TFVOCAB_{module.name.upper()}"]
    d = p.directives
    assert re.search(r"(?m)^\s*tag\s+['\"]", d), "no tag"
    labels = re.findall(r"(?m)^\s*label\s+['\"](\w+)['\"]", d)
    assert len(labels) == 1 and labels[0] in LABELS, f"labels {labels}"
    assert (labels[0] == "process_gpu") == (module.name == "train"), "only TRAIN runs on the GPU"
    assert re.search(r'(?m)^\s*conda\s+"\$\{moduleDir\}/environment.yml"', d), "conda directive"
    assert re.search(r"(?m)^\s*container\s+['\"]\S+['\"]", d), "container directive"
    assert "stub" in p.sections and "touch" in p.sections["stub"], "stub block touching outputs"
    assert "versions" in p.emits and 'path "versions.yml", emit: versions' in p.sections["output"]
    assert "versions.yml" in p.sections["stub"] and "versions.yml" in p.script
    assert re.search(r"(?m)^\s*def args = task\.ext\.args \?: ''", p.script)
    assert len(p.command_lines) == 1, f"exactly one tfvocab command, got {p.command_lines}"
    assert p.command_lines[0].split()[1] == module.name
    assert "${args}" in p.command_lines[0]
    # inputs: tuple val(meta), path(...) (plus optional lone path/val inputs)
    assert p.inputs and re.match(r"(tuple val\(meta\), path\(|val\(meta\)$)", p.inputs[0]), p.inputs[0]
    # every literal (non-glob) output file is touched by the stub
    for name in re.findall(r'path\("([^"*?{}]+)"\)', p.sections["output"]):
        if "/" not in name:
            assert name in p.sections["stub"], f"stub does not create {name}"
    # meta.yml lists the same inputs and emits
    meta = yaml.safe_load((module / "meta.yml").read_text())
    assert meta["name"] == f"tfvocab_{module.name}"
    assert set(meta["output"]) == set(p.emits)
    meta_inputs = [next(iter(el)) for group in meta["input"] for el in group]
    assert meta_inputs == p.input_names
    env = yaml.safe_load((module / "environment.yml").read_text())
    assert "conda-forge" in env["channels"]
    assert any(isinstance(dep, dict) and "pip" in dep for dep in env["dependencies"])


# --------------------------------------------------------------------------------------------
# the command lines against the click CLI
# --------------------------------------------------------------------------------------------
def _ext_args(process: str) -> str:
    """ext.args of ``process`` in conf/modules.config, with every optional flag switched on."""
    block = nf.with_name_blocks((ROOT / "conf/modules.config").read_text()).get(process, "")
    src = nf.closure_or_value(block, "ext.args")
    if not src:
        return ""
    parts = [lit for lit in nf.string_literals(src) if lit.lstrip().startswith("--")]
    return " ".join(_interpolate(part, {}) for part in parts)


def _interpolate(text: str, values: dict[str, str]) -> str:
    def sub(m: re.Match) -> str:
        expr = m.group(1) or m.group(2)
        if expr.startswith("params."):
            return str(_dummy_param_value(expr.split(".", 1)[1])).lower() if isinstance(
                _dummy_param_value(expr.split(".", 1)[1]), bool) else str(_dummy_param_value(expr.split(".", 1)[1]))
        if expr in values:
            return values[expr]
        raise KeyError(f"no dummy value for ${{{expr}}}")
    return re.sub(r"\$\{([^}]+)\}|\$(\w+(?:\.\w+)*)", sub, text)


def _dummy_command(p: nf.Process, workdir: Path) -> list[str]:
    """The module's command with Nextflow interpolations replaced by dummy values of the right
    kind: staged files/folders that exist under ``workdir``, meta fields, ext.args."""
    values = {"meta.id": "TF1", "meta.preset": "tiny", "meta.seed": "0",
              "args": _ext_args(p.name), "task.cpus": "1"}
    for m in re.finditer(r"path\((\w+)(?:,\s*stageAs:\s*'([^']+)')?\)", p.sections["input"]):
        name, stage = m.group(1), m.group(2)
        if stage and stage.endswith("/*"):
            folder = workdir / stage[:-2]
            folder.mkdir(parents=True, exist_ok=True)
            files = [folder / f"{name}.1.dat", folder / f"{name}.2.dat"]
            for f in files:
                f.touch()
            values[name] = " ".join(str(f.relative_to(workdir)) for f in files)
        elif name in DIR_INPUTS:
            (workdir / name).mkdir(exist_ok=True)
            values[name] = name
        else:
            (workdir / f"{name}.dat").touch()
            values[name] = f"{name}.dat"
    # script-local `def x = cond ? "--opt ${y}" : ''`: expand to the option (checks it too)
    for name, expr in p.script_defs.items():
        if name == "args":
            continue
        lits = [lit for lit in nf.string_literals(expr) if lit.strip()]
        values[name] = _interpolate(lits[0], values) if lits else ""
    return shlex.split(_interpolate(p.command_lines[0], values))


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
    argv = _dummy_command(p, tmp_path)
    assert argv[0] == "tfvocab" and argv[1] in STEPS, argv
    step = argv[1]
    if not _command_available(step):
        pytest.skip(f"tfvocab.commands.{step} does not exist yet (step command not landed)")
    monkeypatch.chdir(tmp_path)
    with click.Context(tfvocab_main) as ctx:
        command = tfvocab_main.get_command(ctx, step)
    args = argv[2:]
    # every option on the line exists for this sub-command
    known = {opt for prm in command.params for opt in (*prm.opts, *prm.secondary_opts)}
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
    p = nf.processes(ROOT / "modules/local/promoters/main.nf")["TFVOCAB_PROMOTERS"]
    argv = _dummy_command(p, tmp_path)
    assert argv[:2] == ["tfvocab", "promoters"]
    assert "--upstream" in argv and "2000" in argv   # ext.args expanded from params
    if _command_available("promoters"):
        with click.Context(tfvocab_main) as ctx:
            command = tfvocab_main.get_command(ctx, "promoters")
        with pytest.raises(click.UsageError):
            command.make_context("promoters", argv[2:] + ["--no-such-option", "1"])


# --------------------------------------------------------------------------------------------
# samplesheets
# --------------------------------------------------------------------------------------------
def _rows(csv_path: Path) -> list[dict]:
    with open(csv_path, newline="") as fh:
        # nf-schema drops empty cells (an empty optional column is "not given")
        return [{k: v for k, v in row.items() if v not in ("", None)} for row in csv.DictReader(fh)]


def _input_schema() -> dict:
    return json.loads((ROOT / "assets/schema_input.json").read_text())


def test_test_samplesheet_validates():
    schema = _input_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    rows = _rows(ROOT / "assets/samplesheet_test.csv")
    assert rows
    jsonschema.validate(rows, schema)
    assert _input_schema()["items"]["properties"]["tf"]["meta"] == ["id"]


@pytest.mark.parametrize("bad", [
    [{"tf": "ABI5"}],                                            # no bigwig
    [{"tf": "AB I5", "bigwig": "a.bw"}],                         # space in the TF name
    [{"tf": "ABI5", "bigwig": "a.bed"}],                         # not a bigWig
    [{"tf": "ABI5", "bigwig": "a.bw", "control": "c.txt"}],      # control not a bigWig
])
def test_schema_rejects_bad_samplesheets(bad):
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(bad, _input_schema())


def test_simulated_samplesheet_validates_and_resolves(tiny_sim):
    """SIMULATE's samplesheet (what -profile test feeds EXTRACT/MERGE) fits the same schema, and
    its paths resolve against its own folder, as workflows/tfvocab.nf resolves them."""
    sheet = tiny_sim / "samplesheet.csv"
    rows = _rows(sheet)
    jsonschema.validate(rows, _input_schema())
    for row in rows:
        assert (sheet.parent / row["bigwig"]).is_file()
        if "control" in row:
            assert (sheet.parent / row["control"]).is_file()
