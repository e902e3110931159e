#!/usr/bin/env bash
# Tools the test-suite needs beyond the Python package: fetched from the registries at CI time,
# never committed. Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p .ci/cache
