"""The configuration: no precedence games, GPU decided in one place, executors and images.

The selector test reads nextflow.config with its profiles and every conf/*.config: when two
process selectors (or a generic process setting and a selector) that can match the same process
set the same container / accelerator / containerOptions / clusterOptions, Nextflow's merge order
decides the value. That is how `-profile docker,gpu` once gave TRAIN the CPU image
(test_checker_catches_the_gpu_image_collision reproduces it).
"""
from __future__ import annotations

import re
from pathlib import Path

import nfparse as nf
import nfselectors as sel
from pipeline import ROOT, procs

CONFIGS = [ROOT / "nextflow.config", *sorted((ROOT / "conf").glob("*.config"))]


def _processes() -> list[sel.Process]:
    out = []
    for name, p in procs().items():
        labels = tuple(re.findall(r"(?m)^\s*label\s+['\"](\w+)['\"]", p.directives))
        out.append(sel.Process(name, f"TFVOCAB:{name}", labels))
    return out


def _settings() -> list[sel.ProcessSetting]:
    return sel.process_settings(CONFIGS)


def _block(selector: str, file: str = "conf/base.config") -> dict[str, str]:
    return {s.directive: s.setting.value for s in _settings()
            if s.selectors == (tuple(selector.split(":", 1)),) and s.setting.path == ROOT / file}


def test_no_two_selectors_that_can_match_one_process_set_the_same_guarded_directive():
    settings = _settings()
    assert len([s for s in settings if s.directive in sel.GUARDED]) >= 5, "the checker sees the settings"
    found = sel.collisions(settings, _processes())
    assert not found, "precedence decides these values:\n" + sel.describe(found, ROOT)


def _mini_pipeline(tmp_path: Path, base: str, profiles: str) -> list[Path]:
    (tmp_path / "conf").mkdir()
    (tmp_path / "conf/base.config").write_text(base)
    (tmp_path / "nextflow.config").write_text(f"includeConfig 'conf/base.config'\nprofiles {{\n{profiles}\n}}\n")
    return [tmp_path / "nextflow.config", tmp_path / "conf/base.config"]


def test_checker_catches_the_gpu_image_collision(tmp_path):
    """The defect of the previous conf/base.config: a multi-label container selector created after
    the plain process_gpu one, and the gpu profile setting the container of process_gpu."""
    configs = _mini_pipeline(tmp_path, """
process {
    withLabel: 'process_gpu' {
        cpus = 8
    }
    withLabel: 'process_single|process_low|process_medium|process_high|process_gpu' {
        container = params.container
    }
}
""", """
    gpu {
        process {
            withLabel: 'process_gpu' {
                accelerator      = 1
                container        = params.container_gpu
            }
        }
    }
""")
    train = sel.Process("TFVOCAB_TRAIN", "TFVOCAB:TFVOCAB_TRAIN", ("process_gpu",))
    found = sel.collisions(sel.process_settings(configs), [train])
    text = sel.describe(found, tmp_path)
    assert [(p.name, d) for p, d, _ in found] == [("TFVOCAB_TRAIN", "container")], text
    assert "process_single|process_low|process_medium|process_high|process_gpu" in text and "profile gpu" in text


def test_checker_catches_a_generic_setting_overridden_by_a_selector(tmp_path):
    """-profile slurm's old `withLabel: 'process_gpu' { clusterOptions = '--gres=gpu:1' }` replaced
    the clusterOptions every other process gets (e.g. --account); withName vs withLabel too."""
    configs = _mini_pipeline(tmp_path, """
process {
    clusterOptions = '--account=lab'
    withName: 'TFVOCAB_TRAIN' {
        containerOptions = '--nv'
    }
    withLabel: 'process_gpu' {
        containerOptions = '--gpus all'
    }
}
""", """
    slurm {
        process {
            withLabel: 'process_gpu' {
                clusterOptions = '--gres=gpu:1'
            }
        }
    }
""")
    train = sel.Process("TFVOCAB_TRAIN", "TFVOCAB:TFVOCAB_TRAIN", ("process_gpu",))
    low = sel.Process("TFVOCAB_PAIRS", "TFVOCAB:TFVOCAB_PAIRS", ("process_low",))
    found = {(p.name, d) for p, d, _ in sel.collisions(sel.process_settings(configs), [train, low])}
    assert found == {("TFVOCAB_TRAIN", "clusterOptions"), ("TFVOCAB_TRAIN", "containerOptions")}


def test_checker_separates_disjoint_selectors(tmp_path):
    configs = _mini_pipeline(tmp_path, """
process {
    withLabel: 'process_single|process_low' { container = 'a' }
    withLabel: 'process_gpu' { container = 'b' }
    withLabel: '!process_gpu' { accelerator = null }
    withLabel: 'process_gpu' { accelerator = 1 }
}
""", "")
    assert not sel.collisions(sel.process_settings(configs), _processes())
    # a process with both labels would get two containers (the module test allows one label only);
    # '!process_gpu' does not select it, so its accelerator still has one source
    both = sel.Process("X", "X", ("process_low", "process_gpu"))
    assert {d for _, d, _ in sel.collisions(sel.process_settings(configs), [both])} == {"container"}


# --------------------------------------------------------------------------------------------
# GPU: one place
# --------------------------------------------------------------------------------------------
def test_gpu_is_decided_in_one_selector_and_the_gpu_profile_only_switches_it_on():
    train = next(p for p in _processes() if p.name == "TFVOCAB_TRAIN")
    for directive in ("accelerator", "container", "containerOptions"):
        hits = [s for s in _settings() if s.directive == directive and sel.selects(s, train)]
        assert len(hits) == 1 and hits[0].selectors == (("withLabel", "process_gpu"),) \
            and hits[0].setting.path == ROOT / "conf/base.config", [h.where(ROOT) for h in hits]
    block = _block("withLabel:process_gpu")
    # -profile docker,gpu: params.gpu -> accelerator 1 -> the CUDA image and the engine's GPU flag
    assert block["accelerator"] == "{ params.gpu ? 1 : null }"
    assert block["container"] == "{ !task.process ? null : (task.accelerator ? params.tfvocab_container_gpu : params.tfvocab_container) }"
    opts = block["containerOptions"]
    assert "'--nv'" in opts and "'--gpus all'" in opts and "!task.accelerator ? ''" in opts
    assert "['singularity', 'apptainer']" in opts and "['docker', 'podman']" in opts
    gpu_profile = [s for s in nf.config_settings(ROOT / "nextflow.config") if s.full[:2] == ("profiles", "gpu")]
    assert [(s.full, s.value) for s in gpu_profile] == [(("profiles", "gpu", "params", "gpu"), "true")]
    # TRAIN fails loudly without a GPU instead of training on the CPU
    assert "--device cuda" in procs()["TFVOCAB_TRAIN"].script_defs["device"]


def test_cpu_steps_get_the_cpu_image_from_one_selector():
    for p in _processes():
        if "process_gpu" in p.labels:
            continue
        hits = [s for s in _settings() if s.directive == "container" and sel.selects(s, p)]
        assert len(hits) == 1 and hits[0].setting.value == "{ task.process ? params.tfvocab_container : null }", p.name


def test_slurm_queue_and_gpu_request_follow_the_accelerator():
    slurm = [s for s in _settings() if s.context == "profile slurm"]
    assert not [s for s in slurm if s.selectors], "no selector: a user's own selectors stay in charge"
    by = {s.directive: s.setting.value for s in slurm}
    assert by["queue"] == "{ task.accelerator ? 'gpu' : 'cpu' }"
    assert "params.cluster_options" in by["clusterOptions"] and '"--gres=gpu:${task.accelerator.request}"' in by["clusterOptions"]
    assert by["clusterOptions"].count("task.accelerator ?") == 1


def test_no_before_script_sets_the_task_environment():
    """beforeScript runs on the host, outside a docker container: thread counts are exported by
    the module scripts instead (test_contract checks OMP_NUM_THREADS=${task.cpus})."""
    assert not [s for s in _settings() if s.directive == "beforeScript"]


# --------------------------------------------------------------------------------------------
# institutional profiles, images
# --------------------------------------------------------------------------------------------
def test_nf_core_configs_are_included_and_guarded_offline():
    text = (ROOT / "nextflow.config").read_text()
    assert ("includeConfig params.custom_config_base && (!System.getenv('NXF_OFFLINE') || "
            "!params.custom_config_base.startsWith('http')) ? \"${params.custom_config_base}/nfcore_custom.config\" : \"/dev/null\"") in text


def test_test_profile_names_the_image_the_readme_builds():
    test = nf.profile_params(ROOT / "nextflow.config")["test"]
    cpu, gpu = nf.literal(test["tfvocab_container"]), nf.literal(test["tfvocab_container_gpu"])
    readme = (ROOT / "README.md").read_text()
    assert f"docker build -f containers/Dockerfile -t {cpu} ." in readme
    assert f"docker build -f containers/Dockerfile.gpu -t {gpu} ." in readme
    assert "/" not in cpu.split(":")[0], "a local tag, not a registry image that may not exist"
