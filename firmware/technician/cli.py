"""The technician's subcommands of `kiosk`: status, doctor, logs export, provision, store accept-new.

firmware/cli.py calls ``add_commands(sub)`` while it builds its parser and
``dispatch(args)`` before its own commands; ``dispatch`` returns None for a
command that is not one of these.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from firmware.config import DEFAULT_CONFIG_PATH, DEFAULT_DATA_DIR


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--config", type=Path, default=DEFAULT_CONFIG_PATH, help=f"TOML configuration (default: {DEFAULT_CONFIG_PATH})"
    )
    parser.add_argument(
        "--data-dir", type=Path, default=DEFAULT_DATA_DIR, help=f"the cabinet's data dir (default: {DEFAULT_DATA_DIR})"
    )


def add_commands(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    status = subparsers.add_parser(
        "status", help="one screen: service, devices, sync, alarms; exit 1 when something is missing or wrong"
    )
    _common(status)

    doctor = subparsers.add_parser(
        "doctor", help="check users, permissions, devices, disk and clock; say what to do; exit 1 on any FAIL"
    )
    _common(doctor)
    doctor.add_argument("--user", default="kiosk", help="the service user the checks are for (default: kiosk)")

    logs = subparsers.add_parser("logs", help="logs for support")
    logs_sub = logs.add_subparsers(dest="logs_command", required=True)
    export = logs_sub.add_parser(
        "export", help="a tarball of the journal, status, doctor and the configuration with secrets removed"
    )
    export.add_argument("path", type=Path, help="the tarball to write (.tar.gz); must not exist")
    _common(export)
    export.add_argument("--since", default="7 days ago", help="journal entries since (journalctl --since)")

    prov = subparsers.add_parser(
        "provision", help="register this cabinet with the cloud, write its key and configuration, run the self-test"
    )
    _common(prov)
    prov.add_argument("--cloud", required=True, metavar="URL")
    prov.add_argument("--cabinet-id", required=True, metavar="ID")
    prov.add_argument("--enroll-token", required=True, metavar="T", help="from kiosk-cloud enroll-token")
    prov.add_argument("--user", default="kiosk", help="the service user who owns the key (default: kiosk)")
    prov.add_argument("--no-selftest", action="store_true", help="skip the self-test (a bench without devices)")

    store = subparsers.add_parser("store", help="the cabinet's local store")
    store_sub = store.add_subparsers(dest="store_command", required=True)
    accept = store_sub.add_parser(
        "accept-new",
        help="after a store vanished or was replaced (kiosk doctor says "
        "so): take the store now in the data dir as the cabinet's own "
        "and sell again (same as deleting store-marker.json)",
    )
    _common(accept)

    lockboard = subparsers.add_parser("lockboard", help="the lock controller board")
    lockboard_sub = lockboard.add_subparsers(dest="lockboard_command", required=True)
    flash = lockboard_sub.add_parser("flash", help="copy the firmware with mpremote and check its version")
    flash.add_argument("port", help="the Pico's serial port, e.g. /dev/kiosk-lockboard or /dev/ttyACM0")


def dispatch(args: argparse.Namespace) -> int | None:
    """Run the command if it is one of ours and return its exit status; None otherwise."""
    if args.command == "status":
        from firmware.technician.status import collect_status, format_status
        from firmware.technician.term import use_colour

        report = collect_status(args.config, args.data_dir)
        sys.stdout.write(format_status(report, use_colour(sys.stdout)))
        return 1 if report.problems() else 0
    if args.command == "doctor":
        from firmware.technician.doctor import DoctorContext, doctor

        return doctor(DoctorContext(args.config, args.data_dir, user=args.user))
    if args.command == "logs":
        from firmware.technician.logs_export import main_export

        return main_export(args.path, args.config, args.data_dir, args.since)
    if args.command == "provision":
        from firmware.technician.provision import provision

        return provision(
            args.cloud,
            args.cabinet_id,
            args.enroll_token,
            args.config,
            args.data_dir,
            user=args.user,
            selftest=not args.no_selftest,
        )
    if args.command == "store":
        from firmware.storage import accept_new_store

        try:
            print(accept_new_store(args.data_dir))
        except OSError as exc:
            print(f"kiosk: {exc}", file=sys.stderr)
            return 1
        return 0
    if args.command == "lockboard":
        from firmware.technician.lockboard_flash import FILES, flash
        from firmware.technician.term import ProgressBar

        bar = ProgressBar(len(FILES) + 2, sys.stderr)
        try:
            return flash(args.port, progress=bar.show)
        finally:
            bar.close()
    return None
