"""``clearinghouse export claims``: the adjudication result per claim version of a period.

Columns, formats and ordering are the spec's (README, "export claims columns"): CSV UTF-8
without BOM, ``\\n`` line ends, minimal quoting, amounts in baht with two decimals; Parquet
with the same columns, amounts as ``Decimal(18, 2)``, dates as dates, version as an integer.
"""

from __future__ import annotations

import io
import os
import re
from pathlib import Path

import polars as pl
from sqlalchemy import Connection, text

from clearinghouse.errors import UsageError
from clearinghouse.money import format_baht, format_scaled
from clearinghouse.persistence.bulk import read_frame
from clearinghouse.persistence.db import make_engine, require_schema
from clearinghouse.settings import Settings
from formats.csv import csv_bytes

__all__ = ["EXPORT_COLUMNS", "claims_export", "export_claims"]

EXPORT_COLUMNS = [
    "hcode", "claim_type", "claim_key", "version", "person_id", "received", "status", "codes",
    "drg", "adjrw", "charged", "allowed", "payers", "refer_charge_to", "refer_charge",
]  # fmt: skip

_VERSIONS = pl.Schema(
    {
        "id": pl.Int64(), "hcode": pl.String(), "claim_type": pl.String(),
        "claim_key": pl.String(), "version": pl.Int64(), "person_id": pl.String(),
        "received": pl.Date(), "status": pl.String(), "drg": pl.String(),
        "adjrw_e4": pl.Int64(), "charged": pl.Int64(), "allowed": pl.Int64(),
        "refer_charge_to": pl.String(), "refer_charge": pl.Int64(),
    }
)  # fmt: skip
_PERIOD = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")


def claims_export(conn: Connection, period: str) -> pl.DataFrame:
    """The export rows of ``period`` with typed columns (satang Int64, adjrw_e4 Int64)."""
    if not _PERIOD.match(period):
        raise UsageError(f"--period {period!r} is not a month YYYY-MM")
    known = conn.execute(text("SELECT 1 FROM period WHERE period = :p"), {"p": period}).first()
    if known is None:
        raise UsageError(f"period {period} is unknown: no claim has been received for it")
    versions = read_frame(
        conn,
        text(
            "SELECT id, hcode, claim_type, claim_key, version, person_id, received, status, drg,"
            " adjrw_e4, charged, allowed, refer_charge_to, refer_charge"
            " FROM claim_version WHERE period = :p"
        ).bindparams(p=period),
        schema=_VERSIONS,
    )
    codes = read_frame(
        conn,
        text(
            "SELECT cc.claim_version_id AS id, cc.code FROM claim_code cc"
            " JOIN claim_version cv ON cv.id = cc.claim_version_id WHERE cv.period = :p"
        ).bindparams(p=period),
        schema=pl.Schema({"id": pl.Int64(), "code": pl.String()}),
    )
    payers = read_frame(
        conn,
        text(
            "SELECT cp.claim_version_id AS id, cp.fund, cp.amount FROM claim_payer cp"
            " JOIN claim_version cv ON cv.id = cp.claim_version_id WHERE cv.period = :p"
        ).bindparams(p=period),
        schema=pl.Schema({"id": pl.Int64(), "fund": pl.String(), "amount": pl.Int64()}),
    )
    code_lists = codes.group_by("id").agg(codes=pl.col("code").unique().sort().str.join(";"))
    payer_lists = (
        payers.filter(pl.col("amount") > 0)
        .sort("fund")
        .group_by("id", maintain_order=True)
        .agg(payers=pl.format("{}:{}", "fund", format_baht(pl.col("amount"))).str.join(";"))
    )
    judged = pl.col("status").is_in(["A", "D"])
    return (
        versions.join(code_lists, on="id", how="left")
        .join(payer_lists, on="id", how="left")
        .with_columns(
            pl.col("codes").fill_null(""),
            drg=pl.when(judged & (pl.col("claim_type") == "IP")).then(pl.col("drg")),
            adjrw_e4=pl.when(judged & (pl.col("claim_type") == "IP")).then(pl.col("adjrw_e4")),
            allowed=pl.when(judged).then(pl.col("allowed")).otherwise(0),
            payers=pl.when(pl.col("status") == "A").then(pl.col("payers")),
            refer_charge_to=pl.when(pl.col("refer_charge").fill_null(0) > 0).then(
                pl.col("refer_charge_to")
            ),
            refer_charge=pl.when(pl.col("refer_charge").fill_null(0) > 0).then(
                pl.col("refer_charge")
            ),
        )
        .sort("hcode", "claim_type", "claim_key", "version")
    )


def _csv(frame: pl.DataFrame) -> bytes:
    text_frame = frame.select(
        "hcode", "claim_type", "claim_key", "version", "person_id",
        pl.col("received").dt.strftime("%Y-%m-%d"), "status", "codes", "drg",
        adjrw=format_scaled(pl.col("adjrw_e4"), 4),
        charged=format_baht(pl.col("charged")),
        allowed=format_baht(pl.col("allowed")),
        payers="payers", refer_charge_to="refer_charge_to",
        refer_charge=format_baht(pl.col("refer_charge")),
    )  # fmt: skip
    return csv_bytes(text_frame.select(EXPORT_COLUMNS))


def _parquet(frame: pl.DataFrame) -> bytes:
    money = pl.Decimal(18, 2)

    def baht(name: str) -> pl.Expr:
        # Through the exact decimal text: Polars' Decimal division truncates.
        return format_baht(pl.col(name)).cast(money).alias(name)

    typed = frame.select(
        "hcode", "claim_type", "claim_key", pl.col("version").cast(pl.Int64), "person_id",
        "received", "status", "codes", "drg",
        adjrw=format_scaled(pl.col("adjrw_e4"), 4).cast(pl.Decimal(18, 4)),
        charged=baht("charged"), allowed=baht("allowed"), payers="payers",
        refer_charge_to="refer_charge_to", refer_charge=baht("refer_charge"),
    )  # fmt: skip
    buffer = io.BytesIO()
    typed.select(EXPORT_COLUMNS).write_parquet(buffer)
    return buffer.getvalue()


def export_claims(settings: Settings, period: str, out: Path) -> int:
    """Write the period's export to ``out`` (``.csv`` or ``.parquet``); returns its rows."""
    suffix = out.suffix.lower()
    if suffix not in (".csv", ".parquet"):
        raise UsageError(f"--out {out}: the export is written as .csv or .parquet")
    engine = make_engine(settings.db)
    try:
        require_schema(engine)
        with engine.connect() as conn:
            frame = claims_export(conn, period)
    finally:
        engine.dispose()
    data = _csv(frame) if suffix == ".csv" else _parquet(frame)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.tmp{os.getpid()}")
    tmp.write_bytes(data)
    tmp.replace(out)
    return frame.height
