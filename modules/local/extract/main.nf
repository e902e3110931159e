process TFVOCAB_EXTRACT {
    tag "${meta.id}"
    label 'process_single'

    conda "${moduleDir}/environment.yml"
    container 'ghcr.io/tfvocab/tfvocab:0.1.0'

    input:
    tuple val(meta), path(bigwig)
    tuple val(meta2), path(promoters)

    output:
    tuple val(meta), path("signal.*.h5"), emit: signal
    path "versions.yml", emit: versions

    when:
    task.ext.when == null || task.ext.when

    script:
    def args = task.ext.args ?: ''
    """
    tfvocab extract --promoters ${promoters} --bigwig ${bigwig} --tf ${meta.id} --outdir . ${args}

    cat <<-END_VERSIONS > versions.yml
    "${task.process}":
        tfvocab: \$(tfvocab --version | sed 's/.* //')
    END_VERSIONS
    """

    stub:
    """
    touch signal.${meta.id}.h5

    cat <<-END_VERSIONS > versions.yml
    "${task.process}":
        tfvocab: \$(tfvocab --version | sed 's/.* //')
    END_VERSIONS
    """
}
