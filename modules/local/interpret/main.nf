process TFVOCAB_INTERPRET {
    tag "${meta.id} fold ${meta.fold}"
    label 'process_medium'

    conda "${moduleDir}/environment.yml"
    container 'ghcr.io/tfvocab/tfvocab:0.1.0'

    input:
    tuple val(meta), path(model), path(tokens), path(normalized), path(pairs), path(promoters)
    path(truth)

    output:
    tuple val(meta), path("*.{h5,tsv,json}"), emit: results
    tuple val(meta), path("*.png"), optional: true, emit: plots
    path "versions.yml", emit: versions

    when:
    task.ext.when == null || task.ext.when

    script:
    def args = task.ext.args ?: ''
    def truth_opt = truth ? "--truth ${truth}" : ''
    """
    export OMP_NUM_THREADS=${task.cpus}
    tfvocab interpret --model ${model} --tokens ${tokens} --normalized ${normalized} --pairs ${pairs} --promoters ${promoters} --outdir . ${truth_opt} ${args}

    cat <<-END_VERSIONS > versions.yml
    "${task.process}":
        tfvocab: \$(tfvocab --version | sed 's/.* //')
    END_VERSIONS
    """

    stub:
    """
    touch attention.h5 attributions.h5 tf_knockout.tsv token_importance.tsv token_importance.png attention_profile.png

    cat <<-END_VERSIONS > versions.yml
    "${task.process}":
        tfvocab: \$(tfvocab --version | sed 's/.* //')
    END_VERSIONS
    """
}
