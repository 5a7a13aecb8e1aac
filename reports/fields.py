"""Catalog text fields that check their rule (reports.text) wherever the model is validated
(the admin, catalog_load) and leave it out of migrations.

A validator changes nothing in the database, and a migration naming one imports this code, so
it would no longer do the same thing once the code changed (a migration must not import the
app's code: tests/test_migrations_frozen.py). The rule is a default validator, which is not an
argument of the field, and the field is written into migrations as a plain CharField.
"""

from __future__ import annotations

from typing import Any

from django.db import models

from reports.text import name_validate, one_line_validate


class _CheckedText(models.CharField):
    def deconstruct(self) -> Any:
        name, _, args, kwargs = super().deconstruct()
        return name, "django.db.models.CharField", args, kwargs


class NameField(_CheckedText):
    """A name shown everywhere (services, categories, problems): one line, something to see."""

    default_validators = [name_validate]


class OneLineField(_CheckedText):
    """One line shown everywhere (a problem's description)."""

    default_validators = [one_line_validate]
