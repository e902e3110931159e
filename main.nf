#!/usr/bin/env nextflow
/*
 * tfvocab: predict Arabidopsis gene co-expression from DAP-seq TF binding over promoters
 * through a learned "TF vocabulary" of 50 bp windows and a Siamese transformer.
 *
 *   nextflow run . -profile test,docker                     # simulated data, CPU
 *   nextflow run . -profile docker,gpu --input samplesheet.csv --gff genes.gff3 \
 *       --fasta genome.fa --coexpression coexpression.tsv --outdir results
 *
 * Every process runs exactly one `tfvocab <step>` command (docs/formats.md); see docs/usage.md.
 */

include { validateParameters; paramsSummaryLog; samplesheetToList } from 'plugin/nf-schema'
include { TFVOCAB                                                  } from './workflows/tfvocab'

workflow {
    main:
    validateParameters()
    log.info paramsSummaryLog(workflow)

    if (!params.simulate) {
        def missing = ['input', 'gff', 'fasta', 'coexpression'].findAll { name -> !params[name] }
        if (missing) {
            error("Missing --${missing.join(', --')}: give them, or run on simulated data with --simulate tiny|small|genome (see docs/usage.md)")
        }
    }

    def run_meta = [id: params.simulate ? "simulated_${params.simulate}" : 'tfvocab']

    // Real inputs (empty channels when params.simulate is set: SIMULATE provides them).
    ch_samples      = params.simulate ? channel.empty() : channel.fromList(samplesheetToList(params.input, "${projectDir}/assets/schema_input.json"))
    ch_samplesheet  = params.simulate ? channel.empty() : channel.value(file(params.input, checkIfExists: true))
    ch_gff          = params.simulate ? channel.empty() : channel.value([run_meta, file(params.gff, checkIfExists: true)])
    ch_fasta        = params.simulate ? channel.empty() : channel.value([run_meta, file(params.fasta, checkIfExists: true), fastaIndex(params.fasta)])
    ch_coexpression = params.simulate ? channel.empty() : channel.value([run_meta, file(params.coexpression, checkIfExists: true)])

    TFVOCAB(run_meta, ch_samples, ch_samplesheet, ch_gff, ch_fasta, ch_coexpression)

    // Software versions: each process writes a versions.yml (works on every Nextflow >= 24.04,
    // unlike topic channels, which need a preview flag before 25.04); one YAML in pipeline_info/.
    TFVOCAB.out.versions
        .unique { yml -> yml.text }
        .collectFile(storeDir: "${params.outdir}/pipeline_info", name: 'tfvocab_software_versions.yml', sort: true, newLine: true)
}

// The FASTA index next to the FASTA if there is one, else [] (PROMOTERS then builds it).
def fastaIndex(String fasta) {
    def fai = file("${fasta}.fai")
    return fai.exists() ? fai : []
}
