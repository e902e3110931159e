/*
 * Pipeline initialisation and completion (the nf-core utils_* pattern, written for tfvocab):
 *   PIPELINE_INITIALISATION: --version, parameter validation + summary (nf-schema), the
 *     launch-time checks nf-schema cannot express, and the input channels;
 *   PIPELINE_COMPLETION: the completion summary (where the results and the report are).
 * samplesheetTracks(): the pipeline's copy of src/tfvocab/data/samplesheet.py's rules (the same
 *   resolution, names and collisions), for --input at launch and for SIMULATE's samplesheet.
 */

include { validateParameters; paramsSummaryLog; samplesheetToList } from 'plugin/nf-schema'

workflow PIPELINE_INITIALISATION {

    take:
    version           // boolean: print the pipeline version and exit
    validate_params   // boolean: validate the parameters against nextflow_schema.json
    nextflow_cli_args //    list: positional arguments of `nextflow run` (none expected)
    outdir            //  string: --outdir
    input             //  string: --input samplesheet, or null with --simulate
    run_meta          //     map: [id: run name], the meta map of the run-level inputs

    main:
    if (version) {
        log.info("${workflow.manifest.name} ${workflowVersion()}")
        System.exit(0)
    }

    // `--cluster_options '--account=x'`: Nextflow takes a separate value starting with '-' for an
    // option of its own, so cluster_options is `true` (and `account` a parameter): say how to write it
    if (params.cluster_options instanceof Boolean) {
        error("--cluster_options needs its value attached with '=': --cluster_options='--account=myproj' (Nextflow reads a separate value that starts with '-' as an option of its own)")
    }
    if (validate_params) {
        validateParameters()
    }
    log.info(paramsSummaryLog(workflow))
    checkProfile(nextflow_cli_args)
    dumpParameters(outdir)

    if (!params.simulate) {
        def missing = ['input', 'gff', 'fasta', 'coexpression'].findAll { name -> !params[name] }
        if (missing) {
            error("Missing --${missing.join(', --')}: give them, or run on simulated data with --simulate tiny|small|genome (see docs/usage.md)")
        }
    }
    if (!params.simulate && params.folds < 2) {
        error("--folds ${params.folds}: at least 2 gene-disjoint folds are needed (each gene is held out once)")
    }
    if (params.checkpoint_dir && params.checkpoint_dir.toString().contains('://')) {
        log.warn("--checkpoint_dir ${params.checkpoint_dir} is on an object store: TRAIN cannot keep checkpoints there, so a retried TRAIN starts again from epoch 0 (give a shared file system path to resume)")
    }
    if (params.gpu && workflow.profile.tokenize(',').contains('conda')) {
        log.info("-profile conda,gpu: TRAIN uses modules/local/train/environment.gpu.yml (CUDA torch); set CONDA_OVERRIDE_CUDA when the environment is created on a machine without a GPU driver")
    }

    // Real inputs (empty channels with --simulate: SIMULATE provides them)
    def sheet = params.simulate ? null : file(input, checkIfExists: true)
    ch_tracks       = params.simulate ? channel.empty() : channel.fromList(samplesheetTracks(sheet, schemaRows(input)))
    ch_samplesheet  = params.simulate ? channel.empty() : channel.value(sheet)
    ch_gff          = params.simulate ? channel.empty() : channel.value([run_meta, file(params.gff, checkIfExists: true)])
    ch_fasta        = params.simulate ? channel.empty() : channel.value([run_meta, file(params.fasta, checkIfExists: true)] + fastaIndex(params.fasta))
    ch_coexpression = params.simulate ? channel.empty() : channel.value([run_meta, file(params.coexpression, checkIfExists: true),
                                                                         params.id_map ? file(params.id_map, checkIfExists: true) : []])

    emit:
    tracks       = ch_tracks        // channel: [meta(id, kind: bigwig|peaks|control, control), track] per EXTRACT task
    samplesheet  = ch_samplesheet   // channel: samplesheet.csv
    gff          = ch_gff           // channel: [meta, gff3]
    fasta        = ch_fasta         // channel: [meta, fasta, fai or []]
    coexpression = ch_coexpression  // channel: [meta, co-expression list (file, folder or zip), id map or []]
}

workflow PIPELINE_COMPLETION {

    take:
    outdir          // string: --outdir
    monochrome_logs // boolean: no ANSI colours

    main:
    // The handlers run with the launch script's variables as their delegate, where `workflow` and
    // `log` are not defined (a direct `workflow.success` there is a NullPointerException): all they
    // use is passed to, or reached from, the functions below.
    workflow.onComplete {
        completionSummary(outdir, monochrome_logs)
    }

    workflow.onError {
        errorSummary()
    }
}

/*
 * FUNCTIONS
 */

// The completion line: where the results and the report are, or that the run failed
def completionSummary(outdir, monochrome_logs) {
    def colors = monochrome_logs ? [green: '', red: '', reset: ''] : [green: '\033[0;32m', red: '\033[0;31m', reset: '\033[0m']
    def stats = workflow.stats
    // the task counts also in a plain (non-ANSI) log, e.g. CI's, where Nextflow prints none
    def tasks = "Succeeded: ${stats.succeededCount} task(s), cached: ${stats.cachedCount}, retried: ${stats.retriesCount}, failed: ${stats.failedCount}"
    if (workflow.success) {
        log.info("-${colors.green}[${workflow.manifest.name}]${colors.reset} pipeline completed successfully in ${workflow.duration}: results in ${outdir}/ (one folder per step), report in ${outdir}/report/")
        log.info("-[${workflow.manifest.name}] ${tasks}")
        if (workflow.stats.ignoredCount > 0) {
            log.warn("[${workflow.manifest.name}] ${workflow.stats.ignoredCount} task(s) failed and were ignored")
        }
    }
    else {
        log.error("-${colors.red}[${workflow.manifest.name}]${colors.reset} pipeline completed with errors after ${workflow.duration} (${tasks})")
    }
}

// What to read after a failure
def errorSummary() {
    log.error("[${workflow.manifest.name}] the pipeline failed: see the task's .command.err in the work folder Nextflow names above, and docs/usage.md (Resources and retries)")
}

// "v0.1.0" (+ "-g<commit>" when run from a git checkout)
def workflowVersion() {
    def version = workflow.manifest.version ? "v${workflow.manifest.version}".replaceFirst(/^vv/, 'v') : ''
    return workflow.commitId ? "${version}-g${workflow.commitId.substring(0, 7)}" : version
}

// The parameters of this run as JSON in <outdir>/pipeline_info/ (next to the execution report)
def dumpParameters(outdir) {
    def info = file("${outdir}/pipeline_info")
    info.mkdirs()
    info.resolve("params_${params.trace_report_suffix}.json").text = groovy.json.JsonOutput.prettyPrint(groovy.json.JsonOutput.toJson(params))
}

// Positional arguments are usually a `-profile a, b` typed with a space; a trailing comma too
def checkProfile(nextflow_cli_args) {
    if (workflow.profile.endsWith(',')) {
        error("The -profile option cannot end with a comma: -profile ${workflow.profile} (did you type a space after it?)")
    }
    if (nextflow_cli_args && nextflow_cli_args[0]) {
        log.warn("The pipeline takes no positional arguments; '${nextflow_cli_args[0]}' was given (a space in `-profile a, b`?)")
    }
}

// The FASTA index next to the FASTA as a one-element list, else [] (PROMOTERS then builds it)
def fastaIndex(fasta) {
    def fai = file("${fasta}.fai")
    return fai.exists() ? [fai] : [[]]
}

// --input validated by nf-schema (assets/schema_input.json) as maps with the samplesheet's columns
def schemaRows(input) {
    return samplesheetToList(input, "${projectDir}/assets/schema_input.json").collect { row ->
        [tf: row[0].id, bigwig: row[1] ?: '', peaks: row[2] ?: '', control: row[3] ?: '']
    }
}

// A samplesheet value: absolute paths and URLs as they are, relative paths against the sheet's folder
// (normalized, as file() does: `ctl/input.bw` and `./ctl/input.bw` are one control)
def sheetPath(sheet, value) {
    return (value ==~ /^[A-Za-z][A-Za-z0-9+.-]*:\/\/.*/ || value.startsWith('/')) ? file(value) : sheet.parent.resolve(value).normalize()
}

// [meta, track] for EXTRACT: every TF row in order (meta.kind bigwig|peaks, meta.control = its
// control's name or null), then every distinct control, sorted by name (kind control), named by its
// file stem. Fails, naming the sheet and the line, on what would collide downstream (MERGE): a TF
// listed twice, two different controls with one stem, a TF named like a control; and on a row
// without exactly one of bigwig/peaks, or a missing file.
def samplesheetTracks(sheet, rows) {
    def tf_line = [:]
    def controls = [:]     // stem -> [path, line]
    def tracks = []
    rows.eachWithIndex { row, i ->
        def line = i + 2
        def where = "${sheet.name} line ${line}"
        def tf = (row.tf ?: '').toString().trim()
        def bigwig = (row.bigwig ?: '').toString().trim()
        def peaks = (row.peaks ?: '').toString().trim()
        def control = (row.control ?: '').toString().trim()
        if (!(tf ==~ /^[A-Za-z0-9][A-Za-z0-9_.-]*$/)) {
            error("${where}: TF name '${tf}' is not usable in file names (letters, digits, '_', '.', '-')")
        }
        if (tf_line.containsKey(tf)) {
            error("${where}: TF '${tf}' is listed twice (first on line ${tf_line[tf]})")
        }
        tf_line[tf] = line
        if (!bigwig == !peaks) {
            error("${where}: TF '${tf}' needs exactly one of bigwig and peaks")
        }
        def track = sheetPath(sheet, bigwig ?: peaks)
        if (!track.exists()) {
            error("${where}: ${bigwig ? 'bigwig' : 'peaks'} file not found: ${track} (relative paths are relative to the samplesheet's folder)")
        }
        def control_name = null
        if (control) {
            def control_path = sheetPath(sheet, control)
            control_name = control_path.baseName
            if (controls.containsKey(control_name) && controls[control_name][0] != control_path) {
                error("${where}: two different controls share the stem '${control_name}' (${controls[control_name][0]} on line ${controls[control_name][1]} and ${control_path}): rename one")
            }
            if (!control_path.exists()) {
                error("${where}: control file not found: ${control_path} (relative paths are relative to the samplesheet's folder)")
            }
            controls[control_name] = controls[control_name] ?: [control_path, line]
        }
        tracks << [[id: tf, kind: bigwig ? 'bigwig' : 'peaks', control: control_name], track]
    }
    controls.each { name, path_line ->
        if (tf_line.containsKey(name)) {
            error("${sheet.name} line ${path_line[1]}: TF '${name}' (line ${tf_line[name]}) is named like the control ${path_line[0]}: rename one")
        }
    }
    return tracks + controls.keySet().sort().collect { name -> [[id: name, kind: 'control', control: null], controls[name][0]] }
}
