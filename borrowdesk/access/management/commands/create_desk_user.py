"""create_desk_user USERNAME --role ROLE [--role ROLE …] [--counterparty CODE …] --password-stdin"""

from __future__ import annotations

import sys

from django.core.management.base import BaseCommand, CommandError

from borrowdesk.access.roles import ROLES
from borrowdesk.access.services import create_desk_user
from borrowdesk.errors import DomainError
from borrowdesk.refdata.models import Counterparty


class Command(BaseCommand):
    help = "Create or update a desk user with roles and counterparty grants; the password is read from stdin."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--role", action="append", dest="roles", required=True, choices=ROLES)
        parser.add_argument(
            "--counterparty",
            action="append",
            dest="counterparties",
            default=[],
            help="counterparty code the user may act for (traders)",
        )
        parser.add_argument(
            "--password-stdin",
            action="store_true",
            required=True,
            help="read the password from standard input (never from the command line)",
        )
        parser.add_argument("--email", default="")

    def handle(self, *args, username, roles, counterparties, password_stdin, email, **options):
        password = sys.stdin.readline().rstrip("\n")
        if not password:
            raise CommandError("No password on standard input.")
        found = {c.code: c for c in Counterparty.objects.filter(code__in=counterparties)}
        missing = [code for code in counterparties if code not in found]
        if missing:
            raise CommandError(f"Unknown counterparty code(s): {', '.join(missing)}")
        try:
            user = create_desk_user(
                username=username,
                password=password,
                roles=roles,
                counterparties=[found[c] for c in counterparties],
                email=email,
            )
        except DomainError as exc:
            raise CommandError(exc.detail) from exc
        grants = f" acting for {', '.join(counterparties)}" if counterparties else ""
        self.stdout.write(f"User {user.username} has role(s) {', '.join(roles)}{grants}.")
