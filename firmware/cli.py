"""The `kiosk` command."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

from firmware.config import (
    DEFAULT_CONFIG_PATH,
    DEFAULT_DATA_DIR,
    Config,
    ConfigError,
    cloud_url_problems,
    insecure_cloud_warning,
    load_config,
    production_problems,
    production_warnings,
)
from firmware.technician.cli import add_commands as add_technician_commands
from firmware.technician.cli import dispatch as technician_dispatch

if TYPE_CHECKING:
    from firmware.runtime import RunOptions

STARTED_AT = time.monotonic()
DEFAULT_SIM_CONTROL_PORT = 8765


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="kiosk", description="Smart sales cabinet runtime.")
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="run the cabinet")
    run.add_argument("--sim", action="store_true", help="emulate every device and, without --cloud, the cloud")
    run.add_argument("--headless", action="store_true", help="no window (SDL dummy video driver)")
    run.add_argument(
        "--config",
        type=Path,
        help=f"TOML configuration (default: {DEFAULT_CONFIG_PATH}; simulation defaults with --sim)",
    )
    run.add_argument(
        "--data-dir",
        type=Path,
        help=f"local database and snapshots (default: ./data with --sim, {DEFAULT_DATA_DIR} otherwise)",
    )
    run.add_argument("--cloud", metavar="URL", help="cloud base URL (overrides sync.cloud_url)")
    run.add_argument(
        "--control-port",
        type=int,
        metavar="N",
        help=f"loopback control API port (--sim only; default {DEFAULT_SIM_CONTROL_PORT}, 0 = any)",
    )
    run.add_argument("--log-level", default="INFO", choices=["DEBUG", "INFO", "WARNING", "ERROR"])

    config = sub.add_parser("config", help="configuration tools")
    config_sub = config.add_subparsers(dest="config_command", required=True)
    check = config_sub.add_parser(
        "check",
        help="validate a configuration file (TOML), or the cloud's configuration document (.json), and explain "
        "every error",
    )
    check.add_argument("path", type=Path)
    check.add_argument("--sim", action="store_true", help="check for simulation (skip production requirements)")

    pin = sub.add_parser("pin", help="retailer PIN tools")
    pin_sub = pin.add_subparsers(dest="pin_command", required=True)
    pin_hash = pin_sub.add_parser(
        "hash", help="read a PIN (not echoed) and print its scrypt hash for retailer.pin_hash"
    )
    pin_hash.add_argument(
        "--force", action="store_true", help="accept a weak PIN (1111, 1234, 1212, a year...): a lab cabinet only"
    )

    selftest = sub.add_parser("selftest", help="exercise every configured device and print a table")
    selftest.add_argument("--sim", action="store_true", help="against the emulators")
    selftest.add_argument("--config", type=Path)
    add_technician_commands(sub)
    return parser


def _load(path: Path | None, sim: bool) -> tuple[Config, list[str], list[str]]:
    """(config, problems that stop a real cabinet, warnings about one); neither in simulation."""
    where = str(path) if path else "<simulation defaults>"
    if path is None and not sim:
        path = DEFAULT_CONFIG_PATH
        where = str(path)
    config = load_config(path)
    if sim:
        return config, [], []
    return config, production_problems(config, where), production_warnings(config, where)


M_MMAP_THRESHOLD = -3  # mallopt parameters (glibc's malloc.h)
M_ARENA_MAX = -8


def tune_malloc(arenas: int = 2, mmap_threshold: int = 128 * 1024) -> None:
    """Keep a long-running cabinet's heap from holding memory it has freed (before any thread starts).

    M_ARENA_MAX: glibc gives each thread that allocates its own 64 MB heap arena; the cabinet's few helper
    threads (assets, camera, database, serial) would each keep one. Two are plenty for a kiosk.
    M_MMAP_THRESHOLD fixed: glibc raises the threshold to the size of each large block freed (up to 32 MB),
    after which decoded images, the 360° view's frames and camera frames come from the heap, and the pages
    they leave there stay resident. Fixed at 128 KiB every such block is a mapping of its own, returned to
    the system when it is freed (measured with bench_footprint: about 20 MB less resident at start and
    30 MB less after sales)."""
    import ctypes
    import ctypes.util

    name = ctypes.util.find_library("c")
    if name and sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL(name)
            libc.mallopt(M_ARENA_MAX, arenas)
            libc.mallopt(M_MMAP_THRESHOLD, mmap_threshold)
        except (OSError, AttributeError):
            pass  # not glibc (musl): nothing to tune


def cmd_run(args: argparse.Namespace) -> int:
    tune_malloc()
    from firmware.logs import setup_logging
    from firmware.runtime import choose_video_driver, run

    setup_logging(args.log_level)
    if args.control_port is not None and not args.sim:
        print(
            "kiosk: --control-port needs --sim; a bench profile sets bench.control_port "
            "(the control API never runs in production)",
            file=sys.stderr,
        )
        return 2
    if not args.sim and (needed := _technician_needed(args)) is not None:
        return needed
    try:
        config, problems, warnings = _load(args.config, args.sim)
    except ConfigError as exc:
        print("kiosk: the configuration has errors:", *exc.problems, sep="\n  ", file=sys.stderr)
        return 2
    if args.cloud and not args.sim:
        problems += [p.text for p in cloud_url_problems(args.cloud, config.sync.allow_insecure_http, "--cloud")]
    if problems:
        print("kiosk: refusing to start a real cabinet:", *problems, sep="\n  ", file=sys.stderr)
        return 2
    warning = None if args.sim else insecure_cloud_warning(args.cloud or config.sync.cloud_url)
    if warning:
        logging.getLogger("kiosk").warning(warning)
    for warning in warnings:  # at every start, into the journal
        logging.getLogger("firmware.cli").warning("configuration warning", extra={"detail": warning})
    message = choose_video_driver(args.headless)
    if message:
        print(f"kiosk: {message}", file=sys.stderr)
    if args.sim:
        control_port = args.control_port if args.control_port is not None else DEFAULT_SIM_CONTROL_PORT
    else:  # only a bench profile opens the control API outside simulation
        control_port = config.bench.control_port or None
    options = _run_options(args, control_port)
    from sync_client.keyfile import KeyFileError
    from sync_client.outbox import StoreUnusable

    try:
        return asyncio.run(run(config, options))
    except (OSError, KeyFileError, StoreUnusable) as exc:
        print(f"kiosk: {exc}", file=sys.stderr)
        return 1


def _run_options(args: argparse.Namespace, control_port: int | None) -> RunOptions:
    from firmware.runtime import RunOptions

    return RunOptions(
        sim=args.sim,
        headless=args.headless,
        data_dir=args.data_dir or (Path("data") if args.sim else DEFAULT_DATA_DIR),
        cloud_url=args.cloud,
        control_port=control_port,
        started_at=STARTED_AT,
    )


def _technician_needed(args: argparse.Namespace) -> int | None:
    """A real cabinet without its key, its enrolment or a usable configuration: the technician-needed screen
    until SIGTERM or until its files change (then 0, and systemd starts it again); None when nothing lacks."""
    from firmware.runtime import choose_video_driver, run_technician_needed
    from firmware.setup_needs import check_setup, hardware_id

    path = args.config or DEFAULT_CONFIG_PATH
    check = check_setup(path, args.cloud)
    if not check.needs:
        return None
    print(f"kiosk: {check.summary()}", file=sys.stderr)
    message = choose_video_driver(args.headless)
    if message:
        print(f"kiosk: {message}", file=sys.stderr)
    options = _run_options(args, None)
    key_file = Path(check.config.cabinet.key_file or options.data_dir / "cabinet.key")
    return asyncio.run(run_technician_needed(check, options, hardware_id(), (path, key_file)))


def cmd_config_check(args: argparse.Namespace) -> int:
    warnings: list[str] = []
    if args.path.suffix == ".json":  # the cloud's configuration document, as a retailer uploads it
        problems, warnings = _check_document(args.path)
    else:
        try:
            config, problems, warnings = _load(args.path, args.sim)
        except ConfigError as exc:
            problems = exc.problems
    for warning in warnings:
        print(f"  warning: {warning}", file=sys.stderr)
    if problems:
        print(f"{args.path}: {len(problems)} problem{'s' if len(problems) > 1 else ''}:", file=sys.stderr)
        for problem in problems:
            print(f"  {problem}", file=sys.stderr)
        return 1
    print(f"{args.path}: ok" + (f", {len(warnings)} warning{'s' if len(warnings) > 1 else ''}" if warnings else ""))
    return 0


def _check_document(path: Path) -> tuple[list[str], list[str]]:
    """(problems, warnings) of a cabinet configuration document: what refuses it, what the shopper would
    miss (texts not translated, characters no font here draws)."""
    from firmware.cloud_config import content_report
    from sync_client.cabinet_config import ConfigInvalid, parse_config

    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        return [f"cannot read it as JSON: {exc}"], []
    try:
        return [], content_report(parse_config(document))
    except ConfigInvalid as exc:
        return exc.problems, []


def cmd_selftest(args: argparse.Namespace) -> int:
    from firmware.selftest import run_selftest

    try:
        config, _, _ = _load(args.config, args.sim)
    except ConfigError as exc:
        print("kiosk: the configuration has errors:", *exc.problems, sep="\n  ", file=sys.stderr)
        return 2
    return asyncio.run(run_selftest(config, sim=args.sim))


def cmd_pin_hash(args: argparse.Namespace) -> int:
    import getpass

    from firmware.technician.pin_strength import weak_pin_reason
    from sync_client.cabinet_config import hash_secret

    read = getpass.getpass if sys.stdin.isatty() else (lambda prompt: sys.stdin.readline().rstrip("\n"))
    pin = read("PIN: ")
    if not (pin.isdigit() and 4 <= len(pin) <= 12):
        print("kiosk: a PIN is 4 to 12 digits", file=sys.stderr)
        return 2
    weak = weak_pin_reason(pin)
    if weak and not args.force:
        print(
            f"kiosk: this PIN is {weak}, among the first a thief tries; choose another "
            "(a lab cabinet may use it with: kiosk pin hash --force)",
            file=sys.stderr,
        )
        return 2
    if sys.stdin.isatty() and read("again: ") != pin:
        print("kiosk: the two PINs differ", file=sys.stderr)
        return 2
    print(hash_secret(pin))
    return 0


COMMANDS = {"run": cmd_run, "config": cmd_config_check, "pin": cmd_pin_hash, "selftest": cmd_selftest}


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command in COMMANDS:
        return COMMANDS[args.command](args)
    code = technician_dispatch(args)
    assert code is not None, f"no handler for {args.command!r}"
    return code


if __name__ == "__main__":
    sys.exit(main())
