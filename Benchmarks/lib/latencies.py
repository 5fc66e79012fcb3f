"""Summarises an h2load --log-file (one line per request: start, status, microseconds):
`latencies.py LOG [SLOW_MS]` prints `count p50 p90 p99 max failed [slow%]` with nearest-rank
percentiles in ms over the 200s; failed counts the rest (-1: the request failed), which would
otherwise flatter a tail. With SLOW_MS, slow% is the share of 200s slower than half of it."""
import math
import sys

rows = [line.split() for line in open(sys.argv[1]) if line.strip()]
times = sorted(int(r[2]) for r in rows if r[1] == "200")
failed = len(rows) - len(times)
slow = [int(sys.argv[2]) * 1000 / 2] if len(sys.argv) > 2 else []
if not times:
    print(0, "-", "-", "-", "-", failed, *["-" for _ in slow])
    sys.exit()
q = lambda p: f"{times[max(0, math.ceil(p * len(times)) - 1)] / 1000:.2f}"
share = [f"{100 * sum(t > s for t in times) / len(times):.1f}" for s in slow]
print(len(times), q(0.5), q(0.9), q(0.99), f"{times[-1] / 1000:.2f}", failed, *share)
