"""ZVT benchmark: sale round trips against the emulator over a PTY, and a long parser fuzz run.

    python benchmarks/bench_zvt.py [--sales N] [--json PATH] [--fuzz-seconds S]

The emulator approves at once (auto_approve=0, no answer delay), so the
numbers are the cost of the protocol stack itself: framing, ACKs, the
PTY and the event loop. At 9600 baud a real line adds about 1 ms per byte.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import sys
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from hal.errors import ProtocolError
from hal.sim.zvt_emulator import ZvtEmulator
from hal.zvt import ZvtTerminal
from hal.zvt import apdu as zvt
from hal.zvt.bmp import parse_bmps, parse_tlv_items
from hal.zvt.framing import Frame, FrameDecoder, decode_frame, encode_frame


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def summary(values_s: list[float]) -> dict[str, float]:
    ms = [v * 1000 for v in values_s]
    return {
        "median_ms": round(statistics.median(ms), 3),
        "p99_ms": round(percentile(ms, 0.99), 3),
        "max_ms": round(max(ms), 3),
    }


async def bench_sales(sales: int) -> dict:
    emulator = ZvtEmulator(auto_approve=0.0)
    await emulator.start()
    terminal = ZvtTerminal(emulator.port)
    await terminal.open()
    loop = asyncio.get_running_loop()
    round_trips, approval_to_completion = [], []
    try:
        started = time.perf_counter()
        for index in range(sales):
            begin = loop.time()
            result = await terminal.authorize(1000 + index, "EUR")
            end = loop.time()
            if not result.approved:
                raise RuntimeError(f"sale {index} not approved: {result}")
            approval = emulator.approved[-1]
            if approval.receipt_no != result.receipt_no:
                raise RuntimeError(f"sale {index}: receipt {result.receipt_no} != {approval.receipt_no}")
            round_trips.append(end - begin)
            approval_to_completion.append(end - approval.decided_at)
        elapsed = time.perf_counter() - started
    finally:
        await terminal.close()
        await emulator.stop()
    return {
        "sales": sales,
        "sales_per_s": round(sales / elapsed, 1),
        "sale_round_trip": summary(round_trips),
        "approval_to_completion": summary(approval_to_completion),
    }


def _seed_frames() -> list[bytes]:
    """Real frames to mutate: what the line normally carries."""
    status = (
        bytes.fromhex("27 00 04 000000001999 0b 000042 87 0007 8b f0 f8")
        + b"girocard"
        + bytes.fromhex("06 0a 1f16 05 ff00001441 24 01 00")
    )
    apdus = [
        zvt.registration("123456", 0xBA, 978),
        zvt.authorization(11000, 978),
        zvt.acknowledge(),
        zvt.status_enquiry("123456"),
        zvt.Apdu(*zvt.STATUS_INFORMATION, status),
        zvt.Apdu(*zvt.ABORT, b"\x6c"),
        zvt.Apdu(*zvt.INTERMEDIATE_STATUS, b"\x0a\x00"),
    ]
    return [encode_frame(a.encode()) for a in apdus]


def _mutant(rng: random.Random, seeds: list[bytes]) -> bytes:
    choice = rng.random()
    if choice < 0.3:
        return bytes(rng.getrandbits(8) for _ in range(rng.randrange(0, 300)))
    data = bytearray(rng.choice(seeds))
    for _ in range(rng.randrange(1, 6)):
        op, pos = rng.random(), rng.randrange(0, len(data) + 1)
        if op < 0.4 and data:
            data[min(pos, len(data) - 1)] = rng.getrandbits(8)
        elif op < 0.7:
            data.insert(pos, rng.choice([0x10, 0x02, 0x03, 0x06, 0x15, rng.getrandbits(8)]))
        elif data:
            del data[min(pos, len(data) - 1)]
    return bytes(data)


def fuzz(seconds: float, seed: int = 1) -> dict:
    """Feed mutated and random bytes to every parser; only ProtocolError may come out."""
    rng = random.Random(seed)
    seeds = _seed_frames()
    stream_decoder = FrameDecoder(max_apdu=4096)  # one long-lived decoder: its buffer must stay bounded
    tried = frames = errors = peak_buffer = 0
    tracemalloc.start()
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        data = _mutant(rng, seeds)
        tried += 1
        for event in stream_decoder.feed(data):
            frames += isinstance(event, Frame)
        peak_buffer = max(peak_buffer, stream_decoder.buffered)
        for parse in (decode_frame, zvt.parse_apdu, parse_bmps, parse_tlv_items):
            try:
                parse(data)
            except ProtocolError:
                errors += 1
        try:
            apdu = zvt.parse_apdu(decode_frame(data))
            zvt.command_bmps(apdu, skip=1 if apdu.command == zvt.ABORT else 0)
        except ProtocolError:
            pass
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return {
        "seconds": seconds,
        "inputs_tried": tried,
        "stream_frames_decoded": frames,
        "protocol_errors": errors,
        "decoder_peak_buffer_bytes": peak_buffer,
        "peak_traced_memory_kib": round(peak / 1024, 1),
    }


def print_table(report: dict) -> None:
    if "sale_round_trip" in report:
        print(f"ZVT sales over a PTY: {report['sales']} sales, {report['sales_per_s']} sales/s")
        print(f"{'measure':<26}{'median ms':>12}{'p99 ms':>12}{'max ms':>12}")
        for key in ("sale_round_trip", "approval_to_completion"):
            row = report[key]
            print(f"{key:<26}{row['median_ms']:>12.3f}{row['p99_ms']:>12.3f}{row['max_ms']:>12.3f}")
    if "fuzz" in report:
        f = report["fuzz"]
        print(
            f"fuzz {f['seconds']:g} s: {f['inputs_tried']} inputs, {f['protocol_errors']} ProtocolErrors, "
            f"{f['stream_frames_decoded']} frames decoded, "
            f"decoder buffer peak {f['decoder_peak_buffer_bytes']} B, "
            f"traced memory peak {f['peak_traced_memory_kib']} KiB"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sales", type=int, default=200, help="sales to time (default 200; 0 skips)")
    parser.add_argument("--json", type=Path, help="also write the report to this file")
    parser.add_argument("--fuzz-seconds", type=float, default=0.0, help="run the parser fuzzer this long")
    args = parser.parse_args(argv)
    report: dict = {"benchmark": "zvt"}
    if args.sales > 0:
        report |= asyncio.run(bench_sales(args.sales))
    if args.fuzz_seconds > 0:
        report["fuzz"] = fuzz(args.fuzz_seconds)
    print_table(report)
    text = json.dumps(report, indent=2)
    print(text)
    if args.json:
        args.json.write_text(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
