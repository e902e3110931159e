process TFVOCAB_MERGE {
    tag "${meta.id}"
    label 'process_medium'

    conda "${moduleDir}/environment.yml"
    container 'ghcr.io/tfvocab/tfvocab:0.1.0'

    input:
    tuple val(meta), path(signals, stageAs: 'signals/*')
    path(samplesheet)

    output:
    tuple val(meta), path("signal.h5"), emit: signal
    tuple val(meta), path("*.manifest.json"), emit: manifest
    path "versions.yml", emit: versions

    when:
    task.ext.when == null || task.ext.when

    script:
    def args = task.ext.args ?: ''
    """
    export OMP_NUM_THREADS=${task.cpus}
    tfvocab merge --outdir . --samplesheet ${samplesheet} ${args} ${signals}

    cat <<-END_VERSIONS > versions.yml
    "${task.process}":
        tfvocab: \$(tfvocab --version | sed 's/.* //')
    END_VERSIONS
    """

    stub:
    """
    touch signal.h5 merge.manifest.json

    cat <<-END_VERSIONS > versions.yml
    "${task.process}":
        tfvocab: \$(tfvocab --version | sed 's/.* //')
    END_VERSIONS
    """
}
