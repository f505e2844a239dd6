"""The admin-code table ships with the package: a clone without the shared data folder checks codes
against the national table, never only against the built-in Tianjin and paired-county codes."""

from __future__ import annotations

import pytest

from matcher.errors import ConfigError
from matcher.geo import PAIRED_COUNTIES, TIANJIN_DISTRICTS
from matcher.ingest.admin_codes import SHIPPED_AREAS, load_admin_codes


def test_the_national_table_ships_with_its_notice():
    assert SHIPPED_AREAS.is_file()
    assert (SHIPPED_AREAS.parent / "ADMIN-AREAS-LICENSE.txt").is_file()
    codes = load_admin_codes()
    assert codes.source == str(SHIPPED_AREAS)
    assert len(codes.codes) >= 2_900
    assert "110101" in codes and "650102" in codes  # 东城区 (Beijing), 天山区 (Urumqi): not paired
    assert set(TIANJIN_DISTRICTS) | set(PAIRED_COUNTIES) <= codes.codes
    assert "999999" not in codes
    assert (
        codes.unknown_reason("999999")
        == "unknown admin code 999999 (not a county-level code in admin_areas.csv)"
    )


def test_another_table_adds_to_the_built_in_codes_and_a_missing_one_is_an_error(tmp_path):
    table = tmp_path / "areas.csv"
    table.write_text("code,name\n990001,新县\n", encoding="utf-8")
    codes = load_admin_codes(table)
    assert "990001" in codes and "120101" in codes and "110101" not in codes
    with pytest.raises(ConfigError, match="not readable"):
        load_admin_codes(tmp_path / "missing.csv")
