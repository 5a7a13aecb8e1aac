from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError

from reports import validation
from reports.geo import country_choices
from reports.models import Service


class ReportForm(forms.Form):
    problem = forms.CharField(error_messages={"required": "Choose what is not working."})
    country = forms.ChoiceField(
        choices=[("", "Choose your country"), *country_choices()],
        error_messages={"required": "Choose your country."},
    )
    subdivision = forms.CharField(
        required=False,
        max_length=6,
        label="Region (optional)",
        help_text="ISO 3166-2 code, e.g. DE-BE for Berlin.",
    )
    comment = forms.CharField(
        required=False,
        max_length=settings.REPORT_COMMENT_MAX_LENGTH,
        label="Comment (optional)",
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    def __init__(self, *args: Any, service: Service, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.service = service

    def clean_country(self) -> str:
        return validation.country_clean(self.cleaned_data["country"])

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if "problem" in cleaned:
            try:
                cleaned["problem"] = validation.service_problem_clean(
                    service=self.service, problem_slug=cleaned["problem"]
                )
            except ValidationError as exc:
                self.add_error("problem", exc)
        if "country" in cleaned:
            try:
                cleaned["subdivision"] = validation.subdivision_clean(
                    cleaned.get("subdivision", ""), country=cleaned["country"]
                )
            except ValidationError as exc:
                self.add_error("subdivision", exc)
        return cleaned
