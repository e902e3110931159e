process TFVOCAB_SUMMARIZE {
    tag "${meta.id}"
    label 'process_low'

    conda "${moduleDir}/environment.yml"
    container 'ghcr.io/tfvocab/tfvocab:0.1.0'

    input:
    tuple val(meta), path(metrics, stageAs: 'metrics.fold*.json')

    output:
    tuple val(meta), path("summary.json"), emit: json
    tuple val(meta), path("summary.tsv"), emit: tsv
    tuple val(meta), path("summary.png"), emit: png
    tuple val(meta), path("summary.tsv.json"), emit: sidecar
    tuple val(meta), path("*.manifest.json"), optional: true, emit: manifest
    path "versions.yml", emit: versions

    when:
    task.ext.when == null || task.ext.when

    script:
    def args = task.ext.args ?: ''
    """
    export OMP_NUM_THREADS=${task.cpus}
    tfvocab summarize --outdir . ${args} ${metrics}

    cat <<-END_VERSIONS > versions.yml
    "${task.process}":
        tfvocab: \$(tfvocab --version | sed 's/.* //')
    END_VERSIONS
    """

    stub:
    """
    touch summary.json summary.tsv summary.png summary.tsv.json

    cat <<-END_VERSIONS > versions.yml
    "${task.process}":
        tfvocab: \$(tfvocab --version | sed 's/.* //')
    END_VERSIONS
    """
}
