#!/usr/bin/env bash
# Builds and runs every test, then prints a summary counted in test CASES
# (gtest <testcase> elements; a test without its own XML counts as one case).
# The last line is always "N passed, N failed"; CI reads it.
#
# Usage: scripts/test.sh [--quick] [extra bazel test args...]
#   Jobs, each counted in the one closing line:
#   1. the whole suite, `bazel test //...`;
#   2. the C++ tests under AddressSanitizer + UndefinedBehaviorSanitizer
#      (`--config=asan`), every case counted like a normal one;
#   3. the C++ tests under ThreadSanitizer (`--config=tsan`), but the
#      in-process gRPC server test (see below);
#   4. every libFuzzer target for FUZZ_SECONDS (default 20) seconds
#      (scripts/fuzz.sh), each target one case.
#   --quick runs the first job only (for development). Extra arguments are
#   flags for every `bazel test` (e.g. --test_output=all).
set -uo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

quick=0
if [[ "${1:-}" == "--quick" ]]; then
  quick=1
  shift
fi

scripts/install_deps.sh || { echo "install_deps.sh failed" >&2; echo "0 passed, 1 failed"; exit 1; }

work="$(mktemp -d)"
cleanup() {
  bazel shutdown >/dev/null 2>&1 || true
  rm -rf "${work}"
}
trap cleanup EXIT

# The build event stream names exactly the test.xml files of this invocation
# (including cached results), so stale logs in bazel-testlogs never count.
# --keep_going: one broken target must not hide the results of the others.
jobs=()
run_bazel_job() {
  local name="$1"
  shift
  local bep="${work}/${name}.bep.json"
  echo "==== ${name}: bazel test $*" >&2
  local start="${SECONDS}"
  bazel test --keep_going --build_event_json_file="${bep}" "$@"
  local rc=$?
  echo "==== ${name}: $((SECONDS - start)) s" >&2
  jobs+=("${name}:${bep}:${rc}")
}

fuzz_results="${work}/fuzz.results"
fuzz_rc=0
run_bazel_job normal "$@" -- //...
if ((!quick)); then
  run_bazel_job asan --config=asan "$@" -- //...
  # Not under TSan: the in-process gRPC server test. gRPC core and its C++
  # library are not instrumented, and its callback machinery (tags run on
  # gRPC's threads, call state reused from its arenas) reports races that TSan
  # cannot order, mixed with our frames; that test runs in the other jobs.
  run_bazel_job tsan --config=tsan "$@" -- //... -//tests/server/grpc:follows_service_test
  bazel shutdown >/dev/null 2>&1
  echo "==== fuzz: scripts/fuzz.sh ${FUZZ_SECONDS:-20}" >&2
  start="${SECONDS}"
  touch "${fuzz_results}"
  scripts/fuzz.sh --results="${fuzz_results}" "${FUZZ_SECONDS:-20}"
  fuzz_rc=$?
  echo "==== fuzz: $((SECONDS - start)) s" >&2
fi

/usr/bin/python3 - "${fuzz_results}:${fuzz_rc}" "${jobs[@]}" <<'PY'
import json, os, sys, urllib.parse
import xml.etree.ElementTree as ET

fuzz_arg, job_args = sys.argv[1], sys.argv[2:]
fuzz_path, fuzz_rc = fuzz_arg.rsplit(":", 1)
passed = skipped = 0
failures = []


def count_bazel_job(job, bep_path, bazel_rc):
    """Adds the test cases of one `bazel test` invocation."""
    global passed, skipped
    results = {}      # (label, run, shard) -> (attempt, status, xml path or None)
    test_targets = set()
    failed_targets = set()  # targets that did not build
    try:
        with open(bep_path) as f:
            events = [json.loads(line) for line in f if line.strip()]
    except OSError:
        events = []

    for ev in events:
        eid = ev.get("id", {})
        if "targetConfigured" in eid and "testSize" in ev.get("configured", {}):
            test_targets.add(eid["targetConfigured"]["label"])
        elif "targetCompleted" in eid:
            if not ev.get("completed", {}).get("success", False):
                failed_targets.add(eid["targetCompleted"]["label"])
        elif "testResult" in eid:
            tid = eid["testResult"]
            res = ev.get("testResult", {})
            xml = None
            for out in res.get("testActionOutput", []):
                if out.get("name") == "test.xml" and out.get("uri", "").startswith("file://"):
                    xml = urllib.parse.unquote(out["uri"][len("file://"):])
            key = (tid["label"], tid.get("run", 1), tid.get("shard", 1))
            attempt = tid.get("attempt", 1)
            # Keep only the final attempt of a retried (flaky) test.
            if key not in results or attempt >= results[key][0]:
                results[key] = (attempt, res.get("status", "NO_STATUS"), xml)

    prefix = "" if job == "normal" else "[%s] " % job
    job_failures = []
    for (label, _run, _shard), (_attempt, status, xml) in sorted(results.items()):
        target_failures = []
        if xml:
            try:
                root = ET.parse(xml).getroot()
                for tc in root.iter("testcase"):
                    name = ".".join(x for x in (tc.get("classname"), tc.get("name")) if x)
                    if tc.find("failure") is not None or tc.find("error") is not None:
                        target_failures.append("%s%s: %s" % (prefix, label, name))
                    elif (tc.get("status") == "notrun"
                          or tc.get("result") in ("skipped", "suppressed")
                          or tc.find("skipped") is not None):
                        skipped += 1
                    else:
                        passed += 1
            except (OSError, ET.ParseError) as e:
                target_failures.append("%s%s: unreadable test.xml (%s)" % (prefix, label, e))
        if status != "PASSED" and not target_failures:
            # Timeout, crash after the cases ran (e.g. a sanitizer report at
            # exit), or no XML at all.
            target_failures.append("%s%s: %s" % (prefix, label, status))
        job_failures.extend(target_failures)

    # Test targets that never ran because they failed to build.
    ran = {label for (label, _, _) in results}
    for label in sorted((test_targets & failed_targets) - ran):
        job_failures.append("%s%s: did not build" % (prefix, label))

    if bazel_rc != 0 and not job_failures:
        # e.g. bad flags, analysis errors, or no test targets (exit code 4).
        job_failures.append("%sbazel test exited with code %d" % (prefix, bazel_rc))
    failures.extend(job_failures)


for arg in job_args:
    job, rest = arg.split(":", 1)
    bep_path, rc = rest.rsplit(":", 1)
    count_bazel_job(job, bep_path, int(rc))

# One line per fuzz target: "PASSED name ..." or "FAILED name: why".
if os.path.exists(fuzz_path):
    with open(fuzz_path) as f:
        for line in f:
            line = line.strip()
            if line.startswith("PASSED "):
                passed += 1
            elif line:
                failures.append("[fuzz] " + line[len("FAILED "):])
if int(fuzz_rc) != 0 and not any(f.startswith("[fuzz] ") for f in failures):
    failures.append("[fuzz] scripts/fuzz.sh exited with code %s" % fuzz_rc)

for f in failures:
    print("FAILED: " + f)
if skipped:
    print("%d skipped" % skipped)
print("%d passed, %d failed" % (passed, len(failures)))
sys.exit(1 if failures else 0)
PY
exit $?
