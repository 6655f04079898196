"""Generate large synthetic dermatology 835 files: deterministic, balanced, written streaming.

    python benchmarks/gen_835.py OUT.835 --claims 100000 [--seed 1] [--reversals 0.075]
                                 [--first 1] [--reverse-range LO HI]

Every claim balances (charge - adjustments = paid, per line and per claim) and BPR02 equals the sum
of claim payments minus the PLB amounts, so the reader reports no warnings. Patients are synthetic.
Transactions hold at most `per_transaction` claims each (default 10,000), like clearinghouse files.

With `--reversals SHARE` the file also carries, for that share of its claims, a reversal (CLP02 =
22, every amount negated, the original's CLP07) followed by its correction (a new CLP07, REF*F8
naming the original, each paid line paying 3% more of its allowed amount): what a payer sends
after a fee-schedule change. The reversed claims are earlier claims of the same file, or claims
`LO`..`HI` of an earlier file made with the same seed (`--reverse-range`). In that mode each
claim's content depends only on the seed and its number (so a later file can reverse it exactly)
and claims are numbered from `--first`; without reversals (and without `--keyed`) the bytes are
those of the original generator.
"""

from __future__ import annotations

import argparse
import random
from collections.abc import Iterator
from dataclasses import dataclass
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
BUMP = Decimal("0.03")  # a correction pays 3% more of each paid line's allowed amount


@dataclass(slots=True)
class _Line:
    code: str
    modifier: str
    units: int
    charge: Decimal
    denial: tuple[str, str] | None  # (CARC, RARC) of a denied line
    contractual: Decimal = Decimal(0)
    share_group: str = ""
    share: Decimal = Decimal(0)


@dataclass(slots=True)
class _Drawn:
    day: str
    lines: list[_Line]
    last: str
    first: str


def _draw(rng: random.Random) -> _Drawn:
    """One claim's random content (the draws in the original generator's order)."""
    day = f"2025{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}"
    lines: list[_Line] = []
    for _ in range(rng.choice((1, 1, 2, 2, 3, 4))):
        code, fee = rng.choice(PROCEDURES)
        units = rng.choice((1, 1, 1, 2))
        mod = rng.choice(MODIFIERS)
        charge = fee * units
        if rng.random() < 0.12:  # denied line
            carc = rng.choice(("97", "50", "16", "151"))
            lines.append(_Line(code, mod, units, charge, (carc, rng.choice(REMARKS))))
        else:
            contractual = (charge * Decimal(rng.randint(10, 40)) / 100).quantize(CENT)
            share = (charge - contractual) * Decimal(rng.choice((0, 0, 10, 20))) / 100
            share = share.quantize(CENT)
            group = rng.choice(("1", "2", "3")) if share else ""
            lines.append(_Line(code, mod, units, charge, None, contractual, group, share))
    return _Drawn(day, lines, rng.choice(NAMES), rng.choice(NAMES))


def _money(value: Decimal, sign: int) -> str:
    return str(-value if sign < 0 and value else value)


def _render(number: int, drawn: _Drawn, *, kind: str = "original") -> tuple[list[str], Decimal]:
    """Segments of one claim (CLP ... last line) and its payment.

    `kind`: original, reversal (CLP02 22, amounts negated) or correction (3% more paid).
    """
    sign = -1 if kind == "reversal" else 1
    lines: list[str] = []
    charge = paid = patient = Decimal(0)
    for line_number, line in enumerate(drawn.lines, start=1):
        composite = f"HC:{line.code}" + (f":{line.modifier}" if line.modifier else "")
        if line.denial:
            carc, remark = line.denial
            line_paid = Decimal(0)
            body = [f"CAS*CO*{carc}*{_money(line.charge, sign)}", f"LQ*HE*{remark}"]
        else:
            contractual, share = line.contractual, line.share
            if kind == "correction":
                contractual -= min(((line.charge - contractual) * BUMP).quantize(CENT), contractual)
            body = [f"CAS*CO*45*{_money(contractual, sign)}"]
            if share:
                body.append(f"CAS*PR*{line.share_group}*{_money(share, sign)}")
            patient += share
            line_paid = line.charge - contractual - share
            body.append(f"AMT*B6*{_money(line.charge - contractual, sign)}")
        lines.append(
            f"SVC*{composite}*{_money(line.charge, sign)}*{_money(line_paid, sign)}**{line.units}"
        )
        lines.append(f"DTM*472*{drawn.day}")
        lines.append(f"REF*6R*{number}-{line_number}")
        lines.extend(body)
        charge += line.charge
        paid += line_paid
    status = "22" if kind == "reversal" else "1"
    icn = f"ICN{number:010d}" + ("C" if kind == "correction" else "")
    head = [
        f"CLP*DERM{number:08d}*{status}*{_money(charge, sign)}*{_money(paid, sign)}"
        f"*{_money(patient, sign)}*12*{icn}*11*1",
        f"NM1*QC*1*{drawn.last}*{drawn.first}****MI*SYN{number:09d}",
    ]
    if kind == "correction":
        head.append(f"REF*F8*ICN{number:010d}")
    head += [f"DTM*232*{drawn.day}", f"DTM*233*{drawn.day}"]
    return head + lines, paid * sign


def _claim(rng: random.Random, number: int) -> tuple[list[str], Decimal]:
    """Segments of one claim (CLP ... last line) and its payment."""
    return _render(number, _draw(rng))


class _Claims:
    """The claims of a file in order: new claims and, in reversal mode, reversal pairs."""

    def __init__(
        self,
        seed: int,
        claims: int,
        first: int,
        reversals: float,
        reverse_range: tuple[int, int] | None,
        keyed: bool,
    ) -> None:
        self.seed = seed
        self.claims = claims
        self.first = first
        self.keyed = keyed or reversals > 0 or first != 1 or reverse_range is not None
        self.sequential = random.Random(seed)
        self.pairs = round(claims * reversals)
        self.reverse_range = reverse_range
        self.picker = random.Random(f"{seed}:reversals:{first}")
        self.reversed: set[int] = set()

    def own(self, number: int) -> random.Random:
        """Claim `number`'s own random stream (keyed mode) or the file's running one."""
        if not self.keyed:
            return self.sequential
        return random.Random(self.seed * 10_000_019 + number)

    def target(self, done: int) -> int | None:
        """A claim not reversed yet: from `reverse_range`, else among the `done` first ones."""
        low, high = self.reverse_range or (self.first, self.first + done - 1)
        if high < low:
            return None
        for _ in range(20):
            number = self.picker.randint(low, high)
            if number not in self.reversed:
                self.reversed.add(number)
                return number
        return None

    def __iter__(self) -> Iterator[tuple[list[str], Decimal]]:
        pair = 0
        for index in range(self.claims):
            number = self.first + index
            yield _render(number, _draw(self.own(number)))
            # Pairs spread evenly over the file, each after the claim it follows.
            while pair < self.pairs and (pair + 1) * self.claims <= (index + 1) * self.pairs:
                pair += 1
                target = self.target(index + 1)
                if target is None:
                    continue
                drawn = _draw(self.own(target))
                yield _render(target, drawn, kind="reversal")
                yield _render(target, drawn, kind="correction")


def _transaction(claims: list[tuple[list[str], Decimal]], st: int, trace: str) -> Iterator[str]:
    count = len(claims)
    total = sum((p for _, p in claims), Decimal(0))
    recoup = Decimal("25.00") if count > 1 else Decimal(0)
    header = [
        f"ST*835*{st:04d}",
        f"BPR*I*{total - recoup}*C*ACH*CCP*01*999999999*DA*123456*1999999999**01*888888888*DA"
        f"*654321*20250305",
        f"TRN*1*{trace}*1999999999",
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
    first_icn = claims[0][0][0].split("*")[7]
    tail = [f"PLB*1234567893*20251231*WO:{first_icn}*{recoup}"] if recoup else []
    yield from tail
    yield f"SE*{n + len(tail) + 1}*{st:04d}"


def generate(
    path: str | Path,
    claims: int,
    seed: int = 1,
    per_transaction: int = 10_000,
    *,
    reversals: float = 0.0,
    first: int = 1,
    reverse_range: tuple[int, int] | None = None,
    keyed: bool = False,
) -> Path:
    """Write an 835 with `claims` new claims to `path`, streaming; returns the path.

    `reversals`: the share of claims that also get a reversal and its correction (see the
    module docstring); the file then holds about `claims * (1 + 2 * reversals)` claims.
    `keyed`: each claim's content from the seed and its number even without reversals, so that
    a later file can reverse this one's claims exactly.
    """
    path = Path(path)
    source = _Claims(seed, claims, first, reversals, reverse_range, keyed)
    with path.open("w", encoding="ascii", newline="") as out:
        out.write(
            "ISA*00*          *00*          *ZZ*SYNPAYER       *ZZ*DERMCLINIC     *250301*1200"
            "*^*00501*000000001*0*T*:~\n"
        )
        out.write("GS*HP*SYNPAYER*DERMCLINIC*20250301*1200*1*X*005010X221A1~\n")
        st = 0
        batch: list[tuple[list[str], Decimal]] = []

        def write(batch: list[tuple[list[str], Decimal]]) -> None:
            nonlocal st
            st += 1
            trace = f"EFT{st:08d}" if first == 1 else f"EFT{first:09d}{st:05d}"
            buf: list[str] = []
            for seg in _transaction(batch, st, trace):
                buf.append(seg)
                if len(buf) >= 2000:
                    out.write("~\n".join(buf) + "~\n")
                    buf.clear()
            if buf:
                out.write("~\n".join(buf) + "~\n")

        for claim in source:
            batch.append(claim)
            if len(batch) >= per_transaction:
                write(batch)
                batch = []
        if batch or st == 0:
            write(batch)
        out.write(f"GE*{st}*1~\nIEA*1*000000001~\n")
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("out")
    parser.add_argument("--claims", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--reversals", type=float, default=0.0)
    parser.add_argument("--first", type=int, default=1)
    parser.add_argument("--reverse-range", type=int, nargs=2, default=None)
    parser.add_argument("--keyed", action="store_true")
    args = parser.parse_args()
    path = generate(
        args.out,
        args.claims,
        args.seed,
        reversals=args.reversals,
        first=args.first,
        reverse_range=tuple(args.reverse_range) if args.reverse_range else None,
        keyed=args.keyed,
    )
    print(f"{path}: {path.stat().st_size / 1e6:.1f} MB, {args.claims} claims")


if __name__ == "__main__":
    main()
