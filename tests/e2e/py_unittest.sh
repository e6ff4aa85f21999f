#!/usr/bin/env bash
# Runs a Python test module with Debian's interpreter (the one that has
# python3-grpcio), whatever python3 comes first on PATH.
set -euo pipefail
exec /usr/bin/python3 "$@"
