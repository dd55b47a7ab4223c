"""The payment file: ISO 20022 ``pain.001.001.09`` credit transfers out of the clearing account.

One group header, one payment instruction from the clearing account, one transaction per net
creditor sorted by participant. The bytes depend on the :class:`PaymentRun` alone (no clock, no
I/O), so a stored run rebuilds to the same file and the same hash.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from dataclasses import dataclass

from lxml import etree

__all__ = ["NAMESPACE", "Creditor", "PaymentRun", "pain001_bytes"]

NAMESPACE = "urn:iso:std:iso:20022:tech:xsd:pain.001.001.09"

_DECLARATION = b'<?xml version="1.0" encoding="UTF-8"?>\n'
_BIC = re.compile(r"[A-Z0-9]{4}[A-Z]{2}[A-Z0-9]{2}(?:[A-Z0-9]{3})?")
# xs:dateTime with the offset made mandatory: a payment file's timestamp is never ambiguous.
_DATE_TIME = re.compile(
    r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2})", re.ASCII
)
_MAX_TEXT = 35  # Max35Text: MsgId, PmtInfId, EndToEndId, a bank's Othr/Id
_MAX_ACCOUNT = 34  # Max34Text: an account's Othr/Id
_MAX_NAME = 140  # Max140Text: Nm
_MAX_SATANG = 10**18  # totalDigits 18 of the amount and CtrlSum types, two of them decimals
_MARKS = frozenset(
    {"Mn", "Mc", "Me"}
)  # Unicode categories of marks that sit on the previous letter
_THAI_LEADING_VOWELS = frozenset("เแโใไ")  # written before the consonant they follow in speech


@dataclass(frozen=True)
class Creditor:
    """One net creditor of a run: the clearing account pays it ``amount`` satang."""

    participant: str
    amount: int
    name: str
    account: str
    bank: str | None


@dataclass(frozen=True)
class PaymentRun:
    """Everything the payment file says, as frozen in the stored run."""

    run_id: str
    created_at: str
    execution_date: dt.date
    debtor_name: str
    debtor_account: str
    debtor_bank: str
    creditors: tuple[Creditor, ...]


def pain001_bytes(run: PaymentRun) -> bytes:
    """The run's payment file: UTF-8 XML, pretty-printed, ``\\n`` line ends.

    Names longer than 140 characters are cut to fit; every other value that the schema would
    refuse is an error.

    Raises:
        ValueError: no creditor, a non-positive amount, a run id, account, bank code or
            EndToEndId too long or empty, an empty name, a timestamp that is not an ISO
            date-time with offset, two creditors with the same EndToEndId, a total past the
            schema's 18 digits, or a character XML cannot carry.
    """
    _check_text(run.run_id, _MAX_TEXT, "run id")
    if not _DATE_TIME.fullmatch(run.created_at):
        raise ValueError(f"created_at {run.created_at!r} is not an ISO date-time with offset")
    dt.datetime.fromisoformat(run.created_at)  # rejects 2026-13-45T…
    if isinstance(run.execution_date, dt.datetime):
        raise ValueError(f"execution_date {run.execution_date!r} must be a date, not a datetime")
    if not run.creditors:
        raise ValueError(f"run {run.run_id}: a payment file needs at least one creditor")
    creditors = sorted(run.creditors, key=lambda creditor: creditor.participant)
    for creditor in creditors:
        if creditor.amount <= 0:
            raise ValueError(f"{creditor.participant}: amount {creditor.amount} must be > 0")
    total = sum(creditor.amount for creditor in creditors)
    if total >= _MAX_SATANG:
        raise ValueError(f"run {run.run_id}: total {total} satang exceeds the schema's 18 digits")
    end_to_end = [_end_to_end_id(run.run_id, creditor.participant) for creditor in creditors]
    if len(set(end_to_end)) != len(end_to_end):
        raise ValueError(f"run {run.run_id}: two creditors share an EndToEndId")

    document = etree.Element(_tag("Document"), nsmap={None: NAMESPACE})
    initiation = _sub(document, "CstmrCdtTrfInitn")

    header = _sub(initiation, "GrpHdr")
    _sub(header, "MsgId", run.run_id)
    _sub(header, "CreDtTm", run.created_at)
    _sub(header, "NbOfTxs", str(len(creditors)))
    _sub(header, "CtrlSum", _baht(total))
    _sub(_sub(header, "InitgPty"), "Nm", _name(run.debtor_name))

    payment = _sub(initiation, "PmtInf")
    _sub(payment, "PmtInfId", run.run_id)
    _sub(payment, "PmtMtd", "TRF")
    _sub(payment, "NbOfTxs", str(len(creditors)))
    _sub(payment, "CtrlSum", _baht(total))
    _sub(_sub(payment, "ReqdExctnDt"), "Dt", run.execution_date.isoformat())
    _sub(_sub(payment, "Dbtr"), "Nm", _name(run.debtor_name))
    _account(_sub(payment, "DbtrAcct"), run.debtor_account)
    _agent(_sub(payment, "DbtrAgt"), run.debtor_bank)

    for creditor, end_to_end_id in zip(creditors, end_to_end, strict=True):
        transaction = _sub(payment, "CdtTrfTxInf")
        _sub(_sub(transaction, "PmtId"), "EndToEndId", end_to_end_id)
        amount = _sub(_sub(transaction, "Amt"), "InstdAmt", _baht(creditor.amount))
        amount.set("Ccy", "THB")
        if creditor.bank is not None:
            _agent(_sub(transaction, "CdtrAgt"), creditor.bank)
        _sub(_sub(transaction, "Cdtr"), "Nm", _name(creditor.name))
        _account(_sub(transaction, "CdtrAcct"), creditor.account)

    body: bytes = etree.tostring(document, encoding="UTF-8", pretty_print=True)
    return _DECLARATION + body


def _tag(name: str) -> str:
    return f"{{{NAMESPACE}}}{name}"


def _sub(parent: etree._Element, name: str, text: str | None = None) -> etree._Element:
    child = etree.SubElement(parent, _tag(name))
    if text is not None:
        child.text = text  # lxml raises ValueError for characters XML cannot carry
    return child


def _check_text(value: str, limit: int, what: str) -> str:
    if not 0 < len(value) <= limit:
        raise ValueError(f"{what} {value!r} must be 1 to {limit} characters")
    return value


def _end_to_end_id(run_id: str, participant: str) -> str:
    return _check_text(f"{run_id}-{participant.replace(':', '')}", _MAX_TEXT, "EndToEndId")


def _baht(satang: int) -> str:
    baht, rest = divmod(satang, 100)
    return f"{baht}.{rest:02d}"


def _name(name: str) -> str:
    """The name cut to Max140Text, never between a Thai consonant and its vowel or tone marks."""
    if not name:
        raise ValueError("a party name must not be empty")
    if len(name) <= _MAX_NAME:
        return name
    cut = _MAX_NAME
    while cut > 0 and unicodedata.category(name[cut]) in _MARKS:
        cut -= 1
    while cut > 0 and name[cut - 1] in _THAI_LEADING_VOWELS:
        cut -= 1
    return name[:cut] if cut > 0 else name[:_MAX_NAME]


def _account(parent: etree._Element, number: str) -> None:
    _check_text(number, _MAX_ACCOUNT, "account")
    _sub(_sub(_sub(parent, "Id"), "Othr"), "Id", number)


def _agent(parent: etree._Element, bank: str) -> None:
    """``FinInstnId/BICFI`` for a BIC, else ``FinInstnId/Othr/Id`` with the local bank code."""
    institution = _sub(parent, "FinInstnId")
    if _BIC.fullmatch(bank):
        _sub(institution, "BICFI", bank)
    else:
        _sub(_sub(institution, "Othr"), "Id", _check_text(bank, _MAX_TEXT, "bank code"))
