"""The settings look-ups every trigger makes (borrowdesk/sql/trigger_helpers.sql): installed after
migrate, the same answers as the libraries' own, and no subtransaction per audited row."""

import re

import pgtrigger
import pytest
from django.apps import apps
from django.db import connection

from borrowdesk.audit import TRIGGER_HELPERS_SQL, acting_as, install_trigger_helpers_after_migrate
from borrowdesk.refdata.models import Asset

pytestmark = pytest.mark.django_db


def _squash(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def _file_bodies() -> list[str]:
    return [_squash(body) for body in re.findall(r"AS \$\$(.*?)\$\$", TRIGGER_HELPERS_SQL.read_text(), re.S)]


def _live_body(name: str) -> str:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT prosrc FROM pg_proc WHERE proname = '{name}'")
        (body,) = cursor.fetchone()
    return _squash(body)


def _ask(sql: str, params=None):
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone()[0]


def test_the_live_functions_are_the_file_after_migrate():
    assert [_live_body("_pgtrigger_should_ignore"), _live_body("_pgh_attach_context")] == _file_bodies()
    assert "EXCEPTION" not in _live_body("_pgtrigger_should_ignore")
    assert "EXCEPTION" not in _live_body("_pgh_attach_context")


def test_the_library_version_put_back_by_a_migration_is_replaced_again():
    # Installing any pgtrigger trigger (what a migration adding one does) re-creates the library's
    # look-up, with its EXCEPTION block; the post_migrate handler installs ours again.
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE OR REPLACE FUNCTION _pgtrigger_should_ignore(trigger_name NAME) RETURNS BOOLEAN AS $$ "
            "BEGIN BEGIN PERFORM 1; EXCEPTION WHEN OTHERS THEN END; RETURN FALSE; END; $$ LANGUAGE plpgsql"
        )
    assert "EXCEPTION" in _live_body("_pgtrigger_should_ignore")
    install_trigger_helpers_after_migrate(sender=apps.get_app_config("refdata"))  # not the last app: nothing
    assert "EXCEPTION" in _live_body("_pgtrigger_should_ignore")
    last = [c for c in apps.get_app_configs() if c.models_module is not None][-1]
    install_trigger_helpers_after_migrate(sender=last)
    assert _live_body("_pgtrigger_should_ignore") == _file_bodies()[0]


@pytest.mark.parametrize(
    ("setting", "expected"),
    [
        (None, False),  # never set in this transaction
        ("", False),  # left empty (pgtrigger clears it so)
        ("{}", False),
        ("{other_trigger}", False),
        ("{other_trigger,the_trigger}", True),
    ],
)
def test_should_ignore_answers_as_pgtrigger(setting, expected):
    if setting is not None:
        _ask("SELECT set_config('pgtrigger.ignore', %s, true)", [setting])
    assert _ask("SELECT _pgtrigger_should_ignore('the_trigger')") is expected


def test_pgtrigger_ignore_still_skips_a_trigger():
    # The audit trigger of an asset's update, skipped inside pgtrigger.ignore: no event recorded.
    asset = Asset.objects.create(symbol="IGN", name="Ignored", decimals=8)
    updates = Asset.pgh_event_model.objects.filter(pgh_obj_id=asset.pk, pgh_label="update")
    with pgtrigger.ignore("refdata.Asset:update_update"):
        Asset.objects.filter(pk=asset.pk).update(name="Ignored, renamed")
    assert updates.count() == 0
    Asset.objects.filter(pk=asset.pk).update(name="Renamed, recorded")
    assert updates.count() == 1


def test_attach_context_without_context_is_null_and_with_one_records_it(django_user_model):
    assert _ask("SELECT _pgh_attach_context()") is None
    _ask("SELECT set_config('pghistory.context_id', '', true)")
    assert _ask("SELECT _pgh_attach_context()") is None
    user = django_user_model.objects.create(username="ctx_user")
    with acting_as(user, why="test"):
        asset = Asset.objects.create(symbol="CTX", name="Context", decimals=8)
    event = Asset.pgh_event_model.objects.get(pgh_obj_id=asset.pk, pgh_label="insert")
    assert event.pgh_context.metadata["user"] == user.pk
    assert event.pgh_context.metadata["why"] == "test"
