"""Persistence on both backends: schema, bulk frame I/O, the write lock, reference versions."""

from __future__ import annotations

import datetime as dt
import threading
import time
from pathlib import Path

import polars as pl
import pytest
from alembic.script import ScriptDirectory
from polars.testing import assert_frame_equal
from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    Engine,
    Integer,
    MetaData,
    Table,
    Text,
    func,
    inspect,
    select,
    text,
)
from sqlalchemy.orm import Session

from clearinghouse.errors import TransientError, UsageError
from clearinghouse.persistence.bulk import insert_frame, read_frame, temp_keys
from clearinghouse.persistence.db import (
    alembic_config,
    check_connection,
    init_schema,
    locked_transaction,
    make_engine,
    next_id,
    require_schema,
    schema_revision,
)
from clearinghouse.persistence.models import Base, Drop, Registry
from clearinghouse.persistence.reference_store import (
    latest_version,
    load_reference,
    reference_sources,
    store_reference,
)
from clearinghouse.schema import REFERENCE_SCHEMAS, REFERENCE_TABLES

# --- schema -----------------------------------------------------------------------------------


def test_init_schema_is_idempotent(engine: Engine) -> None:
    init_schema(engine)
    init_schema(engine)
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None
    assert schema_revision(engine) == head
    require_schema(engine)
    tables = set(inspect(engine).get_table_names())
    assert set(Base.metadata.tables) <= tables


def test_require_schema_on_an_empty_database(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path}/empty.db")
    try:
        with pytest.raises(UsageError, match="clearinghouse init"):
            require_schema(engine)
    finally:
        engine.dispose()


# --- insert_frame / read_frame ----------------------------------------------------------------

NASTY_TEXT = [
    "plain",
    "",
    None,
    "ไทย โรงพยาบาล",
    'comma, "quote"',
    "line\nbreak\r\nand CR",
    "back\\slash \\N",
    "NULL",
    "  spaced  ",
    "\t",
]

ROUND_TRIP_SCHEMA = pl.Schema(
    {
        "id": pl.Int64(),
        "label": pl.String(),
        "big": pl.Int64(),
        "day": pl.Date(),
        "moment": pl.Datetime("us"),
        "flag": pl.Boolean(),
        "small": pl.Int64(),
    }
)


def _round_trip_frame() -> pl.DataFrame:
    n = len(NASTY_TEXT)
    return pl.DataFrame(
        {
            "id": list(range(1, n + 1)),
            "label": NASTY_TEXT,
            "big": [2**62, -(2**63) + 1, None, 0, 1, -1, 2**53 + 1, 10**15, None, 7],
            "day": [
                dt.date(2024, 2, 29),
                None,
                dt.date(1, 1, 1),
                dt.date(9999, 12, 31),
                dt.date(1970, 1, 1),
                dt.date(2543, 1, 1),
                None,
                dt.date(2000, 1, 1),
                dt.date(2024, 12, 31),
                dt.date(1999, 12, 31),
            ],
            "moment": [
                dt.datetime(2024, 2, 29, 23, 59, 59, 999999),
                None,
                dt.datetime(2024, 1, 1),
                dt.datetime(1999, 12, 31, 0, 0, 0, 1),
                dt.datetime(2024, 6, 1, 12, 30),
                None,
                dt.datetime(2030, 1, 2, 3, 4, 5, 600000),
                dt.datetime(1970, 1, 1),
                dt.datetime(2024, 1, 1, 0, 0, 1),
                dt.datetime(2001, 9, 9, 1, 46, 40),
            ],
            "flag": [True, False, None, True, False, None, True, True, False, False],
            "small": [None, 1, 2, 3, None, 5, 6, 7, 8, 9],
        },
        schema=ROUND_TRIP_SCHEMA,
    )


def _scratch_table() -> Table:
    return Table(
        "scratch",
        MetaData(),
        Column("id", BigInteger, primary_key=True, autoincrement=False),
        Column("label", Text),
        Column("big", BigInteger),
        Column("day", Date),
        Column("moment", DateTime),
        Column("flag", Boolean),
        Column("small", Integer),
    )


def test_insert_frame_round_trips_values(engine: Engine) -> None:
    table = _scratch_table()
    frame = _round_trip_frame()
    with locked_transaction(engine) as conn:
        table.create(conn)
        assert insert_frame(conn, table, frame, chunk_rows=3) == frame.height
    with engine.connect() as conn:
        by_schema = read_frame(conn, select(table).order_by(table.c.id), ROUND_TRIP_SCHEMA)
        as_text = read_frame(conn, "SELECT * FROM scratch ORDER BY id", ROUND_TRIP_SCHEMA)
        inferred = read_frame(conn, select(table).order_by(table.c.id))
        rows = conn.execute(select(table).order_by(table.c.id)).all()
    assert_frame_equal(by_schema, frame)
    assert_frame_equal(as_text, frame)
    assert inferred["label"].to_list() == NASTY_TEXT
    assert inferred["day"].dtype == pl.Date
    # What SQLAlchemy itself reads back is what we wrote (SQLite storage formats agree).
    assert [tuple(r) for r in rows] == frame.rows()


def test_insert_frame_rows_look_like_orm_rows(engine: Engine) -> None:
    """A row bulk-inserted and one added through the ORM read back the same, in SQL too."""
    received = dt.date(2024, 3, 1)
    at = dt.datetime(2024, 3, 1, 8, 0, 0, 250000)
    common = {
        "hcode": "10670",
        "received": received,
        "status": "OK",
        "code": None,
        "message": "",
        "format": "zip",
        "name": "drop.zip",
        "size": 2**40,
        "corrections": True,
        "reference_version_id": None,
        "rows_read": "{}",
        "ignored_files": "[]",
        "claims": 0,
        "accepted": 0,
        "denied": 0,
        "rejected": 0,
        "charged": 0,
        "allowed": 0,
        "ingested_at": at,
    }
    frame = pl.DataFrame(
        [{"id": 1, "sha256": "a" * 64, **common}],
        schema_overrides={"code": pl.String, "reference_version_id": pl.Int64},
    )
    with locked_transaction(engine) as conn:
        insert_frame(conn, "claim_drop", frame)
        with Session(bind=conn) as session:
            session.add(Drop(id=2, sha256="b" * 64, **common))
            session.flush()
    with engine.connect() as conn:
        got = conn.execute(
            select(Drop.id, Drop.received, Drop.ingested_at, Drop.corrections, Drop.message)
            .where(Drop.received == received, Drop.ingested_at == at)
            .order_by(Drop.id)
        ).all()
    assert [tuple(r) for r in got] == [(1, received, at, True, ""), (2, received, at, True, "")]


def test_insert_frame_checks_columns(engine: Engine) -> None:
    with locked_transaction(engine) as conn:
        with pytest.raises(ValueError, match="no column"):
            insert_frame(conn, "period", pl.DataFrame({"period": ["2024-01"], "nope": [1]}))
        assert insert_frame(conn, "period", pl.DataFrame({"period": [], "status": []})) == 0
        tz = pl.DataFrame({"period": ["2024-01"], "status": ["OPEN"]}).with_columns(
            closed_at=pl.lit(dt.datetime(2024, 1, 1)).dt.replace_time_zone("UTC")
        )
        with pytest.raises(TypeError, match="naive"):
            insert_frame(conn, "period", tz)


def test_rollback_inside_locked_transaction_leaves_nothing(engine: Engine) -> None:
    frame = pl.DataFrame({"period": ["2024-01", "2024-02"], "status": ["OPEN", "OPEN"]})
    with pytest.raises(RuntimeError, match="boom"), locked_transaction(engine) as conn:
        insert_frame(conn, "period", frame, chunk_rows=1)
        assert conn.execute(select(func.count()).select_from(text("period"))).scalar() == 2
        raise RuntimeError("boom")
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM period")).scalar() == 0
    with locked_transaction(engine) as conn:
        insert_frame(conn, "period", frame)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM period")).scalar() == 2


def test_next_id(engine: Engine) -> None:
    with locked_transaction(engine) as conn:
        assert next_id(conn, "ref_registry") == 1
        insert_frame(conn, Registry.__table__, _registry(5, first_id=41, version=1))
        assert next_id(conn, "ref_registry") == 46


def test_temp_keys_join(engine: Engine) -> None:
    with locked_transaction(engine) as conn:
        insert_frame(conn, "ref_registry", _registry(100, first_id=1, version=1))
        wanted = pl.DataFrame(
            {"person_id": ["1000000000003", "1000000000050", "9999999999999", ""]}
        )
        name = temp_keys(conn, "wanted_people", wanted, index=["person_id"])
        found = read_frame(
            conn,
            f"SELECT r.person_id, r.valid_from FROM ref_registry r "
            f"JOIN {name} k ON k.person_id = r.person_id ORDER BY r.person_id",
            pl.Schema({"person_id": pl.String(), "valid_from": pl.Date()}),
        )
        assert found["person_id"].to_list() == ["1000000000003", "1000000000050"]
        assert found["valid_from"].to_list() == [dt.date(2020, 1, 1)] * 2
        # The same name again replaces the table; an empty frame is a valid (empty) key set.
        temp_keys(conn, "wanted_people", wanted.head(1))
        assert conn.execute(text(f"SELECT count(*) FROM {name}")).scalar() == 1
        keys = pl.DataFrame(
            {"n": [1, 2], "d": [dt.date(2024, 1, 1), None], "s": ["x", None]},
            schema={"n": pl.Int64, "d": pl.Date, "s": pl.String},
        )
        temp_keys(conn, "typed_keys", keys)
        back = read_frame(conn, "SELECT n, d, s FROM typed_keys ORDER BY n", keys.schema)
        assert_frame_equal(back, keys)
        temp_keys(conn, "no_keys", keys.clear())
        assert conn.execute(text("SELECT count(*) FROM no_keys")).scalar() == 0
    with pytest.raises(ValueError, match="identifier"), engine.connect() as conn:
        temp_keys(conn, "bad name;", wanted)


def test_read_frame_with_params_and_empty_results(engine: Engine) -> None:
    with locked_transaction(engine) as conn:
        insert_frame(conn, "ref_registry", _registry(10, first_id=1, version=3))
    schema = REFERENCE_SCHEMAS["registry"]
    cols = ", ".join(schema)
    with engine.connect() as conn:
        some = read_frame(
            conn,
            f"SELECT {cols} FROM ref_registry WHERE version_id = :v AND id <= :n ORDER BY id",
            schema,
            params={"v": 3, "n": 4},
        )
        none = read_frame(
            conn,
            f"SELECT {cols} FROM ref_registry WHERE version_id = 99",
            schema,
        )
        typed = read_frame(
            conn,
            select(Registry.person_id, Registry.valid_to).where(
                Registry.valid_from >= dt.date(2020, 1, 1), Registry.id.in_([2, 3])
            ),
            pl.Schema({"person_id": pl.String(), "valid_to": pl.Date()}),
        )
    assert some.height == 4 and some.schema == schema
    assert none.height == 0 and none.schema == schema
    assert sorted(typed["person_id"]) == ["1000000000001", "1000000000002"]
    assert typed.schema["valid_to"] == pl.Date


# --- reference data ---------------------------------------------------------------------------


def _registry(n: int, *, first_id: int | None = None, version: int | None = None) -> pl.DataFrame:
    frame = pl.DataFrame(
        {
            "person_id": [str(1_000_000_000_000 + i) for i in range(n)],
            "fund": ["UCS"] * n,
            "hmain": [None if i % 3 == 0 else "10670" for i in range(n)],
            "valid_from": [dt.date(2020, 1, 1)] * n,
            "valid_to": [None if i % 2 else dt.date(2030, 12, 31) for i in range(n)],
        },
        schema=REFERENCE_SCHEMAS["registry"],
    )
    if first_id is not None:
        frame = frame.select(
            pl.int_range(first_id, first_id + n, dtype=pl.Int64).alias("id"),
            pl.lit(version, pl.Int64).alias("version_id"),
            pl.all(),
        )
    return frame


def _reference(
    *, fund_name: str = "Universal Coverage", registry_rows: int = 25
) -> dict[str, pl.DataFrame]:
    s = REFERENCE_SCHEMAS
    d0, d1 = dt.date(2020, 1, 1), dt.date(2025, 12, 31)
    return {
        "hospitals": pl.DataFrame(
            {
                "hcode": ["10670", "11001"],
                "name": ["โรงพยาบาลศิริราช", "Hospital B"],
                "province": ["กรุงเทพมหานคร", "Chiang Mai"],
                "type": ["A", "S"],
                "account": ["1234567890", ""],
                "bank": [None, "KTB"],
            },
            schema=s["hospitals"],
        ),
        "funds": pl.DataFrame(
            {
                "code": ["SSS", "UCS"],
                "name": ["Social Security", fund_name],
                "precedence": [1, 2],
                "cap_per_claim": [None, 5_000_000],
                "op_refer": [False, True],
                "account": ["111", "222"],
                "bank": ["BBL", None],
            },
            schema=s["funds"],
        ),
        "registry": _registry(registry_rows),
        "icd10": pl.DataFrame(
            {
                "code": ["A00", "O80"],
                "sex": [None, "F"],
                "age_min": [None, 12],
                "age_max": [None, 60],
            },
            schema=s["icd10"],
        ),
        "charge_categories": pl.DataFrame({"code": ["01", "02"]}, schema=s["charge_categories"]),
        "fee_schedule": pl.DataFrame(
            {
                "code": ["X1", "X1"],
                "unit_price": [10_050, 12_000],
                "drg_exempt": [False, True],
                "valid_from": [d0, dt.date(2026, 1, 1)],
                "valid_to": [d1, None],
            },
            schema=s["fee_schedule"],
        ),
        "drugs": pl.DataFrame(
            {"code": ["D1"], "ceiling_price": [99], "valid_from": [d0], "valid_to": [None]},
            schema=s["drugs"],
        ),
        "drg": pl.DataFrame(
            {
                "drg": ["01010"],
                "rw_e4": [12_345],
                "rw0d_e4": [6_000],
                "wtlos_e4": [45_000],
                "ot_e4": [130_000],
                "of_e4": [3_333],
                "valid_from": [d0],
                "valid_to": [None],
            },
            schema=s["drg"],
        ),
        "drg_grouping": pl.DataFrame(
            {"pdx_prefix": ["A0", "A0"], "procedural": [False, True], "drg": ["01010", "01020"]},
            schema=s["drg_grouping"],
        ),
        "base_rates": pl.DataFrame(
            {
                "fund": ["UCS"],
                "hospital_type": ["A"],
                "care": ["IP"],
                "rate": [960_000],
                "valid_from": [d0],
                "valid_to": [None],
            },
            schema=s["base_rates"],
        ),
    }


def _count(engine: Engine, table: str) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one())


def test_store_and_load_reference_with_partial_loads(engine: Engine) -> None:
    first = _reference()
    with engine.connect() as conn:
        assert latest_version(conn) is None
        with pytest.raises(UsageError, match="no reference data"):
            load_reference(conn)
    with locked_transaction(engine) as conn:
        v1 = store_reference(conn, first, label="initial", source="/ref/2024")
    assert v1 == 1
    with engine.connect() as conn:
        version, frames = load_reference(conn)
    assert version == 1
    assert set(frames) == set(REFERENCE_TABLES)
    for name, frame in first.items():
        assert frames[name].schema == REFERENCE_SCHEMAS[name], name
        assert_frame_equal(frames[name], frame, check_row_order=False)
    assert_frame_equal(frames["registry"], first["registry"])  # load order kept

    # A partial load: funds only. Everything else is carried forward, no row copied.
    second_funds = _reference(fund_name="UC (renamed)")["funds"]
    with locked_transaction(engine) as conn:
        v2 = store_reference(conn, {"funds": second_funds}, label="funds", source="/ref/f")
    assert v2 == 2
    assert _count(engine, "ref_registry") == first["registry"].height
    assert _count(engine, "ref_fund") == 4
    with engine.connect() as conn:
        sources = reference_sources(conn, 2)
        assert sources["funds"] == (2, 2)
        assert sources["registry"] == (1, first["registry"].height)
        assert latest_version(conn) == 2
        version, frames = load_reference(conn, tables=["funds", "registry"])
        assert version == 2 and set(frames) == {"funds", "registry"}
        assert frames["funds"].filter(pl.col("code") == "UCS")["name"].item() == "UC (renamed)"
        assert_frame_equal(frames["registry"], first["registry"])
        _, old = load_reference(conn, version_id=1, tables=["funds"])
        assert old["funds"].filter(pl.col("code") == "UCS")["name"].item() == "Universal Coverage"

    # A third, again partial: registry; carried tables still point at their first source.
    with locked_transaction(engine) as conn:
        v3 = store_reference(conn, {"registry": _registry(7)}, label="reg", source="/ref/r")
    with engine.connect() as conn:
        sources = reference_sources(conn, v3)
        assert sources["funds"] == (2, 2) and sources["hospitals"] == (1, 2)
        assert sources["registry"] == (3, 7)
        _, frames = load_reference(conn, tables=["registry"])
        assert frames["registry"].height == 7
        ids = conn.execute(select(Registry.id).order_by(Registry.id)).scalars().all()
    assert ids == list(range(1, first["registry"].height + 8))
    assert _count(engine, "ref_registry") == first["registry"].height + 7


def test_reference_errors(engine: Engine) -> None:
    partial = {k: v for k, v in _reference().items() if k not in ("drugs", "drg")}
    with pytest.raises(UsageError, match="missing: drugs, drg"), locked_transaction(engine) as c:
        store_reference(c, partial, label="x", source="y")
    with (
        pytest.raises(UsageError, match="unknown reference table"),
        locked_transaction(engine) as c,
    ):
        store_reference(c, {"nope": pl.DataFrame()}, label="x", source="y")
    with locked_transaction(engine) as conn:
        store_reference(conn, _reference(), label="x", source="y")
    with engine.connect() as conn:
        with pytest.raises(UsageError, match="no reference data version 9"):
            load_reference(conn, version_id=9)
        with pytest.raises(UsageError, match="unknown reference table"):
            load_reference(conn, tables=["registri"])
    assert _count(engine, "reference_version") == 1


# --- connections and the lock -----------------------------------------------------------------


def test_unreachable_postgresql_is_transient_with_a_clean_message() -> None:
    url = "postgresql://alice:s3cret@127.0.0.1:1/clearing?connect_timeout=3"
    with pytest.raises(TransientError) as info:
        make_engine(url)
    message = str(info.value)
    assert "s3cret" not in message
    assert message.startswith("database unreachable at postgresql://alice:***@127.0.0.1:1/clearing")
    assert "\n" not in message
    assert "Traceback" not in message


@pytest.mark.parametrize(
    ("url", "match"),
    [
        ("", "no database URL"),
        ("not a url", "not a database URL"),
        ("mysql://u:pw@host/db", "unsupported database URL mysql://u:\\*\\*\\*@host/db"),
        ("sqlite://", "in-memory SQLite"),
        ("sqlite:////nonexistent/dir/x.db", "cannot open the SQLite database"),
    ],
)
def test_bad_urls_are_usage_errors(url: str, match: str) -> None:
    with pytest.raises(UsageError, match=match):
        make_engine(url)


def test_check_connection_is_quiet_when_reachable(engine: Engine) -> None:
    check_connection(engine)


def test_lock_serializes_writers(engine: Engine) -> None:
    """A second locked_transaction waits until the first has committed."""
    first_in = threading.Event()
    release = threading.Event()
    events: list[str] = []
    seen: list[int] = []
    errors: list[BaseException] = []

    def first() -> None:
        try:
            with locked_transaction(engine) as conn:
                first_in.set()
                assert release.wait(20)
                period = pl.DataFrame({"period": ["2024-01"], "status": ["OPEN"]})
                insert_frame(conn, "period", period)
                events.append("first commits")
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)
            first_in.set()

    def second() -> None:
        try:
            assert first_in.wait(20)
            events.append("second asks")
            with locked_transaction(engine) as conn:
                events.append("second holds")
                seen.append(int(conn.execute(text("SELECT count(*) FROM period")).scalar_one()))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for t in threads:
        t.start()
    try:
        assert first_in.wait(20)
        deadline = time.monotonic() + 10
        while "second asks" not in events and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(0.3)
        assert "second holds" not in events, "the second writer did not wait for the lock"
        if engine.dialect.name == "postgresql":
            with engine.connect() as conn:
                waiting = conn.execute(
                    text(
                        "SELECT count(*) FROM pg_locks l JOIN pg_database d ON d.oid = l.database"
                        " WHERE l.locktype = 'advisory' AND NOT l.granted"
                        " AND d.datname = current_database()"
                    )
                ).scalar_one()
            assert waiting == 1
    finally:
        release.set()
        for t in threads:
            t.join(timeout=30)
    assert not any(t.is_alive() for t in threads)
    assert not errors, errors
    assert events == ["second asks", "first commits", "second holds"]
    assert seen == [1]
