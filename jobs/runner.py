"""Running jobs for people: progress bars on a terminal, plain log lines otherwise."""

from __future__ import annotations

import datetime as dt
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import click
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from clearinghouse.persistence.db import init_schema, make_engine
from clearinghouse.settings import Settings
from jobs.ingest import DropResult, IngestRequest, ingest, plan

__all__ = ["describe", "progress_bar", "run_generate", "run_ingest"]


@contextmanager
def progress_bar(label: str, total: int | None) -> Iterator[Progress | None]:
    """A rich progress bar when stderr is a terminal, else None (callers log plain lines)."""
    if not sys.stderr.isatty():
        yield None
        return
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    with Progress(*columns, transient=True) as progress:
        progress.add_task(label, total=total)
        yield progress


def describe(result: DropResult) -> str:
    """The one printed line for a drop."""
    who = result.hcode or "unknown"
    if result.outcome == "F":
        return f"{who} {result.name}: refused {result.code} -> {result.ack}"
    if result.outcome == "DUP":
        return f"{who} {result.name}: duplicate F08 -> {result.ack}"
    verb = "ack rewritten" if result.outcome == "ACK" else "ingested"
    return (
        f"{who} {result.name}: {verb} {result.claims} claims "
        f"(A {result.accepted}, D {result.denied}, C {result.rejected}) -> {result.ack}"
    )


def run_ingest(
    settings: Settings,
    paths: list[Path],
    *,
    received: dt.date,
    hcode: str | None,
    corrections: bool,
    ack_dir: Path,
) -> list[DropResult]:
    """Ingest and print one line per drop."""
    engine = make_engine(settings.db)
    try:
        init_schema(engine)
        request = IngestRequest(
            paths=paths, received=received, hcode=hcode, corrections=corrections, ack_dir=ack_dir
        )
        results: list[DropResult] = []
        sources = plan(request, settings.max_drop_bytes)
        with progress_bar("ingesting drops", len(sources)) as bar:
            for result in ingest(engine, settings, request, sources):
                results.append(result)
                if bar is not None:
                    bar.console.print(describe(result), markup=False, highlight=False)
                    bar.advance(bar.task_ids[0])
                else:
                    click.echo(describe(result))
        return results
    finally:
        engine.dispose()


def run_generate(
    out: Path,
    *,
    claims: int,
    hospitals: int | None,
    seed: int,
    error_rate: float,
    as_of: dt.date,
    fmt: str = "16files",
    portable: bool = False,
) -> None:
    """Generate an inbox (in format ``fmt``) and its reference data, with a progress bar on a
    terminal."""
    from jobs.generate import generate

    with progress_bar("generating claims", claims) as bar:

        def advance(done: int) -> None:
            if bar is not None:
                bar.update(bar.task_ids[0], completed=done)

        report = generate(
            out,
            claims=claims,
            hospitals=hospitals,
            seed=seed,
            error_rate=error_rate,
            as_of=as_of,
            progress=advance,
            fmt=fmt,
            portable=portable,
        )
    kind = f"{fmt}{', portable' if portable else ''}"
    click.echo(
        f"generated {report.claims} claims ({kind}) in {out / 'inbox'}; reference data in "
        f"{out / 'reference'}"
    )
