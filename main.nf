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

include { TFVOCAB                 } from './workflows/tfvocab'
include { PIPELINE_INITIALISATION } from './subworkflows/local/utils_nfcore_tfvocab_pipeline'
include { PIPELINE_COMPLETION     } from './subworkflows/local/utils_nfcore_tfvocab_pipeline'

workflow {
    main:
    def run_meta = [id: params.simulate ? "simulated_${params.simulate}" : 'tfvocab']

    PIPELINE_INITIALISATION(params.version, params.validate_params, args, params.outdir, params.input, run_meta)

    TFVOCAB(
        run_meta,
        PIPELINE_INITIALISATION.out.tracks,
        PIPELINE_INITIALISATION.out.samplesheet,
        PIPELINE_INITIALISATION.out.gff,
        PIPELINE_INITIALISATION.out.fasta,
        PIPELINE_INITIALISATION.out.coexpression,
    )

    // Software versions: each process writes a versions.yml (works on every Nextflow >= 24.04,
    // unlike topic channels, which need a preview flag before 25.04); one YAML in pipeline_info/.
    TFVOCAB.out.versions
        .unique { yml -> yml.text }
        .collectFile(storeDir: "${params.outdir}/pipeline_info", name: 'tfvocab_software_versions.yml', sort: true, newLine: true)

    PIPELINE_COMPLETION(params.outdir, params.monochrome_logs)
}
