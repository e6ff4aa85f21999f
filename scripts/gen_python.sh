#!/usr/bin/env bash
# Generates the Python stubs the Python client needs into gen/ (or the folder
# given as $1): followgate/v1 (follows, invitations) and google/rpc (status,
# code, error_details: to decode the rich errors). Needs protobuf-compiler,
# protobuf-compiler-grpc and golang-github-gogo-googleapis-dev
# (scripts/install_deps.sh installs them).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
out="${1:-gen}"
googleapis=/usr/share/gocode/src/github.com/gogo/googleapis

mkdir -p "${out}"
protoc -Iprotos -I/usr/include --python_out="${out}" --grpc_out="${out}" \
  --plugin=protoc-gen-grpc=/usr/bin/grpc_python_plugin \
  protos/followgate/v1/follows.proto protos/followgate/v1/invitations.proto
protoc -I"${googleapis}" -I/usr/include --python_out="${out}" \
  "${googleapis}/google/rpc/code.proto" "${googleapis}/google/rpc/error_details.proto" \
  "${googleapis}/google/rpc/status.proto"
echo "gen_python: stubs in ${out}/" >&2
