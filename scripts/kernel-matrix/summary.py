#!/usr/bin/env python3
"""Summarises one guest's test results from its TRX files (one per test assembly).

Prints "kernel RELEASE: N passed, N failed, N skipped (S s)", then each failed test, then the skips
counted by reason (a skip's reason names the missing feature and the kernel that has it).
Usage: summary.py RELEASE SECONDS TRX_DIR
"""
import collections
import glob
import os
import sys
import xml.etree.ElementTree as ET

NS = "{http://microsoft.com/schemas/VisualStudio/TeamTest/2010}"


def main():
    release, seconds, trx_dir = sys.argv[1:4]
    passed = failed = skipped = 0
    failures = []
    reasons = collections.Counter()
    files = sorted(glob.glob(os.path.join(trx_dir, "*.trx")))
    aborted = []
    for path in files:
        root = ET.parse(path).getroot()
        summary = root.find(f"{NS}ResultSummary")
        counters = summary.find(f"{NS}Counters") if summary is not None else None
        # A run that never started its tests (testhost did not come up, or crashed) still writes a TRX.
        if summary is not None and summary.get("outcome") != "Completed" and (counters is None or counters.get("total") == "0"):
            info = summary.find(f"{NS}RunInfos/{NS}RunInfo/{NS}Text")
            text = (info.text or "").strip().splitlines()[0][:160] if info is not None and info.text else summary.get("outcome")
            aborted.append(f"{os.path.basename(path)[:-4]}: {text}")
        for result in root.iter(NS + "UnitTestResult"):
            outcome = result.get("outcome")
            name = result.get("testName")
            if outcome == "Passed":
                passed += 1
            elif outcome == "NotExecuted":
                skipped += 1
                message = result.find(f"{NS}Output/{NS}ErrorInfo/{NS}Message")
                reasons[(message.text or "").strip() if message is not None else "(no reason given)"] += 1
            else:
                failed += 1
                message = result.find(f"{NS}Output/{NS}ErrorInfo/{NS}Message")
                first = (message.text or "").strip().splitlines()[0][:200] if message is not None and message.text else ""
                failures.append(f"{name}: {first}")
    print(f"kernel {release}: {passed} passed, {failed} failed, {skipped} skipped ({seconds}s, {len(files)} test assemblies)")
    for name in aborted:
        print(f"    aborted: {name}")
    for failure in failures:
        print(f"    failed: {failure}")
    for reason, count in sorted(reasons.items(), key=lambda item: -item[1]):
        print(f"    skipped {count}: {reason}")


if __name__ == "__main__":
    main()
