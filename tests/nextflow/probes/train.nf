#!/usr/bin/env nextflow
/*
 * Tests only: one TFVOCAB_TRAIN task on empty input files, to see the task Nextflow writes for a
 * profile (container, engine flags, #SBATCH directives) without running the pipeline before it.
 *   nextflow run tests/nextflow/probes/train.nf -c nextflow.config -profile test,podman,gpu --inputs DIR
 * (tests/nextflow/test_run_local.py, test_run_slurm.py; the task itself is expected to fail)
 */
include { TFVOCAB_TRAIN } from '../../../modules/local/train'

params.inputs = null

workflow {
    TFVOCAB_TRAIN(channel.of([probeMeta(), inputFile('tokens.h5'), inputFile('normalized.h5'), inputFile('pairs.tsv'), inputFile('genes.tsv')]))
}

def probeMeta() {
    return [id: 'probe', fold: 0, n_folds: 2]
}

// an empty file from --inputs
def inputFile(name) {
    return file("${params.inputs}/${name}", checkIfExists: true)
}
