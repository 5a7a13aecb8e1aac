from __future__ import annotations

import re

from django import forms
from django.core.exceptions import ValidationError

from alerts import presentation, validation
from alerts.countries import country_from_text
from alerts.models import Subscription


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

    # Where alerts go; the email address above then receives the confirmation and the link to
    # the channel's page (as with POST /api/v1/subscriptions/).
    channel = forms.ChoiceField(
        required=False,
        choices=Subscription.Channel.choices,
        error_messages={"invalid_choice": f"Choose email, {presentation.posted_channels()}."},
    )
    url = forms.CharField(required=False, max_length=validation.URL_MAX_LENGTH, strip=True)

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

    def clean_channel(self) -> str:
        return self.cleaned_data["channel"] or Subscription.Channel.EMAIL

    def clean(self) -> dict:
        super().clean()
        cleaned = self.cleaned_data  # what Form.clean returns
        channel, url = cleaned.get("channel"), cleaned.get("url", "")
        if channel == Subscription.Channel.EMAIL:
            if url:
                # Refused rather than dropped: they may have meant to pick Slack.
                self.add_error(
                    "url",
                    f"A URL is only for {presentation.posted_channels()}: choose one, or clear it.",
                )
        elif channel and "url" in cleaned:
            try:
                cleaned["url"] = validation.channel_url_clean(channel, url)
            except ValidationError as exc:
                self.add_error("url", exc)
        return cleaned

    def clean_email(self) -> str:
        return validation.email_clean(self.cleaned_data["email"])

    def clean_countries(self) -> list[str]:
        codes: list[str] = []
        unknown: list[str] = []
        for part in re.split(r"[,;]+", self.cleaned_data["countries"] or ""):
            found = _country_codes(part)
            if found is None:
                unknown.append(part.strip())
            else:
                codes.extend(found)
        if unknown:
            # In the words of the help text ("names or codes"), not ISO's.
            raise ValidationError([presentation.country_unknown(text) for text in unknown])
        return validation.countries_clean(codes)


def _country_codes(part: str) -> list[str] | None:
    """ "Germany", "the Netherlands", "Deutschland", "DE" -> one code; "DE AT" -> two;
    None when it names no country we know."""
    if not part.strip():
        return []
    code = country_from_text(part)
    if code is not None:
        return [code]
    words = validation.countries_split(part)
    codes = [country_from_text(word) for word in words]
    if len(words) > 1 and all(codes):
        return [c for c in codes if c]
    return None
