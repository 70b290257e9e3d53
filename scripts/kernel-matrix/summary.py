#!/usr/bin/env python3
"""Summarises one guest's test results from its TRX files (one per test assembly).

Prints "kernel RELEASE: N passed, N failed, N skipped (S s)", then each failed test, then the skips
counted by reason (a skip's reason names the missing feature and the kernel that has it). An assembly
whose run did not finish (the guest's time ran out) has no TRX file: its console log beside the TRX
directory is counted instead, and named as unfinished, so a timeout still shows what ran and what failed.
Usage: summary.py RELEASE SECONDS TRX_DIR
"""
import collections
import glob
import os
import re
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
    unfinished = []
    done = {os.path.basename(path)[:-4] for path in files}
    logs = os.path.join(os.path.dirname(os.path.normpath(trx_dir)), "logs")
    for path in sorted(glob.glob(os.path.join(logs, "*.log"))):
        name = os.path.basename(path)[:-4]
        if name in done:
            continue
        counts = collections.Counter()
        with open(path, errors="replace") as log:
            for line in log:
                match = re.match(r"\s+(Passed|Failed|Skipped) (\S.*?) \[[^\]]*\]$", line)
                if not match:
                    continue
                counts[match.group(1)] += 1
                if match.group(1) == "Failed":
                    failures.append(f"{match.group(2)}: (unfinished run, see {name}.log)")
                elif match.group(1) == "Skipped":
                    reasons[f"(unfinished run of {name}: reason in its log)"] += 1
        passed += counts["Passed"]
        failed += counts["Failed"]
        skipped += counts["Skipped"]
        unfinished.append(f"{name}: {counts['Passed']} passed, {counts['Failed']} failed, {counts['Skipped']} skipped before it was stopped")
    print(f"kernel {release}: {passed} passed, {failed} failed, {skipped} skipped ({seconds}s, {len(files)} test assemblies)")
    for name in unfinished:
        print(f"    unfinished: {name}")
    for name in aborted:
        print(f"    aborted: {name}")
    for failure in failures:
        print(f"    failed: {failure}")
    for reason, count in sorted(reasons.items(), key=lambda item: -item[1]):
        print(f"    skipped {count}: {reason}")


if __name__ == "__main__":
    main()
