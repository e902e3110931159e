process TFVOCAB_SIMULATE {
    tag "${meta.preset}"
    label 'process_low'

    conda "${moduleDir}/environment.yml"
    container 'ghcr.io/tfvocab/tfvocab:0.1.0'

    input:
    val(meta)

    output:
    tuple val(meta), path("genome.fa"), path("genome.fa.fai"), emit: fasta
    tuple val(meta), path("annotation.gff3"), emit: gff
    tuple val(meta), path("samplesheet.csv"), path("bigwig"), emit: samplesheet
    tuple val(meta), path("coexpression.tsv"), emit: coexpression
    tuple val(meta), path("truth"), emit: truth
    tuple val(meta), path("*.json"), optional: true, emit: json
    path "versions.yml", emit: versions

    when:
    task.ext.when == null || task.ext.when

    script:
    def args = task.ext.args ?: ''
    """
    export OMP_NUM_THREADS=${task.cpus}
    tfvocab simulate --preset ${meta.preset} --seed ${meta.seed} --outdir . ${args}

    cat <<-END_VERSIONS > versions.yml
    "${task.process}":
        tfvocab: \$(tfvocab --version | sed 's/.* //')
    END_VERSIONS
    """

    stub:
    """
    mkdir -p bigwig truth
    printf 'tf,bigwig,control\\nTF1,bigwig/TF1.bw,bigwig/input.bw\\n' > samplesheet.csv
    touch genome.fa genome.fa.fai annotation.gff3 coexpression.tsv coexpression.tsv.json bigwig/TF1.bw bigwig/input.bw truth/modules.tsv truth/grammar.json truth/sites.tsv truth/pairs.tsv truth/params.json

    cat <<-END_VERSIONS > versions.yml
    "${task.process}":
        tfvocab: \$(tfvocab --version | sed 's/.* //')
    END_VERSIONS
    """
}
