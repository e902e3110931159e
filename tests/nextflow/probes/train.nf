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
    def input = { name -> file("${params.inputs}/${name}", checkIfExists: true) }
    TFVOCAB_TRAIN(channel.of([[id: 'probe', fold: 0, n_folds: 2], input('tokens.h5'), input('normalized.h5'), input('pairs.tsv'), input('genes.tsv')]))
}
