"""Shared pieces of the apps' output serializers."""

from __future__ import annotations

from borrowdesk.access.policy import allows


class DeskOnlyFields:
    """Fields a trader does not see (``desk_only``): the desk's own figures, such as its priority score
    and its parts, and the firm's source account. Shown to a viewer the policy allows
    ``desk.internals.view`` (the ``request`` in the serializer's context); hidden when there is none."""

    desk_only: tuple[str, ...] = ()

    def to_representation(self, instance):
        data = super().to_representation(instance)  # type: ignore[misc]
        request = self.context.get("request")  # type: ignore[attr-defined]
        if not (request is not None and allows(request.user, "desk.internals.view")):
            for name in self.desk_only:
                data.pop(name, None)
        return data
