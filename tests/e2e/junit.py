"""Runs a module's unittest cases and writes JUnit XML where Bazel asks.

Bazel reads $XML_OUTPUT_FILE, so the project's test command counts each test
case (not just the target). Usage at the end of a test module:

    if __name__ == "__main__":
        junit.main()
"""

import os
import sys
import time
import unittest
import xml.etree.ElementTree as ET
from xml.sax.saxutils import quoteattr, escape

# JUnit XML files written by test runners that a test started (e.g. node's):
# their cases are counted too.
extra_reports = []


class _Result(unittest.TextTestResult):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.cases = []  # (class, name, seconds, kind, text)
        self._started = 0.0

    def startTest(self, test):
        self._started = time.monotonic()
        super().startTest(test)

    def _record(self, test, kind, text=""):
        self.cases.append((type(test).__name__, test._testMethodName,
                           time.monotonic() - self._started, kind, text))

    def addSuccess(self, test):
        super().addSuccess(test)
        self._record(test, "ok")

    def addFailure(self, test, err):
        super().addFailure(test, err)
        self._record(test, "failure", self._exc_info_to_string(err, test))

    def addError(self, test, err):
        super().addError(test, err)
        self._record(test, "error", self._exc_info_to_string(err, test))

    def addSkip(self, test, reason):
        super().addSkip(test, reason)
        self._record(test, "skipped", reason)


def _extra_cases():
    cases = []
    for report in extra_reports:
        try:
            root = ET.parse(report).getroot()
        except (OSError, ET.ParseError):
            continue
        for case in root.iter("testcase"):
            failed = case.find("failure") is not None or case.find("error") is not None
            cases.append((case.get("classname", "external"), case.get("name", "?"),
                          float(case.get("time", "0") or 0), "failure" if failed else "ok",
                          "see the test log" if failed else ""))
    return cases


def _write_xml(path, suite_name, cases):
    cases = cases + _extra_cases()
    failures = sum(1 for c in cases if c[3] == "failure")
    errors = sum(1 for c in cases if c[3] == "error")
    lines = ['<?xml version="1.0" encoding="UTF-8"?>',
             "<testsuites>",
             "<testsuite name=%s tests=\"%d\" failures=\"%d\" errors=\"%d\">"
             % (quoteattr(suite_name), len(cases), failures, errors)]
    for cls, name, seconds, kind, text in cases:
        lines.append("<testcase classname=%s name=%s time=\"%.3f\">"
                     % (quoteattr(cls), quoteattr(name), seconds))
        if kind in ("failure", "error"):
            lines.append("<%s message=\"%s\">%s</%s>" % (kind, kind, escape(text), kind))
        elif kind == "skipped":
            lines.append("<skipped message=%s/>" % quoteattr(text))
        lines.append("</testcase>")
    lines += ["</testsuite>", "</testsuites>"]
    with open(path, "w") as out:
        out.write("\n".join(lines) + "\n")


def main():
    module = sys.modules["__main__"]
    suite = unittest.defaultTestLoader.loadTestsFromModule(module)
    runner = unittest.TextTestRunner(stream=sys.stderr, verbosity=2, resultclass=_Result)
    result = runner.run(suite)
    xml_path = os.environ.get("XML_OUTPUT_FILE")
    if xml_path:
        _write_xml(xml_path, os.path.basename(sys.argv[0]), result.cases)
    sys.exit(0 if result.wasSuccessful() and result.testsRun > 0 else 1)
