#!/usr/bin/env python3
"""Counts test results for tests/run.

  results.py tap FILE EXIT_CODE   TAP output of one unit-test program
  results.py junit FILE           a pytest --junitxml report

Prints "passed failed skipped" on one line. A missing or broken report
counts as one failure, so a crashed runner can never look green.
"""
import re
import sys
import xml.etree.ElementTree as ET


def count_tap(path, exit_code):
    passed = failed = skipped = 0
    plan = None
    with open(path, errors="replace") as f:
        for line in f:
            m = re.match(r"^1\.\.(\d+)", line)
            if m:
                plan = int(m.group(1))
            elif line.startswith("not ok"):
                failed += 1
            elif line.startswith("ok"):
                if re.search(r"#\s*skip", line, re.IGNORECASE):
                    skipped += 1
                else:
                    passed += 1
    ran = passed + failed + skipped
    if plan is not None and plan != ran:
        print(f"{path}: plan says {plan}, ran {ran}", file=sys.stderr)
        failed += 1
    elif exit_code != 0 and failed == 0:
        print(f"{path}: exited {exit_code} with no failing test",
              file=sys.stderr)
        failed += 1
    return passed, failed, skipped


def count_junit(path):
    try:
        root = ET.parse(path).getroot()
    except (OSError, ET.ParseError) as e:
        print(f"{path}: no usable report: {e}", file=sys.stderr)
        return 0, 1, 0
    suites = [root] if root.tag == "testsuite" else root.iter("testsuite")
    passed = failed = skipped = 0
    for s in suites:
        total = int(s.get("tests", 0))
        bad = int(s.get("failures", 0)) + int(s.get("errors", 0))
        skip = int(s.get("skipped", 0))
        passed += total - bad - skip
        failed += bad
        skipped += skip
    return passed, failed, skipped


def main():
    if len(sys.argv) == 4 and sys.argv[1] == "tap":
        counts = count_tap(sys.argv[2], int(sys.argv[3]))
    elif len(sys.argv) == 3 and sys.argv[1] == "junit":
        counts = count_junit(sys.argv[2])
    else:
        print(__doc__, file=sys.stderr)
        return 2
    print(*counts)
    return 0


if __name__ == "__main__":
    sys.exit(main())
