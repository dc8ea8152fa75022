"""What every admin that saves through the services shares (reference data, users)."""

from __future__ import annotations

from django.contrib import admin, messages
from django.http import HttpResponseRedirect

from borrowdesk.errors import DomainError


class ServiceRefusalsAsMessages(admin.ModelAdmin):
    """A ModelAdmin whose ``save_model`` calls a service: a refusal is shown, not a 500.

    The form has run full_clean(), but the service's own rules (or a concurrent write) can still
    refuse; the admin's transaction has rolled back by then, so say why and start over.
    """

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except DomainError as exc:
            self.message_user(request, exc.detail, level=messages.ERROR)
            return HttpResponseRedirect(request.get_full_path())
