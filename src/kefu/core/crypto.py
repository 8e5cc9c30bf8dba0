"""Encrypted personal data: AES-GCM field values and HMAC blind indexes.

The master key (``settings.FIELD_KEY``, urlsafe base64 or any string of ≥ 32 characters) is
stretched with HKDF into two independent keys: one encrypts, one computes blind indexes, so
knowing an index never helps decrypt and vice versa. Ciphertext is stored as text
``v1:<base64(nonce || ciphertext+tag)>`` so it survives every database and dump format.
"""

import base64
import functools
import hashlib
import hmac
import os
import re

import phonenumbers
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import models

from kefu.core.errors import ValidationFailed

PREFIX = "v1:"


@functools.cache
def _keys(master: str):
    if not master or len(master) < 32:
        raise ImproperlyConfigured("KEFU_FIELD_KEY must be at least 32 characters")
    material = master.encode()

    def derive(info):
        return HKDF(algorithm=hashes.SHA256(), length=32, salt=b"kefu", info=info).derive(material)

    return derive(b"kefu field encryption"), derive(b"kefu blind index")


def _enc_key():
    return _keys(settings.FIELD_KEY)[0]


def _index_key():
    return _keys(settings.FIELD_KEY)[1]


def encrypt(plaintext: str) -> str:
    nonce = os.urandom(12)
    sealed = AESGCM(_enc_key()).encrypt(nonce, plaintext.encode(), None)
    return PREFIX + base64.b64encode(nonce + sealed).decode()


def decrypt(token: str) -> str:
    if not token.startswith(PREFIX):
        raise ValueError("not a Kefu ciphertext")
    raw = base64.b64decode(token[len(PREFIX) :])
    return AESGCM(_enc_key()).decrypt(raw[:12], raw[12:], None).decode()


def blind_index(value: str, kind: str) -> str:
    """HMAC-SHA256 of a normalised value, namespaced by kind so a phone never matches an ID."""
    if not value:
        return ""
    digest = hmac.new(_index_key(), f"{kind}:{value}".encode(), hashlib.sha256)
    return digest.hexdigest()[:40]


def normalize_phone(raw: str) -> str:
    """Digits of a Chinese phone number as dialled at home: 13812345678, 02112345678.

    Accepts +86 / 0086 prefixes, spaces, dashes, brackets. Raises ValidationFailed on text
    that cannot be a phone number.
    """
    text = (raw or "").strip()
    if not text:
        return ""
    compact = re.sub(r"[\s\-()（）]", "", text)
    if compact.startswith("0086"):
        compact = "+86" + compact[4:]
    # Letters would be read as keypad digits by phonenumbers; a typo must not match a customer.
    if not re.fullmatch(r"\+?\d+", compact):
        raise ValidationFailed(_phone_error(raw))
    try:
        parsed = phonenumbers.parse(compact, "CN")
    except phonenumbers.NumberParseException:
        raise ValidationFailed(_phone_error(raw)) from None
    national = phonenumbers.national_significant_number(parsed)
    if not 5 <= len(national) <= 15:
        raise ValidationFailed(_phone_error(raw))
    if parsed.country_code != 86:
        return f"+{parsed.country_code}{national}"
    # Mobiles are 11 digits starting with 1; everything else is a landline dialled with its
    # trunk 0 (010 Beijing numbers start with 1 too, so the length decides, not the first digit).
    is_mobile = len(national) == 11 and national.startswith("1")
    return national if is_mobile or len(national) < 9 else "0" + national


def _phone_error(raw):
    from django.utils.translation import gettext

    return gettext("“%(value)s” 不是有效的电话号码。") % {"value": raw}


def normalize_id_number(raw: str) -> str:
    return re.sub(r"\s", "", raw or "").upper()


def phone_index(raw: str) -> str:
    return blind_index(normalize_phone(raw), "phone")


def id_number_index(raw: str) -> str:
    return blind_index(normalize_id_number(raw), "id")


class EncryptedTextField(models.TextField):
    """A text column holding AES-GCM ciphertext; Python sees the plaintext.

    Not searchable: pair it with a blind-index column for exact lookups.
    """

    description = "Encrypted text"

    def from_db_value(self, value, expression, connection):
        if value is None or value == "":
            return value
        return decrypt(value)

    def get_prep_value(self, value):
        value = super().get_prep_value(value)
        if value is None or value == "":
            return value
        if value.startswith(PREFIX):
            # Already sealed (e.g. copied between rows by simple-history): store as is.
            return value
        return encrypt(value)
