package nfschema.standin

import java.nio.file.Path

import groovy.json.JsonSlurper
import nextflow.Nextflow
import nextflow.exception.AbortOperationException
import org.yaml.snakeyaml.Yaml

/** Reading samplesheets (CSV, TSV, JSON, YAML), casting cells to the schema's types, and the rows as channel items */
class Samplesheets {

    static List<Map> read(Path path) {
        def name = path.name.toLowerCase()
        if (name.endsWith('.json')) {
            return (new JsonSlurper().parse(path.newReader()) as List).collect { row -> dropEmpty(row as Map) }
        }
        if (name.endsWith('.yml') || name.endsWith('.yaml')) {
            return (new Yaml().load(path.text) as List).collect { row -> dropEmpty(row as Map) }
        }
        def sep = name.endsWith('.tsv') ? '\t' : ','
        if (!name.endsWith('.csv') && !name.endsWith('.tsv')) {
            throw new AbortOperationException("Samplesheet ${path.name}: not a CSV, TSV, JSON or YAML file (by its extension)")
        }
        def records = parseDelimited(path.text, sep as char)
        if (!records) {
            return []
        }
        def header = records[0].collect { cell -> cell.trim() }
        def rows = []
        records.drop(1).eachWithIndex { cells, i ->
            if (cells.every { cell -> cell.trim().isEmpty() }) {
                return   // blank line
            }
            if (cells.size() > header.size()) {
                throw new AbortOperationException("Samplesheet ${path.name} line ${i + 2}: ${cells.size()} columns, the header has ${header.size()}")
            }
            def row = new LinkedHashMap<String, Object>()
            header.eachWithIndex { column, j -> row[column] = j < cells.size() ? cells[j] : '' }
            rows << dropEmpty(row)
        }
        return rows
    }

    // RFC 4180: quoted cells, doubled quotes, separators and newlines inside quotes
    static List<List<String>> parseDelimited(String text, char sep) {
        def records = []
        def record = []
        def cell = new StringBuilder()
        boolean quoted = false
        int i = 0
        while (i < text.length()) {
            char ch = text.charAt(i)
            if (quoted) {
                if (ch == '"' as char) {
                    if (i + 1 < text.length() && text.charAt(i + 1) == '"' as char) {
                        cell.append('"'); i++
                    }
                    else {
                        quoted = false
                    }
                }
                else {
                    cell.append(ch)
                }
            }
            else if (ch == '"' as char) {
                quoted = true
            }
            else if (ch == sep) {
                record << cell.toString(); cell.setLength(0)
            }
            else if (ch == '\n' as char || ch == '\r' as char) {
                if (ch == '\r' as char && i + 1 < text.length() && text.charAt(i + 1) == '\n' as char) {
                    i++
                }
                record << cell.toString(); cell.setLength(0)
                records << record; record = []
            }
            else {
                cell.append(ch)
            }
            i++
        }
        if (cell.length() > 0 || record) {
            record << cell.toString()
            records << record
        }
        return records
    }

    // nf-schema treats an empty cell as an absent field (so `required` and `oneOf` see it)
    private static Map dropEmpty(Map row) {
        return row.findAll { k, v -> v != null && !(v instanceof CharSequence && v.toString().trim().isEmpty()) }
            .collectEntries { k, v -> [(k.toString()): v instanceof CharSequence ? v.toString().trim() : v] }
    }

    /** Cells cast to the property's type where they parse as it (else left as strings: the schema says what is wrong) */
    static Map cast(Map row, Map props) {
        return row.collectEntries { key, value ->
            def spec = (props[key] ?: [:]) as Map
            def types = spec.type instanceof List ? spec.type as List : [spec.type]
            def text = value.toString()
            def out = value
            if (value instanceof CharSequence) {
                if ('integer' in types && text ==~ /-?\d+/) {
                    out = new BigInteger(text)
                }
                else if ('number' in types && text.isBigDecimal()) {
                    out = new BigDecimal(text)
                }
                else if ('boolean' in types && text.toLowerCase() in ['true', 'false']) {
                    out = text.toLowerCase() == 'true'
                }
            }
            [(key): out]
        }
    }

    /** A samplesheet problem in nf-schema's wording: "-> Entry 2: Error for field 'tf' (x y): ..." */
    static String describe(Schemas.Problem problem) {
        def path = problem.path
        if (path && path[0].isInteger()) {
            def entry = "Entry ${(path[0] as int) + 1}"
            return path.size() > 1 ? "-> ${entry}: Error for field '${path.drop(1).join('/')}' (${problem.value}): ${problem.message}" : "-> ${entry}: ${problem.message}"
        }
        return problem.message.startsWith('Entry ') ? "-> ${problem.message}" : "* ${problem.message}"
    }

    /** A validated row as [meta, field, ...]: meta from the properties with "meta", the others in
     *  the schema's order ([] when absent; path formats as file objects); defaults filled in */
    static List toChannelRow(Map row, Map props) {
        def meta = new LinkedHashMap<String, Object>()
        def fields = []
        props.each { name, specObj ->
            def spec = specObj as Map
            def value = row.containsKey(name) ? row[name] : spec['default']
            if (value != null && spec.format in ['file-path', 'directory-path', 'path']) {
                value = Nextflow.file(value.toString())
            }
            if (spec.meta) {
                def keys = spec.meta instanceof List ? spec.meta as List : [spec.meta]
                keys.each { key -> meta[key.toString()] = value }
            }
            else {
                fields << (value == null ? [] : value)
            }
        }
        return meta ? [meta] + fields : fields
    }
}
