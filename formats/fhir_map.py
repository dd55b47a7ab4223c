"""FHIR R4 Claims, as column buffers, onto the 16 raw tables (docs/formats.md §4).

The readers (:mod:`formats.fhir`) walk a bundle one entry at a time into five frames of raw
text (:data:`SOURCE_SCHEMAS`): one row per Claim, per diagnosis, per procedure, per item,
and per Patient / Coverage / Organization, bundle-level (``scope`` 0) or contained in a Claim
(``scope`` = that Claim's entry index). Everything else happens here, set-based: references
are resolved by joins, date-times converted to the local zone, money checked for THB, and
every canonical row positioned at its entry (items at ``<file>#item<sequence>``, Q18).
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from clearinghouse.schema import TABLES, raw_schema
from formats.sixteen import RAISED_SCHEMA
from formats.values import icd

__all__ = ["SOURCE_SCHEMAS", "Sources", "raw_tables"]

_S = pl.String()
_I = pl.Int64()
_B = pl.Boolean()

#: The column buffers a reader fills, one frame each.
SOURCE_SCHEMAS: dict[str, dict[str, pl.DataType]] = {
    "claims": {
        "line": _I, "key": _S, "type_code": _S, "use": _S, "status": _S, "start": _S,
        "end": _S, "created": _S, "total_value": _S, "total_currency": _S, "provider_id": _S,
        "provider_ref": _S, "patient_ref": _S, "coverage_ref": _S, "subtype": _S,
        "accident": _B, "accident_type": _S, "referral": _S,
    },
    "diagnoses": {"line": _I, "code": _S, "sequence": _S, "principal": _B},
    "procedures": {"line": _I, "code": _S},
    "items": {
        "line": _I, "sequence": _S, "code": _S, "coded": _B, "drug": _B, "category": _S,
        "quantity": _S, "unit_value": _S, "unit_currency": _S, "has_net": _B, "net_value": _S,
        "net_currency": _S,
    },
    "resources": {
        "kind": _S, "scope": _I, "line": _I, "id": _S, "full_url": _S, "person_id": _S,
        "birth_date": _S, "gender": _S, "coverage_type": _S, "identifier": _S,
    },
}  # fmt: skip

_DATE_TIME = (
    r"^(\d{4})-(\d{2})-(\d{2})"
    r"(?:[T ](\d{2}):(\d{2})(?::\d{2}(?:\.\d+)?)?(Z|([+-])(\d{2}):?(\d{2}))?)?$"
)
_SEX = {"male": "1", "female": "2"}
_ACCIDENT = {"MVA": "V", "WPA": "W"}


@dataclass(frozen=True, slots=True)
class Sources:
    """The five buffers of one drop, each exactly its :data:`SOURCE_SCHEMAS` entry."""

    claims: pl.DataFrame
    diagnoses: pl.DataFrame
    procedures: pl.DataFrame
    items: pl.DataFrame
    resources: pl.DataFrame


_PARTS = ("year", "month", "day", "hour", "minute", "offset", "sign", "off_h", "off_m")


def _with_date_time(frame: pl.DataFrame, column: str, timezone: str) -> pl.DataFrame:
    """Add ``<column>_date`` (``YYYYMMDD``) and ``<column>_time`` (``HHMM``, "" for none) from
    an ISO date or date-time: with an offset, converted to ``timezone`` first; no offset =
    already local; anything else: the date as read, no time (S03 downstream)."""
    raw = pl.col(column).str.strip_chars()
    split = frame.with_columns(
        _p=raw.str.extract_groups(_DATE_TIME).struct.rename_fields(list(_PARTS))
    ).unnest("_p")
    year, month, day, hour, minute, offset, sign, off_h, off_m = (pl.col(p) for p in _PARTS)
    local = pl.concat_str(year, month, day, hour, minute).str.to_datetime(
        "%Y%m%d%H%M", strict=False
    )
    minutes = (
        pl.when(offset == "Z")
        .then(0)
        .otherwise(
            pl.when(sign == "-").then(-1).otherwise(1)
            * (off_h.cast(pl.Int64, strict=False) * 60 + off_m.cast(pl.Int64, strict=False))
        )
    )
    zoned = (
        (local - pl.duration(minutes=minutes))
        .dt.replace_time_zone("UTC")
        .dt.convert_time_zone(timezone)
    )
    split = split.with_columns(_z=pl.when(offset.is_not_null()).then(zoned))
    converted = pl.col("_z").is_not_null()
    return split.with_columns(
        pl.when(converted)
        .then(pl.col("_z").dt.strftime("%Y%m%d"))
        .when(year.is_not_null())
        .then(pl.concat_str(year, month, day))
        .otherwise(raw)
        .fill_null("")
        .alias(f"{column}_date"),
        pl.when(converted)
        .then(pl.col("_z").dt.strftime("%H%M"))
        .otherwise(pl.concat_str(hour, minute))
        .fill_null("")
        .alias(f"{column}_time"),
    ).drop(*_PARTS, "_z")


def _money(value: str, currency: str) -> pl.Expr:
    """A Money's value when its currency is THB; else ``<value> <currency>`` (``(no
    currency)`` when absent: Q19), which no amount parser reads (S04 on that row)."""
    amount, code = pl.col(value).str.strip_chars(), pl.col(currency).str.strip_chars()
    return (
        pl.when((amount == "") | (code == "THB"))
        .then(amount)
        .when(code == "")
        .then(pl.concat_str(amount, pl.lit(" (no currency)")))
        .otherwise(pl.concat_str(amount, pl.lit(" "), code))
    )


def _resolved(claims: pl.DataFrame, targets: pl.DataFrame, ref: str, kind: str) -> pl.DataFrame:
    """Per Claim entry, the first ``kind`` resource its ``ref`` column names: ``#id`` among
    that Claim's contained resources, else a bundle entry by ``fullUrl`` or ``Type/id``."""
    wanted = claims.select(
        "line",
        ref=pl.col(ref).str.strip_chars(),
        scope=pl.when(pl.col(ref).str.strip_chars().str.starts_with("#"))
        .then(pl.col("line"))
        .otherwise(0),
    ).filter(pl.col("ref") != "")
    found = targets.filter(pl.col("kind") == kind).drop("kind")
    return (
        wanted.join(found, on=["scope", "ref"], how="inner")
        .sort("line", "target_line", "ordinal")
        .unique("line", keep="first", maintain_order=True)
        .drop("ref", "ordinal")
    )


def _targets(resources: pl.DataFrame) -> pl.DataFrame:
    """Every name a resource may be referenced by, one row each (``ref``), with the
    resource's ``ordinal`` in the file (ties between resources go to the first)."""
    resources = resources.with_row_index("ordinal")
    bundle = resources.filter(pl.col("scope") == 0)
    by_type_id = pl.when(pl.col("id") != "").then(pl.concat_str("kind", pl.lit("/"), "id"))
    names = pl.concat(
        [
            bundle.with_columns(ref=pl.col("full_url")),
            bundle.with_columns(ref=by_type_id),
            resources.filter(pl.col("scope") != 0).with_columns(
                ref=pl.concat_str(pl.lit("#"), "id")
            ),
        ]
    )
    return names.filter(pl.col("ref").is_not_null() & (pl.col("ref") != "")).rename(
        {"line": "target_line"}
    )


def _claims(claims: pl.DataFrame, resources: pl.DataFrame, timezone: str) -> pl.DataFrame:
    """Every Claim with its kind, key, HN, dates, hcode, and its resolved Patient and Coverage
    (``patient_line`` / ``coverage_line`` null when unresolved)."""
    targets = _targets(resources)
    claims = claims.with_columns(
        pl.col("key").str.strip_chars(),
        kind=pl.when(pl.col("type_code").str.strip_chars() == "institutional")
        .then(pl.lit("IP"))
        .otherwise(pl.lit("OP")),
    )
    patient = _resolved(claims, targets, "patient_ref", "Patient").select(
        "line", "person_id", "birth_date", "gender", patient_line="target_line"
    )
    coverage = _resolved(claims, targets, "coverage_ref", "Coverage").select(
        "line", "coverage_type", coverage_line="target_line"
    )
    provider = _resolved(claims, targets, "provider_ref", "Organization").select(
        "line", organization="identifier"
    )
    provider_id = pl.col("provider_id").str.strip_chars()
    keyed = pl.col("key") != ""
    blank = pl.lit("")
    return (
        claims.join(patient, on="line", how="left")
        .join(coverage, on="line", how="left")
        .join(provider, on="line", how="left")
        .pipe(_with_date_time, "start", timezone)
        .pipe(_with_date_time, "end", timezone)
        .pipe(_with_date_time, "created", timezone)
        .with_columns(
            HN=pl.when(keyed).then(pl.concat_str("kind", pl.lit("|"), "key")).otherwise(blank),
            AN=pl.when(pl.col("kind") == "IP").then(pl.col("key")).otherwise(blank),
            SEQ=pl.when(pl.col("kind") == "OP").then(pl.col("key")).otherwise(blank),
            HCODE=pl.when(provider_id != "")
            .then(provider_id)
            .otherwise(pl.col("organization").str.strip_chars().fill_null("")),
        )
    )


def _unreferenced(resources: pl.DataFrame, used: pl.DataFrame, kind: str) -> pl.DataFrame:
    """Bundle-level resources of ``kind`` no keyed Claim resolves to (S05 sentinel rows)."""
    return (
        resources.filter((pl.col("kind") == kind) & (pl.col("scope") == 0))
        .join(used, left_on="line", right_on="target_line", how="anti")
        .with_columns(sentinel=pl.concat_str(pl.lit(f"|{kind}:"), "id"))
    )


def _claim_rows(
    claims: pl.DataFrame, resources: pl.DataFrame, timezone: str
) -> dict[str, pl.DataFrame]:
    """OPD, IPD, PAT, INS, CHT, AER, ORF, IRF: the rows that stand on the Claim entry (PAT and
    INS on their bundle entry when the Patient / Coverage is one)."""
    keyed = claims.filter(pl.col("key") != "")
    op, ip = pl.col("kind") == "OP", pl.col("kind") == "IP"
    blank = pl.lit("")
    used = pl.concat(
        [
            keyed.select(target_line="patient_line", kind=pl.lit("Patient")),
            keyed.select(target_line="coverage_line", kind=pl.lit("Coverage")),
        ]
    ).drop_nulls()
    lost_patients = _unreferenced(resources, used.filter(pl.col("kind") == "Patient"), "Patient")
    lost_coverages = _unreferenced(resources, used.filter(pl.col("kind") == "Coverage"), "Coverage")
    patients = keyed.filter(pl.col("patient_line").is_not_null())
    sex = pl.col("gender").str.strip_chars().replace_strict(_SEX, default="", return_dtype=_S)
    accident = pl.col("accident_type").str.strip_chars()
    aer = keyed.filter((pl.col("subtype").str.strip_chars() == "emergency") | pl.col("accident"))
    referred = keyed.filter(pl.col("referral").str.strip_chars() != "")
    return {
        "OPD": claims.filter(op).select(
            "line", "HN", "SEQ", CLINIC=blank, DATEOPD="start_date", TIMEOPD="start_time"
        ),
        "IPD": claims.filter(ip).select(
            "line", "HN", "AN", DATEADM="start_date", TIMEADM="start_time",
            DATEDSC="end_date", TIMEDSC="end_time", DISCHS=blank, DISCHT=blank,
        ),
        "PAT": pl.concat([
            patients.select(
                "HCODE", "HN", "person_id", "birth_date", "gender", line="patient_line"
            ),
            lost_patients.select(
                "person_id", "birth_date", "gender", "line", HCODE=blank, HN="sentinel"
            ),
        ], how="diagonal").pipe(_with_date_time, "birth_date", timezone).select(
            "line", "HCODE", "HN", DOB="birth_date_date", SEX=sex, NATION=blank,
            PERSON_ID=pl.col("person_id").str.strip_chars(),
        ),
        "INS": pl.concat([
            keyed.select(
                "HN", "AN", "SEQ", CID=pl.col("person_id").str.strip_chars().fill_null(""),
                INSCL=pl.col("coverage_type").str.strip_chars().fill_null(""),
                line=pl.col("coverage_line").fill_null(pl.col("line")),
            ),
            lost_coverages.select(
                "line", HN=blank, AN=blank, SEQ="sentinel", CID=blank,
                INSCL=pl.col("coverage_type").str.strip_chars(),
            ),
        ], how="diagonal").with_columns(HOSPMAIN=blank),
        "CHT": keyed.select(
            "line", "HN", "AN", "SEQ", DATE="created_date",
            TOTAL=_money("total_value", "total_currency"),
        ),
        "AER": aer.select(
            "line", "HN", "AN", "SEQ",
            UCAE=pl.when(pl.col("subtype").str.strip_chars() == "emergency")
            .then(pl.lit("E")).otherwise(blank),
            AETYPE=pl.when(pl.col("accident"))
            .then(accident.replace_strict(_ACCIDENT, default="O", return_dtype=_S))
            .otherwise(blank),
        ),
        "ORF": referred.filter(op).select(
            "line", "SEQ", AN=blank, REFER=pl.col("referral").str.strip_chars()
        ),
        "IRF": referred.filter(ip).select(
            "line", "AN", SEQ=blank, REFER=pl.col("referral").str.strip_chars()
        ),
    }  # fmt: skip


def _detail_rows(sources: Sources, claims: pl.DataFrame, file: str) -> dict[str, pl.DataFrame]:
    """ODX/IDX, OOP/IOP, CHA, ADP, DRU: the rows of a keyed Claim's lists."""
    keys = claims.filter(pl.col("key") != "").select("line", "kind", "HN", "AN", "SEQ", "HCODE")
    op = pl.col("kind") == "OP"
    blank = pl.lit("")
    # The principal: the diagnoses typed so, else the one with sequence 1 (two typed: C02).
    typed = pl.col("principal").any().over("line")
    first = pl.col("sequence").str.strip_chars() == "1"
    diagnoses = sources.diagnoses.join(keys, on="line", maintain_order="left").with_columns(
        DIAG=icd("code"),
        DXTYPE=pl.when(pl.when(typed).then(pl.col("principal")).otherwise(first))
        .then(pl.lit("1"))
        .otherwise(pl.lit("4")),
    )
    procedures = sources.procedures.join(keys, on="line", maintain_order="left").with_columns(
        OPER=icd("code")
    )
    sequence = pl.col("sequence").str.strip_chars()
    items = sources.items.join(keys, on="line", maintain_order="left").with_columns(
        # Two items of a Claim with one sequence (FHIR wants them unique) still get positions
        # of their own, with their place in the Claim: ``#item3@4`` (S02 on the claim).
        item_file=pl.when(pl.len().over("line", "sequence") > 1)
        .then(pl.concat_str(
            pl.lit(f"{file}#item"), sequence, pl.lit("@"),
            (pl.int_range(pl.len()).over("line") + 1).cast(pl.String),
        ))
        .otherwise(pl.concat_str(pl.lit(f"{file}#item"), sequence)),
        net=_money("net_value", "net_currency"),
        unit=_money("unit_value", "unit_currency"),
        quantity=pl.col("quantity").str.strip_chars(),
        code=pl.col("code").str.strip_chars(),
    )
    return {
        "ODX": diagnoses.filter(op).select("line", "SEQ", "DIAG", "DXTYPE", AN=blank),
        "IDX": diagnoses.filter(~op).select("line", "AN", "DIAG", "DXTYPE", SEQ=blank),
        "OOP": procedures.filter(op).select("line", "SEQ", "OPER", AN=blank),
        "IOP": procedures.filter(~op).select("line", "AN", "OPER", SEQ=blank),
        "CHA": items.filter(pl.col("has_net")).select(
            "line", "HN", "AN", "SEQ", AMOUNT="net",
            CHRGITEM=pl.col("category").str.strip_chars(),
        ),
        "DRU": items.filter(pl.col("coded") & pl.col("drug")).select(
            "line", "HCODE", "HN", "AN", "SEQ", DIDSTD="code", AMOUNT="quantity",
            DRUGPRIC="unit", TOTAL="net", file="item_file",
        ),
        "ADP": items.filter(pl.col("coded") & ~pl.col("drug")).select(
            "line", "HN", "AN", "SEQ", TYPE=blank, CODE="code", QTY="quantity", RATE="unit",
            TOTAL="net", file="item_file",
        ),
    }  # fmt: skip


def raw_tables(
    sources: Sources, *, file: str, timezone: str
) -> tuple[dict[str, pl.DataFrame], pl.DataFrame]:
    """The drop's 16 raw tables (``raw_schema`` each) and its reader-raised claim codes
    (``RAISED_SCHEMA``: S02 for ``use`` ≠ claim or ``status`` ≠ active, or two items of one
    ``sequence``)."""
    claims = _claims(sources.claims, sources.resources, timezone)
    frames = _claim_rows(claims, sources.resources, timezone) | _detail_rows(sources, claims, file)
    tables: dict[str, pl.DataFrame] = {}
    for table in TABLES:
        schema = raw_schema(table)
        frame = frames.get(table, pl.DataFrame(schema=schema))
        if "file" not in frame.columns:
            frame = frame.with_columns(file=pl.lit(file))
        tables[table] = (
            frame.with_columns(s01=pl.lit(False))
            .sort("line", maintain_order=True)
            .select(schema.names())
            .cast(dict(schema))  # type: ignore[arg-type]
        )
    unadjudicated = (pl.col("use").str.strip_chars() != "claim") | (
        pl.col("status").str.strip_chars() != "active"
    )
    repeated = sources.items.filter(pl.len().over("line", "sequence") > 1).select("line")
    raised = claims.filter(
        (pl.col("key") != "") & (unadjudicated | pl.col("line").is_in(repeated["line"].implode()))
    ).select(claim_type="kind", claim_key="key", code=pl.lit("S02"))
    return tables, raised.cast(dict(RAISED_SCHEMA))  # type: ignore[arg-type]
