"""KYC under concurrency, on real threads with their own connections: the review-case claim opens one
case however many runs meet; a renewal racing the expiry job leaves the KYC approved; uploads at once
each keep their own file."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from borrowdesk.access.services import create_desk_user
from borrowdesk.business_day import business_date
from compliance.cases.models import Case
from compliance.kyc.services import expire_lapsed_kyc, open_review_cases, set_kyc, upload_kyc_document
from compliance.models import KycDocument, KycProfile
from tests.compliance.test_kyc_documents import PDF, PNG
from tests.conftest import PASSWORD
from tests.races import race
from tests.refdata.factories import CounterpartyFactory

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


@pytest.fixture
def officer(desk_config):
    return create_desk_user(username="kyc-officer", password=PASSWORD, roles=["compliance"])


def test_review_case_runs_at_once_open_one_case(officer):
    counterparty = CounterpartyFactory(code="RACEONE")
    set_kyc(
        actor=officer,
        counterparty=counterparty,
        status="approved",
        risk_rating="low",
        expires_on=business_date() + timedelta(days=5),
    )
    day = business_date()
    outcomes = race([lambda: open_review_cases(business_date=day) for _ in range(4)])
    assert outcomes == ["ok"] * 4, outcomes
    assert Case.objects.filter(kind="kyc", counterparty=counterparty).count() == 1
    profile = KycProfile.objects.get(counterparty=counterparty)
    assert profile.review_case_id == Case.objects.get().pk


def test_a_renewal_racing_the_expiry_job_leaves_the_kyc_approved(officer):
    counterparty = CounterpartyFactory(code="RACETWO")
    profile = set_kyc(actor=officer, counterparty=counterparty, status="approved", risk_rating="low")
    KycProfile.objects.filter(pk=profile.pk).update(expires_on=business_date() - timedelta(days=1))
    renewed_until = business_date() + timedelta(days=365)
    outcomes = race(
        [
            lambda: expire_lapsed_kyc(business_date=business_date()),
            lambda: set_kyc(
                actor=officer,
                counterparty=counterparty,
                status="approved",
                risk_rating="low",
                expires_on=renewed_until,
            ),
        ]
    )
    assert outcomes == ["ok", "ok"], outcomes
    profile.refresh_from_db()
    # Whichever came first, the renewal is what stands: approved to the new date, not expired.
    assert (profile.status, profile.expires_on, profile.expired_on) == ("approved", renewed_until, None)


def test_uploads_at_once_each_keep_their_own_file(officer, settings, tmp_path):
    settings.KYC_DOCUMENT_DIR = tmp_path / "kyc-documents"
    counterparty = CounterpartyFactory(code="RACETHREE")
    set_kyc(actor=officer, counterparty=counterparty, status="pending", risk_rating="medium")
    contents = [PDF, PNG, PDF + b"%second\n", PNG + b"\x00"]
    outcomes = race(
        [
            lambda c=c, i=i: upload_kyc_document(
                actor=officer,
                counterparty=counterparty,
                kind="identity",
                upload=SimpleUploadedFile(f"doc-{i}.bin", c),
            )
            for i, c in enumerate(contents)
        ]
    )
    assert outcomes == ["ok"] * 4, outcomes
    documents = list(KycDocument.objects.all())
    assert len({d.file.name for d in documents}) == 4
    assert sorted(d.file.open("rb").read() for d in documents) == sorted(contents)
