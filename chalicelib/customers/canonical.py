"""Placeholder on the search branch; the canonical-forms branch replaces this module whole."""

from __future__ import annotations

import re


def email_key(address: str) -> str:
    return address.lower()


def phone_national_digits(phone: str, region: str) -> str:
    digits = re.sub(r"[^0-9]", "", phone)
    return digits[1:] if phone.startswith("+1") else digits
