#!/usr/bin/env python3
"""Summarises one guest's test results from its TRX files (one per test assembly).

Prints "kernel RELEASE: N passed, N failed, N skipped (S s)", then each failed test, then the skips
counted by reason (a skip's reason names the missing feature and the kernel that has it). An assembly
whose run did not finish (the guest's time ran out) has no TRX file: its console log beside the TRX
directory is counted instead, and named as unfinished, so a timeout still shows what ran and what failed.
With a SUBSET file (see scripts/kernel-matrix/subset), one line per capability follows: what its tests did, and
"ran no test" for a capability whose filter matched nothing, which makes the exit status 1.
Usage: summary.py RELEASE SECONDS TRX_DIR [SUBSET]
"""
import collections
import glob
import os
import re
import sys
import xml.etree.ElementTree as ET

NS = "{http://microsoft.com/schemas/VisualStudio/TeamTest/2010}"


def read_subset(path):
    """The subset's capabilities, each with its clauses: (property, value) pairs, any of which selects a test."""
    capabilities = []
    with open(path) as subset:
        for line in subset:
            if not line.strip() or line.startswith("#"):
                continue
            name, expression = line.rstrip("\n").split("\t")
            clauses = []
            for clause in expression.split("|"):
                prop, value = clause.split("~", 1)
                clauses.append((prop, value.replace("\\(", "(").replace("\\)", ")")))
            capabilities.append((name, clauses))
    return capabilities


def main():
    release, seconds, trx_dir = sys.argv[1:4]
    capabilities = read_subset(sys.argv[4]) if len(sys.argv) > 4 else []
    by_capability = collections.defaultdict(collections.Counter)
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
        methods = {test.get("id"): test.find(f"{NS}TestMethod") for test in root.iter(NS + "UnitTest")}
        for result in root.iter(NS + "UnitTestResult"):
            outcome = result.get("outcome")
            name = result.get("testName")
            method = methods.get(result.get("testId"))
            names = {"DisplayName": name, "FullyQualifiedName": f"{method.get('className')}.{method.get('name')}" if method is not None else name}
            for capability, clauses in capabilities:
                if any(value in names.get(prop, "") for prop, value in clauses):
                    by_capability[capability][outcome] += 1
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
    missing = 0
    for capability, _ in capabilities:
        counts = by_capability[capability]
        if sum(counts.values()) == 0:
            missing += 1
            print(f"    capability ran no test: {capability}")
        else:
            print(f"    capability: {capability}: {counts['Passed']} passed, {counts['Failed']} failed, {counts['NotExecuted']} skipped")
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main())
