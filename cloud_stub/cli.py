"""``kiosk-cloud``: run the cloud stub, register retailers and cabinets, export what cabinets sent."""

from __future__ import annotations

import argparse
import asyncio
import gc
import getpass
import json
import logging
import os
import signal
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

from cloud_stub import sqldb
from cloud_stub.console.auth import ROLES, PasswordRefused, check_email, hash_password
from cloud_stub.console.i18n import translator
from cloud_stub.console.proxy import Network, parse_networks
from cloud_stub.consumer.notify import HttpProvider, LogProvider, Provider
from cloud_stub.event_partitions import DEFAULT_KEEP_ANALYTICS_DAYS, DEFAULT_KEEP_MONEY_YEARS, RetentionPolicy
from cloud_stub.event_retention import describe
from cloud_stub.payments.credentials import SECRET_KEY_ENV, Sealer
from cloud_stub.store import CloudStoreError, SqlCloudStore, open_store, pending_migrations, printable
from sync_client.schema import SchemaError, parse_utc_iso

if TYPE_CHECKING:
    from securesystemslib.signer import CryptoSigner  # type: ignore[attr-defined]

PROG = "kiosk-cloud"


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        # One line, not usage + message: scripts and people both read the first line.
        self.exit(2, f"{self.prog}: {message} (see --help)\n")


def _port(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a port number: {text!r}") from None
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"port {port} is not in 0..65535")
    return port


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} is below 1")
    return value


def build_parser() -> argparse.ArgumentParser:
    db = _Parser(add_help=False)
    db.add_argument(
        "--db",
        default="cloud.db",
        help="SQLite database file, or a postgresql://user@host/name URL (default: ./cloud.db)",
    )
    keep = _Parser(add_help=False)
    keep.add_argument(
        "--keep-analytics-days",
        type=_positive,
        default=DEFAULT_KEEP_ANALYTICS_DAYS,
        metavar="DAYS",
        help="raw analytics events (heartbeats, ad plays, sessions, footfall, card reads, scans) are deleted after "
        f"this many days; the figures they were counted into stay (default: {DEFAULT_KEEP_ANALYTICS_DAYS})",
    )
    keep.add_argument(
        "--keep-money-years",
        type=_positive,
        default=DEFAULT_KEEP_MONEY_YEARS,
        metavar="YEARS",
        help="every other raw event (payments, sales, refunds, alarms, the door and stock records) is deleted after "
        f"this many years, the legal retention of bookkeeping records (default: {DEFAULT_KEEP_MONEY_YEARS})",
    )
    as_of = _Parser(add_help=False)
    as_of.add_argument(
        "--as-of", metavar="TIME", help="judge the retention at this UTC time, e.g. 2026-12-31T00:00:00.000Z"
    )

    parser = _Parser(prog=PROG, description="The smart-cabinet cloud stub.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serve = commands.add_parser("serve", parents=[db, keep], help="run the HTTP API until SIGTERM/SIGINT")
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1)")
    serve.add_argument("--port", type=_port, default=8080, help="TCP port; 0 picks a free one (default: 8080)")
    serve.add_argument(
        "--simulate-payments",
        action="store_true",
        help="enable POST /sim/payments/{id}/pay, the payment provider's simulator (never in production)",
    )
    serve.add_argument(
        "--notify-url",
        metavar="URL",
        help="deliver customer notifications (repair updates) as signed JSON POSTs to this SMS gateway or webhook",
    )
    serve.add_argument(
        "--notify-secret-file",
        type=Path,
        metavar="FILE",
        help="the shared secret the notifications are signed with (HMAC-SHA256; at least 16 bytes)",
    )
    serve.add_argument(
        "--notify-log", action="store_true", help="development: write customer notifications to the log instead"
    )
    serve.add_argument(
        "--trusted-proxy",
        action="append",
        default=[],
        metavar="ADDRESS",
        help="a reverse proxy (address or network, repeatable) whose Forwarded/X-Forwarded-Proto/-For headers "
        "the console believes: https there gives Secure cookies (default: none, the headers are ignored)",
    )
    serve.add_argument(
        "--secret-key-file",
        type=Path,
        metavar="FILE",
        help="the key (32 bytes as 64 hex digits or base64) that seals the retailers' payment credentials in the "
        f"database (default: the {SECRET_KEY_ENV} environment variable; neither: payments use the simulator only)",
    )
    serve.add_argument(
        "--public-url",
        metavar="URL",
        help="this server's address as the payment providers reach it, for their notifications "
        "(default: the address each cabinet used)",
    )

    serve.add_argument(
        "--updates",
        type=Path,
        metavar="DIR",
        help="a release repository (made by `kiosk-cloud release init`) to serve under /updates/",
    )
    _release_parser(commands)

    serve.add_argument(
        "--migrate",
        action="store_true",
        help="apply the database's pending migrations first (without it, serve refuses a database that needs them)",
    )
    commands.add_parser(
        "migrate", parents=[db], help="apply the database's pending schema migrations and print what was done"
    )

    retailer = commands.add_parser("retailer", help="manage retailers")
    retailer_commands = retailer.add_subparsers(dest="retailer_command", required=True, metavar="ACTION")
    add_retailer = retailer_commands.add_parser("add", parents=[db], help="register a retailer and print its API token")
    add_retailer.add_argument("name", metavar="NAME")

    cabinet = commands.add_parser("cabinet", help="manage cabinets")
    cabinet_commands = cabinet.add_subparsers(dest="cabinet_command", required=True, metavar="ACTION")
    add = cabinet_commands.add_parser("add", parents=[db], help="register a cabinet and print its key (hex)")
    add.add_argument("cabinet_id", metavar="ID")
    add.add_argument("--retailer", help="retailer the cabinet belongs to")

    enroll = commands.add_parser(
        "enroll-token", parents=[db], help="print a one-time token with which `kiosk provision` registers a cabinet"
    )
    enroll.add_argument("--retailer", required=True, help="retailer the new cabinet will belong to")
    enroll.add_argument("--ttl-s", type=int, default=24 * 3600, help="seconds the token stays valid (default: a day)")

    user = commands.add_parser("user", help="manage the people who sign in to the retailer console")
    user_commands = user.add_subparsers(dest="user_command", required=True, metavar="ACTION")
    add_user = user_commands.add_parser(
        "add", parents=[db], help="add a console user (the first owner); the password is asked for, or read from stdin"
    )
    add_user.add_argument("--retailer", required=True, help="the retailer the user works for")
    add_user.add_argument("--email", required=True, help="the user's email: their sign-in name")
    add_user.add_argument("--role", required=True, choices=ROLES, help="owner, staff or technician")

    commands.add_parser("export", parents=[db], help="print every stored event as one JSON object a line")

    callbacks = commands.add_parser("callbacks", help="call-back requests for customer service")
    callbacks_commands = callbacks.add_subparsers(dest="callbacks_command", required=True, metavar="ACTION")
    callbacks_commands.add_parser(
        "purge", parents=[db, as_of], help="delete the requests whose retention has ended (`serve` does it hourly)"
    )
    retention = commands.add_parser(
        "retention",
        parents=[db, keep, as_of],
        help="delete the raw events past their retention and make the coming months' partitions "
        "(`serve` does it hourly)",
    )
    retention.add_argument("--dry-run", action="store_true", help="only count what would be deleted")
    commands.add_parser(
        "maintain",
        parents=[db, as_of],
        help="make the coming months' partitions of the events (PostgreSQL; `serve` and `retention` do it too)",
    )
    return parser


def _release_parser(commands: argparse._SubParsersAction[_Parser]) -> None:
    repo = _Parser(add_help=False)
    repo.add_argument("--repo", type=Path, required=True, help="the release repository (metadata/ and targets/)")
    online = _Parser(add_help=False)
    online.add_argument(
        "--online-key", type=Path, required=True, help="the timestamp and snapshot key (lives with the cloud)"
    )
    targets = _Parser(add_help=False)
    targets.add_argument(
        "--targets-key", type=Path, required=True, help="the release key (on the machine that cuts releases)"
    )
    release = commands.add_parser("release", help="signed releases for the cabinets (TUF)")
    actions = release.add_subparsers(dest="release_command", required=True, metavar="ACTION")
    init = actions.add_parser(
        "init", parents=[repo, targets, online], help="a new repository; key files that do not exist are made"
    )
    init.add_argument("--root-key", type=Path, required=True, help="the root key: keep it offline afterwards")
    add = actions.add_parser("add", parents=[repo, targets, online], help="publish a version")
    add.add_argument("version", metavar="VERSION")
    add.add_argument("--wheel", type=Path, required=True, help="the project's wheel (pip wheel --no-deps -w dist .)")
    add.add_argument(
        "--wheelhouse",
        type=Path,
        help="the wheels of its dependencies for the cabinet's platform (e.g. pip download --only-binary=:all: "
        "--platform manylinux_2_36_aarch64 --python-version 3.11 -d DIR WHEEL); "
        "default: none, the cabinet keeps its own",
    )
    add.add_argument(
        "--lockboard",
        type=Path,
        default=Path("firmware/lockboard"),
        help="the lock board's MicroPython files (default: firmware/lockboard)",
    )
    actions.add_parser("refresh", parents=[repo, online], help="renew the timestamp and snapshot (run daily)")
    rotate = actions.add_parser("rotate-root", parents=[repo], help="a new root naming new keys")
    rotate.add_argument("--root-key", type=Path, required=True, help="the current root key")
    rotate.add_argument("--online-key", type=Path, help="the current online key (unless --new-online-key)")
    for role in ("root", "targets", "online"):
        rotate.add_argument(f"--new-{role}-key", type=Path, help=f"replace the {role} key (made if missing)")


def _release(args: argparse.Namespace) -> int:
    # Here, not at the top: python-tuf is needed by this command only.
    from cloud_stub.releases import ReleaseError

    try:
        return _release_action(args)
    except ReleaseError as exc:
        print(f"{PROG}: {exc}", file=sys.stderr)
        return 1


def _release_action(args: argparse.Namespace) -> int:
    from cloud_stub.releases import ReleaseError, Repository, generate_key, load_key

    def key(path: Path) -> CryptoSigner:
        return load_key(path) if path.exists() else generate_key(path)

    repo = Repository(args.repo)
    if args.release_command == "init":
        repo.init(key(args.root_key), key(args.targets_key), key(args.online_key))
        print(f"release repository made in {args.repo}; move {args.root_key} offline now")
    elif args.release_command == "add":
        files = [p for p in sorted(args.lockboard.glob("*.py")) if p.name != "__init__.py"]
        wheelhouse = sorted(args.wheelhouse.glob("*.whl")) if args.wheelhouse else []
        if args.wheelhouse and not args.wheelhouse.is_dir():
            raise ReleaseError(f"{args.wheelhouse}: --wheelhouse is not a directory")
        version = repo.add_release(
            args.version, args.wheel, files, load_key(args.targets_key), load_key(args.online_key), wheelhouse
        )
        print(f"released {args.version} (targets version {version})")
    elif args.release_command == "refresh":
        repo.refresh(load_key(args.online_key))
        print("timestamp and snapshot renewed")
    else:
        new = {"root": args.new_root_key, "targets": args.new_targets_key, "timestamp": args.new_online_key}
        keys = {role: key(path) for role, path in new.items() if path is not None}
        if "timestamp" in keys:
            keys["snapshot"] = keys["timestamp"]
        online = load_key(args.online_key) if args.online_key else None
        version = repo.rotate_root(load_key(args.root_key), keys, online)
        print(f"root version {version} written; the cabinets take it at their next check")
    return 0


def main(argv: list[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as exit_:  # --help, or a usage error already printed as one line
        return int(exit_.code or 0)
    try:
        if args.command == "serve":
            notifier = _notifier(args.notify_url, args.notify_secret_file, args.notify_log)
            proxies = parse_networks(args.trusted_proxy)
            sealer = Sealer.from_environment(args.secret_key_file)
            return asyncio.run(
                _serve(
                    args.db,
                    args.host,
                    args.port,
                    args.simulate_payments,
                    notifier,
                    proxies,
                    sealer=sealer,
                    public_url=args.public_url,
                    updates_dir=args.updates,
                    migrate=args.migrate,
                    event_retention=RetentionPolicy(args.keep_analytics_days, args.keep_money_years),
                )
            )
        if args.command == "migrate":
            return _migrate(args.db)
        if args.command == "retailer":
            return _retailer_add(args.db, args.name)
        if args.command == "cabinet":
            return _cabinet_add(args.db, args.cabinet_id, args.retailer)
        if args.command == "user":
            return _user_add(args.db, args.retailer, args.email, args.role)
        if args.command == "enroll-token":
            return _with_store(args.db, lambda store: store.add_enroll_token(args.retailer, args.ttl_s))
        if args.command == "release":
            return _release(args)
        if args.command == "callbacks":
            return _purge_callbacks(args.db, args.as_of)
        if args.command == "retention":
            policy = RetentionPolicy(args.keep_analytics_days, args.keep_money_years)
            return _retention(args.db, policy, args.as_of, args.dry_run)
        if args.command == "maintain":
            return _maintain(args.db, args.as_of)
        return _export(args.db)
    except (CloudStoreError, ValueError, OSError, PasswordRefused) as exc:
        print(f"{PROG}: {exc}", file=sys.stderr)
        return 1
    except sqldb.database_errors() as exc:  # e.g. a read-only or locked database file
        print(f"{PROG}: database {printable(args.db)}: {exc}", file=sys.stderr)
        return 1


def _as_of(text: str | None) -> float | None:
    try:
        return parse_utc_iso(text, "--as-of") if text is not None else None
    except SchemaError as exc:
        raise ValueError(str(exc)) from None


def _purge_callbacks(db: str, as_of: str | None) -> int:
    now = _as_of(as_of)
    return _with_store(db, lambda store: f"{store.purge_callbacks(now=now)} call-back requests deleted")


def _retention(db: str, policy: RetentionPolicy, as_of: str | None, dry_run: bool) -> int:
    now = _as_of(as_of)
    return _with_store(
        db, lambda store: describe(store.purge_events(policy, now=now, dry_run=dry_run), dry_run=dry_run)
    )


def _maintain(db: str, as_of: str | None) -> int:
    now = _as_of(as_of)

    def maintain(store: SqlCloudStore) -> str:
        made = store.maintain_events(now=now)
        return f"partitions made: {', '.join(made)}" if made else "no partition to make"

    return _with_store(db, maintain)


def _notifier(url: str | None, secret_file: Path | None, to_log: bool) -> Provider | None:
    """The notification provider the options name (ValueError naming the option when they do not fit)."""
    if url and to_log:
        raise ValueError("--notify-url and --notify-log: choose one")
    if to_log:
        return LogProvider()
    if not url:
        if secret_file:
            raise ValueError("--notify-secret-file: given without --notify-url")
        return None
    if secret_file is None:
        raise ValueError("--notify-url: needs --notify-secret-file (the secret the messages are signed with)")
    return HttpProvider(url, secret_file.read_bytes().strip())


async def _serve(
    db: str,
    host: str,
    port: int,
    simulate_payments: bool,
    notifier: Provider | None,
    trusted_proxies: tuple[Network, ...] = (),
    *,
    sealer: Sealer | None = None,
    public_url: str | None = None,
    updates_dir: Path | None = None,
    migrate: bool = False,
    event_retention: RetentionPolicy | None = None,
) -> int:
    # Here, not at the top: the server's imports (the image codecs among them) are half of a command's start.
    from cloud_stub.server import start_cloud

    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    store = open_store(db, migrate=migrate)
    for migration in [] if store.created else store.migrated:
        logging.getLogger("cloud_stub").info("migrated %s to %d (%s)", printable(db), migration.version, migration.name)
    try:
        try:
            runner, url = await start_cloud(
                store,
                host,
                port,
                simulate_payments=simulate_payments,
                notifier=notifier,
                trusted_proxies=trusted_proxies,
                secret_key=sealer,
                public_url=public_url,
                updates_dir=updates_dir,
                event_retention=event_retention,
            )
        except OSError as exc:
            raise OSError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
        # What the server built to start (its modules, the app) lives as long as the process: out of the
        # collector's full passes, which otherwise stall a request now and then (30-60 ms measured on the
        # console's pages at 500 cabinets: most of their p99).
        gc.freeze()
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stop.set)
        print(f"{PROG} listening on {url}", flush=True)
        try:
            await stop.wait()
        finally:
            await runner.cleanup()
        logging.getLogger("cloud_stub").info("stopped")
        return 0
    finally:
        store.close()


def _migrate(db: str) -> int:
    """Apply what is pending; one line per migration applied, or one saying there was nothing to do."""
    todo, _new = pending_migrations(db)
    if not todo:
        print(f"{printable(db)}: up to date (no migration pending)")
        return 0
    store = open_store(db, migrate=True)
    store.close()
    for migration in store.migrated:
        print(f"{printable(db)}: applied migration {migration.version} ({migration.name})")
    if not store.migrated:  # another process applied them meanwhile
        print(f"{printable(db)}: up to date (no migration pending)")
    return 0


def _with_store(db: str, act: Callable[[SqlCloudStore], object]) -> int:
    """Run one store action and print what it returns (a token or key: scripts capture the line). A database
    that needs migrations is refused (`kiosk-cloud migrate` applies them); a new one is created."""
    store = open_store(db, migrate=False)
    try:
        print(act(store))
    finally:
        store.close()
    return 0


def _retailer_add(db: str, name: str) -> int:
    return _with_store(db, lambda store: store.add_retailer(name))


def _cabinet_add(db: str, cabinet_id: str, retailer: str | None) -> int:
    return _with_store(db, lambda store: store.add_cabinet(cabinet_id, retailer).hex())


def _user_add(db: str, retailer: str, email: str, role: str) -> int:
    email = check_email(email)
    password = _read_password()
    try:
        password_hash = hash_password(password)
    except PasswordRefused as refused:
        raise ValueError(f"password: {translator('en')(str(refused))}") from None

    def add(store: SqlCloudStore) -> str:
        if not store.has_retailer(retailer):
            raise CloudStoreError(f"no retailer {retailer!r}; add it first with `{PROG} retailer add {retailer}`")
        store.add_user(retailer, email, role, password_hash=password_hash)
        return f"{email} ({role}) can now sign in to {retailer}'s console at /console/"

    return _with_store(db, add)


def _read_password() -> str:
    """Asked twice on a terminal; otherwise the first line of stdin (scripts, tests)."""
    if sys.stdin.isatty():
        first, second = getpass.getpass("Password: "), getpass.getpass("Password again: ")
        if first != second:
            raise ValueError("password: the two entries differ")
        return first
    return sys.stdin.readline().rstrip("\r\n")


def _export(db: str) -> int:
    if not sqldb.is_postgresql_url(db) and not Path(db).is_file():
        raise CloudStoreError(f"no database at {db}")
    store = open_store(db, migrate=False)
    try:
        for record in store.export_events():
            sys.stdout.write(json.dumps(record, separators=(",", ":"), sort_keys=True) + "\n")
        sys.stdout.flush()
    except BrokenPipeError:
        # The reader (e.g. `| head`) has gone: not an error. Point stdout at /dev/null so the
        # interpreter's final flush does not complain again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    finally:
        store.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
