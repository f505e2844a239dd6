"""Keyed hashing, masking and the key file."""

from __future__ import annotations

import stat

import pytest

from matcher.errors import ConfigError
from matcher.pii import (
    is_masked,
    key_fingerprint,
    key_from_secret,
    keyed_hash,
    keyed_hashes,
    load_or_create_key,
    mask,
    mask_name,
    protect,
)

KEY = b"pii-test-key-0123456789"


def test_protect_hashes_with_the_key_and_masks():
    h, m = protect(KEY, "id_number", "62302419900101123x")
    assert m == "623024********123X" and len(h) == 64
    assert protect(KEY, "id_number", "62302419900101123X")[0] == h  # normalised before hashing
    assert protect(b"another-key-0123456789", "id_number", "62302419900101123X")[0] != h
    expected = (keyed_hash(KEY, "phone", "13812345678"), "138****5678")
    assert protect(KEY, "phone", "+86 138-1234-5678") == expected


def test_the_same_digits_hash_differently_as_id_and_phone():
    assert keyed_hash(KEY, "id_number", "13812345678") != keyed_hash(KEY, "phone", "13812345678")


@pytest.mark.parametrize("key", [KEY, b"", b"k" * 64, b"k" * 65, bytes(range(200))])
def test_keyed_hashes_is_keyed_hash_on_every_value(key):
    # The batch form copies one keyed HMAC: every key length (longer than SHA-256's block, shorter)
    # and any text must give the one-shot HMAC's hashes.
    values = ["", "13812345678", "62302419900101123X", "６２３０２４", "a\0b", "x" * 300]
    for field in ("id_number", "phone"):
        assert keyed_hashes(key, field, values) == [keyed_hash(key, field, v) for v in values]
    assert keyed_hashes(key, "phone", []) == []


def test_masked_values_are_recognised_and_not_hashed():
    assert is_masked("id_number", "120101********123X") and is_masked("phone", "138****5678")
    assert not is_masked("id_number", "120101199001011234") and not is_masked("phone", "13812345678")
    assert protect(KEY, "phone", "138****5678") == (None, "138****5678")
    assert protect(KEY, "phone", "") == (None, "")


def test_masking_is_idempotent():
    for field, value in [("name", "欧阳娜娜"), ("id_number", "120101199001011234"), ("phone", "13812345678")]:
        once = mask(field, value)
        assert mask(field, once) == once and once != value
    assert mask_name("张") == "张*"


def test_key_file_is_created_once_with_owner_only_permissions(tmp_path):
    path = tmp_path / "sub" / "laborbridge.key"
    key = load_or_create_key(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_or_create_key(path) == key and len(key) == 64
    assert key_fingerprint(key) == key_fingerprint(load_or_create_key(path))


def test_short_secret_is_refused():
    with pytest.raises(ConfigError):
        key_from_secret("short")
    assert key_from_secret(" a-long-enough-secret ") == b"a-long-enough-secret"
