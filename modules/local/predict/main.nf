process TFVOCAB_PREDICT {
    tag "${meta.id}"
    label 'process_medium'

    conda "${moduleDir}/environment.yml"
    container 'ghcr.io/tfvocab/tfvocab:0.1.0'

    input:
    tuple val(meta), path(model), path(tokens), path(normalized)
    path(pairs)

    output:
    tuple val(meta), path("*.tsv"), emit: tsv
    tuple val(meta), path("*.graphml"), emit: graphml
    path "versions.yml", emit: versions

    when:
    task.ext.when == null || task.ext.when

    script:
    def args = task.ext.args ?: ''
    def pairs_opt = pairs ? "--pairs ${pairs}" : ''
    """
    tfvocab predict --model ${model} --tokens ${tokens} --normalized ${normalized} --outdir . ${pairs_opt} ${args}

    cat <<-END_VERSIONS > versions.yml
    "${task.process}":
        tfvocab: \$(tfvocab --version | sed 's/.* //')
    END_VERSIONS
    """

    stub:
    """
    touch scored_pairs.tsv network.tsv network.graphml

    cat <<-END_VERSIONS > versions.yml
    "${task.process}":
        tfvocab: \$(tfvocab --version | sed 's/.* //')
    END_VERSIONS
    """
}
