"""The demo: the whole cycle in a fresh database.

Generate drops and reference data, init, load the reference, ingest everything received on the
as-of date, close that month (settle --period), reconcile it; print the claims per hospital,
the money per fund, the netting effect and where every output is.
"""

from __future__ import annotations

import datetime as dt
import shutil
import sys
from dataclasses import replace
from pathlib import Path

import click
import polars as pl
from rich.console import Console
from rich.table import Table
from sqlalchemy import text

from clearinghouse.money import baht, format_baht
from clearinghouse.persistence.bulk import read_frame
from clearinghouse.persistence.db import make_engine
from clearinghouse.settings import Settings, load_settings
from jobs.reconcile import reconcile
from jobs.runner import run_generate, run_ingest
from jobs.settle import RunResult, SettleRequest, describe, settle
from jobs.setup import initialise, load_reference_dir

__all__ = ["DEMO_AS_OF", "fund_money", "hospital_summary", "run_demo"]

DEMO_AS_OF = dt.date(2026, 10, 31)


def hospital_summary(settings: Settings) -> pl.DataFrame:
    """Claims per hospital by status, and the three most frequent rule codes."""
    engine = make_engine(settings.db)
    try:
        with engine.connect() as conn:
            claims = read_frame(
                conn,
                text("SELECT id, hcode, status, allowed FROM claim_version"),
                schema=pl.Schema(
                    {
                        "id": pl.Int64(),
                        "hcode": pl.String(),
                        "status": pl.String(),
                        "allowed": pl.Int64(),
                    }
                ),
            )
            codes = read_frame(
                conn,
                text("SELECT claim_version_id AS id, code FROM claim_code"),
                schema=pl.Schema({"id": pl.Int64(), "code": pl.String()}),
            )
    finally:
        engine.dispose()
    by_status = claims.group_by("hcode").agg(
        claims=pl.len(),
        A=(pl.col("status") == "A").sum(),
        D=(pl.col("status") == "D").sum(),
        C=(pl.col("status") == "C").sum(),
        allowed=pl.col("allowed").filter(pl.col("status") == "A").sum(),
    )
    top = (
        codes.unique()
        .join(claims, on="id")
        .group_by("hcode", "code")
        .len()
        .sort(["hcode", "len", "code"], descending=[False, True, False])
        .group_by("hcode", maintain_order=True)
        .agg(top_codes=pl.format("{} ({})", "code", "len").head(3).str.join(", "))
    )
    return (
        by_status.join(top, on="hcode", how="left")
        .sort("hcode")
        .with_columns(pl.col("top_codes").fill_null(""))
        .select("hcode", "claims", "A", "D", "C", "allowed", "top_codes")
    )


def fund_money(positions_csv: Path) -> Table:
    """Money per fund in a run: paid out, received (referral charges), net."""
    position = pl.read_csv(positions_csv, infer_schema=False)  # the amounts exactly as written
    funds = position.filter(pl.col("participant").str.starts_with("F:"))
    table = Table(title="Money per fund in the month close (THB)")
    for name, label in (("participant", "fund"), ("gross_out", "paid"),
                        ("gross_in", "received"), ("net", "net")):  # fmt: skip
        table.add_column(label, justify="left" if name == "participant" else "right")
    for row in funds.select("participant", "gross_out", "gross_in", "net").iter_rows():
        table.add_row(*[str(v) for v in row])
    return table


def _close_and_reconcile(base: Settings, workdir: Path) -> tuple[RunResult, Path, int]:
    period = f"{DEMO_AS_OF:%Y-%m}"
    engine = make_engine(base.db)
    try:
        run = settle(engine, base, SettleRequest(out=workdir / "settle" / period, period=period))
        click.echo(describe(run))
        report = reconcile(engine, base, period, workdir / "reconcile" / period)
    finally:
        engine.dispose()
    return run, report.out, report.breaks


def run_demo(workdir: Path, *, claims: int, settings: Settings | None = None) -> None:
    """Run the whole current cycle in ``workdir`` and print where everything is."""
    if workdir.exists():
        shutil.rmtree(workdir)
    workdir.mkdir(parents=True)
    base = settings or load_settings().with_db(f"sqlite:///{workdir / 'clearinghouse.db'}")
    base = replace(base, raw_store=workdir / "raw")
    data = workdir / "data"
    run_generate(data, claims=claims, hospitals=None, seed=1, error_rate=0.05, as_of=DEMO_AS_OF)
    initialise(base)
    version, _ = load_reference_dir(base, data / "reference", "demo reference")
    click.echo(f"reference version {version} loaded from {data / 'reference'}")
    results = run_ingest(
        base,
        [data / "inbox"],
        received=DEMO_AS_OF,
        hcode=None,
        corrections=False,
        ack_dir=workdir / "ack",
    )
    summary = hospital_summary(base)
    table = Table(title=f"Claims received {DEMO_AS_OF} by hospital")
    numeric = ("claims", "A", "D", "C", "allowed")
    for name in summary.columns:
        label = "allowed A (THB)" if name == "allowed" else name
        table.add_column(label, justify="right" if name in numeric else "left")
    for row in summary.with_columns(format_baht(pl.col("allowed"))).iter_rows():
        table.add_row(*[str(v) for v in row])
    totals = summary.select(pl.col(numeric).sum()).with_columns(format_baht(pl.col("allowed")))
    table.add_row("TOTAL", *[str(v) for v in totals.row(0)], "")
    console = Console(width=None if sys.stdout.isatty() else 120)
    console.print(table)
    run, report, breaks = _close_and_reconcile(base, workdir)
    console.print(fund_money(run.out / "positions.csv"))
    if run.gross:
        click.echo(
            f"netting effect: {run.obligations} obligations worth {baht(run.gross)} THB settled "
            f"by {run.transfers} transfers moving {baht(run.moved)} THB "
            f"({1 - run.moved / run.gross:.2%} of the gross never moves)"
        )
    click.echo(f"reconciliation: {breaks} breaks")
    click.echo("where everything is:")
    for label, where in (
        ("database", base.db),
        ("generated inbox", data / "inbox"),
        ("reference data", data / "reference"),
        ("acknowledgements", workdir / "ack"),
        ("raw store", base.raw_store),
        ("settlement files", run.out),
        ("statements", run.out / "statements"),
        ("reconciliation", report / "reconciliation.html"),
    ):
        click.echo(f"  {label:18} {where}")
    click.echo(f"drops ingested: {len(results)}")
