"""The ``clearinghouse`` command line: parses arguments, calls jobs, owns exit codes and output.

Exit statuses: 0 success, 1 the command ran and found a problem it reports, 2 bad usage or
unusable input (a ``ClearinghouseError``, printed as one line without a traceback).
"""

from __future__ import annotations

import datetime as dt
import functools
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

import click

from clearinghouse.errors import ClearinghouseError
from clearinghouse.settings import Settings, load_settings

__all__ = ["main"]

F = TypeVar("F", bound=Callable[..., Any])


def _db_option(func: F) -> F:
    """``--db URL`` accepted after the subcommand as well as before it."""
    return click.option(
        "--db",
        "db_after",
        metavar="URL",
        default=None,
        help="Database URL (default: $CLEARINGHOUSE_DB, else sqlite:///clearinghouse.db).",
    )(func)


def _settings(ctx: click.Context, db_after: str | None) -> Settings:
    base: Settings = ctx.obj["settings"]
    return base.with_db(db_after or ctx.obj.get("db"))


def _handled(func: F) -> F:
    """Turn a ClearinghouseError into one line on stderr and its exit status."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except ClearinghouseError as error:
            click.echo(f"clearinghouse: {error}", err=True)
            sys.exit(error.exit_code)

    return wrapper  # type: ignore[return-value]


def _date(value: str | None, name: str) -> dt.date | None:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError as exc:
        raise click.BadParameter(f"{value!r} is not a date YYYY-MM-DD", param_hint=name) from exc


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--db", metavar="URL", default=None, help="Database URL (also after the subcommand).")
@click.pass_context
def cli(ctx: click.Context, db: str | None) -> None:
    """National health-claims clearinghouse: ingest, price, route, settle, reconcile."""
    ctx.ensure_object(dict)
    try:
        ctx.obj["settings"] = load_settings()
    except ClearinghouseError as error:
        click.echo(f"clearinghouse: {error}", err=True)
        sys.exit(error.exit_code)
    ctx.obj["db"] = db


@cli.command()
@_db_option
@click.pass_context
@_handled
def init(ctx: click.Context, db_after: str | None) -> None:
    """Create the schema (idempotent) and load the bundled sample reference data."""
    from jobs.setup import initialise

    settings = _settings(ctx, db_after)
    version = initialise(settings)
    if version is None:
        click.echo(f"schema ready at {settings.db}; reference data already loaded")
    else:
        click.echo(
            f"schema ready at {settings.db}; sample reference data loaded as version {version}"
        )


@cli.group()
def reference() -> None:
    """Reference data: prices, rates, registry."""


@reference.command("load")
@click.argument("directory", type=click.Path(path_type=Path))
@click.option("--label", default=None, help="A label for this version (default: the folder name).")
@_db_option
@click.pass_context
@_handled
def reference_load(
    ctx: click.Context, directory: Path, label: str | None, db_after: str | None
) -> None:
    """Load a reference data set (CSV folder) as a new version."""
    from jobs.setup import load_reference_dir

    settings = _settings(ctx, db_after)
    version, counts = load_reference_dir(settings, directory, label)
    loaded = ", ".join(f"{name} {rows}" for name, rows in counts.items())
    click.echo(f"reference version {version} loaded from {directory}: {loaded}")


@cli.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--hcode", default=None, help="The submitting hospital when the path does not say.")
@click.option(
    "--received", default=None, metavar="YYYY-MM-DD", help="Received date (default today)."
)
@click.option("--corrections", is_flag=True, help="The drops replace accepted claim versions.")
@click.option(
    "--ack-dir",
    type=click.Path(path_type=Path),
    default=Path("ack"),
    show_default=True,
    help="Where acknowledgements are written.",
)
@_db_option
@click.pass_context
@_handled
def ingest(
    ctx: click.Context,
    paths: tuple[Path, ...],
    hcode: str | None,
    received: str | None,
    corrections: bool,
    ack_dir: Path,
    db_after: str | None,
) -> None:
    """Ingest drops (ZIP, folder, or an inbox of hospital folders); one acknowledgement each."""
    from jobs.runner import run_ingest

    settings = _settings(ctx, db_after)
    day = _date(received, "--received") or dt.datetime.now(ZoneInfo(settings.timezone)).date()
    run_ingest(
        settings, list(paths), received=day, hcode=hcode, corrections=corrections, ack_dir=ack_dir
    )


@cli.command()
@click.option("--out", "out", required=True, type=click.Path(path_type=Path))
@click.option("--claims", default=5000, show_default=True, type=click.IntRange(min=1))
@click.option("--hospitals", default=None, type=click.IntRange(min=1))
@click.option("--seed", default=1, show_default=True, type=int)
@click.option("--error-rate", default=0.05, show_default=True, type=click.FloatRange(0, 1))
@click.option("--as-of", default="2026-10-31", show_default=True, metavar="YYYY-MM-DD")
@click.option(
    "--format",
    "fmt",
    default="16files",
    show_default=True,
    # jobs.synth.formatted.FORMATS, spelled out so that --help does not load the generator.
    type=click.Choice(["16files", "cipn", "claimrec", "fhir-json", "fhir-xml"]),
    help="How the drops are written: CIPN holds the inpatient claims only, ClaimRec the "
    "outpatient ones; the same seed draws the same claims in every format.",
)
@click.option(
    "--portable",
    is_flag=True,
    help="Draw only claims whose outcome cannot depend on the format (no referral, no "
    "road/work accident type, no leave days, portable charge categories and faults).",
)
@_db_option
@click.pass_context
@_handled
def generate(
    ctx: click.Context,
    out: Path,
    claims: int,
    hospitals: int | None,
    seed: int,
    error_rate: float,
    as_of: str,
    fmt: str,
    portable: bool,
    db_after: str | None,
) -> None:
    """Write synthetic drops to OUT/inbox/<HCODE>/ and matching reference data to OUT/reference/."""
    from jobs.runner import run_generate

    day = _date(as_of, "--as-of")
    assert day is not None
    run_generate(
        out,
        claims=claims,
        hospitals=hospitals,
        seed=seed,
        error_rate=error_rate,
        as_of=day,
        fmt=fmt,
        portable=portable,
    )


@cli.command()
@click.option("--claims", default=3000, show_default=True, type=click.IntRange(min=1))
@click.option(
    "--dir",
    "workdir",
    default=Path("demo"),
    show_default=True,
    type=click.Path(path_type=Path),
    help="Where the demo database and files go.",
)
@_db_option
@click.pass_context
@_handled
def demo(ctx: click.Context, claims: int, workdir: Path, db_after: str | None) -> None:
    """In a fresh demo database: generate, init, load reference, ingest; print a summary."""
    from jobs.demo import run_demo

    settings = _settings(ctx, db_after) if (db_after or ctx.obj.get("db")) else None
    run_demo(workdir, claims=claims, settings=settings)


@cli.group()
def export() -> None:
    """Exports of adjudication results."""


@export.command("claims")
@click.option("--period", required=True, metavar="YYYY-MM", help="The period (month).")
@click.option(
    "--out",
    "out",
    required=True,
    type=click.Path(path_type=Path),
    help="The file to write: .csv or .parquet.",
)
@_db_option
@click.pass_context
@_handled
def export_claims_command(ctx: click.Context, period: str, out: Path, db_after: str | None) -> None:
    """One row per claim version of the period, sorted by hospital, type, key and version."""
    from jobs.export import export_claims

    rows = export_claims(_settings(ctx, db_after), period, out)
    click.echo(f"{rows} claim versions of {period} written to {out}")


@cli.command("explain")
@click.argument("hcode")
@click.argument("claim_type", metavar="TYPE", type=click.Choice(["OP", "IP"], case_sensitive=False))
@click.argument("key")
@click.option(
    "--version",
    "version",
    type=click.IntRange(min=1),
    default=None,
    help="The claim version (default: the latest).",
)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@_db_option
@click.pass_context
@_handled
def explain_command(
    ctx: click.Context,
    hcode: str,
    claim_type: str,
    key: str,
    version: int | None,
    as_json: bool,
    db_after: str | None,
) -> None:
    """How one claim version's outcome and amount were reached."""
    from jobs.explain import explain

    click.echo(explain(_settings(ctx, db_after), hcode, claim_type, key, version, as_json=as_json))


@cli.command("settle")
@click.option("--through", default=None, metavar="YYYY-MM-DD", help="Nightly run: up to this day.")
@click.option("--period", default=None, metavar="YYYY-MM", help="Month close of this period.")
@click.option(
    "--out", "out", required=True, type=click.Path(path_type=Path), help="Folder for the files."
)
@_db_option
@click.pass_context
@_handled
def settle_command(
    ctx: click.Context, through: str | None, period: str | None, out: Path, db_after: str | None
) -> None:
    """Settle by multilateral netting: the nightly run or the month close (idempotent)."""
    from clearinghouse.persistence.db import make_engine
    from jobs.settle import SettleRequest, describe, settle

    settings = _settings(ctx, db_after)
    request = SettleRequest(out=out, through=_date(through, "--through"), period=period)
    engine = make_engine(settings.db)
    try:
        click.echo(describe(settle(engine, settings, request)))
    finally:
        engine.dispose()


@cli.command("reconcile")
@click.option("--period", required=True, metavar="YYYY-MM", help="The period (month).")
@click.option(
    "--out", "out", required=True, type=click.Path(path_type=Path), help="Folder for the report."
)
@_db_option
@click.pass_context
@_handled
def reconcile_command(ctx: click.Context, period: str, out: Path, db_after: str | None) -> None:
    """Write the period's reconciliation report; exit 1 on any break."""
    from clearinghouse.persistence.db import make_engine
    from jobs.reconcile import describe, reconcile

    settings = _settings(ctx, db_after)
    engine = make_engine(settings.db)
    try:
        result = reconcile(engine, settings, period, out)
    finally:
        engine.dispose()
    click.echo(describe(result))
    if result.breaks:
        sys.exit(1)


# --- schedule ---------------------------------------------------------------------------------


def _clock_time(value: str, name: str) -> dt.time:
    try:
        hours, minutes = value.split(":")
        return dt.time(int(hours), int(minutes))
    except ValueError as exc:
        raise click.BadParameter(f"{value!r} is not a time HH:MM", param_hint=name) from exc


@cli.command("schedule")
@click.option(
    "--inbox",
    type=click.Path(path_type=Path, file_okay=False),
    default=Path("inbox"),
    show_default=True,
    help="Hospital folders <HCODE>/ with drops (and corrections/); acknowledgements go to ack/.",
)
@click.option(
    "--out-root",
    type=click.Path(path_type=Path, file_okay=False),
    default=Path(),
    show_default=True,
    help="Where archive/, settle/ and reconcile/ are written.",
)
@click.option(
    "--settle-at",
    default="01:00",
    show_default=True,
    metavar="HH:MM",
    help="Daily time of the nightly settlement, in the configured time zone.",
)
@click.option(
    "--poll",
    default=10.0,
    show_default=True,
    type=click.FloatRange(min=0.1),
    metavar="SECONDS",
    help="How often the inbox is looked at.",
)
@click.option(
    "--quiet",
    default=None,
    type=click.FloatRange(min=0),
    metavar="SECONDS",
    help="How long a drop must stay unchanged before it is ingested (default: 2 x --poll).",
)
@click.option("--today", default=None, hidden=True, envvar="CLEARINGHOUSE_TODAY")
@_db_option
@click.pass_context
@_handled
def schedule_command(
    ctx: click.Context,
    inbox: Path,
    out_root: Path,
    settle_at: str,
    poll: float,
    quiet: float | None,
    today: str | None,
    db_after: str | None,
) -> None:
    """Long-running: ingest drops as they land, settle nightly, close and reconcile months."""
    from jobs.schedule import ScheduleOptions, configure_logging, run_schedule

    options = ScheduleOptions(
        inbox=inbox,
        out_root=out_root,
        settle_at=_clock_time(settle_at, "--settle-at"),
        poll=poll,
        quiet=2 * poll if quiet is None else quiet,
        today=_date(today, "CLEARINGHOUSE_TODAY"),
    )
    configure_logging()
    run_schedule(_settings(ctx, db_after), options)


def main() -> None:
    """Console entry point."""
    cli(obj={})
