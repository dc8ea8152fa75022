import pghistory
import pgtrigger
from django.contrib.auth.models import AbstractUser
from django.db import models

from borrowdesk.audit import audited
from borrowdesk.refdata.models import CounterpartyUserObjectPermission


class Desk(models.Model):
    """A trading desk: its business day is cut in its own time zone at its own open time."""

    code = models.SlugField(max_length=32, unique=True)
    name = models.CharField(max_length=120)

    def __str__(self) -> str:
        return self.name


# The password hash and login times are not business history; everything else is.
@audited(exclude=["password", "last_login"])
class User(AbstractUser):
    """The desk's user. Roles are Django groups (see access/roles.py)."""

    desk = models.ForeignKey(Desk, null=True, blank=True, on_delete=models.PROTECT, related_name="users")

    class Meta(AbstractUser.Meta):  # type: ignore[name-defined]  # the stubs do not declare it
        swappable = "AUTH_USER_MODEL"


class AccessLog(models.Model):
    """Who read which sensitive page or record, when, and from where. Append-only."""

    user = models.ForeignKey(User, null=True, on_delete=models.PROTECT, related_name="access_log")
    at = models.DateTimeField(auto_now_add=True, db_index=True)
    method = models.CharField(max_length=8)
    path = models.CharField(max_length=500)
    view_name = models.CharField(max_length=200)
    object_ref = models.CharField(max_length=200, blank=True)
    ip_address = models.GenericIPAddressField(null=True)
    user_agent = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["-at"]
        indexes = [models.Index(fields=["user", "-at"])]
        # Append-only in the database, like the ledger: a row once written is evidence.
        triggers = [
            pgtrigger.Protect(name="append_only_no_update", operation=pgtrigger.Update),
            pgtrigger.Protect(name="append_only_no_delete", operation=pgtrigger.Delete),
        ]

    def __str__(self) -> str:
        return f"{self.user} {self.method} {self.path} at {self.at:%Y-%m-%d %H:%M:%S}"


# Who holds which role, and which counterparties a trader may act for, are access rights: every
# grant and removal is an audit event (a database trigger, like every audited model), with the acting
# user from the request or ``acting_as``. The tables belong to Django (the groups' through table) and
# to refdata (the counterparty grants), so they are tracked through proxies: the event tables and
# triggers are this app's migrations. The rows vanish on removal, so events keep no link to them.


@pghistory.track(
    pghistory.InsertEvent("role_added"),
    pghistory.DeleteEvent("role_removed"),
    obj_field=None,
    model_name="RoleMembershipEvent",
)
class RoleMembership(User.groups.through):  # type: ignore[name-defined,misc]  # built at runtime
    """A user's membership of a role (a Django group): one row of ``User.groups``."""

    class Meta:
        proxy = True


@pghistory.track(
    pghistory.InsertEvent("counterparty_granted"),
    pghistory.DeleteEvent("counterparty_revoked"),
    obj_field=None,
    model_name="CounterpartyGrantEvent",
)
class CounterpartyGrant(CounterpartyUserObjectPermission):
    """A user's object permission on a counterparty (``refdata.act_for_counterparty``)."""

    class Meta:
        proxy = True
