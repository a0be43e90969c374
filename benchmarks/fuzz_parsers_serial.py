"""Long fuzz run of the serial device parsers (PN532 frames and responses,
GM65 scanner output lines, replies and command frames, ZhianTec fingerprint
packets and acknowledgements).

    python benchmarks/fuzz_parsers_serial.py --seconds S [--seed N] [--json PATH]

A seeded mutation loop (bit flips, interesting bytes, protocol tokens, cuts,
duplications, splices of valid frames, and plain random bytes) feeds every
parser for an equal share of S seconds. Stream decoders are one long-lived
instance fed in random-sized chunks, as from a serial port, so a buffer that
grew would show in "max buf" and in the tracemalloc peak. Anything but
ProtocolError is a crash; a decoder call that neither returns nor consumes
input is a hang. Exit status 1 if there was either.

atheris installs on x86_64 but has no wheels for the Pi's ARM, and libFuzzer
owns the process, so a seeded loop keeps this runnable on the bench and
reproducible from its seed.
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import sys
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

if not __package__:  # run as a script: make the repository root importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from hal.errors import ProtocolError
from hal.fingerprint import commands as fingerprint
from hal.fingerprint.packets import PacketDecoder, Pid, encode_packet
from hal.pn532 import commands
from hal.pn532.commands import TargetA
from hal.pn532.frames import (
    ACK_FRAME,
    ERROR_FRAME,
    NACK_FRAME,
    FrameDecoder,
    encode_frame,
)
from hal.scanner import gm65
from hal.scanner.gm65 import CommandDecoder, encode_reply
from hal.scanner.lines import ScannerStreamDecoder, decode_line

MAX_INPUT = 4096

PN532_SEEDS = [
    ACK_FRAME,
    NACK_FRAME,
    ERROR_FRAME,
    commands.WAKE_UP,
    encode_frame(0xD4, commands.get_firmware_version()),
    encode_frame(0xD5, bytes.fromhex("0332010607")),
    encode_frame(0xD5, b"\x4b\x01" + TargetA(bytes.fromhex("B0864D25")).to_bytes()),
    encode_frame(0xD5, b"\x4b\x01" + TargetA(bytes(range(7)), b"\x00\x44", 0x00).to_bytes()),
    encode_frame(0xD5, b"\x4b\x01" + TargetA(bytes(4), sel_res=0x20, ats=bytes.fromhex("0578807002")).to_bytes()),
    encode_frame(0xD5, b"\x41" + bytes(259)),  # extended frame
]
RESPONSE_SEEDS = [
    b"\x4b\x00",
    b"\x4b\x01" + TargetA(bytes(10), b"\x00\x84", 0).to_bytes(),
    bytes.fromhex("0332010607"),
    b"\x15",
    b"\x33",
]
SCANNER_SEEDS = [
    b"PICKUP-4711\r",
    b"https://shop.example/p/e-bike-7\r\n",
    "Füße\n".encode(),
    b"01095\x1d10ABC\r",
    encode_reply(b"\x00"),
    encode_reply(bytes(8)),
    b"\r\n\r\n",
]
COMMAND_SEEDS = [
    gm65.TRIGGER.encode(),
    gm65.save_command().encode(),
    gm65.read_command(0, 4).encode(),
    gm65.write_command(0x2A, bytes(16)).encode(),
]
TOKENS = [
    b"\x00\xff",
    b"\x00\x00\xff",
    b"\xff\xff",
    b"\xd4",
    b"\xd5",
    b"\x7f",
    b"\x4b",
    b"\x02\x00\x00",
    b"\x7e\x00",
    b"\xab\xcd",
    b"\r",
    b"\n",
    b"\r\n",
    b"\x55\x55",
    "ü".encode(),
    b"\xf0\x9f",
]
INTERESTING = [0x00, 0x01, 0x02, 0x0A, 0x0D, 0x20, 0x7E, 0x7F, 0x80, 0xAB, 0xCD, 0xD4, 0xD5, 0xFE, 0xFF]


class Hang(Exception):
    pass


def mutate(rng: random.Random, seeds: list[bytes]) -> bytes:
    if rng.random() < 0.1:
        return rng.randbytes(rng.randrange(MAX_INPUT // 8))
    data = bytearray(rng.choice(seeds))
    for _ in range(rng.randint(1, 6)):
        op = rng.randrange(7)
        pos = rng.randrange(len(data) + 1)
        if op == 0 and data:
            data[pos % len(data)] ^= 1 << rng.randrange(8)
        elif op == 1 and data:
            data[pos % len(data)] = rng.choice(INTERESTING)
        elif op == 2:
            data[pos:pos] = rng.choice(TOKENS)
        elif op == 3:
            del data[pos : pos + rng.randint(1, 8)]
        elif op == 4:
            data[pos:pos] = data[pos : pos + rng.randint(1, 64)] * rng.randint(1, 8)
        elif op == 5:
            data[pos:pos] = rng.choice(seeds)
        else:
            data[pos:pos] = rng.randbytes(rng.randint(1, 16))
    return bytes(data[:MAX_INPUT])


def drain(next_item: Callable[[], object], budget: int) -> tuple[int, int]:
    """Items and errors until the decoder has nothing more; Hang past ``budget`` calls."""
    items = errors = 0
    for _ in range(budget):
        try:
            if next_item() is None:
                return items, errors
            items += 1
        except ProtocolError:
            errors += 1
    raise Hang()


@dataclass
class Target:
    name: str
    seeds: list[bytes]
    run: Callable[[bytes, random.Random], tuple[int, int]]  # one input -> (items, errors)
    buffered: Callable[[], int] = lambda: 0


def stream_target(
    name: str,
    seeds: list[bytes],
    decoder: FrameDecoder | ScannerStreamDecoder | CommandDecoder | PacketDecoder,
    next_item: Callable[[], object],
    buffered: Callable[[], int],
) -> Target:
    def run(data: bytes, rng: random.Random) -> tuple[int, int]:
        items = errors = 0
        pos = 0
        while pos < len(data):
            size = rng.randint(1, 256)
            decoder.feed(data[pos : pos + size])
            pos += size
            found, failed = drain(next_item, 2 * (len(data) + MAX_INPUT) + 4)
            items, errors = items + found, errors + failed
        return items, errors

    return Target(name, seeds, run, buffered)


def single_target(name: str, seeds: list[bytes], parse: Callable[[bytes], object]) -> Target:
    def run(data: bytes, rng: random.Random) -> tuple[int, int]:
        try:
            parse(data)
            return 1, 0
        except ProtocolError:
            return 0, 1

    return Target(name, seeds, run)


FINGERPRINT_SEEDS = [
    encode_packet(Pid.COMMAND, fingerprint.vfy_pwd()),
    encode_packet(Pid.COMMAND, fingerprint.search(0, 1000)),
    encode_packet(Pid.ACK, b"\x00"),
    encode_packet(Pid.ACK, b"\x02"),
    encode_packet(Pid.ACK, bytes.fromhex("00000700C8")),
    encode_packet(Pid.ACK, b"\x00" + fingerprint.index_table_bytes({0, 7, 255}, 0)),
    encode_packet(Pid.END_DATA, bytes(128), 0x12345678),
]


def parse_any_acknowledgement(data: bytes) -> object:
    """A fingerprint acknowledgement's payload read as each answer the driver expects."""
    for parse in (fingerprint.parse_match, fingerprint.parse_template_count):
        try:
            parse(data)
        except ProtocolError:
            pass
    return fingerprint.parse_index_table(data, 0)


def parse_any_response(data: bytes) -> object:
    if data[:1] == b"\x03":
        return commands.parse_firmware_version(data)
    if data[:1] in (b"\x15", b"\x33"):
        commands.expect_status_only(data, data[0] - 1)
        return None
    return commands.parse_in_list_passive_target(data)


def targets() -> list[Target]:
    pn532, scanner, gm65_commands = FrameDecoder(), ScannerStreamDecoder(), CommandDecoder()
    finger = PacketDecoder()
    return [
        stream_target("pn532 FrameDecoder", PN532_SEEDS, pn532, pn532.next_frame, lambda: pn532.buffered),
        single_target("pn532 response parsers", RESPONSE_SEEDS, parse_any_response),
        stream_target(
            "scanner ScannerStreamDecoder", SCANNER_SEEDS, scanner, scanner.next_item, lambda: scanner.buffered
        ),
        single_target("scanner decode_line", [s.rstrip(b"\r\n") for s in SCANNER_SEEDS], decode_line),
        stream_target(
            "gm65 CommandDecoder",
            COMMAND_SEEDS,
            gm65_commands,
            gm65_commands.next_command,
            lambda: gm65_commands.buffered,
        ),
        stream_target(
            "fingerprint PacketDecoder", FINGERPRINT_SEEDS, finger, finger.next_packet, lambda: finger.buffered
        ),
        single_target("fingerprint acknowledgements", [p[9:-2] for p in FINGERPRINT_SEEDS], parse_any_acknowledgement),
    ]


@dataclass
class Result:
    parser: str
    inputs: int = 0
    input_bytes: int = 0
    items: int = 0
    errors: int = 0
    crashes: list[str] = field(default_factory=list)
    hangs: int = 0
    slowest_ms: float = 0.0
    max_buffered: int = 0
    peak_kib: float = 0.0
    end_kib: float = 0.0


def fuzz(target: Target, seconds: float, rng: random.Random) -> Result:
    result = Result(target.name)
    tracemalloc.start()
    tracemalloc.reset_peak()
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        data = mutate(rng, target.seeds)
        started = time.perf_counter()
        try:
            items, errors = target.run(data, rng)
            result.items += items
            result.errors += errors
        except Hang:
            result.hangs += 1
        except Exception as exc:  # noqa: BLE001 - a crash is what we are looking for
            if len(result.crashes) < 10:
                result.crashes.append(f"{type(exc).__name__}: {exc} <- {data[:64].hex()}")
        result.slowest_ms = max(result.slowest_ms, (time.perf_counter() - started) * 1000)
        result.inputs += 1
        result.input_bytes += len(data)
        result.max_buffered = max(result.max_buffered, target.buffered())
    current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    result.peak_kib, result.end_kib = peak / 1024, current / 1024
    return result


def table(results: list[Result]) -> str:
    header = (
        f"{'parser':<30} {'inputs':>9} {'MiB in':>7} {'items':>9} {'errors':>9} {'crashes':>7} "
        f"{'hangs':>5} {'slowest ms':>10} {'max buf':>7} {'peak KiB':>8} {'end KiB':>7}"
    )
    rows = [
        f"{r.parser:<30} {r.inputs:>9} {r.input_bytes / 2**20:>7.1f} {r.items:>9} {r.errors:>9} "
        f"{len(r.crashes):>7} {r.hangs:>5} {r.slowest_ms:>10.2f} {r.max_buffered:>7} {r.peak_kib:>8.1f} "
        f"{r.end_kib:>7.1f}"
        for r in results
    ]
    return "\n".join([header, "-" * len(header), *rows])


def main() -> int:
    parser = argparse.ArgumentParser(description="Fuzz the PN532 and scanner parsers for a while.")
    parser.add_argument("--seconds", type=float, default=10.0, help="total run time, split over the parsers")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json", type=Path, help="write the results here as JSON")
    args = parser.parse_args()

    rng = random.Random(args.seed)
    all_targets = targets()
    results = [fuzz(t, args.seconds / len(all_targets), rng) for t in all_targets]
    print(f"{args.seconds:g} s, seed {args.seed}, {platform.machine()}, Python {platform.python_version()}")
    print(table(results))
    for r in results:
        for crash in r.crashes:
            print(f"CRASH {r.parser}: {crash}")
    report = {
        "seconds": args.seconds,
        "seed": args.seed,
        "machine": platform.machine(),
        "results": [asdict(r) for r in results],
    }
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))
        print(f"wrote {args.json}")
    else:
        print(json.dumps(report))
    return 1 if any(r.crashes or r.hangs for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
