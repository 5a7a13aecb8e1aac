from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import serializers

from outagewatch.api.query import QuerySerializer
from outagewatch.quoting import quoted
from reports import validation
from reports.api.fields import (
    CommentCharField,
    CopiedFieldsMixin,
    RejectUnknownFieldsMixin,
    StrictCharField,
    catalog_entry_from_slug,
    drf_validated,
)
from reports.cache import CatalogService
from reports.models import Category, ProblemType, Report, Service


def _django_errors(exc: DjangoValidationError) -> list[str]:
    return list(exc.messages)


class ReportCreateSerializer(CopiedFieldsMixin, RejectUnknownFieldsMixin, serializers.Serializer):
    """A problem report: which service, what kind of problem, and where.

    Fields not listed here are refused; every invalid field is named in one 400 answer.
    """

    service = StrictCharField(help_text="Service slug, e.g. `chatgpt`.")
    problem = StrictCharField(help_text="Problem type slug offered by that service, e.g. `login`.")
    country = StrictCharField(
        help_text="ISO 3166-1 alpha-2 country code, e.g. `DE` (and `XK` for Kosovo)."
    )
    subdivision = StrictCharField(
        required=False, allow_blank=True, help_text="ISO 3166-2 code, e.g. `DE-BE`."
    )
    comment = CommentCharField(
        required=False,
        allow_blank=True,
        max_length=settings.REPORT_COMMENT_MAX_LENGTH,
        trim_whitespace=True,
    )

    def validate_service(self, value: str) -> CatalogService:
        return catalog_entry_from_slug(value)

    def validate_country(self, value: str) -> str:
        return drf_validated(validation.country_clean, value)

    def validate_comment(self, value: str) -> str:
        return drf_validated(validation.comment_clean, value)

    def to_internal_value(self, data: Any) -> Any:
        try:
            return super().to_internal_value(data)
        except serializers.ValidationError as exc:
            if not isinstance(exc.detail, dict) or not isinstance(data, dict):
                raise
            # DRF runs validate() only when every field is valid, so a problem the service
            # does not offer went unsaid beside a bad country (README: all invalid fields at
            # once). Check the pairs whose fields are valid themselves.
            attrs = self._valid_fields(data, failed=set(exc.detail))
            _, errors = _cross_checked(attrs)
            raise serializers.ValidationError({**exc.detail, **errors}) from None

    def _valid_fields(self, data: dict[str, Any], *, failed: set[str]) -> dict[str, Any]:
        """The fields of `data` that pass their own checks (only when another did not)."""
        attrs: dict[str, Any] = {}
        for name, field in self.fields.items():
            if name in failed or name not in data:
                continue
            try:
                value = field.run_validation(data[name])
                if validator := getattr(self, f"validate_{name}", None):
                    value = validator(value)
            except serializers.ValidationError:
                continue
            attrs[name] = value
        return attrs

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        attrs, errors = _cross_checked(attrs)
        if errors:
            raise serializers.ValidationError(errors)
        return attrs


def _cross_checked(attrs: dict[str, Any]) -> tuple[dict[str, Any], dict[str, list[str]]]:
    """The checks of one field against another (problem vs service, subdivision vs country),
    for those pairs present in `attrs`: the cleaned values, and the errors by field."""
    attrs = dict(attrs)
    errors: dict[str, list[str]] = {}
    entry: CatalogService | None = attrs.get("service")
    if entry is not None:
        attrs["service"] = entry.service
        if "problem" in attrs:
            try:
                attrs["problem"] = validation.service_problem_clean(
                    service=entry.service,
                    problem_slug=attrs["problem"].strip().lower(),
                    problems=entry.problems,
                )
            except DjangoValidationError as exc:
                errors["problem"] = _django_errors(exc)
    if "country" in attrs:
        try:
            attrs["subdivision"] = validation.subdivision_clean(
                attrs.get("subdivision", ""), country=attrs["country"]
            )
        except DjangoValidationError as exc:
            errors["subdivision"] = _django_errors(exc)
    return attrs, errors


class ReportCreatedSerializer(serializers.ModelSerializer):
    service: serializers.SlugRelatedField[Service] = serializers.SlugRelatedField(
        slug_field="slug", read_only=True
    )
    problem: serializers.SlugRelatedField[ProblemType] = serializers.SlugRelatedField(
        slug_field="slug", read_only=True
    )
    message = serializers.CharField(read_only=True)

    class Meta:
        model = Report
        fields = [
            "id",
            "created_at",
            "counted",
            "message",
            "service",
            "problem",
            "country",
            "subdivision",
            "comment",
            "source",
        ]
        read_only_fields = fields


_CREATED_AT = serializers.DateTimeField(read_only=True)


def report_created_data(report: Report, message: str) -> dict[str, Any]:
    """What ReportCreatedSerializer(report).data is, built directly.

    The serializer documents the answer (OpenAPI); building it for every report cost more
    than the rest of the request (a ModelSerializer introspects the model per instance).
    tests/reports/test_api_reports.py checks that both agree.
    """
    return {
        "id": report.id,
        "created_at": _CREATED_AT.to_representation(report.created_at),
        "counted": report.counted,
        "message": message,
        "service": report.service.slug,
        "problem": report.problem.slug,
        "country": report.country,
        "subdivision": report.subdivision,
        "comment": report.comment,
        "source": report.source,
    }


class ServiceQuerySerializer(QuerySerializer):
    """Filters of the service list; an empty search matches every service."""

    search = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=100,
        default="",
        # Kept as sent: "  " is a search with no letter in it, not an absent one.
        trim_whitespace=False,
        help_text=(
            "Part of the service name or an alias; small typos are forgiven. "
            "Absent or empty: every service. A search with no letter or digit (only "
            "punctuation, emoji or spaces) matches no service."
        ),
    )
    category = serializers.SlugField(
        required=False, max_length=100, default="", help_text="Category slug."
    )

    def validate_category(self, value: str) -> str:
        # As ?service= of the outage list: a category that does not exist is a mistake to
        # point out, not an empty catalog.
        if value and not Category.objects.filter(slug=value.lower()).exists():
            raise serializers.ValidationError(f"No category {quoted(value)}.")
        return value.lower()


class ProblemTypeSerializer(serializers.ModelSerializer):
    class Meta:
        model = ProblemType
        fields = ["slug", "name", "description"]


class ServiceSerializer(serializers.ModelSerializer):
    category: serializers.SlugRelatedField[Category] = serializers.SlugRelatedField(
        slug_field="slug", read_only=True
    )
    category_name = serializers.CharField(source="category.name", read_only=True)
    problems = ProblemTypeSerializer(source="problem_types", many=True, read_only=True)
    url = serializers.SerializerMethodField()

    class Meta:
        model = Service
        fields = [
            "slug",
            "name",
            "category",
            "category_name",
            "website",
            "status_page",
            "problems",
            "url",
        ]

    def get_url(self, service: Service) -> str:
        return f"{settings.SITE_URL}{service.get_absolute_url()}"


class CommentSerializer(serializers.ModelSerializer):
    """A comment as anyone may read it: never who or which network wrote it."""

    text = serializers.CharField(source="comment", help_text="Plain text; not markup.")
    problem: serializers.SlugRelatedField[ProblemType] = serializers.SlugRelatedField(
        slug_field="slug", read_only=True
    )

    class Meta:
        model = Report
        fields = ["id", "created_at", "problem", "country", "text"]
        read_only_fields = fields
