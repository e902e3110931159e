package nfschema.standin

import groovy.transform.CompileStatic
import groovy.util.logging.Slf4j
import nextflow.plugin.BasePlugin
import org.pf4j.PluginWrapper

/**
 * The plugin class of the nf-schema TEST STAND-IN (tests/nf-schema-standin): a Nextflow plugin
 * with the id and version the pipeline declares (nf-schema@2.3.0), installed by .ci/nextflow.sh
 * into a private NXF_HOME where the plugin registry cannot be reached. Not the released plugin.
 */
@Slf4j
@CompileStatic
class StandInPlugin extends BasePlugin {

    StandInPlugin(PluginWrapper wrapper) {
        super(wrapper)
    }

    @Override
    void start() {
        super.start()
        log.info("nf-schema@${wrapper.descriptor.version} is the tfvocab tests' stand-in (tests/nf-schema-standin), not the released plugin")
    }
}
