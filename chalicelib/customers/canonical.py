"""The one canonical form of an email address and a phone number: what "the same" means.

Uniqueness, the ``email_address`` filter and search all compare the keys made here,
and the request schemas ask the ``check_*`` functions whether a value may be stored
at all, so the rules exist once. The value a customer typed is stored and shown as
typed; only the keys are canonical.

Pure Python on purpose (no boto3, no Chalice, no marshmallow): the edge, the use
cases and storage all call it. The two libraries are imported inside the functions,
so a process that only reads (a GET by id, a plain list) never loads them: together
they cost a cold start tens of milliseconds.

Email: ``email-validator`` checks the syntax (no DNS: ``check_deliverability=False``)
and IDNA-encodes the domain. It does not case-fold the local part and accepts a
65-character one unless ``strict``; both are done here. Compatibility characters
(full-width letters, the Kelvin sign) are refused rather than folded: NFKC would
turn a full-width ``idn`` into the ASCII one silently, and an address that only looks like another
one is a spoofing risk, so the client is told to type the plain character.

Phone: ``phonenumbers`` (its ``lite`` distribution) decides whether a number is
*possible* (the right number of digits for its country), not *valid* (assigned):
555 numbers are fictional but possible, and customers' data need not be dialled.
"""

from __future__ import annotations

import re
import unicodedata
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from phonenumbers import PhoneNumber

MAX_LOCAL_PART = 64
MAX_ADDRESS = 254

# The regions phonenumbers 9.0.42 knows (``phonenumbers.SUPPORTED_REGIONS``), so that
# checking a setting does not import the library; tests/unit/test_canonical.py holds the
# two equal, so an upgrade that adds one says so.
_PHONE_REGION_CODES = """
AC AD AE AF AG AI AL AM AO AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS BT BW BY BZ
CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ EC EE EG EH ER ES ET FI FJ FK FM
FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GT GU GW GY HK HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE
JM JO JP KE KG KH KI KM KN KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN
MO MP MQ MR MS MT MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PR PS PT
PW PY QA RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TA TC TD TG TH TJ TK
TL TM TN TO TR TT TV TW TZ UA UG US UY UZ VA VC VE VG VI VN VU WF WS XK YE YT ZA ZM ZW
"""
PHONE_REGIONS = frozenset(_PHONE_REGION_CODES.split())

# What people type around a phone number's digits: an optional leading +, ASCII digits,
# spaces, ( ) . - /, and an optional extension (x89, ext 89, ext. 89, #89). No letters
# otherwise: "call me 555-123-4567" would parse (phonenumbers finds a number inside
# text), but it is not a phone number to store.
_PHONE_TEXT = re.compile(r"\+?[0-9 ().\-/]*[0-9][0-9 ().\-/]*(?: *(?:[xX]|[eE][xX][tT]\.?|#) *[0-9]{1,7})?")
_NOT_A_PHONE = (
    "Not a valid phone number: use digits, spaces and ( ) . - /, an optional leading +, "
    "and an optional extension such as x89."
)


# --- email ---------------------------------------------------------------------------------


def _compatibility_character(text: str) -> str | None:
    """The first character that has a compatibility (or singleton) mapping, if any.

    Per character, so that a decomposed ``u`` + U+0308 passes (it is ``ü`` in another
    canonical order, composed by NFC) while U+212A KELVIN SIGN, which NFC itself turns
    into ``K``, does not.
    """
    for char in text:
        if not char.isascii() and unicodedata.normalize("NFKC", char) != char:
            return char
    return None


def _refuse_compatibility(text: str) -> None:
    char = _compatibility_character(text)
    if char is not None:
        plain = unicodedata.normalize("NFKC", char)
        name = unicodedata.name(char, "a compatibility character")
        raise ValueError(
            f"Contains U+{ord(char):04X} {name}, a compatibility form of {plain!r}: type the plain character instead."
        )


def _canonical_parts(address: str) -> tuple[str, str]:
    """(case-folded NFC local part, lower-case IDNA domain), or ValueError saying why not."""
    if any(unicodedata.category(char) == "Cs" for char in address):  # a lone surrogate cannot be encoded
        raise ValueError("Not a valid email address.")
    _refuse_compatibility(address)
    text = unicodedata.normalize("NFC", address)
    if len(text) > MAX_ADDRESS:
        raise ValueError(f"Must be at most {MAX_ADDRESS} characters.")
    from email_validator import EmailNotValidError, validate_email

    try:
        # Every option spelt out: the library's module-level defaults can be changed by anyone.
        result = validate_email(
            text,
            check_deliverability=False,
            strict=True,  # the local part's 64-character limit (MAX_LOCAL_PART), counted after NFC
            allow_smtputf8=True,
            allow_empty_local=False,
            allow_quoted_local=False,
            allow_domain_literal=False,  # ann@[127.0.0.1]
            allow_display_name=False,
            globally_deliverable=True,  # a domain needs a dot: ann@localhost, ann@example
            test_environment=False,
        )
    except EmailNotValidError as error:
        raise ValueError(str(error)) from None
    return unicodedata.normalize("NFC", result.local_part.casefold()), result.ascii_domain.lower()


def check_email(address: str) -> None:
    """Raise ValueError, with a message for the client, if the address may not be stored."""
    _canonical_parts(address)


def email_key(address: str) -> str:
    """The form addresses are compared in: NFC, local part case-folded, domain IDNA-encoded and lower-cased.

    Total: a value stored under older rules that the current ones refuse (a 65-character
    local part, say) still gets a key, NFC and case-folded as a whole, so it can be
    found, moved and freed.
    """
    try:
        local, domain = _canonical_parts(address)
    except ValueError:
        return unicodedata.normalize("NFC", unicodedata.normalize("NFC", address).casefold())
    return f"{local}@{domain}"


# --- phone ---------------------------------------------------------------------------------


_TOO_SHORT = "Too few digits for a phone number."
_TOO_LONG = "Too many digits for a phone number."
_UNKNOWN_COUNTRY = "Not a known country calling code."
_IMPOSSIBLE = "Not a possible phone number for its country."


def _parse(phone: str, region: str) -> PhoneNumber:
    """The number ``phone`` says (a national one read in ``region``), or ValueError saying why not."""
    if not _PHONE_TEXT.fullmatch(phone):
        raise ValueError(_NOT_A_PHONE)
    import phonenumbers

    refused = phonenumbers.NumberParseException
    reasons = {
        refused.INVALID_COUNTRY_CODE: _UNKNOWN_COUNTRY,
        refused.TOO_SHORT_AFTER_IDD: _TOO_SHORT,
        refused.TOO_SHORT_NSN: _TOO_SHORT,
        refused.TOO_LONG: _TOO_LONG,
    }
    try:
        number = phonenumbers.parse(phone, region)
        if not number.national_number:
            raise ValueError(_NOT_A_PHONE)  # only zeros
        # Leading zeros where the country has none can give a number whose E.164 form reads
        # back as another (+31 0000100 -> +31000100 -> +3100100: NL takes a zero for its
        # national prefix each time): not one to store.
        e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
        again = phonenumbers.parse(e164, None)
    except refused as error:
        raise ValueError(reasons.get(error.error_type, _NOT_A_PHONE)) from None
    if phonenumbers.format_number(again, phonenumbers.PhoneNumberFormat.E164) != e164:
        raise ValueError(_IMPOSSIBLE)
    return number


def _parsed(phone: str, region: str) -> PhoneNumber | None:
    try:
        return _parse(phone, region)
    except ValueError:
        return None


def check_phone(phone: str, region: str) -> None:
    """Raise ValueError if ``phone`` cannot be a phone number (national numbers are read in ``region``)."""
    number = _parse(phone, region)
    from phonenumbers import ValidationResult, is_possible_number_with_reason

    reason = is_possible_number_with_reason(number)
    if reason in (ValidationResult.IS_POSSIBLE, ValidationResult.IS_POSSIBLE_LOCAL_ONLY):
        return
    if reason == ValidationResult.TOO_SHORT:
        raise ValueError(_TOO_SHORT)
    if reason == ValidationResult.TOO_LONG:
        raise ValueError(_TOO_LONG)
    if reason == ValidationResult.INVALID_COUNTRY_CODE:
        raise ValueError(_UNKNOWN_COUNTRY)
    raise ValueError(_IMPOSSIBLE)


def phone_e164(phone: str, region: str) -> str | None:
    """``+15551234567``, or None when the number cannot be made E.164.

    A number possible only locally (``555-0123``: no area code) has no E.164 form,
    although phonenumbers would format one; nor does text that is not a number. An
    extension is not part of E.164.
    """
    number = _parsed(phone, region)
    if number is None:
        return None
    from phonenumbers import PhoneNumberFormat, ValidationResult, format_number, is_possible_number_with_reason

    if is_possible_number_with_reason(number) != ValidationResult.IS_POSSIBLE:
        return None
    return format_number(number, PhoneNumberFormat.E164)


def phone_national_digits(phone: str, region: str) -> str:
    """The national significant number's digits when ``phone`` parses, else the digits of the text.

    ``+1 (555) 123-4567`` and ``555.123.4567`` both give ``5551234567`` (in region US):
    what a search by phone compares.
    """
    number = _parsed(phone, region)
    if number is None:
        return "".join(char for char in phone if char in "0123456789")
    from phonenumbers import national_significant_number

    return national_significant_number(number)
