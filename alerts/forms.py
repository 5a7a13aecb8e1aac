from __future__ import annotations

import re

from django import forms
from django.core.exceptions import ValidationError

from alerts import validation
from reports.geo import country_lookup


class SubscribeForm(forms.Form):
    email = forms.CharField(
        max_length=validation.EMAIL_MAX_LENGTH,
        error_messages={"required": "Enter your email address."},
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )
    countries = forms.CharField(
        required=False,
        max_length=400,
        label="Only these countries (optional)",
        help_text="Names or codes separated by commas, e.g. Germany, AT. Empty: all countries.",
    )

    notify_acknowledged = forms.BooleanField(
        required=False, label="Also tell me when the official status page acknowledges it"
    )

    # Filled from the browser (static/js/localtime.js): the zone the emails show times in.
    # No max_length: a hidden field's error would refuse the sign-up with nothing the visitor
    # can see or correct; clean_timezone() reads any unknown value as none given instead.
    timezone = forms.CharField(required=False, widget=forms.HiddenInput)

    def clean_timezone(self) -> str:
        # Hidden and filled by the browser: a zone we do not know is read as none given
        # (the subscription's zone unchanged, UTC for a new one) rather than refusing a
        # sign-up the visitor cannot correct, or resetting a zone chosen before.
        try:
            return validation.timezone_clean(self.cleaned_data["timezone"])
        except ValidationError:
            return ""

    def clean_email(self) -> str:
        return validation.email_clean(self.cleaned_data["email"])

    def clean_countries(self) -> list[str]:
        codes = [
            code
            for part in re.split(r"[,;]+", self.cleaned_data["countries"] or "")
            for code in _country_codes(part)
        ]
        return validation.countries_clean(codes)


def _country_codes(part: str) -> list[str]:
    """ "Germany", "united kingdom", "DE" -> one code; "DE AT" -> two; anything else is left
    as typed, for countries_clean to name in its error."""
    if not part.strip():
        return []
    code = country_lookup(part)
    if code is not None:
        return [code]
    words = validation.countries_split(part)
    codes = [country_lookup(word) for word in words]
    if len(words) > 1 and all(codes):
        return [c for c in codes if c]
    return [part.strip()]
