"""How long `appeals --help` and `appeals import --help` keep a user waiting (target < 300 ms).

    python benchmarks/bench_startup.py [--repeat 10]

Each command runs `--repeat` times as a fresh process (the `appeals` script installed beside
the Python that runs this one, as a user starts it) after one untimed run; it prints the median
and slowest wall time of each, and the same for a bare `python -c pass`, the floor any command
pays to start Python. The target is judged on the median.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGET = 0.3
APPEALS = str(Path(sys.executable).parent / "appeals")
COMMANDS = {
    "python -c pass (floor)": [sys.executable, "-c", "pass"],
    "appeals --help": [APPEALS, "--help"],
    "appeals import --help": [APPEALS, "import", "--help"],
}


def timings(command: list[str], repeat: int) -> list[float]:
    subprocess.run(command, cwd=ROOT, check=True, capture_output=True)  # caches, bytecode
    out = []
    for _ in range(repeat):
        started = time.perf_counter()
        done = subprocess.run(command, cwd=ROOT, check=True, capture_output=True, text=True)
        out.append(time.perf_counter() - started)
        if command[0] == APPEALS and "Usage:" not in done.stdout:
            raise SystemExit(f"{' '.join(command[1:])} printed no help: {done.stdout[:200]!r}")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=10)
    args = parser.parse_args()
    print(f"{'command':26} {'median ms':>10} {'slowest ms':>11}")
    verdicts = []
    for name, command in COMMANDS.items():
        times = timings(command, args.repeat)
        print(f"{name:26} {statistics.median(times) * 1000:10.0f} {max(times) * 1000:11.0f}")
        if name.startswith("appeals"):
            met = "met" if statistics.median(times) < TARGET else "missed"
            verdicts.append(f"{name}: median {statistics.median(times) * 1000:.0f} ms ({met})")
    print(f"\ntargets (< {TARGET * 1000:.0f} ms):")
    for verdict in verdicts:
        print(f"  {verdict}")


if __name__ == "__main__":
    main()
