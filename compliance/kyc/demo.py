"""The demo's KYC in every state, for the demo seed (idempotent): three clients of their own, one
rejected, one expired (found lapsed by the daily job), one approved and expiring within the review
lead time (its review case opened by the job); and a document kept for ACME's KYC. The seed's own
counterparties are approved (HIGHTIDE pending) by the seed itself.

    from compliance.kyc.demo import seed_kyc_demo
    seed_kyc_demo(compliance=users["compliance"], admin=users["admin"])
"""

from __future__ import annotations

from datetime import timedelta

from django.core.files.uploadedfile import SimpleUploadedFile

from borrowdesk.business_day import business_date
from borrowdesk.refdata import services as refdata
from borrowdesk.refdata.models import Counterparty
from compliance.kyc import services
from compliance.models import KycDocument, KycProfile

# code, legal name, jurisdiction, risk rating, KYC state
DEMO_KYC = [
    ("KESTREL", "Kestrel Digital Assets Ltd", "MT", "high", "rejected"),
    ("MARLIN", "Marlin Crypto Partners LP", "US", "medium", "expired"),
    ("NORTHWIND", "Northwind Treasury GmbH", "DE", "low", "expiring"),
]

# A one-page PDF (the certificate of incorporation the demo keeps for ACME).
DEMO_PDF = (
    b"%PDF-1.4\n1 0 obj <</Type /Catalog /Pages 2 0 R>> endobj\n"
    b"2 0 obj <</Type /Pages /Kids [3 0 R] /Count 1>> endobj\n"
    b"3 0 obj <</Type /Page /Parent 2 0 R /MediaBox [0 0 595 842]>> endobj\n"
    b"trailer <</Root 1 0 R>>\n%%EOF\n"
)


def seed_kyc_demo(*, compliance, admin) -> None:
    today = business_date()
    for code, name, jurisdiction, rating, state in DEMO_KYC:
        counterparty = Counterparty.objects.filter(code=code).first() or refdata.create_counterparty(
            actor=admin, code=code, legal_name=name, kind="client", jurisdiction=jurisdiction
        )
        if KycProfile.objects.filter(counterparty=counterparty).exists():
            continue
        if state == "rejected":
            services.set_kyc(
                actor=compliance,
                counterparty=counterparty,
                status="rejected",
                risk_rating=rating,
                expires_on=today,
            )
        elif state == "expired":
            # Approved a year ago for a year: the daily job found it lapsed.
            profile = services.set_kyc(
                actor=compliance,
                counterparty=counterparty,
                status="approved",
                risk_rating=rating,
                expires_on=today,
            )
            KycProfile.objects.filter(pk=profile.pk).update(
                approved_on=today - timedelta(days=366), expires_on=today - timedelta(days=1)
            )
            services.expire_lapsed_kyc(business_date=today)
        else:  # approved, and expiring within the review lead time
            services.set_kyc(
                actor=compliance,
                counterparty=counterparty,
                status="approved",
                risk_rating=rating,
                expires_on=today + timedelta(days=12),
            )
    services.open_review_cases(business_date=today)
    acme = KycProfile.objects.filter(counterparty__code="ACME").first()
    if acme is not None and not KycDocument.objects.filter(profile=acme).exists():
        services.upload_kyc_document(
            actor=compliance,
            counterparty=acme.counterparty,
            kind="incorporation",
            upload=SimpleUploadedFile("acme-certificate-of-incorporation.pdf", DEMO_PDF),
            description="Certificate of incorporation (demo)",
        )
