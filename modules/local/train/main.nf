process TFVOCAB_TRAIN {
    tag "${meta.id}"
    label 'process_gpu'

    conda "${moduleDir}/environment.yml"
    container 'ghcr.io/tfvocab/tfvocab:0.1.0'

    input:
    tuple val(meta), path(tokens), path(normalized), path(pairs)

    output:
    tuple val(meta), path("model.pt"), emit: model
    tuple val(meta), path("train_log.tsv"), emit: log
    tuple val(meta), path("train_log.tsv.json"), optional: true, emit: json
    path "versions.yml", emit: versions

    when:
    task.ext.when == null || task.ext.when

    script:
    def args = task.ext.args ?: ''
    """
    tfvocab train --tokens ${tokens} --normalized ${normalized} --pairs ${pairs} --outdir . ${args}

    cat <<-END_VERSIONS > versions.yml
    "${task.process}":
        tfvocab: \$(tfvocab --version | sed 's/.* //')
    END_VERSIONS
    """

    stub:
    """
    touch model.pt train_log.tsv train_log.tsv.json

    cat <<-END_VERSIONS > versions.yml
    "${task.process}":
        tfvocab: \$(tfvocab --version | sed 's/.* //')
    END_VERSIONS
    """
}
