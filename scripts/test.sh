#!/usr/bin/env bash
# Builds and runs every test, then prints a summary counted in test CASES
# (gtest <testcase> elements; a test without its own XML counts as one case).
# The last line is always "N passed, N failed"; CI reads it.
#
# Usage: scripts/test.sh [extra bazel test args...]   (appended after //...)
set -uo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

scripts/install_deps.sh || { echo "install_deps.sh failed" >&2; echo "0 passed, 1 failed"; exit 1; }

work="$(mktemp -d)"
cleanup() {
  bazel shutdown >/dev/null 2>&1 || true
  rm -rf "${work}"
}
trap cleanup EXIT

# The build event stream names exactly the test.xml files of this invocation
# (including cached results), so stale logs in bazel-testlogs never count.
bep="${work}/bep.json"
# --keep_going: one broken target must not hide the results of the others.
bazel test --keep_going --build_event_json_file="${bep}" //... "$@"
bazel_rc=$?

/usr/bin/python3 - "${bep}" "${bazel_rc}" <<'PY'
import json, sys, urllib.parse
import xml.etree.ElementTree as ET

bep_path, bazel_rc = sys.argv[1], int(sys.argv[2])
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

passed = skipped = 0
failures = []
for (label, _run, _shard), (_attempt, status, xml) in sorted(results.items()):
    target_failures = []
    if xml:
        try:
            root = ET.parse(xml).getroot()
            for tc in root.iter("testcase"):
                name = ".".join(x for x in (tc.get("classname"), tc.get("name")) if x)
                if tc.find("failure") is not None or tc.find("error") is not None:
                    target_failures.append("%s: %s" % (label, name))
                elif (tc.get("status") == "notrun"
                      or tc.get("result") in ("skipped", "suppressed")
                      or tc.find("skipped") is not None):
                    skipped += 1
                else:
                    passed += 1
        except (OSError, ET.ParseError) as e:
            target_failures.append("%s: unreadable test.xml (%s)" % (label, e))
    if status != "PASSED" and not target_failures:
        # Timeout, crash after the cases ran, or no XML at all.
        target_failures.append("%s: %s" % (label, status))
    failures.extend(target_failures)

# Test targets that never ran because they failed to build.
ran = {label for (label, _, _) in results}
for label in sorted((test_targets & failed_targets) - ran):
    failures.append("%s: did not build" % label)

if bazel_rc != 0 and not failures:
    # e.g. bad flags, analysis errors, or no test targets (exit code 4).
    failures.append("bazel test exited with code %d" % bazel_rc)

for f in failures:
    print("FAILED: " + f)
if skipped:
    print("%d skipped" % skipped)
print("%d passed, %d failed" % (passed, len(failures)))
sys.exit(1 if failures else 0)
PY
count_rc=$?

if ((bazel_rc != 0 || count_rc != 0)); then
  exit 1
fi
exit 0
