"""Generate large synthetic dermatology 835 files: deterministic, balanced, written streaming.

    python benchmarks/gen_835.py OUT.835 --claims 100000 [--seed 1]

Every claim balances (charge - adjustments = paid, per line and per claim) and BPR02 equals the sum
of claim payments minus the PLB amounts, so the reader reports no warnings. Patients are synthetic.
Transactions hold at most `per_transaction` claims each (default 10,000), like clearinghouse files.
"""

from __future__ import annotations

import argparse
import random
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

# (code, fee) pairs a dermatology practice bills; modifiers are added at random.
PROCEDURES = [
    ("99213", Decimal("110.00")),
    ("99214", Decimal("165.00")),
    ("99203", Decimal("150.00")),
    ("11102", Decimal("140.00")),
    ("11104", Decimal("155.00")),
    ("11305", Decimal("120.00")),
    ("17000", Decimal("95.00")),
    ("17003", Decimal("12.00")),
    ("17110", Decimal("130.00")),
    ("88305", Decimal("75.00")),
    ("96920", Decimal("210.00")),
    ("J3301", Decimal("18.00")),
]
MODIFIERS = ["", "", "", "25", "59", "XS", "RT", "LT"]
REMARKS = ["N130", "M15", "N115", "MA130", "N20"]
NAMES = ["ALPHA", "BRAVO", "CHARLIE", "DELTA", "ECHO", "FOXTROT", "GOLF", "HOTEL"]
CENT = Decimal("0.01")


def _claim(rng: random.Random, number: int) -> tuple[list[str], Decimal]:
    """Segments of one claim (CLP ... last line) and its payment."""
    day = f"2025{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}"
    lines: list[str] = []
    charge = paid = patient = Decimal(0)
    for line_number in range(1, rng.choice((1, 1, 2, 2, 3, 4)) + 1):
        code, fee = rng.choice(PROCEDURES)
        units = rng.choice((1, 1, 1, 2))
        mod = rng.choice(MODIFIERS)
        line_charge = fee * units
        composite = f"HC:{code}" + (f":{mod}" if mod else "")
        segs = [f"SVC*{composite}*{line_charge}*{{paid}}**{units}", f"DTM*472*{day}"]
        if rng.random() < 0.12:  # denied line
            segs.append(f"CAS*CO*{rng.choice(('97', '50', '16', '151'))}*{line_charge}")
            segs.append(f"LQ*HE*{rng.choice(REMARKS)}")
            line_paid = Decimal(0)
        else:
            contractual = (line_charge * Decimal(rng.randint(10, 40)) / 100).quantize(CENT)
            share = (line_charge - contractual) * Decimal(rng.choice((0, 0, 10, 20))) / 100
            share = share.quantize(CENT)
            cas = f"CAS*CO*45*{contractual}"
            if share:
                segs.append(cas)
                segs.append(f"CAS*PR*{rng.choice(('1', '2', '3'))}*{share}")
            else:
                segs.append(cas)
            patient += share
            line_paid = line_charge - contractual - share
            segs.append(f"AMT*B6*{line_charge - contractual}")
        segs[0] = segs[0].replace("{paid}", str(line_paid))
        segs.insert(2, f"REF*6R*{number}-{line_number}")
        lines.extend(segs)
        charge += line_charge
        paid += line_paid
    head = [
        f"CLP*DERM{number:08d}*1*{charge}*{paid}*{patient}*12*ICN{number:010d}*11*1",
        f"NM1*QC*1*{rng.choice(NAMES)}*{rng.choice(NAMES)}****MI*SYN{number:09d}",
        f"DTM*232*{day}",
        f"DTM*233*{day}",
    ]
    return head + lines, paid


def _transaction(rng: random.Random, first: int, count: int, st: int) -> Iterator[str]:
    claims = [_claim(rng, first + i) for i in range(count)]
    total = sum((p for _, p in claims), Decimal(0))
    recoup = Decimal("25.00") if count > 1 else Decimal(0)
    header = [
        f"ST*835*{st:04d}",
        f"BPR*I*{total - recoup}*C*ACH*CCP*01*999999999*DA*123456*1999999999**01*888888888*DA"
        f"*654321*20250305",
        f"TRN*1*EFT{st:08d}*1999999999",
        "DTM*405*20250301",
        "N1*PR*SYNTHETIC HEALTH PLAN",
        "N3*1 PAYER WAY",
        "N4*SPRINGFIELD*IL*62701",
        "REF*2U*SYNPLAN",
        "PER*BL*EDI SUPPORT*TE*5555550100",
        "N1*PE*EXAMPLE DERMATOLOGY*XX*1234567893",
        "REF*TJ*123456789",
        "LX*1",
    ]
    n = len(header)
    yield from header
    for segs, _ in claims:
        n += len(segs)
        yield from segs
    tail = [f"PLB*1234567893*20251231*WO:ICN{first:010d}*{recoup}"] if recoup else []
    yield from tail
    yield f"SE*{n + len(tail) + 1}*{st:04d}"


def generate(path: str | Path, claims: int, seed: int = 1, per_transaction: int = 10_000) -> Path:
    """Write an 835 with `claims` claims to `path`, streaming; returns the path."""
    rng = random.Random(seed)
    path = Path(path)
    transactions = max(1, -(-claims // per_transaction))
    with path.open("w", encoding="ascii", newline="") as out:
        out.write(
            "ISA*00*          *00*          *ZZ*SYNPAYER       *ZZ*DERMCLINIC     *250301*1200"
            "*^*00501*000000001*0*T*:~\n"
        )
        out.write("GS*HP*SYNPAYER*DERMCLINIC*20250301*1200*1*X*005010X221A1~\n")
        done = 0
        for st in range(1, transactions + 1):
            count = min(per_transaction, claims - done)
            buf: list[str] = []
            for seg in _transaction(rng, done + 1, count, st):
                buf.append(seg)
                if len(buf) >= 2000:
                    out.write("~\n".join(buf) + "~\n")
                    buf.clear()
            if buf:
                out.write("~\n".join(buf) + "~\n")
            done += count
        out.write(f"GE*{transactions}*1~\nIEA*1*000000001~\n")
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("out")
    parser.add_argument("--claims", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    path = generate(args.out, args.claims, args.seed)
    print(f"{path}: {path.stat().st_size / 1e6:.1f} MB, {args.claims} claims")


if __name__ == "__main__":
    main()
