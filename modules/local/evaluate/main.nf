process TFVOCAB_EVALUATE {
    tag "${meta.id} fold ${meta.fold}"
    label 'process_medium'

    conda "${moduleDir}/environment.yml"
    container 'ghcr.io/tfvocab/tfvocab:0.1.0'

    input:
    tuple val(meta), path(model), path(tokens), path(normalized), path(pairs), path(genes), path(promoters)
    path(truth)

    output:
    tuple val(meta), path("metrics.json"), emit: metrics
    tuple val(meta), path("predictions.tsv"), emit: predictions
    tuple val(meta), path("*.png"), emit: plots
    tuple val(meta), path("predictions.tsv.json"), optional: true, emit: json
    tuple val(meta), path("*.manifest.json"), emit: manifest
    path "versions.yml", emit: versions

    when:
    task.ext.when == null || task.ext.when

    script:
    def args = task.ext.args ?: ''
    def truth_opt = truth ? "--truth ${truth}" : ''
    """
    export OMP_NUM_THREADS=${task.cpus}
    tfvocab evaluate --model ${model} --tokens ${tokens} --normalized ${normalized} --pairs ${pairs} --genes ${genes} --promoters ${promoters} --outdir . ${truth_opt} ${args}

    cat <<-END_VERSIONS > versions.yml
    "${task.process}":
        tfvocab: \$(tfvocab --version | sed 's/.* //')
    END_VERSIONS
    """

    stub:
    """
    touch metrics.json predictions.tsv predictions.tsv.json pr_curve.png roc_curve.png evaluate.manifest.json

    cat <<-END_VERSIONS > versions.yml
    "${task.process}":
        tfvocab: \$(tfvocab --version | sed 's/.* //')
    END_VERSIONS
    """
}
