"""The reconciliation checks and the report's figures (pure, set-based).

Every check is a frame of subjects (a drop, a claim version, an obligation, a run's participant,
a file) with the figure the subject should have (``expected``) and the figure found (``actual``),
both as text; a subject whose two texts differ is a break, reported with both. Amounts here are
satang; texts show baht with two decimals.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import polars as pl

from clearinghouse.money import baht, format_baht
from clearinghouse.netting import positions, transfers

__all__ = [
    "BREAK_SCHEMA",
    "CHECK_TITLES",
    "Check",
    "by_fund",
    "by_hospital",
    "by_status",
    "claim_sums",
    "closed",
    "compare",
    "drop_checks",
    "drop_claims",
    "drop_rows",
    "intake",
    "membership",
    "money_checks",
    "netted",
    "not_applicable",
    "obligation_refs",
    "ratio",
    "report",
    "run_balance",
    "statement_sums",
]

CHECK_TITLES = {
    "drop_rows": "Rows read = rows attached to claims + rows listed without a claim, per drop",
    "drop_claims": "Claims = A + D + C, per drop (the drop's counts = its claim versions)",
    "payer_sums": "CLAIM obligations = payers (> 0), per claim version",
    "refer_charges": "REFER obligation = the referral charge, per claim version",
    "obligation_refs": "Every obligation traces to its claim version, every REVERSAL to one "
    "obligation, once",
    "statements": "Σ obligations per participant and kind = the month's statements",
    "run_balance": "Per run: Σ net = 0, in − out = net, into CH = out of CH, positions = members",
    "run_hashes": "Stored file hashes = hashes of the files rebuilt now",
    "membership": "Every obligation of the period is in at most one run, an eligible one",
    "closed": "A settled month: nothing unsettled, nothing added after the close",
}

BREAK_SCHEMA = pl.Schema(
    {"check": pl.String(), "subject": pl.String(), "expected": pl.String(), "actual": pl.String()}
)
_NONE = "none"


@dataclass(frozen=True)
class Check:
    """One check's outcome: ``ok``, ``break`` or ``n/a``, its totals and its breaks."""

    name: str
    status: str
    expected: str
    actual: str
    subjects: int
    breaks: pl.DataFrame  # BREAK_SCHEMA

    def entry(self) -> dict[str, Any]:
        """The check as reconciliation.json lists it."""
        return {
            "check": self.name,
            "title": CHECK_TITLES[self.name],
            "status": self.status,
            "expected": self.expected,
            "actual": self.actual,
            "subjects": self.subjects,
            "breaks": self.breaks.height,
        }


def compare(name: str, subjects: pl.DataFrame, expected: str, actual: str) -> Check:
    """The check over ``subjects`` (``subject, expected, actual`` texts): differing ones break."""
    rows = subjects.select(pl.col("subject", "expected", "actual").cast(pl.String))
    broken = rows.filter(pl.col("expected").ne_missing(pl.col("actual"))).select(
        check=pl.lit(name), subject="subject", expected="expected", actual="actual"
    )
    status = "break" if broken.height else "ok"
    return Check(name, status, expected, actual, rows.height, broken.cast(BREAK_SCHEMA))


def not_applicable(name: str) -> Check:
    """A check that needs the month's close, on an open month."""
    return Check(name, "n/a", "n/a", "n/a", 0, pl.DataFrame(schema=BREAK_SCHEMA))


def ratio(gross: int, netted: int) -> str | None:
    """1 − netted ÷ gross with 4 decimals, rounded half-up in integers; None without gross."""
    if gross <= 0:
        return None
    quotient, rest = divmod((gross - netted) * 10_000, gross)
    quotient += 1 if 2 * rest >= gross else 0
    return f"{quotient // 10_000}.{quotient % 10_000:04d}"


def _money(name: str) -> pl.Expr:
    return format_baht(pl.col(name))


def _identity() -> pl.Expr:
    return pl.format("{} {} {} v{}", "hcode", "claim_type", "claim_key", "version")


def _versus(
    expected: pl.DataFrame, actual: pl.DataFrame, key: list[str], subject: pl.Expr
) -> pl.DataFrame:
    """``key, expected`` against ``key, actual``; a side without the key shows ``none``."""
    return expected.join(actual, on=key, how="full", coalesce=True).select(
        subject.alias("subject"), pl.col("expected", "actual").fill_null(_NONE)
    )


def _joined(frame: pl.DataFrame, key: str, text: pl.Expr, name: str) -> pl.DataFrame:
    """``key, name``: the texts of each key, sorted and ``;``-joined."""
    return frame.group_by(key).agg(text.sort().str.join(";").alias(name))


def drop_rows(drops: pl.DataFrame) -> pl.DataFrame:
    """Subjects of drop_rows: the rows the reader counted vs attached + listed without a claim.

    ``drops``: ``subject, rows_read, attached, orphan_rows, problem`` (``attached`` null and
    ``problem`` saying why when the drop's rows could not be recounted).
    """
    recount = (pl.col("attached") + pl.col("orphan_rows")).cast(pl.String)
    return drops.select(
        "subject",
        expected=pl.col("rows_read").cast(pl.String),
        actual=pl.when(pl.col("attached").is_null()).then(pl.col("problem")).otherwise(recount),
    )


def drop_claims(drops: pl.DataFrame) -> pl.DataFrame:
    """Subjects of drop_claims: the drop's stored counts vs its claim versions by status.

    ``drops``: ``subject, claims, accepted, denied, rejected`` (as stored) and ``versions,
    versions_A, versions_D, versions_C`` (its claim version rows).
    """
    text = "{}: A {}, D {}, C {}"
    return drops.select(
        "subject",
        expected=pl.format(text, "claims", "accepted", "denied", "rejected"),
        actual=pl.format(text, "versions", "versions_A", "versions_D", "versions_C"),
    )


def drop_checks(drops: pl.DataFrame) -> list[Check]:
    """drop_rows and drop_claims (the frame of :func:`drop_rows` and :func:`drop_claims`)."""
    attached = drops["attached"].fill_null(0) + drops["orphan_rows"]
    return [
        compare("drop_rows", drop_rows(drops), str(int(drops["rows_read"].sum())),
                str(int(attached.sum()))),
        compare("drop_claims", drop_claims(drops), str(int(drops["claims"].sum())),
                str(int(drops["versions"].sum()))),
    ]  # fmt: skip


def money_checks(
    versions: pl.DataFrame, payers: pl.DataFrame, refs: pl.DataFrame, period: str
) -> list[Check]:
    """payer_sums, refer_charges and obligation_refs.

    Args:
        versions: the period's claim versions (with ``coverage_fund, refer_charge_to,
            refer_charge``).
        payers: their payer shares: ``claim_version_id, fund, amount``.
        refs: the period's obligations with what they reference (:func:`obligation_refs`).
        period: the period reconciled.
    """
    accepted = versions.filter(pl.col("status") == "A")
    shares = payers.filter(pl.col("amount") > 0).join(
        accepted.select("id", "hcode"), left_on="claim_version_id", right_on="id"
    )
    owed = shares.select("claim_version_id", payer=pl.format("F:{}", "fund"),
                         payee=pl.format("H:{}", "hcode"), amount="amount")  # fmt: skip
    refer = accepted.filter(pl.col("refer_charge").fill_null(0) > 0).select(
        claim_version_id="id", payer=pl.format("H:{}", "refer_charge_to"),
        payee=pl.format("F:{}", "coverage_fund"), amount="refer_charge",
    )  # fmt: skip

    def total(frame: pl.DataFrame, kind: str | None = None) -> str:
        chosen = frame if kind is None else frame.filter(pl.col("kind") == kind)
        return baht(int(chosen["amount"].sum()))

    traced = refs.filter(pl.col("cv_id").is_not_null()).height
    return [
        compare("payer_sums", claim_sums(versions, owed, refs, "CLAIM"), total(owed),
                total(refs, "CLAIM")),
        compare("refer_charges", claim_sums(versions, refer, refs, "REFER"), total(refer),
                total(refs, "REFER")),
        compare("obligation_refs", obligation_refs(refs, period), f"{refs.height} traced",
                f"{traced} traced"),
    ]  # fmt: skip


def claim_sums(
    versions: pl.DataFrame, owed: pl.DataFrame, obligations: pl.DataFrame, kind: str
) -> pl.DataFrame:
    """Subjects of payer_sums / refer_charges: what each version is owed vs its obligations.

    Args:
        versions: the period's versions: ``id, hcode, claim_type, claim_key, version, status``.
        owed: ``claim_version_id, payer, payee, amount`` the version should give rise to.
        obligations: the period's obligations (``claim_version_id, payer, payee, amount, kind``).
        kind: CLAIM or REFER.
    """
    text = pl.format("{}→{} {}", "payer", "payee", _money("amount"))
    expected = _joined(owed, "claim_version_id", text, "expected")
    found = obligations.filter(pl.col("kind") == kind)
    actual = _joined(found, "claim_version_id", text, "actual")
    return (
        versions.select("id", subject=_identity())
        .join(expected, left_on="id", right_on="claim_version_id", how="left")
        .join(actual, left_on="id", right_on="claim_version_id", how="left")
        .filter(pl.col("expected").is_not_null() | pl.col("actual").is_not_null())
        .select("subject", pl.col("expected", "actual").fill_null(_NONE))
    )


def obligation_refs(refs: pl.DataFrame, period: str) -> pl.DataFrame:
    """Subjects of obligation_refs: each obligation's own reference vs what it points at.

    ``refs``: the period's obligations with the claim version they name (``cv_*``, null when
    missing) and, for a reversal, the obligation it reverses (``t_*``) and how many obligations
    reverse that one (``times``).
    """
    reversal = pl.col("kind") == "REVERSAL"
    here = pl.when(reversal).then(pl.lit("")).otherwise(pl.lit(f" in {period}"))
    there = pl.when(reversal).then(pl.lit("")).otherwise(pl.format(" in {}", "cv_period"))
    found = pl.format("{} {} {} v{}", "cv_hcode", "cv_type", "cv_key", "cv_version")
    once = pl.when(pl.col("times") == 1).then(pl.lit("once")).otherwise(
        pl.format("{} times", "times"))  # fmt: skip
    target = pl.format("; reverses #{} {}: {}→{} {}", "t_id", once, "t_payer", "t_payee",
                       _money("t_amount"))  # fmt: skip
    quirks = pl.concat_str(
        pl.when(pl.col("t_kind") == "REVERSAL").then(pl.lit(" (a reversal)")).otherwise(pl.lit("")),
        pl.when(pl.col("t_cv") != pl.col("claim_version_id"))
        .then(pl.lit(" of another claim version")).otherwise(pl.lit("")),
    )  # fmt: skip
    reverses = pl.col("reverses_id").cast(pl.String).fill_null("?")
    undone = pl.format("; reverses #{} once: {}→{} {}", reverses, "payee", "payer",
                       _money("amount"))  # fmt: skip
    expected_rev = pl.when(reversal).then(undone)
    actual_rev = (
        pl.when(reversal & pl.col("t_id").is_null())
        .then(pl.lit("; reverses nothing"))
        .when(reversal)
        .then(pl.concat_str(target, quirks))
        .when(pl.col("reverses_id").is_not_null())
        .then(pl.format("; reverses #{}", "reverses_id"))
    )
    return refs.select(
        subject=pl.format("obligation {}", "id"),
        expected=pl.concat_str(_identity(), here, expected_rev.fill_null("")),
        actual=pl.concat_str(
            pl.when(pl.col("cv_id").is_null())
            .then(pl.lit("no claim version"))
            .otherwise(pl.concat_str(found, there)),
            actual_rev.fill_null(""),
        ),
    )


def _figures(frame: pl.DataFrame) -> pl.Expr:
    """``in X out Y`` plus ``rows n`` and ``net Z`` where the frame has them (non-null)."""
    rows = pl.when(pl.col("rows").is_not_null()).then(pl.format(" rows {}", "rows"))
    net = pl.when(pl.col("net").is_not_null()).then(pl.format(" net {}", _money("net")))
    figures = pl.format("in {} out {}", _money("received"), _money("paid"))
    return pl.concat_str(figures, rows.fill_null(""), net.fill_null(""))


def statement_sums(
    sums: pl.DataFrame, hospitals: pl.Series, statements: pl.DataFrame
) -> pl.DataFrame:
    """Subjects of the statements check: SQL sums per participant and kind vs the statements.

    Args:
        sums: ``participant, kind, received, paid, rows`` summed from the obligations (and NOPAY
            rows from the C/D versions), a participant's sides apart; ``rows`` null for funds.
        hospitals: ``H:<hcode>`` of every hospital with a claim version in the period.
        statements: the same columns plus ``net``, read from the statement files, with one
            ``TOTAL`` row per participant (its ``net``; ``rows`` null).
    """
    counted = pl.col("rows").is_not_null().any()
    sums = sums.group_by("participant", "kind").agg(
        pl.col("received", "paid").sum(), rows=pl.when(counted).then(pl.col("rows").sum())
    )
    every = pl.concat([sums.select("participant"), hospitals.to_frame("participant")]).unique()
    summed = sums.group_by("participant").agg(pl.col("received", "paid").sum())
    totals = (
        every.join(summed, on="participant", how="left")
        .with_columns(pl.col("received", "paid").fill_null(0))
        .with_columns(kind=pl.lit("TOTAL"), rows=pl.lit(None, pl.Int64),
                      net=pl.col("received") - pl.col("paid"))
    )  # fmt: skip
    expected = pl.concat(
        [sums.with_columns(net=pl.lit(None, pl.Int64)), totals], how="diagonal_relaxed"
    )
    key = ["participant", "kind"]
    return _versus(expected.select(*key, expected=_figures(expected)),
                   statements.select(*key, actual=_figures(statements)), key,
                   pl.format("{} {}", *key))  # fmt: skip


def run_balance(
    run_id: str,
    recorded: tuple[int, int, int],
    stored: pl.DataFrame,
    members: pl.DataFrame,
    span_ids: int,
) -> pl.DataFrame:
    """Subjects of run_balance for one run.

    Args:
        run_id: the run.
        recorded: the run's recorded ``(obligations, gross, control_sum)``.
        stored: its stored positions (``participant, gross_in, gross_out, net``).
        members: its obligations, read through its spans.
        span_ids: how many ids its spans cover (each must be an obligation).
    """
    count, gross, moved = recorded
    flows = transfers(stored)
    into = int(flows.filter(pl.col("payee") == "CH")["amount"].sum())
    out = int(flows.filter(pl.col("payer") == "CH")["amount"].sum())
    figures = pl.format("in {} out {} net {}", _money("gross_in"), _money("gross_out"),
                        _money("net"))  # fmt: skip
    each = _versus(positions(members).select("participant", expected=figures),
                   stored.select("participant", actual=figures), ["participant"],
                   pl.format("{} {}", pl.lit(run_id), "participant"))  # fmt: skip
    totals = pl.DataFrame({
        "subject": [f"{run_id} Σ net", f"{run_id} CH", f"{run_id} members"],
        "expected": [baht(0), f"into CH {baht(moved)}, out of CH {baht(moved)}",
                     f"{count} obligations over {count} ids, gross {baht(gross)}"],
        "actual": [baht(int(stored["net"].sum())), f"into CH {baht(into)}, out of CH {baht(out)}",
                   f"{members.height} obligations over {span_ids} ids, "
                   f"gross {baht(int(members['amount'].sum()))}"],
    })  # fmt: skip
    return pl.concat([totals, each])


def membership(
    obligations: pl.DataFrame, spans: pl.DataFrame, runs: pl.DataFrame, period: str
) -> pl.DataFrame:
    """Subjects of membership: each obligation of the period is in at most one eligible run.

    Args:
        obligations: ``id, received`` (its drop's received date).
        spans: every run's ``first_id, last_id, run``.
        runs: every run's ``run, kind, cutoff, period``.
        period: the period reconciled.
    """
    hits = (
        obligations.select("id", "received")
        .join_where(spans, pl.col("id") >= pl.col("first_id"), pl.col("id") <= pl.col("last_id"))
        .join(runs, on="run", how="left")
        .with_columns(
            wrong=pl.when((pl.col("kind") == "CLOSE") & (pl.col("period") != period))
            .then(pl.format("{} closes {}", "run", "period"))
            .when(
                (pl.col("kind") == "NIGHTLY")
                & (pl.col("received").dt.to_string("%Y-%m-%d") > pl.col("cutoff"))
            )
            .then(pl.format("{} cut off {} before received {}", "run", "cutoff", "received"))
        )
        .group_by("id")
        .agg(
            count=pl.len(),
            names=pl.col("run").sort().str.join(";"),
            wrong=pl.col("wrong").drop_nulls().first(),
        )
    )
    fine = "at most one eligible run"
    return obligations.join(hits, on="id", how="left").select(
        subject=pl.format("obligation {}", "id"),
        expected=pl.lit(fine),
        actual=pl.when(pl.col("count") > 1)
        .then(pl.format("{} runs: {}", "count", "names"))
        .when(pl.col("wrong").is_not_null())
        .then(pl.col("wrong"))
        .otherwise(pl.lit(fine)),
    )


def closed(
    obligations: pl.DataFrame, high_water: int | None, drops: pl.DataFrame, closed_at: dt.datetime
) -> Check:
    """The closed check: every obligation settled by the close, nothing added after it.

    Args:
        obligations: the period's ``id, run`` (null: unsettled).
        high_water: the close run's highest obligation id, None without a close run.
        drops: the period's ``subject, ingested`` (a time zone aware datetime).
        closed_at: when the month was closed (time zone aware).
    """
    stamp = pl.col("ingested").dt.to_string("%Y-%m-%dT%H:%M:%S%:z")
    # closed_at is recorded to the second: a drop of that same second came before it.
    after = pl.col("ingested").dt.truncate("1s") > closed_at
    late = drops.select("subject", late=pl.when(after).then(stamp))
    subjects = _closed(obligations, high_water, late, closed_at.isoformat())
    unsettled = obligations.filter(pl.col("run").is_null()).height
    added = late["late"].count() + obligations.filter(pl.col("id") > (high_water or 2**62)).height
    return compare("closed", subjects, "0 unsettled, 0 added after the close",
                   f"{unsettled} unsettled, {added} added after the close")  # fmt: skip


def _closed(
    obligations: pl.DataFrame, high_water: int | None, drops: pl.DataFrame, closed_at: str
) -> pl.DataFrame:
    settled = "settled, id within the close's high water"
    limit = high_water if high_water is not None else 2**62  # no close run: reported below
    owed = obligations.select(
        subject=pl.format("obligation {}", "id"),
        expected=pl.lit(settled),
        actual=pl.when(pl.col("run").is_null())
        .then(pl.lit("unsettled"))
        .when(pl.col("id") > limit)
        .then(pl.format("id {} above the close's high water {}", "id", pl.lit(limit)))
        .otherwise(pl.lit(settled)),
    )
    before = f"ingested by the close at {closed_at}"
    landed = drops.select(
        "subject",
        expected=pl.lit(before),
        actual=pl.when(pl.col("late").is_null())
        .then(pl.lit(before))
        .otherwise(pl.format("ingested at {}", "late")),
    )
    missing = pl.DataFrame(
        {"subject": ["close run"], "expected": ["present"], "actual": ["missing"]}
    ).filter(pl.lit(high_water is None))
    return pl.concat([owed, landed, missing])


# --- the report's figures -------------------------------------------------------------------

_STATUSES = ("A", "D", "C")


def _sides(obligations: pl.DataFrame, prefix: str) -> pl.DataFrame:
    """``code, claim_version_id, received, paid`` of every participant starting with prefix."""
    parts = [
        obligations.filter(pl.col(side).str.starts_with(prefix)).select(
            code=pl.col(side).str.slice(len(prefix)),
            claim_version_id="claim_version_id",
            received=pl.col("amount") if side == "payee" else pl.lit(0, pl.Int64),
            paid=pl.col("amount") if side == "payer" else pl.lit(0, pl.Int64),
        )
        for side in ("payee", "payer")
    ]
    return pl.concat(parts)


def by_status(versions: pl.DataFrame) -> list[dict[str, Any]]:
    """Claims, charged and allowed (A and D; 0 for C) per status, A, D, C."""
    sums = versions.group_by("status").agg(
        claims=pl.len().cast(pl.Int64),
        charged=pl.col("charged").sum(),
        allowed=pl.when(pl.col("status").is_in(["A", "D"])).then(pl.col("allowed")).sum(),
    )
    frame = (
        pl.DataFrame({"status": _STATUSES})
        .join(sums, on="status", how="left", maintain_order="left")
        .with_columns(pl.col("claims", "charged", "allowed").fill_null(0))
    )
    return frame.select("status", "claims", _money("charged"), _money("allowed")).to_dicts()


def by_fund(obligations: pl.DataFrame, names: pl.DataFrame) -> list[dict[str, Any]]:
    """Per fund of the period's obligations: claims, paid, received, net; ``names``: code, name."""
    sums = _sides(obligations, "F:").group_by("code").agg(
        pl.col("paid", "received").sum(),
        claims=pl.col("claim_version_id").n_unique().cast(pl.Int64),
    )  # fmt: skip
    frame = sums.join(names, on="code", how="left").sort("code")
    net = format_baht(pl.col("received") - pl.col("paid"))
    return frame.select(fund="code", name="name", claims="claims", paid=_money("paid"),
                        received=_money("received"), net=net).to_dicts()  # fmt: skip


def by_hospital(
    versions: pl.DataFrame, obligations: pl.DataFrame, names: pl.DataFrame
) -> list[dict[str, Any]]:
    """Per hospital: claims by status, allowed (A and D), received, paid, net."""
    claims = versions.group_by(code="hcode").agg(
        claims=pl.len().cast(pl.Int64),
        allowed=pl.when(pl.col("status").is_in(["A", "D"])).then(pl.col("allowed")).sum(),
        **{s: (pl.col("status") == s).sum().cast(pl.Int64) for s in _STATUSES},
    )
    money = _sides(obligations, "H:").group_by("code").agg(pl.col("received", "paid").sum())
    frame = (
        claims.join(money, on="code", how="full", coalesce=True)
        .with_columns(pl.col("claims", "allowed", "received", "paid", *_STATUSES).fill_null(0))
        .join(names, on="code", how="left")
        .sort("code")
    )
    net = format_baht(pl.col("received") - pl.col("paid"))
    return frame.select(hcode="code", name="name", claims="claims", A="A", D="D", C="C",
                        allowed=_money("allowed"), received=_money("received"),
                        paid=_money("paid"), net=net).to_dicts()  # fmt: skip


def netted(obligations: pl.DataFrame, by: Sequence[str]) -> int:
    """Σ|net| ÷ 2 with nets per ``by`` + participant: the money that moves (exact: Σ net = 0)."""
    sides = pl.concat(
        [
            obligations.select(*by, participant="payee", net="amount"),
            obligations.select(*by, participant="payer", net=-pl.col("amount")),
        ]
    )
    nets = sides.group_by(*by, "participant").agg(pl.col("net").sum())
    return int(nets.filter(pl.col("net") > 0)["net"].sum())


def report(
    head: dict[str, Any],
    checks: list[Check],
    versions: pl.DataFrame,
    obligations: pl.DataFrame,
    runs: list[dict[str, Any]],
    names: dict[str, pl.DataFrame],
) -> tuple[dict[str, Any], pl.DataFrame]:
    """The report (reconciliation.json) and its breaks, sorted by check then subject.

    Args:
        head: ``period, status, generated_at`` and any other leading keys.
        checks: every check, in order.
        versions: the period's claim versions.
        obligations: the period's obligations with their ``run`` (null: unsettled).
        runs: a row per run touching the period.
        names: ``F`` and ``H``: ``code, name`` of the funds and hospitals.
    """
    breaks = pl.concat([c.breaks for c in checks]).sort("check", "subject")
    settled = obligations.filter(pl.col("run").is_not_null())
    moved = netted(settled, ["run"])
    statuses = versions.group_by("status").len()
    summary = {
        "claims": versions.height,
        "by_status": {s: int(statuses.filter(pl.col("status") == s)["len"].sum()) for s in "ADC"},
        "obligations": obligations.height,
        "runs": len(runs),
        "gross": baht(int(obligations["amount"].sum())),
        "netted": baht(moved),
        "netting_effect": ratio(int(settled["amount"].sum()), moved),
        "breaks": breaks.height,
    }
    unsettled = obligations.filter(pl.col("run").is_null())
    built = {
        **head,
        "summary": summary,
        "checks": [c.entry() for c in checks],
        "by_status": by_status(versions),
        "by_fund": by_fund(obligations, names["F"]),
        "by_hospital": by_hospital(versions, obligations, names["H"]),
        "runs": runs,
        "breaks": breaks.to_dicts(),
        "unsettled": {"obligations": unsettled.height,
                      "amount": baht(int(unsettled["amount"].sum()))},
    }  # fmt: skip
    return built, breaks


def intake(drops: pl.DataFrame) -> dict[str, Any]:
    """The report's ``intake`` totals and ``drops`` list (ignored files counted apart).

    ``drops``: the frame of :func:`drop_rows` and :func:`drop_claims`, with ``name, hcode,
    received, status, format, ignored`` (a list of names).
    """
    listed = drops.select(
        drop="subject", name="name", hcode="hcode",
        received=pl.col("received").dt.to_string("%Y-%m-%d"), status="status", format="format",
        rows_read="rows_read", rows_attached="attached", orphan_rows="orphan_rows",
        ignored_files="ignored", claims="claims", A="versions_A", D="versions_D",
        C="versions_C",
    )  # fmt: skip
    intake = {
        "drops": drops.height,
        "rows_read": int(drops["rows_read"].sum()),
        "rows_attached": int(drops["attached"].fill_null(0).sum()),
        "orphan_rows": int(drops["orphan_rows"].sum()),
        "ignored_files": int(drops["ignored"].list.len().sum()),
    }
    return {"intake": intake, "drops": listed.to_dicts()}
