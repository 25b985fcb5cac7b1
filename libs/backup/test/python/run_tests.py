"""Runs the Python unit tests of libs/backup (test_*.py beside this file, stdlib unittest) for
test/python.test.ts, which turns each case into one vitest test.

  python3 -B run_tests.py list   the test ids, as a JSON array
  python3 -B run_tests.py run    every test's outcome, as a JSON object {id: {"outcome", "detail"}}
                                 (outcome: passed, failed, error or skipped)

-B: no __pycache__ beside the scripts (a change to the project's files, and Nx's inputs).

A module that does not import shows up as a failing case (unittest's _FailedTest), so it fails
vitest too. The tests' own output goes to stderr; stdout holds only the JSON.
"""

import json
import os
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))


def cases(suite):
    for t in suite:
        if isinstance(t, unittest.TestSuite):
            yield from cases(t)
        else:
            yield t


class Collect(unittest.TextTestResult):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.outcomes = {}

    def addSuccess(self, test):
        super().addSuccess(test)
        self.outcomes[test.id()] = {"outcome": "passed", "detail": ""}

    def addFailure(self, test, err):
        super().addFailure(test, err)
        self.outcomes[test.id()] = {"outcome": "failed", "detail": self.failures[-1][1]}

    def addError(self, test, err):
        super().addError(test, err)
        self.outcomes[test.id()] = {"outcome": "error", "detail": self.errors[-1][1]}

    def addSkip(self, test, reason):
        super().addSkip(test, reason)
        self.outcomes[test.id()] = {"outcome": "skipped", "detail": reason}

    def addExpectedFailure(self, test, err):
        super().addExpectedFailure(test, err)
        self.outcomes[test.id()] = {"outcome": "failed", "detail": "expected failure: not allowed here"}

    def addUnexpectedSuccess(self, test):
        super().addUnexpectedSuccess(test)
        self.outcomes[test.id()] = {"outcome": "failed", "detail": "unexpected success"}


def main(argv):
    if argv not in (["list"], ["run"]):
        sys.exit("usage: run_tests.py list|run")
    suite = unittest.defaultTestLoader.discover(HERE, pattern="test_*.py", top_level_dir=HERE)
    if argv == ["list"]:
        json.dump([t.id() for t in cases(suite)], sys.stdout)
        return
    runner = unittest.TextTestRunner(stream=sys.stderr, verbosity=1, resultclass=Collect)
    result = runner.run(suite)
    json.dump(result.outcomes, sys.stdout)


if __name__ == "__main__":
    main(sys.argv[1:])
