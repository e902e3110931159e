process TFVOCAB_REPORT {
    tag "${meta.id}"
    label 'process_single'

    conda "${moduleDir}/environment.yml"
    container 'ghcr.io/tfvocab/tfvocab:0.1.0'

    input:
    tuple val(meta), path(tokenize, stageAs: 'tokenize/*'), path(pairs, stageAs: 'pairs/*'), path(train, stageAs: 'train/*'), path(evaluate, stageAs: 'evaluate/*'), path(summarize, stageAs: 'summarize/*'), path(interpret, stageAs: 'interpret/*'), path(predict, stageAs: 'predict/*'), path(extract, stageAs: 'extract/*')

    output:
    tuple val(meta), path("*.html"), emit: html
    tuple val(meta), path("report.html.json"), emit: sidecar
    tuple val(meta), path("*.manifest.json"), emit: manifest
    path "versions.yml", emit: versions

    when:
    task.ext.when == null || task.ext.when

    script:
    def args = task.ext.args ?: ''
    def prefix = task.ext.prefix ?: 'report'
    """
    export OMP_NUM_THREADS=${task.cpus}
    tfvocab report --outdir . ${args} tokenize pairs train evaluate summarize interpret predict extract
    # a copy: report.html stays, as its manifest lists it
    if [ "${prefix}" != report ]; then cp report.html "${prefix}.html"; fi

    cat <<-END_VERSIONS > versions.yml
    "${task.process}":
        tfvocab: \$(tfvocab --version | sed 's/.* //')
    END_VERSIONS
    """

    stub:
    def prefix = task.ext.prefix ?: 'report'
    """
    touch ${prefix}.html report.html report.html.json report.manifest.json

    cat <<-END_VERSIONS > versions.yml
    "${task.process}":
        tfvocab: \$(tfvocab --version | sed 's/.* //')
    END_VERSIONS
    """
}
