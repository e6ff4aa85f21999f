#!/usr/bin/env bash
# Builds the libFuzzer targets of //fuzz with clang (ASan+UBSan) and runs each
# for SECONDS, starting from its seeds in fuzz/corpus/<target>/.
#
# Usage: scripts/fuzz.sh [--results=FILE] SECONDS [TARGET...]
#   TARGET: e.g. urn_fuzzer (default: every target of //fuzz:all).
#   --results=FILE: appends one line per target, "PASSED name" or
#   "FAILED name: why" (scripts/test.sh counts them).
# Exits 0 when every target ran clean, 1 on a finding or a build failure.
# A finding (crash, sanitizer report, leak, timeout, out of memory) is kept
# with its log under a directory printed at the end. New inputs the fuzzer
# finds go to a temporary directory, never into the checked-in seeds.
#
# The build uses an output base of its own (CC=clang-14), so the gcc build's
# outputs and server stay as they are.
set -uo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

results=""
if [[ "${1:-}" == --results=* ]]; then
  results="${1#--results=}"
  shift
fi
if (($# < 1)) || ! [[ "$1" =~ ^[0-9]+$ ]]; then
  echo "usage: scripts/fuzz.sh [--results=FILE] SECONDS [TARGET...]" >&2
  exit 2
fi
seconds="$1"
shift

output_base="${FOLLOWGATE_FUZZ_OUTPUT_BASE:-${XDG_CACHE_HOME:-${HOME}/.cache}/followgate/fuzz-$(printf %s "${PWD}" | md5sum | cut -c1-12)}"
fuzz_bazel() {
  CC=clang-14 bazel --output_base="${output_base}" "$@"
}

record() {
  echo "fuzz: $*"
  if [[ -n "${results}" ]]; then echo "$*" >> "${results}"; fi
}

targets=("$@")
if ((${#targets[@]} == 0)); then
  mapfile -t targets < <(sed -n 's/^ *":\([a-z_0-9]*_fuzzer\)",$/\1/p' fuzz/BUILD.bazel)
fi

if ! fuzz_bazel build --config=fuzz "${targets[@]/#/\/\/fuzz:}"; then
  for t in "${targets[@]}"; do record "FAILED ${t}: did not build"; done
  fuzz_bazel shutdown >/dev/null 2>&1
  exit 1
fi
bin_dir="$(fuzz_bazel info --config=fuzz bazel-bin 2>/dev/null)/fuzz"
fuzz_bazel shutdown >/dev/null 2>&1

work="$(mktemp -d -t followgate-fuzz.XXXXXX)"
failed=0
for t in "${targets[@]}"; do
  mkdir -p "${work}/${t}/new" "${work}/${t}/findings"
  log="${work}/${t}/log"
  # -timeout: one input taking longer is a finding (a hang); -rss_limit_mb:
  # so is more memory. The outer timeout only guards against a stuck run.
  timeout --kill-after=10 "$((seconds + 120))" \
    "${bin_dir}/${t}" -max_total_time="${seconds}" -timeout=10 -rss_limit_mb=2048 \
    -max_len=65536 -print_final_stats=1 -artifact_prefix="${work}/${t}/findings/" \
    "${work}/${t}/new" "fuzz/corpus/${t}" > "${log}" 2>&1
  rc=$?
  runs="$(sed -n 's/^stat::number_of_executed_units: *//p' "${log}" | tail -1)"
  if ((rc == 0)); then
    record "PASSED ${t} (${runs:-?} runs in ${seconds} s)"
    continue
  fi
  failed=1
  finding="$(ls "${work}/${t}/findings/" 2>/dev/null | head -1)"
  summary="$(grep -m1 -E '^SUMMARY|ERROR: libFuzzer|==ERROR' "${log}" || echo "exit status ${rc}")"
  record "FAILED ${t}: ${summary} (input ${work}/${t}/findings/${finding:-none})"
  echo "---- ${t}: last lines of ${log}" >&2
  tail -n 40 "${log}" >&2
  if [[ -n "${finding}" ]]; then
    echo "---- ${t}: the input, as a C string:" >&2
    /usr/bin/python3 -c 'import sys; print(repr(open(sys.argv[1], "rb").read()[:2000]))' \
      "${work}/${t}/findings/${finding}" >&2
  fi
done

if ((failed)); then
  echo "fuzz: findings and logs kept in ${work}" >&2
  exit 1
fi
rm -rf "${work}"
exit 0
