"""Places: Tianjin's districts, the paired western counties, pairings and the location rule.

The built-in tables hold public facts (administrative codes, and the district–county pairings
found in ``shared/data/tianjin_pairing``) so the product works without the shared data folder.

Partner cities. A district belongs to the city of its code's first four digits (``1201`` Tianjin,
``1101`` Beijing, ``3101`` Shanghai ...); a county's partner cities are those of the districts it
is paired with. A worker who goes ``anywhere`` accepts every district of the partner cities of
their home county (of Tianjin when the county has no pairing), so a national data set with several
partner cities falls apart into one region per city. The districts of a city other than Tianjin
come from the shipped national table of admin codes.
"""

from __future__ import annotations

import csv
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from matcher.records import Mobility, Pairing, Worker

TIANJIN_PREFIX = "12"
TIANJIN_CITY = "1201"
_ADMIN_AREAS = Path(__file__).resolve().parent / "data" / "admin_areas.csv"

TIANJIN_DISTRICTS: dict[str, str] = {
    "120101": "和平区",
    "120102": "河东区",
    "120103": "河西区",
    "120104": "南开区",
    "120105": "河北区",
    "120106": "红桥区",
    "120110": "东丽区",
    "120111": "西青区",
    "120112": "津南区",
    "120113": "北辰区",
    "120114": "武清区",
    "120115": "宝坻区",
    "120116": "滨海新区",
    "120117": "宁河区",
    "120118": "静海区",
    "120119": "蓟州区",
}

# County code -> (name, province). Counties with a known Tianjin pairing, plus the city-level
# partner counties in Xinjiang, Qinghai and Tibet.
PAIRED_COUNTIES: dict[str, tuple[str, str]] = {
    "130821": ("承德县", "河北省"),
    "130881": ("平泉市", "河北省"),
    "130825": ("隆化县", "河北省"),
    "130822": ("兴隆县", "河北省"),
    "130828": ("围场满族蒙古族自治县", "河北省"),
    "620525": ("张家川回族自治县", "甘肃省"),
    "623024": ("迭部县", "甘肃省"),
    "620821": ("泾川县", "甘肃省"),
    "620826": ("静宁县", "甘肃省"),
    "620802": ("崆峒区", "甘肃省"),
    "620825": ("庄浪县", "甘肃省"),
    "620822": ("灵台县", "甘肃省"),
    "620122": ("皋兰县", "甘肃省"),
    "620523": ("甘谷县", "甘肃省"),
    "623021": ("临潭县", "甘肃省"),
    "620121": ("永登县", "甘肃省"),
    "621027": ("镇原县", "甘肃省"),
    "620503": ("麦积区", "甘肃省"),
    "623026": ("碌曲县", "甘肃省"),
    "653225": ("策勒县", "新疆维吾尔自治区"),
    "653226": ("于田县", "新疆维吾尔自治区"),
    "653227": ("民丰县", "新疆维吾尔自治区"),
    "632301": ("同仁市", "青海省"),
    "632322": ("尖扎县", "青海省"),
    "632323": ("泽库县", "青海省"),
    "632324": ("河南蒙古族自治县", "青海省"),
    "540324": ("丁青县", "西藏自治区"),
}

# (district, county, since_year) for the district-level pairings with a district code.
BUILTIN_PAIRINGS: tuple[tuple[str, str, int], ...] = (
    ("120110", "130821", 2017),
    ("120111", "130881", 2017),
    ("120112", "130825", 2017),
    ("120113", "130822", 2017),
    ("120114", "130828", 2017),
    ("120116", "620525", 2017),
    ("120102", "623024", 2018),
    ("120114", "620821", 2018),
    ("120114", "620826", 2021),
    ("120103", "620802", 2021),
    ("120103", "620825", 2021),
    ("120112", "620822", 2021),
    ("120110", "620122", 2021),
    ("120110", "620523", 2021),
    ("120110", "623021", 2021),
    ("120115", "620121", 2021),
    ("120118", "621027", 2021),
    ("120111", "620503", 2021),
    ("120106", "623026", 2022),
)


def builtin_pairings() -> list[Pairing]:
    """The built-in pairings as records."""
    return [Pairing(district_code=d, county_code=c, since_year=y) for d, c, y in BUILTIN_PAIRINGS]


def is_tianjin(code: str) -> bool:
    return code in TIANJIN_DISTRICTS


def city_of(code: str) -> str:
    """The city (4-digit code) an admin code belongs to: ``120102`` → ``1201``."""
    return code[:4]


@lru_cache(maxsize=1)
def admin_names() -> dict[str, str]:
    """Code → name of every county-level code in the shipped national table."""
    with _ADMIN_AREAS.open(encoding="utf-8-sig", newline="") as fh:
        return {row["code"]: row["name"] for row in csv.DictReader(fh) if row.get("code")}


def is_partner_district(code: str) -> bool:
    """Whether ``code`` may be the district side of a pairing: any Tianjin code (12xxxx, as
    before), or a city district (…区) of the national table."""
    return code.startswith(TIANJIN_PREFIX) or admin_names().get(code, "").endswith("区")


@lru_cache(maxsize=64)
def city_districts(city: str) -> frozenset[str]:
    """Every district of partner city ``city`` (4-digit code): Tianjin's 16, else the city's codes
    named …区 in the national table."""
    if city == TIANJIN_CITY:
        return ALL_DISTRICTS
    return frozenset(c for c, name in admin_names().items() if city_of(c) == city and name.endswith("区"))


def place_name(code: str | None) -> str:
    """A readable name for an admin code (the code itself when unknown)."""
    if not code:
        return ""
    if code in TIANJIN_DISTRICTS:
        return TIANJIN_DISTRICTS[code]
    if code in PAIRED_COUNTIES:
        return PAIRED_COUNTIES[code][0]
    return admin_names().get(code, code)


@dataclass(frozen=True)
class PairingMap:
    """Both directions of the pairing relation."""

    districts_of_county: Mapping[str, frozenset[str]] = field(default_factory=dict)
    counties_of_district: Mapping[str, frozenset[str]] = field(default_factory=dict)

    @classmethod
    def from_pairings(cls, pairings: Iterable[Pairing], year: int | None = None) -> PairingMap:
        """Build the map; with ``year``, pairings that start after it are left out."""
        by_county: dict[str, set[str]] = defaultdict(set)
        by_district: dict[str, set[str]] = defaultdict(set)
        for p in pairings:
            if year is not None and p.since_year is not None and p.since_year > year:
                continue
            by_county[p.county_code].add(p.district_code)
            by_district[p.district_code].add(p.county_code)
        return cls(
            {k: frozenset(v) for k, v in by_county.items()},
            {k: frozenset(v) for k, v in by_district.items()},
        )

    def is_paired(self, county: str, district: str) -> bool:
        return district in self.districts_of_county.get(county, frozenset())

    def partner_districts(self, county: str) -> frozenset[str]:
        """Every district of the partner cities of ``county`` (Tianjin's when it has no pairing)."""
        cities = {city_of(d) for d in self.districts_of_county.get(county, frozenset())}
        if not cities:
            return ALL_DISTRICTS
        return frozenset().union(*(city_districts(c) for c in sorted(cities)))


ALL_DISTRICTS = frozenset(TIANJIN_DISTRICTS)


def accepted_locations(worker: Worker, pairing: PairingMap) -> frozenset[str]:
    """Where ``worker`` accepts a job (the location rule).

    The home county always (local workshops, 就地就近); ``paired`` adds the districts paired with
    the home county; ``anywhere`` adds every district of its partner city (all 16 of Tianjin for
    Tianjin's counties and for a county without pairing); ``local`` adds none.
    """
    home = worker.home_county_code
    if worker.mobility is Mobility.local:
        return frozenset({home})
    if worker.mobility is Mobility.paired:
        return frozenset({home}) | pairing.districts_of_county.get(home, frozenset())
    return frozenset({home}) | pairing.partner_districts(home)
