process TFVOCAB_PROMOTERS {
    tag "${meta.id}"
    label 'process_low'

    conda "${moduleDir}/environment.yml"
    container 'ghcr.io/tfvocab/tfvocab:0.1.0'

    input:
    tuple val(meta), path(gff)
    tuple val(meta2), path(fasta), path(fai)

    output:
    tuple val(meta), path("promoters.tsv"), emit: tsv
    tuple val(meta), path("promoters.bed"), emit: bed
    tuple val(meta), path("promoters.fa"), emit: fasta
    tuple val(meta), path("promoters*.json"), emit: json
    path "versions.yml", emit: versions

    when:
    task.ext.when == null || task.ext.when

    script:
    def args = task.ext.args ?: ''
    """
    export OMP_NUM_THREADS=${task.cpus}
    tfvocab promoters --gff ${gff} --fasta ${fasta} --outdir . ${args}

    cat <<-END_VERSIONS > versions.yml
    "${task.process}":
        tfvocab: \$(tfvocab --version | sed 's/.* //')
    END_VERSIONS
    """

    stub:
    """
    touch promoters.tsv promoters.bed promoters.fa promoters.report.json promoters.tsv.json

    cat <<-END_VERSIONS > versions.yml
    "${task.process}":
        tfvocab: \$(tfvocab --version | sed 's/.* //')
    END_VERSIONS
    """
}
