process TFVOCAB_TOKENIZE {
    tag "${meta.id}"
    label 'process_medium'

    conda "${moduleDir}/environment.yml"
    container 'ghcr.io/tfvocab/tfvocab:0.1.0'

    input:
    tuple val(meta), path(normalized)

    output:
    tuple val(meta), path("tokens.h5"), emit: tokens
    tuple val(meta), path("vocabulary.tsv"), emit: vocabulary
    tuple val(meta), path("vocabulary.png"), optional: true, emit: png
    tuple val(meta), path("vocabulary.tsv.json"), optional: true, emit: json
    tuple val(meta), path("*.manifest.json"), emit: manifest
    path "versions.yml", emit: versions

    when:
    task.ext.when == null || task.ext.when

    script:
    def args = task.ext.args ?: ''
    """
    export OMP_NUM_THREADS=${task.cpus}
    tfvocab tokenize --normalized ${normalized} --outdir . ${args}

    cat <<-END_VERSIONS > versions.yml
    "${task.process}":
        tfvocab: \$(tfvocab --version | sed 's/.* //')
    END_VERSIONS
    """

    stub:
    """
    touch tokens.h5 vocabulary.tsv vocabulary.tsv.json vocabulary.png tokenize.manifest.json

    cat <<-END_VERSIONS > versions.yml
    "${task.process}":
        tfvocab: \$(tfvocab --version | sed 's/.* //')
    END_VERSIONS
    """
}
