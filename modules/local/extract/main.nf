process TFVOCAB_EXTRACT {
    tag "${meta.id}"
    label 'process_single'

    conda "${moduleDir}/environment.yml"
    container 'ghcr.io/tfvocab/tfvocab:0.1.0'

    input:
    tuple val(meta), path(track)
    tuple val(meta2), path(promoters)

    output:
    tuple val(meta), path("signal.*.h5"), emit: signal
    tuple val(meta), path("*.manifest.json"), emit: manifest
    path "versions.yml", emit: versions

    when:
    task.ext.when == null || task.ext.when

    script:
    def args = task.ext.args ?: ''
    def track_opt = meta.kind == 'peaks' ? "--peaks ${track}" : "--bigwig ${track}"
    """
    export OMP_NUM_THREADS=${task.cpus}
    tfvocab extract --promoters ${promoters} ${track_opt} --tf ${meta.id} --jobs ${task.cpus} --outdir . ${args}

    cat <<-END_VERSIONS > versions.yml
    "${task.process}":
        tfvocab: \$(tfvocab --version | sed 's/.* //')
    END_VERSIONS
    """

    stub:
    """
    touch signal.${meta.id}.h5 extract.${meta.id}.manifest.json

    cat <<-END_VERSIONS > versions.yml
    "${task.process}":
        tfvocab: \$(tfvocab --version | sed 's/.* //')
    END_VERSIONS
    """
}
