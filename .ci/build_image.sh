#!/usr/bin/env bash
# .ci/build_image.sh: build the project image tfvocab:dev (what -profile test,podman runs) with
# podman, on a machine that reaches Debian's mirrors and PyPI but no container registry.
#
#  1. installs podman, runc and debootstrap (Debian packages) when missing;
#  2. configures podman for these VMs, machine-wide, in a drop-in it owns
#     (/etc/containers/containers.conf.d/tfvocab-ci.conf): runc as the runtime (crun fails here) and
#     `default_ulimits = []` (the default nofile limit cannot be set in these VMs);
#  3. makes the base image localhost/debian-base:bookworm once, with `debootstrap --variant=minbase`
#     (Docker Hub's python:3.11-slim, the Dockerfile's default base, is out of reach);
#  4. builds containers/Dockerfile with BASE_IMAGE=that base; torch from PyTorch's CPU index when it
#     is reachable, else from PyPI (the CUDA build, which runs on the CPU); the host's CA bundle is
#     mounted read-only for pip (PIP_CERT). Unchanged layers are reused: a rebuild after a change in
#     src/ reinstalls the package only.
#
# Idempotent. Env: TFVOCAB_IMAGE (tag, default tfvocab:dev), DEBIAN_MIRROR, TORCH_INDEX_URL.
# Users build with plain `docker build -f containers/Dockerfile -t tfvocab:dev .` (docs/usage.md).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TAG="${TFVOCAB_IMAGE:-tfvocab:dev}"
BASE=localhost/debian-base:bookworm
MIRROR="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
CPU_INDEX=https://download.pytorch.org/whl/cpu
CA_BUNDLE=/etc/ssl/certs/ca-certificates.crt
BUILD_LOG="${BUILD_LOG:-${TMPDIR:-/tmp}/tfvocab-build-image.log}"

say() { echo "build_image.sh: $*" >&2; }
T0=$SECONDS

# 1. tools
missing=()
for tool in podman runc debootstrap; do command -v "$tool" >/dev/null || missing+=("$tool"); done
if ((${#missing[@]})); then
    [[ $(id -u) == 0 ]] || { say "needs ${missing[*]} (Debian packages; run as root to install them)"; exit 1; }
    say "installing ${missing[*]}"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# 2. podman settings for these VMs
CONF_D=/etc/containers/containers.conf.d
CONF="$CONF_D/tfvocab-ci.conf"
WANT='# written by tfvocab .ci/build_image.sh: podman in VMs without crun support or nofile limits
[containers]
default_ulimits = []

[engine]
runtime = "runc"'
if [[ ! -f "$CONF" || "$(cat "$CONF")" != "$WANT" ]]; then
    if [[ $(id -u) == 0 ]]; then
        mkdir -p "$CONF_D" && printf '%s\n' "$WANT" >"$CONF"
        say "wrote $CONF (runtime runc, default_ulimits = [])"
    else
        say "cannot write $CONF (not root): podman keeps its own runtime and ulimits"
    fi
fi

# 3. the base image
if ! podman image exists "$BASE"; then
    say "making $BASE with debootstrap --variant=minbase bookworm ($MIRROR)"
    dir=$(mktemp -d)
    trap 'rm -rf "$dir"' EXIT
    debootstrap --variant=minbase bookworm "$dir" "$MIRROR" >"$dir.log" 2>&1 \
        || { tail -20 "$dir.log" >&2; say "debootstrap failed (log above)"; exit 1; }
    rm -f "$dir.log"
    tar -C "$dir" -c . | podman import - "$BASE" >/dev/null
    rm -rf "$dir"
    trap - EXIT
fi

# 4. the image
TORCH_INDEX="${TORCH_INDEX_URL:-}"
if [[ -z "$TORCH_INDEX" ]]; then
    if python3 -c "import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=10).close()" "$CPU_INDEX/torch/" 2>/dev/null; then
        TORCH_INDEX=$CPU_INDEX
    else
        TORCH_INDEX=https://pypi.org/simple
        say "PyTorch's CPU index is not reachable: torch from PyPI (the CUDA build; runs on the CPU)"
    fi
fi
cert_args=()
if [[ -s "$CA_BUNDLE" ]]; then
    cert_args=(--volume "$CA_BUNDLE:/etc/ssl/host-ca-bundle.crt:ro" --build-arg PIP_CERT=/etc/ssl/host-ca-bundle.crt)
fi
say "building $TAG from containers/Dockerfile (BASE_IMAGE=$BASE, TORCH_INDEX_URL=$TORCH_INDEX)"
podman build --layers --pull=never -f "$ROOT/containers/Dockerfile" -t "$TAG" \
    --build-arg BASE_IMAGE="$BASE" --build-arg TORCH_INDEX_URL="$TORCH_INDEX" "${cert_args[@]}" \
    "$ROOT" >"$BUILD_LOG" 2>&1 \
    || { tail -30 "$BUILD_LOG" >&2; say "podman build failed (whole log: $BUILD_LOG)"; exit 1; }
say "$TAG: $(podman run --rm "$TAG" tfvocab --version) ($((SECONDS - T0)) s; build log: $BUILD_LOG)"
