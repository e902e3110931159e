"""One source of defaults: every shared option of src/tfvocab/defaults.py has the same default in
nextflow.config, nextflow_schema.json and docs/usage.md, and the modules pass it under its CLI
flag to the steps it lists. Generic: it reads defaults.OPTIONS, so a default changed there (only)
makes this fail until the other places follow. (The click commands read their defaults from
defaults.py themselves.)"""
from __future__ import annotations

import re

import pytest

from tfvocab.defaults import OPTIONS

import nfparse as nf
from pipeline import ROOT, config_params, modules_config_blocks, procs, schema_params

#: params passed to a step that are not shared options (no CLI default to agree with)
NOT_SHARED = {
    "n_tfs": "SIMULATE override of the preset's size (null = the preset's)",
    "n_genes": "SIMULATE override of the preset's size (null = the preset's)",
    "coexpression_threshold": "optional filter of the co-expression list (null = keep every listed pair)",
    "coexpression_top_n": "optional filter of the co-expression list (null = no per-gene cap)",
}
#: shared by the pipeline and the CLI but not yet in defaults.py (checked once it is)
AWAITING_DEFAULTS: set[str] = set()
PARAM_IDS = sorted(OPTIONS)


def doc_value(value) -> str:
    """How docs/usage.md writes a default: `true`/`false`, numbers as Python writes them."""
    return str(value).lower() if isinstance(value, bool) else str(value)


def doc_defaults() -> dict[str, str]:
    """``{param: default cell}`` of the parameter table of docs/usage.md (one row per param)."""
    out = {}
    for line in (ROOT / "docs/usage.md").read_text().splitlines():
        m = re.match(r"\|\s*`--(\w+)`\s*\|\s*([^|]*?)\s*\|", line)
        if m:
            assert m.group(1) not in out, f"docs/usage.md lists --{m.group(1)} twice"
            out[m.group(1)] = m.group(2).strip().strip("`")
    return out


def ext_args_flags() -> dict[str, list[tuple[str, str]]]:
    """``{process: [(flag, param)]}`` of every ``--flag ${params.x}`` / ``params.x ? '--flag'``
    in conf/modules.config's ext.args; a params reference in neither form fails."""
    out = {}
    for proc, body in modules_config_blocks().items():
        src = nf.closure_or_value(body, "ext.args") or ""
        pairs = re.findall(r"(--[\w-]+)\s+\$\{params\.(\w+)\}", src)
        pairs += [(flag, param) for param, flag in re.findall(r"params\.(\w+)\s*\?\s*['\"](--[\w-]+)['\"]", src)]
        referenced = set(re.findall(r"params\.(\w+)", src))
        assert referenced == {p for _, p in pairs}, \
            f"{proc}: ext.args uses params {referenced - {p for _, p in pairs}} in a form this check cannot read"
        out[proc] = pairs
    return out


def _typed_equal(a, b) -> bool:
    return type(a) is type(b) and a == b


@pytest.mark.parametrize("param", PARAM_IDS)
def test_nextflow_config_schema_and_docs_give_the_default_of_defaults_py(param):
    option = OPTIONS[param]
    config = config_params()
    assert param in config, f"params.{param} missing from nextflow.config"
    assert _typed_equal(config[param], option.default), \
        f"nextflow.config: {param} = {config[param]!r}, defaults.py: {option.default!r}"
    spec = schema_params()[param]
    assert _typed_equal(spec.get("default"), option.default), \
        f"nextflow_schema.json: {param} default {spec.get('default')!r}, defaults.py: {option.default!r}"
    kind = {bool: "boolean", int: "integer", float: "number", str: "string"}[type(option.default)]
    assert spec["type"] == kind, f"nextflow_schema.json: {param} is {spec['type']}, the default is a {kind}"
    docs = doc_defaults()
    assert param in docs, f"docs/usage.md has no `--{param}` row"
    assert docs[param] == doc_value(option.default), \
        f"docs/usage.md: --{param} default `{docs[param]}`, defaults.py: {doc_value(option.default)}"


@pytest.mark.parametrize("param", PARAM_IDS)
def test_every_step_of_the_option_gets_it_under_its_flag(param):
    option = OPTIONS[param]
    flags = ext_args_flags()
    for step in option.steps:
        proc = f"TFVOCAB_{step.upper()}"
        if (option.flag, param) in flags.get(proc, []):
            continue
        # or in the module's command, from a meta field the workflow fills from the param
        command = procs()[proc].command_lines[0]
        m = re.search(re.escape(option.flag) + r"\s+\$\{meta\.(\w+)\}", command)
        assert m, f"{proc} does not pass {option.flag} ${{params.{param}}} (ext.args) nor {option.flag} ${{meta.x}}"
        workflow = (ROOT / "workflows/tfvocab.nf").read_text()
        assert f"{m.group(1)}: params.{param}" in workflow, f"meta.{m.group(1)} of {proc} is not params.{param}"


def test_no_module_passes_a_shared_option_under_another_flag():
    for proc, pairs in ext_args_flags().items():
        step = proc.removeprefix("TFVOCAB_").lower()
        for flag, param in pairs:
            if param in OPTIONS:
                option = OPTIONS[param]
                assert flag == option.flag, f"{proc}: params.{param} passed as {flag}, defaults.py says {option.flag}"
                assert step in option.steps, f"{proc}: params.{param} given to `{step}`, defaults.py lists {option.steps}"
            else:
                assert param in NOT_SHARED or param in AWAITING_DEFAULTS, \
                    f"{proc}: params.{param} ({flag}) is not an option of defaults.py: add it there"
            # a flag of a shared option carries that option's param
            for other in OPTIONS.values():
                if other.flag == flag and step in other.steps:
                    assert other.param == param, f"{proc}: {flag} carries params.{param}, defaults.py: params.{other.param}"


def test_the_check_catches_a_divergence(monkeypatch):
    """A default changed in defaults.py only, or passed under another flag, is reported."""
    from dataclasses import replace

    import test_defaults as me
    changed = dict(OPTIONS)
    changed["epochs"] = replace(OPTIONS["epochs"], default=OPTIONS["epochs"].default + 1)
    monkeypatch.setattr(me, "OPTIONS", changed)
    with pytest.raises(AssertionError, match="epochs"):
        me.test_nextflow_config_schema_and_docs_give_the_default_of_defaults_py("epochs")
    renamed = dict(OPTIONS)
    renamed["model_input"] = replace(OPTIONS["model_input"], flag="--model-input")
    monkeypatch.setattr(me, "OPTIONS", renamed)
    with pytest.raises(AssertionError, match="--model-input"):
        me.test_no_module_passes_a_shared_option_under_another_flag()
