process TFVOCAB_PREDICT {
    tag "${meta.id} fold ${meta.fold}"
    label 'process_medium'

    conda "${moduleDir}/environment.yml"
    container 'ghcr.io/tfvocab/tfvocab:0.1.0'

    input:
    tuple val(meta), path(model), path(tokens), path(normalized)
    path(pairs)

    output:
    tuple val(meta), path("*.tsv"), emit: tsv
    tuple val(meta), path("network.graphml"), optional: true, emit: graphml
    tuple val(meta), path("*.json"), emit: json
    path "versions.yml", emit: versions

    when:
    task.ext.when == null || task.ext.when

    script:
    def args = task.ext.args ?: ''
    def pairs_opt = pairs ? "--pairs ${pairs}" : ''
    """
    export OMP_NUM_THREADS=${task.cpus}
    tfvocab predict --model ${model} --tokens ${tokens} --normalized ${normalized} --outdir . ${pairs_opt} ${args}

    cat <<-END_VERSIONS > versions.yml
    "${task.process}":
        tfvocab: \$(tfvocab --version | sed 's/.* //')
    END_VERSIONS
    """

    stub:
    """
    touch predicted_pairs.tsv modules.tsv hubs.tsv network.graphml predict.summary.json

    cat <<-END_VERSIONS > versions.yml
    "${task.process}":
        tfvocab: \$(tfvocab --version | sed 's/.* //')
    END_VERSIONS
    """
}
