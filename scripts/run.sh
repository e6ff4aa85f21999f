#!/usr/bin/env bash
# Quick start: installs what is missing, builds, and starts followgate on its
# built-in LinkedIn sandbox (no credentials needed). Extra arguments go to
# the server, e.g. `scripts/run.sh --port=50052`. Stop it with Ctrl-C.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

scripts/install_deps.sh
bazel build //server:followgate_server //client:followgate
bazel shutdown  # Don't leave the Bazel server holding memory.
exec bazel-bin/server/followgate_server --sandbox "$@"
