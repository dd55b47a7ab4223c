"""Small 16-file drops built in code, for rule and key tests.

``DropBuilder()`` holds one clean outpatient claim ``"OP"`` and one clean inpatient claim
``"IP"`` of hospital 10713 that pass every rule against the worked example's reference set
(``tests/cases/two-drops/reference``) for a drop received on 2026-11-01. A test says only what
it changes::

    drop = DropBuilder().change("OPD", "OP", DATEOPD="20260230")
    path = drop.write(tmp_path / "drop")          # the 16 .txt files, real headers, "|"

Rows belong to a named claim (``"OP"``, ``"IP"``, or one added with ``add_op_claim`` /
``add_ip_claim``); ``change``, ``remove``, ``repeat`` and ``line`` select a claim's rows of a
table (PAT by its HN), optionally only the ``row``-th of them. Field names are checked against
the table's header, so a typo fails loudly instead of writing nothing.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from pathlib import Path

from formats.headers import HEADERS

__all__ = [
    "HCODE",
    "HEADERS",
    "IP_AN",
    "IP_HN",
    "IP_PERSON",
    "OP_HN",
    "OP_PERSON",
    "OP_SEQ",
    "OTHER_PERSON",
    "DropBuilder",
]

#: The submitting hospital (Nakornping, in the example hospitals.csv).
HCODE = "10713"

#: The clean outpatient claim: served 2026-10-05, a person registered with UCS at 10713.
OP_SEQ = "6910000001"
OP_HN = "500001"
OP_PERSON = "3053318123425"
OP_DATE = "20261005"

#: The clean inpatient claim: admitted 2026-10-03 08:00, discharged 2026-10-06 10:00.
IP_AN = "691000001"
IP_HN = "500002"
IP_PERSON = "2205552667861"
IP_ADMITTED = ("20261003", "0800")
IP_DISCHARGED = ("20261006", "1000")

#: Another person registered with UCS at 10713, for extra claims.
OTHER_PERSON = "5669725102733"


@dataclass
class Row:
    """One data line: values by column name (absent = empty), its claim, a field-count skew."""

    values: dict[str, str]
    claim: str | None = None
    #: Fields appended (> 0) or trailing fields left out (< 0): an S01 row.
    skew: int = 0

    def line_text(self, header: tuple[str, ...]) -> str:
        fields = [self.values.get(column, "") for column in header]
        if self.skew > 0:
            fields += ["surplus"] * self.skew
        elif self.skew < 0:
            fields = fields[: self.skew]
        return "|".join(fields)


@dataclass(frozen=True)
class Claim:
    kind: str  # "OP" or "IP"
    key: str  # SEQ or AN
    hn: str
    person_id: str


class DropBuilder:
    """A 16-file drop under construction; see the module docstring."""

    def __init__(self, *, hcode: str = HCODE, op: bool = True, ip: bool = True) -> None:
        self.hcode = hcode
        self.claims: dict[str, Claim] = {}
        self.tables: dict[str, list[Row]] = {table: [] for table in HEADERS}
        if op:
            self.add_op_claim()
        if ip:
            self.add_ip_claim()

    # --- whole claims ---------------------------------------------------------------------

    def add_op_claim(
        self,
        name: str = "OP",
        *,
        seq: str = OP_SEQ,
        hn: str = OP_HN,
        person_id: str = OP_PERSON,
        date: str = OP_DATE,
    ) -> DropBuilder:
        """A clean outpatient visit: J069, one fee-schedule item, one drug, 53.50 charged.

        When ``hn`` already has a PAT row, the claim shares it (one patient, two visits).
        """
        self._claim(name, Claim("OP", seq, hn, person_id))
        self.add("INS", name, INSCL="UCS", CID=person_id, HOSPMAIN=self.hcode)
        self.add("OPD", name, CLINIC="01", DATEOPD=date, TIMEOPD="0930", UUC="1")
        self.add("ODX", name, DATEDX=date, CLINIC="01", DIAG="J069", DXTYPE="1")
        self.add("CHT", name, DATE=date, TOTAL="53.50", PAID="0.00", PTTYPE="A1")
        self.add("CHA", name, DATE=date, CHRGITEM="C1", AMOUNT="50.00")
        self.add("CHA", name, DATE=date, CHRGITEM="41", AMOUNT="3.50")
        self.add(
            "ADP", name, DATEOPD=date, TYPE="8", CODE="55020", QTY="1", RATE="50.00", TOTAL="50.00"
        )
        self.add(
            "DRU",
            name,
            DATE_SERV=date,
            DID="D0011",
            DIDNAME="Paracetamol 500 mg",
            AMOUNT="10",
            DRUGPRIC="0.35",
            DIDSTD="100011",
            TOTAL="3.50",
        )
        return self

    def add_ip_claim(
        self,
        name: str = "IP",
        *,
        an: str = IP_AN,
        hn: str = IP_HN,
        person_id: str = IP_PERSON,
        admitted: tuple[str, str] = IP_ADMITTED,
        discharged: tuple[str, str] = IP_DISCHARGED,
    ) -> DropBuilder:
        """A clean admission: J189 (DRG 04552), two fee-schedule units, one drug, 221.00."""
        self._claim(name, Claim("IP", an, hn, person_id))
        (day_in, time_in), (day_out, time_out) = admitted, discharged
        self.add("INS", name, INSCL="UCS", CID=person_id, HOSPMAIN=self.hcode)
        self.add(
            "IPD",
            name,
            DATEADM=day_in,
            TIMEADM=time_in,
            DATEDSC=day_out,
            TIMEDSC=time_out,
            DISCHS="2",
            DISCHT="1",
            WARDDSC="03",
            DEPT="01",
        )
        self.add("IDX", name, DIAG="J189", DXTYPE="1")
        self.add("CHT", name, DATE=day_out, TOTAL="221.00", PAID="0.00", PTTYPE="A1")
        self.add("CHA", name, DATE=day_out, CHRGITEM="C1", AMOUNT="200.00")
        self.add("CHA", name, DATE=day_out, CHRGITEM="41", AMOUNT="21.00")
        self.add(
            "ADP",
            name,
            DATEOPD=day_out,
            TYPE="8",
            CODE="55021",
            QTY="2",
            RATE="100.00",
            TOTAL="200.00",
        )
        self.add(
            "DRU",
            name,
            DATE_SERV=day_out,
            DID="D9007",
            DIDNAME="Ceftriaxone 1 g",
            AMOUNT="1",
            DRUGPRIC="21.00",
            DIDSTD="549007",
            TOTAL="21.00",
        )
        return self

    def _claim(self, name: str, claim: Claim) -> None:
        if name in self.claims:
            raise ValueError(f"the drop already has a claim named {name!r}")
        self.claims[name] = claim
        if not any(row.values.get("HN") == claim.hn for row in self.tables["PAT"]):
            dob, sex = ("19800515", "1") if claim.kind == "OP" else ("19750320", "2")
            self.add(
                "PAT",
                name,
                DOB=dob,
                SEX=sex,
                NATION="099",
                NAMEPAT="test patient",
                IDTYPE="1",
            )

    # --- rows -------------------------------------------------------------------------------

    def key(self, claim: str) -> str:
        """The claim key (SEQ or AN) of a named claim."""
        return self.claims[claim].key

    def link_values(self, table: str, claim: str) -> dict[str, str]:
        """The values that tie a new row of ``table`` to ``claim`` (HN, SEQ/AN, HCODE, ...)."""
        c = self.claims[claim]
        values = {"HN": c.hn, "HCODE": self.hcode, "PERSON_ID": c.person_id}
        if table != "PAT":
            values |= {"SEQ": c.key, "AN": ""} if c.kind == "OP" else {"AN": c.key, "SEQ": ""}
        return {k: v for k, v in values.items() if k in HEADERS[table]}

    def add(self, table: str, claim: str | None = "OP", **values: str) -> DropBuilder:
        """Append a row to ``table``: the claim's link values, then ``values`` over them.

        ``claim=None`` appends a row of nobody with exactly ``values`` (an orphan).
        """
        self._check_columns(table, values)
        linked = self.link_values(table, claim) if claim is not None else {}
        self.tables[table].append(Row(linked | values, claim))
        return self

    def rows(self, table: str, claim: str | None = None) -> list[Row]:
        """The rows of ``table`` belonging to ``claim`` (PAT: the rows of its HN); all if None."""
        if claim is None:
            return list(self.tables[table])
        if table == "PAT":
            hn = self.claims[claim].hn
            return [r for r in self.tables[table] if r.values.get("HN") == hn or r.claim == claim]
        return [r for r in self.tables[table] if r.claim == claim]

    def _selected(self, table: str, claim: str, row: int | None) -> list[Row]:
        found = self.rows(table, claim)
        if not found:
            raise LookupError(f"claim {claim!r} has no {table} row")
        return found if row is None else [found[row]]

    def change(
        self, table: str, claim: str = "OP", *, row: int | None = None, **values: str
    ) -> DropBuilder:
        """Set fields on the claim's rows of ``table`` (only the ``row``-th when given)."""
        self._check_columns(table, values)
        for selected in self._selected(table, claim, row):
            selected.values |= values
        return self

    def remove(self, table: str, claim: str = "OP", *, row: int | None = None) -> DropBuilder:
        """Remove the claim's rows of ``table`` (only the ``row``-th when given)."""
        doomed = {id(r) for r in self._selected(table, claim, row)}
        self.tables[table] = [r for r in self.tables[table] if id(r) not in doomed]
        return self

    def repeat(self, table: str, claim: str = "OP", *, row: int = 0, **values: str) -> DropBuilder:
        """Append a copy of the claim's ``row``-th row of ``table``, with ``values`` changed."""
        self._check_columns(table, values)
        original = self._selected(table, claim, row)[0]
        self.tables[table].append(Row(dict(original.values) | values, original.claim))
        return self

    def skew(self, table: str, claim: str = "OP", by: int = 1, *, row: int = 0) -> DropBuilder:
        """Give the claim's row ``by`` fields more (or fewer, when negative) than the header."""
        self._selected(table, claim, row)[0].skew = by
        return self

    def line(self, table: str, claim: str | None = "OP", *, row: int = 0) -> int:
        """The physical line number (header = 1) the claim's ``row``-th row is written on.

        ``claim=None``: the ``row``-th row of the table, whoever it belongs to.
        """
        target = self.rows(table)[row] if claim is None else self._selected(table, claim, row)[0]
        return next(i for i, r in enumerate(self.tables[table]) if r is target) + 2

    def copy(self) -> DropBuilder:
        """An independent copy (to build a second drop from the first)."""
        return copy.deepcopy(self)

    @staticmethod
    def _check_columns(table: str, values: dict[str, str]) -> None:
        unknown = [name for name in values if name not in HEADERS[table]]
        if unknown:
            raise KeyError(f"{table} has no column(s) {', '.join(unknown)}")

    # --- output -----------------------------------------------------------------------------

    def texts(self) -> dict[str, str]:
        """The 16 files as ``{"OPD.txt": text, ...}``: header line, then one line per row."""
        return {
            f"{table}.txt": "".join(
                line + "\n"
                for line in ["|".join(header)]
                + [row.line_text(header) for row in self.tables[table]]
            )
            for table, header in HEADERS.items()
        }

    def write(self, folder: Path) -> Path:
        """Write the 16 ``<TABLE>.txt`` files (UTF-8, LF) into ``folder``; returns ``folder``."""
        folder.mkdir(parents=True, exist_ok=True)
        for name, text in self.texts().items():
            (folder / name).write_text(text, encoding="utf-8", newline="")
        return folder
