process TFVOCAB_PAIRS {
    tag "${meta.id}"
    label 'process_low'

    conda "${moduleDir}/environment.yml"
    container 'ghcr.io/tfvocab/tfvocab:0.1.0'

    input:
    tuple val(meta), path(coexpression), path(id_map)
    tuple val(meta2), path(promoters)

    output:
    tuple val(meta), path("pairs.tsv"), emit: pairs
    tuple val(meta), path("genes.tsv"), emit: genes
    tuple val(meta), path("pairs.report.json"), emit: report
    tuple val(meta), path("{pairs,genes}.tsv.json"), optional: true, emit: json
    tuple val(meta), path("*.manifest.json"), emit: manifest
    path "versions.yml", emit: versions

    when:
    task.ext.when == null || task.ext.when

    script:
    def args = task.ext.args ?: ''
    def id_map_opt = id_map ? "--id-map ${id_map}" : ''
    """
    export OMP_NUM_THREADS=${task.cpus}
    tfvocab pairs --coexpression ${coexpression} --promoters ${promoters} --outdir . ${id_map_opt} ${args}

    cat <<-END_VERSIONS > versions.yml
    "${task.process}":
        tfvocab: \$(tfvocab --version | sed 's/.* //')
    END_VERSIONS
    """

    stub:
    """
    touch pairs.tsv pairs.tsv.json genes.tsv genes.tsv.json pairs.report.json pairs.manifest.json

    cat <<-END_VERSIONS > versions.yml
    "${task.process}":
        tfvocab: \$(tfvocab --version | sed 's/.* //')
    END_VERSIONS
    """
}
