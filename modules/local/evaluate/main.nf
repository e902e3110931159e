process TFVOCAB_EVALUATE {
    tag "${meta.id}"
    label 'process_medium'

    conda "${moduleDir}/environment.yml"
    container 'ghcr.io/tfvocab/tfvocab:0.1.0'

    input:
    tuple val(meta), path(model), path(tokens), path(normalized), path(pairs), path(promoters)

    output:
    tuple val(meta), path("metrics.json"), emit: metrics
    tuple val(meta), path("predictions.tsv"), emit: predictions
    tuple val(meta), path("*.png"), emit: plots
    path "versions.yml", emit: versions

    when:
    task.ext.when == null || task.ext.when

    script:
    def args = task.ext.args ?: ''
    """
    tfvocab evaluate --model ${model} --tokens ${tokens} --normalized ${normalized} --pairs ${pairs} --promoters ${promoters} --outdir . ${args}

    cat <<-END_VERSIONS > versions.yml
    "${task.process}":
        tfvocab: \$(tfvocab --version | sed 's/.* //')
    END_VERSIONS
    """

    stub:
    """
    touch metrics.json predictions.tsv pr_curve.png roc_curve.png

    cat <<-END_VERSIONS > versions.yml
    "${task.process}":
        tfvocab: \$(tfvocab --version | sed 's/.* //')
    END_VERSIONS
    """
}
