#!/usr/bin/env python3
"""CI: the test suite under ASan + UBSan, where LeakSanitizer's own crash is
not a test failure.

LSan stops every thread at exit to scan for leaks; its tracer sometimes
crashes ("Tracer caught signal 11", google/sanitizers#1353) in processes that
hold PoCL's worker threads. That says nothing about our code, so a test whose
only fault is that crash runs once more. Any other failure, including a leak
report, fails CI at once, and a test that hits the tracer crash twice fails too.

    tools/ci/sanitized_ctest.py BUILD_DIR [ctest options...]
"""
import re
import subprocess
import sys
import xml.etree.ElementTree as ET

TRACER_CRASH = "LeakSanitizer has encountered a fatal error"
REAL_FAULTS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:")


def ctest(build, args, junit):
    cmd = ["ctest", "--test-dir", build, "--output-on-failure",
           "--output-junit", junit, *args]
    return subprocess.run(cmd).returncode


def failures(path):
    """name -> captured output of every failed test in a ctest JUnit file."""
    out = {}
    for case in ET.parse(path).getroot().iter("testcase"):
        if case.get("status") == "fail" or case.find("failure") is not None:
            out[case.get("name")] = "".join(case.itertext())
    return out


def main():
    build, args = sys.argv[1], sys.argv[2:]
    if ctest(build, args, "sanitized.xml") == 0:
        return 0
    failed = failures(f"{build}/sanitized.xml")
    retry = [n for n, text in failed.items()
             if TRACER_CRASH in text and not any(f in text for f in REAL_FAULTS)]
    if not failed or len(retry) != len(failed):
        return 1
    print(f"sanitized_ctest: LeakSanitizer's tracer crashed in {', '.join(retry)} "
          "(no fault of the test); running them once more", flush=True)
    names = "^(" + "|".join(map(re.escape, retry)) + ")$"
    return 1 if ctest(build, ["-R", names], "sanitized-rerun.xml") else 0


if __name__ == "__main__":
    sys.exit(main())
