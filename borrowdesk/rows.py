"""Model instances from the columns of one hand-written SELECT.

For the few hot paths that lock a row together with what they need to decide (the approval reads a
borrow request, its asset, its counterparty and the decisions so far in one round trip): the ORM would
compile that query afresh on every call, which costs more than running it. ``select_list`` gives a
model's columns in field order and ``instance`` turns the matching slice of a result row back into a
model instance, with the field's database converters applied (a JSON field's text, say).
"""

from __future__ import annotations

from typing import Any, TypeVar

from django.db import connection
from django.db.models import Model

M = TypeVar("M", bound=Model)


def select_list(model: type[Model], alias: str) -> str:
    """``alias."col1", alias."col2", …`` for every concrete field of ``model``, in field order."""
    return ", ".join(f'{alias}."{field.column}"' for field in model._meta.concrete_fields)


def width(model: type[Model]) -> int:
    return len(model._meta.concrete_fields)


def instance(model: type[M], values: tuple[Any, ...] | list[Any]) -> M:
    """The instance of ``model`` for the values of its ``select_list``, as the ORM would load it."""
    fields = model._meta.concrete_fields
    converted = [
        field.from_db_value(value, None, connection) if hasattr(field, "from_db_value") else value
        for field, value in zip(fields, values, strict=True)
    ]
    return model.from_db(connection.alias, [field.attname for field in fields], converted)
