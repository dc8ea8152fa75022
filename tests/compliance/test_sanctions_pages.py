"""The sanctions pages: the lists with the upload, its preview and confirmation; screening by hand; the
matches queue and a match with its explanation and the two-step false-positive clearance."""

from __future__ import annotations

from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from compliance.models import SanctionsListVersion, SanctionsMatch, Screening
from compliance.sanctions.services import rescreen_all
from tests.compliance.conftest import BENCH, OFACTEST, import_list
from tests.refdata.factories import CounterpartyFactory

LISTS = reverse("compliance:sanctions_lists")
IMPORT = reverse("compliance:sanctions_import")
CONFIRM = reverse("compliance:sanctions_import_confirm")
SCREEN = reverse("compliance:screen")
QUEUE = reverse("compliance:match_queue")


def _upload(name: str, path=None, data: bytes | None = None):
    return SimpleUploadedFile(name, data if data is not None else path.read_bytes(), content_type="text/csv")


def _ofactest_files():
    return {
        "source_format": "ofac-sdn-csv",
        "list_file": _upload("whatever.csv", OFACTEST / "sdn.csv"),
        "alt_file": _upload("alt.csv", OFACTEST / "alt.csv"),
        "add_file": _upload("add.csv", OFACTEST / "add.csv"),
        "comments_file": _upload("sdn_comments.csv", OFACTEST / "sdn_comments.csv"),
    }


def test_an_upload_is_previewed_then_confirmed_into_the_list_in_force(login, carl, settings, tmp_path):
    settings.SANCTIONS_UPLOAD_DIR = tmp_path
    client = login(carl)
    preview = client.post(IMPORT, _ofactest_files())
    assert preview.status_code == 200
    page = preview.content.decode()
    assert 'data-testid="preview"' in page and 'data-testid="wallets">32<' in page
    assert "alt.csv: 5 row(s) name entries that sdn.csv does not hold" in page
    assert not SanctionsListVersion.objects.exists()  # a preview imports nothing
    token = preview.context["preview"]["token"]
    done = client.post(CONFIRM, {"token": token})
    assert done.status_code == 302 and done["Location"] == LISTS
    version = SanctionsListVersion.objects.get()
    assert (version.is_active, version.entry_count, version.imported_by) == (True, 17, carl)
    assert not (tmp_path / token).exists()  # the staged files are gone
    lists = client.get(LISTS)
    assert lists.status_code == 200 and "OFAC SDN" in lists.content.decode()


def test_a_broken_upload_shows_its_line_and_imports_nothing(login, carl, settings, tmp_path):
    settings.SANCTIONS_UPLOAD_DIR = tmp_path
    data = (OFACTEST / "sdn.csv").read_bytes().replace(b'"SDNT",', b'"SDNT",-0- ,', 1)  # line 1: 13 columns
    response = login(carl).post(
        IMPORT, {"source_format": "ofac-sdn-csv", "list_file": _upload("sdn.csv", data=data)}
    )
    assert response.status_code == 200
    assert "sdn.csv, line 1: expected 12 columns, found 13" in response.content.decode()
    assert response.context["preview"] is None and not SanctionsListVersion.objects.exists()
    assert not any(tmp_path.iterdir())  # nothing staged


def test_an_upload_over_the_size_limit_is_refused_before_it_is_read(login, carl, settings, tmp_path):
    settings.SANCTIONS_UPLOAD_DIR = tmp_path
    settings.SANCTIONS_UPLOAD_MAX_BYTES = 1000
    response = login(carl).post(IMPORT, _ofactest_files())
    assert response.status_code == 200 and "Larger than" in response.content.decode()
    assert response.context["preview"] is None


def test_a_preview_token_of_another_officer_or_made_up_imports_nothing(login, carl, cora, settings, tmp_path):
    settings.SANCTIONS_UPLOAD_DIR = tmp_path
    token = login(carl).post(IMPORT, _ofactest_files()).context["preview"]["token"]
    client = login(cora)
    for bad in (token, "../../etc/passwd", "0" * 32, ""):
        response = client.post(CONFIRM, {"token": bad})
        assert response.status_code == 302 and response["Location"] == IMPORT
    assert not SanctionsListVersion.objects.exists()


def test_the_lists_page_is_read_only_for_an_auditor_and_closed_to_the_desk(client, personas):
    import_list(OFACTEST)
    client.force_login(personas["audrey"])
    page = client.get(LISTS)
    assert page.status_code == 200 and "Import a list" not in page.content.decode()
    assert client.get(IMPORT).status_code == 403
    csv = client.get(LISTS + "?format=csv")
    assert csv["Content-Type"] == "text/csv" and b"OFAC SDN" in csv.content
    for who in ("alice", "bob", "rita"):
        client.force_login(personas[who])
        assert client.get(LISTS).status_code == 403


def test_screening_by_hand_shows_the_match_and_why(login, carl):
    import_list(BENCH)
    response = login(carl).post(SCREEN, {"name": "Олег Дерипаска", "address": ""})
    assert response.status_code == 200
    page = response.content.decode()
    assert "DERIPASKA, Oleg Vladimirovich" in page and "first_last" in page
    assert Screening.objects.get().query_name == "Олег Дерипаска"


def test_screening_by_hand_without_a_name_or_address_says_so(login, carl):
    response = login(carl).post(SCREEN, {"name": " ", "address": ""})
    assert response.status_code == 200 and "Give a name or a wallet address" in response.content.decode()
    assert not Screening.objects.exists()


def _held_match(django_capture_on_commit_callbacks):
    CounterpartyFactory(code="SUEXOTC", legal_name="Suex OTC s.r.o.")
    CounterpartyFactory(code="BKS", legal_name="Bel Kap Steel")
    import_list(OFACTEST)
    with django_capture_on_commit_callbacks(execute=True):
        rescreen_all()
    return SanctionsMatch.objects.get(counterparty__code="SUEXOTC")


def test_the_queue_lists_matches_in_a_fixed_number_of_queries(
    login, carl, django_assert_num_queries, django_capture_on_commit_callbacks
):
    _held_match(django_capture_on_commit_callbacks)
    client = login(carl)
    few = _queries(client, QUEUE)
    assert len(few) == 5
    CounterpartyFactory(code="TNK", legal_name="TNK Trading International")
    CounterpartyFactory(code="IRIS", legal_name="Iris Makran Shipping")
    with django_capture_on_commit_callbacks(execute=True):
        rescreen_all()
    assert SanctionsMatch.objects.count() == 4
    # 5 queries whatever the number of rows: the session, the user, the user's roles, the count, and the
    # page of matches joined with their subject, list, entry and deciders
    with django_assert_num_queries(len(few)):
        response = client.get(QUEUE)
    page = response.content.decode()
    assert all(code in page for code in ("SUEXOTC", "BKS", "TNK", "IRIS"))
    assert "SUEXOTC" not in client.get(QUEUE + "?counterparty=BKS").content.decode()
    assert b"Suex OTC s.r.o." in client.get(QUEUE + "?format=csv").content


def _queries(client, url):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        client.get(url)
    return queries


def test_the_match_page_explains_the_score_and_takes_two_officers_to_clear(
    login, carl, cora, django_capture_on_commit_callbacks
):
    match = _held_match(django_capture_on_commit_callbacks)
    url = reverse("compliance:match_detail", args=[match.pk])
    fp = reverse("compliance:match_false_positive", args=[match.pk])
    client = login(carl)
    page = client.get(url).content.decode()
    assert 'data-testid="explanation"' in page and "suex otc" in page and "Words sorted" in page
    assert "Potential" in page and "Propose false positive" in page
    client.post(fp, {"decision": "propose", "reason": "Registered elsewhere"})
    page = client.get(url).content.decode()
    assert 'data-testid="awaiting-second"' in page and "Confirm false positive" not in page
    response = client.post(fp, {"decision": "confirm"}, follow=True)
    assert "another compliance officer" in response.content.decode()
    assert SanctionsMatch.objects.get(pk=match.pk).status == "cleared_pending_second"
    client = login(cora)
    assert "Confirm false positive" in client.get(url).content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        client.post(fp, {"decision": "confirm"})
    assert SanctionsMatch.objects.get(pk=match.pk).status == "false_positive"


def test_an_auditor_reads_a_match_but_cannot_decide(client, personas, django_capture_on_commit_callbacks):
    match = _held_match(django_capture_on_commit_callbacks)
    client.force_login(personas["audrey"])
    page = client.get(reverse("compliance:match_detail", args=[match.pk]))
    assert page.status_code == 200 and "Propose false positive" not in page.content.decode()
    response = client.post(
        reverse("compliance:match_false_positive", args=[match.pk]), {"decision": "propose", "reason": "x"}
    )
    assert response.status_code == 403
    assert SanctionsMatch.objects.get(pk=match.pk).status == "potential"


def test_an_unknown_match_is_a_404(login, carl):
    client = login(carl)
    assert client.get(reverse("compliance:match_detail", args=[999999])).status_code == 404
    assert client.post(reverse("compliance:match_confirm", args=[999999]), {"reason": "x"}).status_code == 404


def test_an_uploaded_file_name_never_reaches_the_file_system(login, carl, settings, tmp_path):
    settings.SANCTIONS_UPLOAD_DIR = tmp_path / "uploads"
    files = {
        "source_format": "ofac-sdn-csv",
        "list_file": _upload("../../../etc/cron.d/x", OFACTEST / "sdn.csv"),
    }
    token = login(carl).post(IMPORT, files).context["preview"]["token"]
    stored = sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*") if p.is_file())
    assert stored == [f"uploads/{token}/file-0", f"uploads/{token}/meta.json"]
