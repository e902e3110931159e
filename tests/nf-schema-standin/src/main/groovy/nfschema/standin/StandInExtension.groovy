package nfschema.standin

import java.nio.file.Path

import groovy.json.JsonSlurper
import groovy.util.logging.Slf4j
import nextflow.Nextflow
import nextflow.Session
import nextflow.exception.AbortOperationException
import nextflow.plugin.extension.Function
import nextflow.plugin.extension.PluginExtensionPoint
import nextflow.script.WorkflowMetadata

/**
 * The three nf-schema functions tfvocab uses, for real, in the TEST STAND-IN of nf-schema:
 *
 *   validateParameters()           params vs nextflow_schema.json (JSON Schema 2020-12 with the
 *                                  nf-schema keywords: format file-path / directory-path / path /
 *                                  file-path-pattern, exists, schema (the file's content),
 *                                  uniqueEntries, errorMessage); unknown params are a warning
 *                                  (an error with validation.failUnrecognisedParams)
 *   paramsSummaryLog(workflow)     the parameters that differ from the schema's defaults, by group
 *   samplesheetToList(sheet, sch)  CSV / TSV / JSON / YAML rows, cast to the schema's types,
 *                                  validated, as [meta, field...] lists in the schema's order
 *
 * Errors stop the run at launch (AbortOperationException: `ERROR ~ ...`), one line per problem,
 * in nf-schema's wording. Read by the validation config scope: parametersSchema,
 * ignoreParams, defaultIgnoreParams, failUnrecognisedParams, monochromeLogs, summary.beforeText
 * / afterText / hideParams. Not implemented: --help (refused with a message), paramsHelp,
 * paramsSummaryMap, validate(), the lenient mode.
 */
@Slf4j
class StandInExtension extends PluginExtensionPoint {

    private Session session
    private Map config = [:]

    @Override
    protected void init(Session session) {
        this.session = session
        this.config = (session.config?.navigate('validation') ?: [:]) as Map
    }

    // ---------------------------------------------------------------- validateParameters

    @Function
    void validateParameters(Map options = null) {
        def params = (session.params ?: [:]) as Map
        if (['help', 'helpFull', 'showHidden'].any { name -> params.containsKey(name) && params[name] }) {
            throw new AbortOperationException("--help: not printed by the nf-schema stand-in of the tests; read nextflow_schema.json or docs/usage.md")
        }
        def schemaFile = schemaPath(options?.parameters_schema ?: config.parametersSchema ?: 'nextflow_schema.json')
        def schema = readJson(schemaFile)

        def ignored = ((config.defaultIgnoreParams ?: []) + (config.ignoreParams ?: []) + ['help', 'helpFull', 'showHidden']) as List
        def known = Schemas.parameterNames(schema)
        def knownCamel = known.collect { name -> Schemas.camel(name) } as Set
        def unknown = []
        def instance = [:]
        params.each { key, value ->
            def name = key as String
            if (name in ignored) {
                return
            }
            if (!(name in known)) {
                if (!(name in knownCamel)) {
                    unknown << "* --${name}: ${value}"
                }
                return
            }
            def json = Schemas.toJson(value)
            if (json != null) {
                instance[name] = json
            }
        }
        if (unknown) {
            def msg = "The following invalid input values have been detected:\n\n${unknown.join('\n')}\n"
            if (config.failUnrecognisedParams) {
                throw new AbortOperationException(msg)
            }
            log.warn(msg)
        }

        def checks = new Schemas(session.baseDir)
        def errors = checks.validate(instance, schema).collect { error ->
            def name = error.path.join('.')
            name ? "* --${name} (${error.value}): ${error.message}" : "* ${error.message}"
        }
        if (errors) {
            throw new AbortOperationException("The following invalid input values have been detected:\n\n${errors.unique().join('\n')}\n")
        }
        log.debug("nf-schema stand-in: parameters valid against ${schemaFile}")
    }

    // ---------------------------------------------------------------- paramsSummaryLog

    @Function
    String paramsSummaryLog(WorkflowMetadata workflow) {
        return paramsSummaryLog(null, workflow)
    }

    @Function
    String paramsSummaryLog(Map options, WorkflowMetadata workflow) {
        def schema = readJson(schemaPath(options?.parameters_schema ?: config.parametersSchema ?: 'nextflow_schema.json'))
        def params = (session.params ?: [:]) as Map
        def summary = (config.summary ?: [:]) as Map
        def hidden = (summary.hideParams ?: []) as List
        def mono = config.monochromeLogs as Boolean
        def c = mono ? [bold: '', dim: '', blue: '', green: '', reset: ''] :
            [bold: '\033[1m', dim: '\033[2m', blue: '\033[0;34m', green: '\033[0;32m', reset: '\033[0m']

        def groups = new LinkedHashMap<String, Map>()
        def core = new LinkedHashMap<String, Object>()
        if (workflow.revision) core.revision = workflow.revision
        core.runName = workflow.runName
        if (workflow.containerEngine) core.containerEngine = workflow.containerEngine
        if (workflow.container) core.container = workflow.container
        core.launchDir = workflow.launchDir
        core.workDir = workflow.workDir
        core.projectDir = workflow.projectDir
        core.userName = workflow.userName
        core.profile = workflow.profile
        core.configFiles = workflow.configFiles?.join(', ')
        groups['Core Nextflow options'] = core

        Schemas.parameterGroups(schema).each { title, props ->
            def shown = new LinkedHashMap<String, Object>()
            props.each { name, spec ->
                if (name in hidden || !params.containsKey(name)) {
                    return
                }
                def value = params[name]
                def dflt = (spec as Map).get('default')
                if (value == null || value == '' || Schemas.sameValue(value, dflt)) {
                    return
                }
                shown[name] = value
            }
            if (shown) {
                groups[title] = shown
            }
        }
        def width = groups.values().collectMany { group -> group.keySet() as List }.collect { key -> key.toString().size() }.max() ?: 0
        def out = new StringBuilder(summary.beforeText ?: '')
        groups.each { title, group ->
            out << "${c.bold}${title}${c.reset}\n"
            group.each { key, value ->
                out << "  ${c.blue}${key.toString().padRight(width)}: ${c.green}${value}${c.reset}\n"
            }
            out << '\n'
        }
        out << "!! Only displaying parameters that differ from the pipeline defaults !!\n"
        out << "-${c.dim}----------------------------------------------------${c.reset}-"
        out << (summary.afterText ?: '')
        return out.toString()
    }

    // ---------------------------------------------------------------- samplesheetToList

    @Function
    List samplesheetToList(Object samplesheet, Object schema, Map options = null) {
        def sheet = samplesheet instanceof Path ? (Path) samplesheet : (Nextflow.file(samplesheet.toString()) as Path)
        def schemaFile = schema instanceof Path ? (Path) schema : schemaPath(schema.toString())
        def schemaMap = readJson(schemaFile)
        def itemSchema = (schemaMap.items ?: [:]) as Map
        def props = ((itemSchema.properties ?: [:]) as Map)

        def rows = Samplesheets.read(sheet)
        def headers = rows.collectMany { row -> row.keySet() as List }.unique()
        def unknownHeaders = headers.findAll { header -> !props.containsKey(header) }
        if (unknownHeaders) {
            log.warn("Found the following unidentified headers in ${sheet.name}:\n\t- ${unknownHeaders.join('\n\t- ')}")
        }
        def typed = rows.collect { row -> Samplesheets.cast(row, props) }

        def checks = new Schemas(session.baseDir)
        def errors = checks.validate(typed, schemaMap).collect { error ->
            Samplesheets.describe(error)
        }
        if (errors) {
            throw new AbortOperationException("The following errors have been detected in ${sheet.name}:\n\n${errors.unique().join('\n')}\n")
        }
        return typed.collect { row -> Samplesheets.toChannelRow(row, props) }
    }

    // ---------------------------------------------------------------- helpers

    private Path schemaPath(Object name) {
        def text = name.toString()
        return (text.startsWith('/') || text.contains('://')) ? (Nextflow.file(text) as Path) : session.baseDir.resolve(text)
    }

    static Map readJson(Path path) {
        if (!path.exists()) {
            throw new AbortOperationException("JSON schema not found: ${path}")
        }
        return new JsonSlurper().parse(path.newReader()) as Map
    }
}
