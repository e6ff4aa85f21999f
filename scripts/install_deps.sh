#!/usr/bin/env bash
# Installs the build and test dependencies (Debian 12 packages, plus buf from
# npm into .tools/). Idempotent; does nothing slow when all is present.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

# Debian packages: the single source of truth for this project. clang-14 and
# libclang-rt-14-dev build the libFuzzer targets (scripts/fuzz.sh); the
# sanitizer runs use gcc's own runtimes. postgresql-15 is the shared state of
# a fleet of replicas; the tests start throwaway clusters of their own
# (server/testing/postgres_server.h), never the package's default one.
PACKAGES=(
  bazel-bootstrap
  bazel-rules-java
  libgrpc++-dev
  protobuf-compiler-grpc
  libprotobuf-dev
  protobuf-compiler
  libabsl-dev
  libcurl4-openssl-dev
  libgtest-dev
  libgmock-dev
  nlohmann-json3-dev
  python3-grpcio
  python3-protobuf
  libsqlite3-dev
  postgresql-15
  libpq-dev
  golang-github-gogo-googleapis-dev
  grpc-proto
  prometheus-cpp-dev
  libssl-dev
  sqlite3
  nodejs
  npm
  ca-certificates
  clang-14
  libclang-rt-14-dev
  git
)

TOOLS_DIR=".tools"

is_installed() {
  local status
  status="$(dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null || true)"
  [[ "${status}" == "installed" ]]
}

missing=()
for pkg in "${PACKAGES[@]}"; do
  if is_installed "${pkg}"; then
    continue
  fi
  # Some nodejs builds (e.g. NodeSource) bundle npm and conflict with
  # Debian's npm package: an npm on PATH is good enough.
  if [[ "${pkg}" == "npm" ]] && command -v npm >/dev/null 2>&1; then
    continue
  fi
  missing+=("${pkg}")
done

if ((${#missing[@]} > 0)); then
  echo "install_deps: installing ${missing[*]}" >&2
  sudo_cmd=()
  if [[ "$(id -u)" != "0" ]]; then
    sudo_cmd=(sudo)
  fi
  export DEBIAN_FRONTEND=noninteractive
  "${sudo_cmd[@]}" apt-get update -q
  "${sudo_cmd[@]}" env DEBIAN_FRONTEND=noninteractive \
    apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

# npm tools, project-local: buf (lint, breaking-change checks, `buf curl`) and
# the Node gRPC client libraries used by client/node and its tests.
NPM_PACKAGES=("@bufbuild/buf@1" "@grpc/grpc-js@1" "@grpc/proto-loader@0.8")
missing_npm=()
for spec in "${NPM_PACKAGES[@]}"; do
  name="${spec%@*}"
  if [[ ! -d "${TOOLS_DIR}/node_modules/${name}" ]]; then
    missing_npm+=("${spec}")
  fi
done
if ((${#missing_npm[@]} > 0)); then
  echo "install_deps: installing ${missing_npm[*]} into ${TOOLS_DIR}/" >&2
  mkdir -p "${TOOLS_DIR}"
  npm install --prefix "${TOOLS_DIR}" --no-audit --no-fund --loglevel=error "${missing_npm[@]}"
fi
