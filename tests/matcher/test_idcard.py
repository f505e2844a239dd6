"""ID numbers and phone numbers: check digits, validation, reading and masking."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from matcher.errors import InputError
from matcher.idcard import (
    birth_date_of,
    gender_of,
    id_check_digit,
    id_check_digits,
    mask_id_number,
    mask_phone,
    validate_id_number,
    validate_phone,
)

# The worked example of GB 11643-1999 (a woman born 1949-12-31 in Beijing's 西城区 of the time).
STANDARD_EXAMPLE = "11010519491231002X"


def test_check_digit_of_the_standard_example():
    assert id_check_digit(STANDARD_EXAMPLE[:17]) == "X"
    assert validate_id_number(STANDARD_EXAMPLE) == (True, "")


def test_vectorised_check_digits_equal_the_scalar_ones():
    rng = np.random.default_rng(5)
    bodies = ["".join(map(str, rng.integers(0, 10, 17))) for _ in range(300)]
    assert id_check_digits(np.array(bodies)).tolist() == [id_check_digit(b) for b in bodies]


def test_every_check_value_is_reachable():
    # Changing the last body digit walks through all eleven check characters across bodies.
    seen = {id_check_digit(f"6230241990010100{d}") for d in range(10)}
    seen |= {id_check_digit(f"6230241990010101{d}") for d in range(10)}
    assert seen == set("0123456789X")


@pytest.mark.parametrize(
    ("value", "reason_part"),
    [
        ("11010519491231002", "17 characters"),
        ("1101051949123100AX", "17 digits"),
        ("11010519491231002Y", "17 digits"),
        ("110105194912310021", "check digit"),
        ("110105194902300026", "calendar date"),
        ("990105194912310023", "province"),
        ("110105289912310023", "out of range"),
    ],
)
def test_invalid_id_numbers_say_why(value, reason_part):
    ok, reason = validate_id_number(value)
    assert not ok
    assert reason_part in reason
    assert value not in reason


def test_lower_case_x_is_accepted():
    assert validate_id_number(STANDARD_EXAMPLE.lower())[0]


def test_birth_date_and_gender_are_read_from_the_number():
    assert birth_date_of(STANDARD_EXAMPLE) == dt.date(1949, 12, 31)
    assert gender_of(STANDARD_EXAMPLE) == "female"  # sequence 002: even
    body = "62302419900101001"
    assert gender_of(body + id_check_digit(body)) == "male"


def test_reading_an_invalid_number_raises_a_masked_input_error():
    with pytest.raises(InputError) as info:
        gender_of("110105194912310021")
    assert isinstance(info.value, ValueError)
    assert info.value.field == "id_number"
    assert "110105194912310021" not in str(info.value)
    assert info.value.value == "110105********0021"


def test_masks_keep_only_the_ends():
    assert mask_id_number("12010119900101123X") == "120101********123X"
    assert mask_phone("13812345678") == "138****5678"
    assert mask_id_number("12345") == "*****"
    assert mask_phone("") == ""


@pytest.mark.parametrize("phone", ["13812345678", "19912345678", "+86 138-1234-5678", "8615012345678"])
def test_valid_mobile_numbers(phone):
    assert validate_phone(phone) == (True, "")


@pytest.mark.parametrize(
    ("phone", "reason_part"),
    [("12812345678", "segment"), ("1381234567", "10 digits"), ("1381234567a", "digits"), ("", "empty")],
)
def test_invalid_mobile_numbers_say_why(phone, reason_part):
    ok, reason = validate_phone(phone)
    assert not ok and reason_part in reason
