#!/usr/bin/env bash
# buf lint over protos/ with the repository's buf.yaml.
set -euo pipefail
buf="$(readlink -f "$1")"
workspace="$(dirname "$(readlink -f buf.yaml)")"
export BUF_CACHE_DIR="${TEST_TMPDIR:-$(mktemp -d)}/buf-cache"
# buf resolves modules relative to buf.yaml: run it on a copy of the sources.
copy="$(mktemp -d "${TEST_TMPDIR:-/tmp}/buf.XXXXXX")"
cp buf.yaml "${copy}/"
mkdir -p "${copy}/protos/followgate/v1"
cp protos/followgate/v1/*.proto "${copy}/protos/followgate/v1/"
cd "${copy}"
if "${buf}" lint; then
  echo "buf lint: clean"
else
  echo "buf lint found problems (above)" >&2
  exit 1
fi
