"""Anonymous reports: filing one with a receipt, and finding it again with the receipt."""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from django.db import transaction

from influence_reports import receipts
from influence_reports.evidence import EncryptedUpload
from influence_reports.models import AnonymousReceipt, Report
from influence_reports.services.reports import ReportData, report_submit


def anonymous_report_submit(
    *,
    data: ReportData,
    passphrase: str = "",
    uploads: Iterable[EncryptedUpload] = (),
    report_id: uuid.UUID | None = None,
) -> tuple[Report, str]:
    """File a report without an account; returns it and its receipt code, which is shown
    once and kept nowhere. The slow hash is computed before the transaction, so that no
    lock waits on it."""
    code = receipts.new_code()
    while AnonymousReceipt.objects.filter(lookup=receipts.lookup(code)).exists():
        code = receipts.new_code()  # 10**16 codes: in practice never taken
    verifier = receipts.verifier(code, passphrase)
    with transaction.atomic():
        report = report_submit(reporter=None, data=data, uploads=uploads, report_id=report_id)
        AnonymousReceipt.objects.create(
            report=report,
            lookup=receipts.lookup(code),
            key_id=receipts.key_id(),
            verifier=verifier,
            has_passphrase=bool(passphrase),
        )
    return report, code


def receipt_open(*, typed_code: str, passphrase: str) -> Report | None:
    """The report a receipt code (and passphrase) opens, or None. A code that matches no
    report costs as much time as one that does, so the answer tells nothing."""
    code = receipts.normalise(typed_code)
    candidates = receipts.lookups(code) if code else {}
    receipt = (
        AnonymousReceipt.objects.select_related("report__case")
        .filter(lookup__in=candidates)
        .first()
        if code
        else None
    )
    stored = receipt.verifier if receipt else None
    if not receipts.verify(stored, code or "", passphrase) or receipt is None or code is None:
        return None
    current = receipts.lookup(code)
    if receipt.lookup != current:  # found under a fallback key: move it to the current one
        AnonymousReceipt.objects.filter(pk=receipt.pk).update(
            lookup=current, key_id=receipts.key_id()
        )
    return receipt.report
