process TFVOCAB_TRAIN {
    tag "${meta.id} fold ${meta.fold}"
    label 'process_gpu'

    conda "${moduleDir}/${task.accelerator ? 'environment.gpu.yml' : 'environment.yml'}"
    container 'ghcr.io/tfvocab/tfvocab:0.1.0'

    input:
    tuple val(meta), path(tokens), path(normalized), path(pairs), path(genes)

    output:
    tuple val(meta), path("model.pt"), emit: model
    tuple val(meta), path("train_log.tsv"), emit: log
    tuple val(meta), path("train_log.tsv.json"), optional: true, emit: json
    tuple val(meta), path("*.manifest.json"), emit: manifest
    path "versions.yml", emit: versions

    when:
    task.ext.when == null || task.ext.when

    script:
    def args = task.ext.args ?: ''
    def device = task.accelerator ? '--device cuda' : ''
    def checkpoint_dir = task.ext.checkpoint_dir ?: ''
    def checkpoint = checkpoint_dir ? "--checkpoint-dir ${checkpoint_dir}" : ''
    def resume = task.attempt > 1 && checkpoint_dir && file("${checkpoint_dir}/checkpoint.pt").exists() ? '--resume' : ''
    // the checkpoint folder lives outside the task (a retry is a new task); created here, on the
    // launching machine, so that a container bind finds it
    if (checkpoint_dir) {
        file(checkpoint_dir).mkdirs()
    }
    """
    export OMP_NUM_THREADS=${task.cpus}
    tfvocab train --tokens ${tokens} --normalized ${normalized} --pairs ${pairs} --genes ${genes} --fold ${meta.fold} --outdir . ${device} ${checkpoint} ${resume} ${args}

    cat <<-END_VERSIONS > versions.yml
    "${task.process}":
        tfvocab: \$(tfvocab --version | sed 's/.* //')
    END_VERSIONS
    """

    stub:
    """
    touch model.pt train_log.tsv train_log.tsv.json train.manifest.json

    cat <<-END_VERSIONS > versions.yml
    "${task.process}":
        tfvocab: \$(tfvocab --version | sed 's/.* //')
    END_VERSIONS
    """
}
