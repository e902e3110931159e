package nfschema.standin

import java.nio.file.Files
import java.nio.file.Path

import dev.harrel.jsonschema.EvaluationContext
import dev.harrel.jsonschema.Evaluator
import dev.harrel.jsonschema.EvaluatorFactory
import dev.harrel.jsonschema.JsonNode
import dev.harrel.jsonschema.SchemaParsingContext
import dev.harrel.jsonschema.ValidatorFactory
import com.fasterxml.jackson.databind.ObjectMapper
import dev.harrel.jsonschema.providers.JacksonNode
import groovy.json.JsonOutput
import groovy.transform.Canonical
import nextflow.Nextflow

/**
 * JSON-Schema (2020-12) validation with dev.harrel:json-schema plus the keywords nf-schema adds,
 * and the turning of the library's errors into nf-schema's one-line messages.
 */
class Schemas {

    /** One validation problem: where (instance path segments), the value there, the message */
    @Canonical
    static class Problem {
        List<String> path
        Object value
        String message
    }

    private static final ObjectMapper JSON = new ObjectMapper()

    private final Path baseDir

    Schemas(Path baseDir) {
        this.baseDir = baseDir
    }

    List<Problem> validate(Object instance, Map schema) {
        def factory = new ValidatorFactory()
            .withJsonNodeFactory(new JacksonNode.Factory())
            .withEvaluatorFactory(new Keywords())
        def result = factory.validate(JSON.valueToTree(schema), JSON.valueToTree(instance))
        if (result.isValid()) {
            return []
        }
        def errors = result.errors
        // a failed oneOf / anyOf reports its branches' errors too: keep the keyword's own error
        def failedChoices = errors.findAll { error -> error.keyword in ['oneOf', 'anyOf'] }
            .collect { error -> fragment(error.schemaLocation) }
        def problems = []
        for (error in errors) {
            def location = fragment(error.schemaLocation)
            if (error.error.startsWith('Value does not match against the schemas at indexes')) {
                continue    // an allOf wrapper: its sub-schema's error says what failed
            }
            if (failedChoices.any { choice -> location.startsWith(choice + '/') }) {
                continue
            }
            def path = error.instanceLocation.tokenize('/').collect { segment -> segment.replace('~1', '/').replace('~0', '~') }
            def message = error.error
            if (error.keyword == 'required') {
                def missing = (message =~ /\[\[([^\[\]]*)\]\]$/)
                message = "Missing required ${instance instanceof List ? 'field' : 'parameter'}(s): ${missing ? missing[0][1] : message}"
            }
            def custom = errorMessage(schema, location)
            if (custom && !message.startsWith('Validation of file failed')) {
                message = "${message} (${custom})"
            }
            problems << new Problem(path, valueAt(instance, path), message)
        }
        return problems
    }

    // "…schema_input.json#/items/properties/tf/pattern" -> "/items/properties/tf/pattern"
    private static String fragment(String schemaLocation) {
        def i = schemaLocation.indexOf('#')
        return i < 0 ? '' : schemaLocation.substring(i + 1)
    }

    // The errorMessage of the schema object holding the failed keyword, if any
    private static String errorMessage(Map schema, String location) {
        def segments = location.tokenize('/')
        if (!segments) {
            return null
        }
        Object node = schema
        for (segment in segments[0..<-1]) {
            node = node instanceof Map ? node[segment] : (node instanceof List && segment.isInteger() ? node[segment as int] : null)
            if (node == null) {
                return null
            }
        }
        return node instanceof Map ? node.errorMessage : null
    }

    private static Object valueAt(Object instance, List<String> path) {
        Object node = instance
        for (segment in path) {
            node = node instanceof Map ? node[segment] : (node instanceof List && segment.isInteger() ? node[segment as int] : null)
        }
        return node instanceof Map || node instanceof List ? JsonOutput.toJson(node) : node
    }

    // ------------------------------------------------------------ nf-schema's keywords

    private class Keywords implements EvaluatorFactory {
        @Override
        Optional<Evaluator> create(SchemaParsingContext ctx, String keyword, JsonNode node) {
            if (keyword == 'format' && node.isString() && node.asString() in ['file-path', 'directory-path', 'path', 'file-path-pattern']) {
                return Optional.of(new PathFormat(node.asString()) as Evaluator)
            }
            if (keyword == 'exists' && node.isBoolean()) {
                return Optional.of(new Exists(node.asBoolean()) as Evaluator)
            }
            if (keyword == 'schema' && node.isString()) {
                return Optional.of(new FileContent(node.asString()) as Evaluator)
            }
            if (keyword == 'uniqueEntries' && node.isArray()) {
                return Optional.of(new UniqueEntries(node.asArray().collect { item -> item.asString() }) as Evaluator)
            }
            return Optional.empty()
        }
    }

    // A local path (a URL or object store path is not checked here: offline, as in CI)
    private static Path localPath(String value) {
        if (value ==~ /^[A-Za-z][A-Za-z0-9+.-]*:\/\/.*/ && !value.startsWith('file://')) {
            return null
        }
        return Nextflow.file(value) as Path
    }

    private static class PathFormat implements Evaluator {
        final String format
        PathFormat(String format) { this.format = format }

        @Override
        Evaluator.Result evaluate(EvaluationContext ctx, JsonNode node) {
            if (!node.isString()) {
                return Evaluator.Result.success()
            }
            def value = node.asString()
            if (format == 'file-path-pattern') {
                def found = Nextflow.files(value) as List
                return found ? Evaluator.Result.success() : Evaluator.Result.failure("No files were found using the glob pattern '${value}'" as String)
            }
            def path = localPath(value)
            if (path == null || !Files.exists(path)) {
                return Evaluator.Result.success()    // existence is the `exists` keyword's
            }
            if (format == 'file-path' && Files.isDirectory(path)) {
                return Evaluator.Result.failure("'${value}' is not a file, but a directory" as String)
            }
            if (format == 'directory-path' && !Files.isDirectory(path)) {
                return Evaluator.Result.failure("'${value}' is not a directory, but a file" as String)
            }
            return Evaluator.Result.success()
        }
    }

    private static class Exists implements Evaluator {
        final boolean expected
        Exists(boolean expected) { this.expected = expected }

        @Override
        Evaluator.Result evaluate(EvaluationContext ctx, JsonNode node) {
            if (!node.isString()) {
                return Evaluator.Result.success()
            }
            def path = localPath(node.asString())
            if (path == null || Files.exists(path) == expected) {
                return Evaluator.Result.success()
            }
            return Evaluator.Result.failure((expected ? "the file or directory '${node.asString()}' does not exist" : "the file or directory '${node.asString()}' exists") as String)
        }
    }

    // `schema`: the file the parameter names is a samplesheet; its rows are validated too
    private class FileContent implements Evaluator {
        final String schemaName
        FileContent(String schemaName) { this.schemaName = schemaName }

        @Override
        Evaluator.Result evaluate(EvaluationContext ctx, JsonNode node) {
            if (!node.isString()) {
                return Evaluator.Result.success()
            }
            def path = localPath(node.asString())
            if (path == null || !Files.isRegularFile(path)) {
                return Evaluator.Result.success()
            }
            def schemaFile = schemaName.startsWith('/') ? Path.of(schemaName) : baseDir.resolve(schemaName)
            def schema = StandInExtension.readJson(schemaFile)
            def props = ((((schema.items ?: [:]) as Map).properties ?: [:]) as Map)
            def rows = Samplesheets.read(path).collect { row -> Samplesheets.cast(row, props) }
            def problems = validate(rows, schema)
            if (!problems) {
                return Evaluator.Result.success()
            }
            def lines = problems.collect { problem -> Samplesheets.describe(problem) }.unique()
            return Evaluator.Result.failure("Validation of file failed: ${lines.join('; ')}" as String)
        }
    }

    private static class UniqueEntries implements Evaluator {
        final List<String> fields
        UniqueEntries(List<String> fields) { this.fields = fields }

        @Override
        Evaluator.Result evaluate(EvaluationContext ctx, JsonNode node) {
            if (!node.isArray()) {
                return Evaluator.Result.success()
            }
            def seen = [:]
            def duplicates = []
            node.asArray().eachWithIndex { item, i ->
                if (!item.isObject()) {
                    return
                }
                def obj = item.asObject()
                def key = fields.collect { field -> obj.containsKey(field) ? obj[field].toPrintableString() : null }
                if (seen.containsKey(key)) {
                    def shown = [fields, key].transpose().collect { pair -> "${pair[0]}: ${pair[1]}" }.join(', ')
                    duplicates << "Entry ${i + 1}: Detected duplicate entries: [${shown}] (first in entry ${seen[key] + 1})"
                }
                else {
                    seen[key] = i
                }
            }
            return duplicates ? Evaluator.Result.failure(duplicates.join('; ') as String) : Evaluator.Result.success()
        }
    }

    // ------------------------------------------------------------ schema helpers

    /** Every parameter the schema defines (top-level properties and those of $defs / definitions) */
    static Set<String> parameterNames(Map schema) {
        return parameterGroups(schema).values().collectMany { props -> props.keySet() as List } as Set
    }

    /** [group title: [name: property schema]] in the schema's order; ungrouped ones last */
    static Map<String, Map> parameterGroups(Map schema) {
        def groups = new LinkedHashMap<String, Map>()
        def defs = ((schema['$defs'] ?: schema.definitions ?: [:]) as Map)
        defs.each { key, group ->
            def g = group as Map
            groups[(g.title ?: key) as String] = ((g.properties ?: [:]) as Map)
        }
        if (schema.properties) {
            groups['Other parameters'] = schema.properties as Map
        }
        return groups
    }

    static String camel(String name) {
        return name.replaceAll(/[_-]([a-z0-9])/) { all, c -> c.toUpperCase() }
    }

    /** A params value as JSON data (paths and GStrings as strings); null stays null */
    static Object toJson(Object value) {
        if (value == null || value instanceof Boolean || value instanceof Number) {
            return value
        }
        if (value instanceof Map) {
            return value.collectEntries { k, v -> [(k.toString()): toJson(v)] }.findAll { k, v -> v != null }
        }
        if (value instanceof Collection) {
            return value.collect { v -> toJson(v) }
        }
        if (value instanceof Path) {
            return value.toUriString().startsWith('file://') ? value.toString() : value.toUriString()
        }
        return value.toString()
    }

    static boolean sameValue(Object value, Object dflt) {
        if (value instanceof Number && dflt instanceof Number) {
            return (value as BigDecimal) == (dflt as BigDecimal)
        }
        return value?.toString() == dflt?.toString()
    }
}
