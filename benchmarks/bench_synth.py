"""Speed of `appeals.synth.generate`: 50,000 claims (25 months x 2,000) written to a temp dir.

Run: python benchmarks/bench_synth.py [claims]
"""

from __future__ import annotations

import sys
import tempfile
import time

from appeals.synth import generate


def main() -> None:
    claims = int(sys.argv[1]) if len(sys.argv) > 1 else 50_000
    months = 25
    per_month = max(1, claims // months)
    with tempfile.TemporaryDirectory() as out:
        started = time.perf_counter()
        summary = generate(out, seed=2024, months=months, claims_per_month=per_month)
        elapsed = time.perf_counter() - started
    print(f"claims: {summary.claims}  lines: {summary.lines}  files: {summary.files}")
    print(f"elapsed: {elapsed:.2f} s  claims/s: {summary.claims / elapsed:,.0f}")


if __name__ == "__main__":
    main()
