#!/usr/bin/env python3
"""Benchmark (not a test): the cost of only reading a fleet's reports, nothing parsed.

    /usr/bin/time -v benches/read_floor.py DIR

Opens every file under DIR, reads it into one reused buffer with readv and closes it. Its
system time is the floor under any `kvmaudit fleet` run over the same files that reads them
all: the kernel's copy out of the page cache (BENCHMARKS.md, "Fleet: 100,000 reports").
"""
import os
import sys

buf = memoryview(bytearray(1 << 21))
total = 0
for root, _dirs, files in os.walk(sys.argv[1]):
    for name in files:
        fd = os.open(os.path.join(root, name), os.O_RDONLY | os.O_NOFOLLOW)
        try:
            while (n := os.readv(fd, [buf])) > 0:
                total += n
        finally:
            os.close(fd)
print(f"{total} bytes read")
