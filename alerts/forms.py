from __future__ import annotations

from django import forms

from alerts import validation


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
        help_text="ISO codes separated by commas, e.g. DE, AT. Empty: all countries.",
    )

    def clean_email(self) -> str:
        return validation.email_clean(self.cleaned_data["email"])

    def clean_countries(self) -> list[str]:
        codes = validation.countries_split(self.cleaned_data["countries"])
        return validation.countries_clean(codes)
