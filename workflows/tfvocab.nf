/*
 * TFVOCAB: the pipeline's steps, in the order `tfvocab demo` runs them:
 * (SIMULATE when params.simulate) -> PROMOTERS -> EXTRACT (one task per TF / control track)
 * -> MERGE -> NORMALIZE -> TOKENIZE -> PAIRS (params.folds gene-disjoint folds)
 * -> TRAIN and EVALUATE (one task per fold) -> SUMMARIZE (every fold's metrics)
 * -> INTERPRET, PREDICT (the fold-0 model) -> REPORT
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
include { TFVOCAB_SUMMARIZE } from '../modules/local/summarize'
include { TFVOCAB_INTERPRET } from '../modules/local/interpret'
include { TFVOCAB_PREDICT   } from '../modules/local/predict'
include { TFVOCAB_REPORT    } from '../modules/local/report'
include { samplesheetTracks } from '../subworkflows/local/utils_nfcore_tfvocab_pipeline'

workflow TFVOCAB {
    take:
    run_meta          // map: [id: run name]
    ch_tracks         // channel: [meta(id, kind: bigwig|peaks|control, control), track] (samplesheet rows + controls)
    ch_samplesheet    // channel: samplesheet.csv (tf,bigwig|peaks,control)
    ch_gff            // channel: [meta, gff3]
    ch_fasta          // channel: [meta, fasta, fai or []]
    ch_coexpression   // channel: [meta, co-expression list / ATTED-II folder or zip, Entrez->AGI map or []]

    main:
    ch_versions = channel.empty()
    ch_truth    = channel.value([])   // SIMULATE's truth/ folder: truth checks in EVALUATE and INTERPRET
    if (params.simulate) {
        TFVOCAB_SIMULATE(channel.value(run_meta + [preset: params.simulate, seed: params.seed]))
        ch_versions     = ch_versions.mix(TFVOCAB_SIMULATE.out.versions)
        ch_gff          = TFVOCAB_SIMULATE.out.gff
        ch_fasta        = TFVOCAB_SIMULATE.out.fasta
        ch_coexpression = TFVOCAB_SIMULATE.out.coexpression.map { meta, tsv -> [meta, tsv, []] }
        ch_truth        = TFVOCAB_SIMULATE.out.truth.map { _meta, truth -> truth }
        ch_samplesheet  = TFVOCAB_SIMULATE.out.samplesheet.map { _meta, csv, _bigwigs -> csv }
        // the same rules as for --input; the simulated samplesheet's paths are relative to its folder
        ch_tracks       = TFVOCAB_SIMULATE.out.samplesheet.flatMap { _meta, csv, _bigwigs ->
            samplesheetTracks(csv, csv.splitCsv(header: true))
        }
    }

    //
    // PROMOTERS: one promoter per protein-coding gene
    //
    TFVOCAB_PROMOTERS(ch_gff, ch_fasta)
    ch_versions  = ch_versions.mix(TFVOCAB_PROMOTERS.out.versions)
    ch_promoters = TFVOCAB_PROMOTERS.out.tsv   // a value channel: its inputs are values (one genome per run)

    //
    // EXTRACT: scattered, one task per TF and one per distinct control track
    //
    TFVOCAB_EXTRACT(ch_tracks, ch_promoters)
    ch_versions = ch_versions.mix(TFVOCAB_EXTRACT.out.versions.first())

    //
    // MERGE: every signal file (sorted, for reproducible task hashes) + the samplesheet
    //
    ch_signals = TFVOCAB_EXTRACT.out.signal
        .map { _meta, h5 -> h5 }
        .collect(sort: true)
        .map { files -> [run_meta, files] }
    TFVOCAB_MERGE(ch_signals, ch_samplesheet)
    ch_versions = ch_versions.mix(TFVOCAB_MERGE.out.versions)

    TFVOCAB_NORMALIZE(TFVOCAB_MERGE.out.signal)
    ch_versions = ch_versions.mix(TFVOCAB_NORMALIZE.out.versions)
    TFVOCAB_TOKENIZE(TFVOCAB_NORMALIZE.out.normalized)
    ch_versions = ch_versions.mix(TFVOCAB_TOKENIZE.out.versions)

    ch_tokens     = TFVOCAB_TOKENIZE.out.tokens.map { _meta, h5 -> h5 }
    ch_normalized = TFVOCAB_NORMALIZE.out.normalized.map { _meta, h5 -> h5 }
    ch_prom_tsv   = ch_promoters.map { _meta, tsv -> tsv }

    //
    // PAIRS: labelled pairs and params.folds gene-disjoint test folds
    //
    TFVOCAB_PAIRS(ch_coexpression, ch_promoters)
    ch_versions = ch_versions.mix(TFVOCAB_PAIRS.out.versions)
    ch_pairs = TFVOCAB_PAIRS.out.pairs.map { _meta, tsv -> tsv }
    ch_genes = TFVOCAB_PAIRS.out.genes.map { _meta, tsv -> tsv }

    //
    // TRAIN and EVALUATE: scattered, one task per fold (meta.fold); SUMMARIZE gathers the folds
    //
    ch_train_in = channel.fromList((0..<(params.folds as int)).toList())
        .combine(TFVOCAB_TOKENIZE.out.tokens)
        .combine(ch_normalized)
        .combine(ch_pairs)
        .combine(ch_genes)
        .map { fold, meta, tokens, normalized, pairs, genes -> [meta + [fold: fold, n_folds: params.folds], tokens, normalized, pairs, genes] }
    TFVOCAB_TRAIN(ch_train_in)
    ch_versions = ch_versions.mix(TFVOCAB_TRAIN.out.versions.first())

    ch_model_data = TFVOCAB_TRAIN.out.model
        .combine(ch_tokens)
        .combine(ch_normalized)
    ch_model_pairs = ch_model_data
        .combine(ch_pairs)
        .combine(ch_prom_tsv)
    ch_model_eval = ch_model_data
        .combine(ch_pairs)
        .combine(ch_genes)
        .combine(ch_prom_tsv)
    TFVOCAB_EVALUATE(ch_model_eval, ch_truth)
    ch_versions = ch_versions.mix(TFVOCAB_EVALUATE.out.versions.first())

    // every fold's metrics.json, in fold order: staged as metrics.fold1.json .. metrics.fold<K>.json
    ch_fold_metrics = TFVOCAB_EVALUATE.out.metrics
        .collect(flat: false, sort: { a, b -> a[0].fold <=> b[0].fold })
        .map { items -> [run_meta, items.collect { item -> item[1] }] }
    TFVOCAB_SUMMARIZE(ch_fold_metrics)
    ch_versions = ch_versions.mix(TFVOCAB_SUMMARIZE.out.versions)

    //
    // INTERPRET and PREDICT: the fold-0 model
    //
    TFVOCAB_INTERPRET(ch_model_pairs.filter { item -> item[0].fold == 0 }, ch_truth)
    ch_versions = ch_versions.mix(TFVOCAB_INTERPRET.out.versions)
    ch_predict_pairs = channel.value(params.predict_pairs ? [file(params.predict_pairs, checkIfExists: true)] : [])
    TFVOCAB_PREDICT(ch_model_data.filter { item -> item[0].fold == 0 }, ch_predict_pairs)
    ch_versions = ch_versions.mix(TFVOCAB_PREDICT.out.versions)

    //
    // REPORT: the result files staged as one folder per step (train/ and evaluate/: fold 0;
    // summarize/: every fold; extract/: every track's manifest, with its health)
    //
    ch_report_in = channel.of(run_meta)
        .combine(filesOf(TFVOCAB_TOKENIZE.out.vocabulary.mix(TFVOCAB_TOKENIZE.out.png, TFVOCAB_TOKENIZE.out.json)))
        .combine(filesOf(TFVOCAB_PAIRS.out.pairs.mix(TFVOCAB_PAIRS.out.report, TFVOCAB_PAIRS.out.json)))
        .combine(filesOf(foldZero(TFVOCAB_TRAIN.out.log.mix(TFVOCAB_TRAIN.out.json))))
        .combine(filesOf(foldZero(TFVOCAB_EVALUATE.out.metrics.mix(TFVOCAB_EVALUATE.out.predictions, TFVOCAB_EVALUATE.out.plots, TFVOCAB_EVALUATE.out.json))))
        .combine(filesOf(TFVOCAB_SUMMARIZE.out.json.mix(TFVOCAB_SUMMARIZE.out.tsv, TFVOCAB_SUMMARIZE.out.png)))
        .combine(filesOf(TFVOCAB_INTERPRET.out.results.mix(TFVOCAB_INTERPRET.out.plots)))
        .combine(filesOf(TFVOCAB_PREDICT.out.tsv.mix(TFVOCAB_PREDICT.out.graphml, TFVOCAB_PREDICT.out.json)))
        .combine(filesOf(TFVOCAB_EXTRACT.out.manifest))
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
    summary     = TFVOCAB_SUMMARIZE.out.json
    network     = TFVOCAB_PREDICT.out.graphml
    report      = TFVOCAB_REPORT.out.html
    versions    = ch_versions   // channel: versions.yml files
}

// The items of fold 0 of a channel of [meta(fold), file(s)] tuples
def foldZero(ch) {
    return ch.filter { item -> item[0].fold == 0 }
}

// All files of a channel of [meta, file(s)] tuples as ONE item holding the sorted file list
// (wrapped, so that `combine` appends the list as a single tuple element).
def filesOf(ch) {
    return ch.map { _meta, files -> files }.flatten().collect(sort: true).map { files -> [files] }
}
