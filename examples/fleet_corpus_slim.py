#!/usr/bin/env python3
"""Multiply a fleet_corpus directory into COPIES x as many hosts, each report slimmed to what
the roll-up keeps: for measuring the roll-up's memory at 100,000 hosts where the disk cannot
hold 14 GiB of full reports (BENCHMARKS.md, "Fleet: 100,000 reports").

    python3 examples/fleet_corpus_slim.py SRC_DIR DEST_DIR COPIES

Each finding keeps only its status (so the report's counts still agree with its findings and
the roll-up reads it as before), written compact; hostnames get a copy prefix and machine-ids a copy digit, so
every copy is a host of its own. Junk files are copied as they are. Not for timing the parse:
a slim report is a tenth of a real one's bytes.
"""
import json
import os
import sys


def main():
    src, dest, copies = sys.argv[1], sys.argv[2], int(sys.argv[3])
    for root, _dirs, files in os.walk(src):
        for name in sorted(files):
            if not name.endswith(".json"):
                continue
            path = os.path.join(root, name)
            rel = os.path.relpath(root, src)
            with open(path, "rb") as f:
                raw = f.read()
            try:
                report = json.loads(raw)
                report["results"] = [{"status": r["status"]} for r in report["results"]]
            except (ValueError, KeyError, TypeError):
                report = None
            for k in range(copies):
                out_dir = os.path.join(dest, f"copy{k}", rel)
                os.makedirs(out_dir, exist_ok=True)
                out = os.path.join(out_dir, name)
                if report is None:
                    with open(out, "wb") as f:
                        f.write(raw)
                    continue
                host = report["host"]
                copy = dict(report, host=dict(host))
                copy["host"]["hostname"] = f"c{k}-{host.get('hostname')}"
                if host.get("machine_id"):
                    copy["host"]["machine_id"] = f"{k:x}" + host["machine_id"][1:]
                with open(out, "w") as f:
                    json.dump(copy, f, separators=(",", ":"))
                    f.write("\n")


if __name__ == "__main__":
    main()
