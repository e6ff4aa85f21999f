#!/usr/bin/env bash
# buf breaking: protos/ must stay wire- and source-compatible with the recorded
# release (protos/buf_baseline.binpb, made with `buf build -o` at that release).
set -euo pipefail
buf="$(readlink -f "$1")"
baseline="$(readlink -f "$2")"
export BUF_CACHE_DIR="${TEST_TMPDIR:-$(mktemp -d)}/buf-cache"
copy="$(mktemp -d "${TEST_TMPDIR:-/tmp}/buf.XXXXXX")"
cp buf.yaml "${copy}/"
mkdir -p "${copy}/protos/followgate/v1"
cp protos/followgate/v1/*.proto "${copy}/protos/followgate/v1/"
cd "${copy}"
if "${buf}" breaking --against "${baseline}"; then
  echo "buf breaking: compatible with the recorded release"
else
  echo "buf breaking found incompatible changes (above)" >&2
  exit 1
fi
