import pytest
from pydantic import ValidationError

from matcher.records import COLUMNS, Job, Pairing, Worker, to_row


def _worker(**kw):
    base = dict(worker_id="w1", gender="male", birth_year="1990", home_county_code="623024")
    base.update(kw)
    return Worker.model_validate(base)


def test_worker_parses_lists_and_blank_numbers():
    w = _worker(skills="电焊;叉车；砌筑", desired_occupations="保安", min_wage="")
    assert w.skills == ("电焊", "叉车", "砌筑")
    assert w.desired_occupations == ("保安",)
    assert w.min_wage is None


def test_worker_repr_hides_personal_fields():
    w = _worker(name="张三", id_number="620503199001011234", phone="13812345678")
    text = repr(w) + str(w)
    assert "张三" not in text and "620503199001011234" not in text and "13812345678" not in text


def test_job_rejects_zero_openings_and_inverted_wages():
    with pytest.raises(ValidationError) as exc:
        Job(job_id="j", enterprise_id="e", title="保安", openings=0)
    assert exc.value.errors()[0]["loc"] == ("openings",)
    with pytest.raises(ValidationError, match="wage_min 6000 is greater than wage_max 5000"):
        Job(job_id="j", enterprise_id="e", title="保安", openings=1, wage_min=6000, wage_max=5000)


def test_pairing_requires_a_district_of_a_partner_city():
    # a county is not a district; Tianjin's districts and other cities' …区 are (national samples)
    with pytest.raises(ValidationError, match="not a district of a partner city"):
        Pairing(district_code="620821", county_code="623024")
    assert Pairing(district_code="110101", county_code="130722").district_code == "110101"
    assert Pairing(district_code="120102", county_code="623024").district_code == "120102"


def test_to_row_round_trips_through_validation():
    w = _worker(skills="电焊;叉车", mobility="anywhere", min_wage="4000")
    row = to_row(w)
    assert list(row) == list(COLUMNS["workers"])
    assert Worker.model_validate(row) == w
