"""Fuzz the 835 reader and the importer with mutated files: only typed errors, no partial import.

    python benchmarks/bench_fuzz.py [--count 100000] [--seed 1] [--keep DIR]
                                    [--import-every 1] [--interchanges 8000]

Each of `--count` files is a seed 835 (the dermatology fixtures, public samples with odd
delimiters or no envelope, a file whose interchanges alternate three delimiter sets) with one to
six random mutations: bytes flipped, inserted, deleted, replaced, cut off or repeated, a number
replaced by one out of range or with sub-cent digits (9999999999999999999, 1000000000000, 1.005,
99991231 ...), or a delimiter of one interchange changed. Every file is read with
`iter_remittance` and then imported with `importer.import_file` into a temporary SQLite
database (the importer is only called, never changed; `--import-every K` imports every Kth file
only, as an import costs a hundred reads). It prints the outcomes by type:

  reader   read / X12Error / any other exception type (a bug)
  import   imported / duplicate / failed / any exception import_file let escape (a bug)

and the checks: an import that failed stored nothing (the highest id of every table is as it
was before it), a file the reader refused was refused by the importer with the same message,
and one it read was not failed by the importer. Files that break a check are saved in `--keep`
(default: a temporary folder, printed) and the exit status is 1.

It then times the delimiter case of issue 15: `--interchanges` interchanges (default 8,000,
~2.7 MB) alternating two delimiter sets, against the same interchanges with one set, read with
the tokenizer and with `iter_remittance` (best of 3); linear tokenizing keeps the two close.
"""

from __future__ import annotations

import argparse
import io
import random
import sys
import tempfile
import time
from collections import Counter
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402
from sqlmodel import SQLModel  # noqa: E402

from appeals import db  # noqa: E402
from appeals.importer import import_file  # noqa: E402
from appeals.x12 import X12Error, iter_remittance  # noqa: E402
from appeals.x12.model import Claim  # noqa: E402
from appeals.x12.tokenizer import Tokenizer  # noqa: E402

SAMPLES = ROOT / "data" / "samples"
FIXTURES = ROOT / "tests" / "fixtures"
TODAY = date(2026, 3, 20)

INTERESTING = list(b"*:~^|>!\r\n -.0123456789ISAGSTCLPVB") + [0xEF, 0xBB, 0xBF, 0xFF, 0x00, 0x80]
NUMBERS = [
    b"9999999999999999999",
    b"1000000000000",
    b"-1000000000000.00",
    b"999999999999.99",
    b"999999999999.995",
    b"1000000000",
    b"1.005",
    b"-0.005",
    b"0.0001",
    b"99991231",
    b"18991231",
    b"00000000",
    b"",
]
# (element, component, repetition, terminator) sets for the delimiter mutation and the timing.
DELIMITERS = [("*", ":", "^", "~"), ("|", ">", "^", "!"), ("^", "\\", "{", "\n")]


def interchange(i: int, delims: tuple[str, str, str, str]) -> str:
    """A small balanced one-claim 835 interchange (~340 bytes) written with delims."""
    elem, comp, rep, term = delims
    control = f"{i:09d}"
    isa = [
        "ISA", "00", " " * 10, "00", " " * 10, "ZZ", "PAYER".ljust(15), "ZZ", "CLINIC".ljust(15),
        "250301", "1200", rep, "00501", control, "0", "T",
    ]  # fmt: skip
    body = [
        f"GS*HP*PAYER*CLINIC*20250301*1200*{i}*X*005010X221A1",
        "ST*835*1",
        "BPR*I*100*C*ACH*CCP*01*9*DA*1*1999999999**01*8*DA*2*20250305",
        f"TRN*1*T{i}*1999999999",
        "N1*PR*SYNTHETIC PLAN",
        "N1*PE*EXAMPLE DERM*XX*1234567893",
        f"CLP*D{i}*1*120*100*0*12*I{i}*11*1",
        "NM1*QC*1*TESTPATIENT*ALEX****MI*W1",
        "SVC*HC:11102*120*100**1",
        "CAS*CO*45*20",
        "SE*10*1",
        f"GE*1*{i}",
        f"IEA*1*{control}",
    ]
    segments = [elem.join(isa) + elem + comp] + [
        s.replace(":", comp).replace("*", elem) for s in body
    ]
    return "".join(s + term + "\n" for s in segments).replace("\n\n", "\n")


def delimiter_file(count: int, alternate: bool) -> bytes:
    sets = DELIMITERS[:2] if alternate else DELIMITERS[:1]
    return "".join(interchange(i, sets[i % len(sets)]) for i in range(1, count + 1)).encode()


def seeds() -> list[bytes]:
    files = [
        FIXTURES / "x12" / "valid_derm.835",
        FIXTURES / "derm_initial.835",
        SAMPLES / "edi835__emedny_sample.835",  # one line
        SAMPLES / "tigershark__5010-835-example-1.835",  # `|` components
        SAMPLES / "tastyx12__multi-line-not-delimited.835",  # newline terminator
        SAMPLES / "edi835__blue_cross_nc_sample.835",  # no envelope, a derived line
        SAMPLES / "oopx12__Example1_5010.835",  # a claim left out
        SAMPLES / "lfh-x12__medicare-part-a.835",  # MIA, PLB
    ]
    data = [f.read_bytes() for f in files]
    data.append((SAMPLES / "oopx12__835_WithMultipleInterchanges.835").read_bytes()[:9000])
    data.append(delimiter_file(3, alternate=True))
    data.append("".join(interchange(i, DELIMITERS[i % 3]) for i in range(1, 4)).encode())
    return data


def mutate(data: bytes, rng: random.Random) -> bytes:
    buf = bytearray(data)
    for _ in range(rng.randint(1, 6)):
        if not buf:
            break
        i = rng.randrange(len(buf))
        kind = rng.random()
        byte = rng.choice(INTERESTING) if rng.random() < 0.7 else rng.randrange(256)
        if kind < 0.15:
            buf[i] ^= 1 << rng.randrange(8)
        elif kind < 0.3:
            buf.insert(i, byte)
        elif kind < 0.42:
            del buf[i : i + 1 + rng.randrange(8)]
        elif kind < 0.55:
            buf[i] = byte
        elif kind < 0.6:
            del buf[i:]
        elif kind < 0.68:
            buf[i:i] = buf[max(0, i - 40) : i]
        elif kind < 0.92:
            # A number (a run of digits, dots and a sign) replaced by a boundary value.
            start = i
            while start < len(buf) and not chr(buf[start]).isdigit():
                start += 1
            end = start
            while end < len(buf) and (chr(buf[end]).isdigit() or buf[end] in b".-"):
                end += 1
            buf[start:end] = rng.choice(NUMBERS)
        else:
            # One interchange's delimiter changed (in its ISA and throughout the file).
            isa = buf.find(b"ISA", i) if buf.find(b"ISA", i) >= 0 else buf.find(b"ISA")
            if isa >= 0 and len(buf) > isa + 4:
                old = bytes(buf[isa + 3 : isa + 4])
                new = bytes([rng.choice(list(b"|*^!~>"))])
                buf[isa:] = bytes(buf[isa:]).replace(old, new)
    return bytes(buf)


def read_outcome(data: bytes) -> tuple[str, str]:
    """("read", "") or (error type name, message)."""
    try:
        for _ in iter_remittance(data, "fuzz.835"):
            pass
    except X12Error as error:
        return "X12Error", str(error)
    except Exception as error:  # noqa: BLE001 - any other type is what this hunts for
        return type(error).__name__, repr(error)
    return "read", ""


def high_water(connection: sa.Connection, tables: list[sa.Table]) -> tuple[int, ...]:
    """The highest id of every table with one: cheap on a growing database, unlike count(*)."""
    query = sa.select(*[sa.select(sa.func.max(t.c.id)).scalar_subquery() for t in tables])
    return tuple(v or 0 for v in connection.execute(query).one())


def fuzz(count: int, seed: int, keep: Path, import_every: int) -> int:
    rng = random.Random(seed)
    pool = seeds()
    reader: Counter[str] = Counter()
    imports: Counter[str] = Counter()
    problems: Counter[str] = Counter()
    work = Path(tempfile.mkdtemp(prefix="derm-fuzz-"))
    engine = None
    tables: list[sa.Table] = []
    if import_every:
        engine = db.get_engine(f"sqlite:///{work / 'fuzz.db'}")
        tables = [t for t in SQLModel.metadata.sorted_tables if "id" in t.c]
    start = time.perf_counter()
    path = work / "fuzz.835"
    for number in range(1, count + 1):
        data = mutate(rng.choice(pool), rng)
        kind, message = read_outcome(data)
        reader[kind] += 1
        bad = kind not in ("read", "X12Error")
        if bad:
            problems[f"reader raised {kind}"] += 1
        if engine is not None and number % import_every == 0:
            path.write_bytes(data)
            with engine.connect() as connection:
                before = high_water(connection, tables)
            try:
                result = import_file(engine, path, name="fuzz.835", today=TODAY)
                status = result.status
            except Exception as error:  # noqa: BLE001
                status, result = type(error).__name__, None
                problems[f"import_file raised {status}"] += 1
                bad = True
            imports[status] += 1
            if result is not None and result.status == "failed":
                with engine.connect() as connection:
                    if high_water(connection, tables) != before:
                        problems["a failed import stored rows"] += 1
                        bad = True
                if kind == "read" and "already" not in result.error:
                    problems["read by the reader, failed by the importer"] += 1
                    bad = True
                if kind == "X12Error" and result.error != message:
                    problems["refused with another message by the importer"] += 1
                    bad = True
            elif result is not None and kind == "X12Error":
                problems["refused by the reader, imported"] += 1
                bad = True
        if bad:
            keep.mkdir(parents=True, exist_ok=True)
            (keep / f"case-{number:06d}.835").write_bytes(data)
        if number % 10_000 == 0:
            print(f"  {number:,} files, {time.perf_counter() - start:.0f} s", file=sys.stderr)
    elapsed = time.perf_counter() - start
    print(f"{count:,} mutated files in {elapsed:.1f} s ({count / elapsed:,.0f} files/s)")
    print("reader:", ", ".join(f"{k} {v:,}" for k, v in reader.most_common()))
    if engine is not None:
        print(f"imported every {import_every}: {sum(imports.values()):,} files")
        print("import:", ", ".join(f"{k} {v:,}" for k, v in imports.most_common()))
        engine.dispose()
    if problems:
        print("PROBLEMS:", ", ".join(f"{k} {v:,}" for k, v in problems.most_common()))
        print(f"failing files kept in {keep}")
        return 1
    print("only typed errors; no failed import stored anything")
    return 0


def best(fn, repeat: int = 3) -> float:  # type: ignore[no-untyped-def]
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def time_delimiters(interchanges: int) -> None:
    print(f"\n{interchanges:,} interchanges, best of 3:")
    print(f"{'delimiters':>12} {'MB':>6} {'tokenize s':>11} {'read s':>8} {'claims':>7}")
    for alternate in (False, True):
        data = delimiter_file(interchanges, alternate)

        def tokenize(data: bytes = data) -> None:
            for elem, batch in Tokenizer(io.BytesIO(data)):
                for text in batch:
                    text.split(elem)

        def read(data: bytes = data) -> None:
            for _ in iter_remittance(data):
                pass

        claims = sum(1 for item in iter_remittance(data) if isinstance(item, Claim))
        label = "alternating" if alternate else "one set"
        t_tok, t_read = best(tokenize), best(read)
        print(f"{label:>12} {len(data) / 1e6:>6.2f} {t_tok:>11.3f} {t_read:>8.3f} {claims:>7,}")


def main() -> None:
    parser = argparse.ArgumentParser(description="835 reader and importer fuzzing")
    parser.add_argument("--count", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--keep", type=Path, default=None, help="folder for failing files")
    parser.add_argument(
        "--import-every",
        type=int,
        default=1,
        help="import every Kth file (0: reader only); an import costs far more than a read",
    )
    parser.add_argument("--interchanges", type=int, default=8000)
    args = parser.parse_args()
    keep = args.keep or Path(tempfile.gettempdir()) / "derm-fuzz-failures"
    status = fuzz(args.count, args.seed, keep, args.import_every) if args.count else 0
    if args.interchanges:
        time_delimiters(args.interchanges)
    sys.exit(status)


if __name__ == "__main__":
    main()
