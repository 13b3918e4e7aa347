"""Signed rows: an HMAC-SHA256 tag in front of each serialized job, checked before it is read.

A signed row is ``qzs1:`` + the hex tag + ``:`` + the payload. The tag covers the prefix and the
payload, so neither the content nor the format version can be changed without the key. The
serializers in :mod:`quartzite.serializers` use this through their ``signing_key`` option.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable
from typing import Union

__all__ = ("SIGNATURE_PREFIX", "SignatureError", "SigningKey")

SigningKey = Union[bytes, str]

#: The start of a signed row; the digit is the version of the signature format.
SIGNATURE_PREFIX = b"qzs1:"
_TAG_LENGTH = hashlib.sha256().digest_size * 2  # hex digits


class SignatureError(ValueError):
    """A row's signature is missing, malformed, or does not match any of the signing keys."""


class _Signer:
    """Signs and checks rows: ``qzs1:`` + hex HMAC-SHA256 of (prefix + payload) + ``:`` + payload.

    The first key signs; every key is tried when checking, so a key can be rotated by putting the
    new one first and keeping the old one until every row has been written again.
    """

    def __init__(self, keys: SigningKey | Iterable[SigningKey], accept_unsigned: bool) -> None:
        if isinstance(keys, (bytes, bytearray, str)):
            keys = [keys]
        self.keys: list[bytes] = []
        for position, key in enumerate(keys):
            if isinstance(key, str):
                key = key.encode("utf-8")
            if not isinstance(key, (bytes, bytearray)):
                raise TypeError(
                    f"signing_key[{position}] must be bytes or str, got {type(key).__name__}"
                )
            if not key:
                raise ValueError(f"signing_key[{position}] is empty; a signing key needs content")
            self.keys.append(bytes(key))
        if not self.keys:
            raise ValueError("signing_key must hold at least one key, got an empty list")
        self.accept_unsigned = accept_unsigned

    def _tag(self, key: bytes, payload: bytes) -> bytes:
        mac = hmac.new(key, SIGNATURE_PREFIX + payload, hashlib.sha256)
        return mac.hexdigest().encode("ascii")

    def sign(self, payload: bytes) -> bytes:
        return SIGNATURE_PREFIX + self._tag(self.keys[0], payload) + b":" + payload

    def verify(self, data: bytes) -> bytes:
        if not data.startswith(SIGNATURE_PREFIX):
            if self.accept_unsigned:
                return data
            raise SignatureError(
                "The row is not signed (it does not start with 'qzs1:'), and this serializer "
                "only reads signed rows; it was written without signing_key, or by someone who "
                "does not hold the key (pass accept_unsigned=True only while migrating)"
            )
        start = len(SIGNATURE_PREFIX)
        tag, separator = (
            data[start : start + _TAG_LENGTH],
            data[start + _TAG_LENGTH : start + _TAG_LENGTH + 1],
        )
        if separator != b":":
            raise SignatureError("The row's signature is malformed (expected 'qzs1:<64 hex>:')")
        payload = data[start + _TAG_LENGTH + 1 :]
        if any(hmac.compare_digest(tag, self._tag(key, payload)) for key in self.keys):
            return payload
        raise SignatureError(
            "The row's signature does not match: it was changed after it was written, or it "
            "was signed with a different key (when rotating keys, list the old key after the "
            "new one)"
        )
