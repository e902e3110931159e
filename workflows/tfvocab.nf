/*
 * TFVOCAB: the pipeline's steps, in the order `tfvocab demo` runs them:
 * (SIMULATE when params.simulate) -> PROMOTERS -> EXTRACT (one task per TF / control track)
 * -> MERGE -> NORMALIZE -> TOKENIZE -> PAIRS -> TRAIN -> EVALUATE -> INTERPRET -> PREDICT -> REPORT
 */
include { TFVOCAB_SIMULATE  } from '../modules/local/simulate'
include { TFVOCAB_PROMOTERS } from '../modules/local/promoters'
include { TFVOCAB_EXTRACT   } from '../modules/local/extract'
include { TFVOCAB_MERGE     } from '../modules/local/merge'
include { TFVOCAB_NORMALIZE } from '../modules/local/normalize'
include { TFVOCAB_TOKENIZE  } from '../modules/local/tokenize'
include { TFVOCAB_PAIRS     } from '../modules/local/pairs'
include { TFVOCAB_TRAIN     } from '../modules/local/train'
include { TFVOCAB_EVALUATE  } from '../modules/local/evaluate'
include { TFVOCAB_INTERPRET } from '../modules/local/interpret'
include { TFVOCAB_PREDICT   } from '../modules/local/predict'
include { TFVOCAB_REPORT    } from '../modules/local/report'

workflow TFVOCAB {
    take:
    run_meta          // map: [id: run name]
    ch_samples        // channel: [meta(id: tf), bigwig, control bigwig or []] (samplesheet rows)
    ch_samplesheet    // channel: samplesheet.csv (tf,bigwig,control)
    ch_gff            // channel: [meta, gff3]
    ch_fasta          // channel: [meta, fasta, fai or []]
    ch_coexpression   // channel: [meta, coexpression.tsv]

    main:
    ch_versions = channel.empty()
    ch_truth    = channel.value([])   // SIMULATE's truth/ folder: truth checks in EVALUATE and INTERPRET
    if (params.simulate) {
        TFVOCAB_SIMULATE(channel.value(run_meta + [preset: params.simulate, seed: params.seed]))
        ch_versions     = ch_versions.mix(TFVOCAB_SIMULATE.out.versions)
        ch_gff          = TFVOCAB_SIMULATE.out.gff
        ch_fasta        = TFVOCAB_SIMULATE.out.fasta
        ch_coexpression = TFVOCAB_SIMULATE.out.coexpression
        ch_truth        = TFVOCAB_SIMULATE.out.truth.map { _meta, truth -> truth }
        ch_samplesheet  = TFVOCAB_SIMULATE.out.samplesheet.map { _meta, csv, _bigwigs -> csv }
        // the simulated samplesheet's paths are relative to its own folder
        ch_samples      = TFVOCAB_SIMULATE.out.samplesheet.flatMap { _meta, csv, _bigwigs ->
            csv.splitCsv(header: true).collect { row ->
                [[id: row.tf], csv.parent.resolve(row.bigwig), row.control ? csv.parent.resolve(row.control) : []]
            }
        }
    }

    //
    // PROMOTERS: one promoter per protein-coding gene
    //
    TFVOCAB_PROMOTERS(ch_gff, ch_fasta)
    ch_versions = ch_versions.mix(TFVOCAB_PROMOTERS.out.versions)
    ch_promoters = TFVOCAB_PROMOTERS.out.tsv.first()

    //
    // EXTRACT: scattered, one task per TF and one per distinct control track
    //
    ch_tf_tracks = ch_samples.map { meta, bigwig, control ->
        [meta + [control: control ? control.baseName : null], bigwig]
    }
    ch_control_tracks = ch_samples
        .filter { _meta, _bigwig, control -> control }
        .map { _meta, _bigwig, control -> control }
        .unique()
        .map { control -> [[id: control.baseName, control: null, is_control: true], control] }
    TFVOCAB_EXTRACT(ch_tf_tracks.mix(ch_control_tracks), ch_promoters)
    ch_versions = ch_versions.mix(TFVOCAB_EXTRACT.out.versions.first())

    //
    // MERGE: gather every signal file (sorted, for reproducible task hashes) + the samplesheet
    //
    ch_merge_in = TFVOCAB_EXTRACT.out.signal
        .map { _meta, h5 -> h5 }
        .collect(sort: true)
        .map { files -> [run_meta, files] }
        .combine(ch_samplesheet)
    TFVOCAB_MERGE(ch_merge_in)
    ch_versions = ch_versions.mix(TFVOCAB_MERGE.out.versions)

    TFVOCAB_NORMALIZE(TFVOCAB_MERGE.out.signal)
    ch_versions = ch_versions.mix(TFVOCAB_NORMALIZE.out.versions)
    TFVOCAB_TOKENIZE(TFVOCAB_NORMALIZE.out.normalized)
    ch_versions = ch_versions.mix(TFVOCAB_TOKENIZE.out.versions)

    ch_tokens     = TFVOCAB_TOKENIZE.out.tokens.map { _meta, h5 -> h5 }
    ch_normalized = TFVOCAB_NORMALIZE.out.normalized.map { _meta, h5 -> h5 }
    ch_prom_tsv   = ch_promoters.map { _meta, tsv -> tsv }

    //
    // PAIRS -> TRAIN -> EVALUATE -> INTERPRET -> PREDICT
    //
    TFVOCAB_PAIRS(ch_coexpression.combine(ch_prom_tsv))
    ch_versions = ch_versions.mix(TFVOCAB_PAIRS.out.versions)
    ch_pairs = TFVOCAB_PAIRS.out.pairs.map { _meta, tsv -> tsv }

    TFVOCAB_TRAIN(TFVOCAB_TOKENIZE.out.tokens.combine(ch_normalized).combine(ch_pairs))
    ch_versions = ch_versions.mix(TFVOCAB_TRAIN.out.versions)

    ch_model_data = TFVOCAB_TRAIN.out.model
        .combine(ch_tokens)
        .combine(ch_normalized)
    ch_model_pairs = ch_model_data
        .combine(ch_pairs)
        .combine(ch_prom_tsv)
    TFVOCAB_EVALUATE(ch_model_pairs, ch_truth)
    ch_versions = ch_versions.mix(TFVOCAB_EVALUATE.out.versions)
    TFVOCAB_INTERPRET(ch_model_pairs, ch_truth)
    ch_versions = ch_versions.mix(TFVOCAB_INTERPRET.out.versions)
    TFVOCAB_PREDICT(ch_model_data, params.predict_pairs ? file(params.predict_pairs, checkIfExists: true) : [])
    ch_versions = ch_versions.mix(TFVOCAB_PREDICT.out.versions)

    //
    // REPORT: the result files staged as one folder per step
    //
    ch_report_in = channel.value(run_meta)
        .combine(filesOf(TFVOCAB_TOKENIZE.out.vocabulary.mix(TFVOCAB_TOKENIZE.out.png, TFVOCAB_TOKENIZE.out.json)))
        .combine(filesOf(TFVOCAB_PAIRS.out.pairs.mix(TFVOCAB_PAIRS.out.report, TFVOCAB_PAIRS.out.json)))
        .combine(filesOf(TFVOCAB_TRAIN.out.log.mix(TFVOCAB_TRAIN.out.json)))
        .combine(filesOf(TFVOCAB_EVALUATE.out.metrics.mix(TFVOCAB_EVALUATE.out.predictions, TFVOCAB_EVALUATE.out.plots, TFVOCAB_EVALUATE.out.json)))
        .combine(filesOf(TFVOCAB_INTERPRET.out.results.mix(TFVOCAB_INTERPRET.out.plots)))
        .combine(filesOf(TFVOCAB_PREDICT.out.tsv.mix(TFVOCAB_PREDICT.out.graphml, TFVOCAB_PREDICT.out.json)))
    TFVOCAB_REPORT(ch_report_in)
    ch_versions = ch_versions.mix(TFVOCAB_REPORT.out.versions)

    emit:
    promoters   = TFVOCAB_PROMOTERS.out.tsv
    signal      = TFVOCAB_MERGE.out.signal
    normalized  = TFVOCAB_NORMALIZE.out.normalized
    tokens      = TFVOCAB_TOKENIZE.out.tokens
    pairs       = TFVOCAB_PAIRS.out.pairs
    model       = TFVOCAB_TRAIN.out.model
    metrics     = TFVOCAB_EVALUATE.out.metrics
    network     = TFVOCAB_PREDICT.out.graphml
    report      = TFVOCAB_REPORT.out.html
    versions    = ch_versions   // channel: versions.yml files
}

// All files of a channel of [meta, file(s)] tuples as ONE item holding the sorted file list
// (wrapped, so that `combine` appends the list as a single tuple element).
def filesOf(ch) {
    return ch.map { _meta, files -> files }.flatten().collect(sort: true).map { files -> [files] }
}
