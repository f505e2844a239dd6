from matcher.geo import ALL_DISTRICTS, TIANJIN_DISTRICTS, PairingMap, accepted_locations, builtin_pairings
from matcher.records import Pairing, Worker


def _worker(mobility, county="623024"):
    return Worker(worker_id="w", gender="female", birth_year=1990, home_county_code=county, mobility=mobility)


def test_tianjin_has_sixteen_districts():
    assert len(TIANJIN_DISTRICTS) == 16
    assert all(c.startswith("1201") for c in TIANJIN_DISTRICTS)


def test_location_rule_by_mobility():
    pmap = PairingMap.from_pairings(builtin_pairings())
    assert accepted_locations(_worker("local"), pmap) == {"623024"}
    assert accepted_locations(_worker("paired"), pmap) == {"623024", "120102"}  # 迭部县 ↔ 河东区
    assert accepted_locations(_worker("anywhere"), pmap) == {"623024"} | ALL_DISTRICTS


def test_pairings_after_reference_year_are_ignored():
    pairings = [Pairing(district_code="120101", county_code="623024", since_year=2030)]
    assert PairingMap.from_pairings(pairings, year=2026).districts_of_county == {}
    assert PairingMap.from_pairings(pairings, year=2030).is_paired("623024", "120101")


def test_anywhere_means_every_district_of_the_partner_city():
    from matcher.geo import city_districts

    pairings = [*builtin_pairings(), Pairing(district_code="110105", county_code="130722", since_year=2021)]
    pmap = PairingMap.from_pairings(pairings)
    beijing = city_districts("1101")
    assert len(beijing) == 16 and all(c.startswith("1101") for c in beijing)
    # 张北县, paired with 朝阳区 of Beijing: Beijing's districts, never Tianjin's
    assert accepted_locations(_worker("anywhere", "130722"), pmap) == {"130722"} | beijing
    assert accepted_locations(_worker("paired", "130722"), pmap) == {"130722", "110105"}
    # Tianjin's counties, and a county without any pairing, keep Tianjin's 16 districts
    assert accepted_locations(_worker("anywhere"), pmap) == {"623024"} | ALL_DISTRICTS
    assert accepted_locations(_worker("anywhere", "530102"), pmap) == {"530102"} | ALL_DISTRICTS
