from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError

from reports import validation
from reports.geo import country_choices
from reports.models import Service

# A message added with extra_tags=placed_tag(form) belongs to that form: the form's partial
# template shows it where the visitor is looking, the top of the page does not repeat it.
PLACED = "at-"


def placed_tag(form: str) -> str:
    return f"{PLACED}{form}"


class CommentField(forms.CharField):
    """Line breaks counted as one character, as the box counts them
    (reports.validation.newlines_unified)."""

    def to_python(self, value: Any) -> str | None:
        return super().to_python(
            validation.newlines_unified(value) if isinstance(value, str) else value
        )


class ReportForm(forms.Form):
    problem = forms.CharField(error_messages={"required": "Choose what is not working."})
    # A list to pick from; a typed name or code ("Germany", "DE") is taken too.
    country = forms.CharField(
        max_length=80,
        widget=forms.Select(choices=[("", "Choose your country"), *country_choices()]),
        error_messages={"required": "Choose your country."},
    )
    # Names from a list of the chosen country's regions (static/js/report_form.js fills it for
    # the country chosen, so it never offers another country's); "Berlin", "BE" and "DE-BE"
    # all mean Berlin. One we do not recognise is left out, and the confirmation says so.
    subdivision = forms.CharField(
        required=False,
        max_length=80,
        label="Region (optional)",
        help_text="Your state or region, e.g. Berlin or Île-de-France.",
        widget=forms.TextInput(attrs={"list": "report-regions", "autocomplete": "off"}),
    )
    comment = CommentField(
        required=False,
        max_length=settings.REPORT_COMMENT_MAX_LENGTH,
        label="Comment (optional)",
        widget=forms.Textarea(attrs={"rows": 2}),
        error_messages={
            "max_length": "Comments can be up to %(limit_value)d characters; yours has "
            "%(show_value)d."
        },
    )

    def __init__(self, *args: Any, service: Service, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.service = service
        # A region we did not recognise, left out of the stored report (the view says so).
        self.region_dropped = ""

    def clean_country(self) -> str:
        return validation.country_from_text(self.cleaned_data["country"])

    def clean_comment(self) -> str:
        return validation.comment_clean(self.cleaned_data["comment"])

    def clean(self) -> dict[str, Any]:
        super().clean()
        cleaned = self.cleaned_data  # what Form.clean returns
        if "problem" in cleaned:
            try:
                cleaned["problem"] = validation.service_problem_clean(
                    service=self.service, problem_slug=cleaned["problem"]
                )
            except ValidationError:
                # The API's message lists slugs for programs; a visitor sees the buttons.
                labels = sorted(p.name for p in self.service.problem_types.all())
                self.add_error(
                    "problem",
                    f"Choose what is not working with one of the buttons: {', '.join(labels)}.",
                )
        if "country" in cleaned:
            typed = cleaned.get("subdivision", "")
            try:
                cleaned["subdivision"] = validation.subdivision_from_text(
                    typed, country=cleaned["country"]
                )
            except ValidationError:
                # The region is optional and only refines where: a typo or an English name
                # ("Bavaria"; the ISO list has "Bayern") must not lose the report itself.
                cleaned["subdivision"] = ""
                self.region_dropped = typed.strip()
        return cleaned
