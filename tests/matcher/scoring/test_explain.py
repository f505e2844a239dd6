"""Explanation sentences name concrete facts, strongest first, in Chinese and English."""

from __future__ import annotations

from matcher.records import Enterprise, Job, Worker
from matcher.scoring.explain import explain


def _pair(**job_kw):
    w = Worker(worker_id="w", gender="male", birth_year=1990, home_county_code="130821", min_wage=4000)
    e = Enterprise(enterprise_id="e", name="东丽物业", location_code="120110", employment_base=False)
    job = Job(
        job_id="j", enterprise_id="e", title="小区保安", occupation_code="4-07-05-01", openings=2, **job_kw
    )
    return w, job, e


def test_the_example_sentence():
    w, job, e = _pair(wage_min=4500, accommodation=True)
    values = {"occupation": 1.0, "pairing": 1.0, "stay_fit": 1.0, "wage": 1.0, "dense": 0.2}
    contrib = {"occupation": 0.3, "pairing": 0.2, "stay_fit": 0.15, "wage": 0.1, "dense": 0.02}
    zh, en = explain(w, job, e, values, contrib, location_code="120110", occupation_name="保安员")
    assert zh == "与期望职业一致（保安员）；位于结对区东丽区；提供住宿；月薪4500≥期望4000"
    assert en == (
        "matches the wished occupation (保安员); in the paired district 东丽区; "
        "accommodation provided; wage 4500 ≥ wished 4000"
    )


def test_facts_against_the_job_come_last():
    w, job, e = _pair(wage_min=3000, wage_max=3500, accommodation=False)
    values = {"occupation": 0.6, "pairing": 1.0, "wage": 0.0}
    contrib = {"occupation": 0.1, "pairing": 0.2, "wage": 0.0}
    zh, _ = explain(w, job, e, values, contrib, location_code="120110")
    assert zh.split("；") == [
        "位于结对区东丽区",
        "与期望职业相近（小区保安）",
        "不提供住宿",
        "月薪3000–3500低于期望4000",
    ]


def test_home_county_job_says_close_to_home():
    w, job, e = _pair()
    zh, en = explain(w, job, e, {"stay_fit": 1.0}, {"stay_fit": 0.1}, location_code="130821")
    assert zh == "在家乡承德县就近就业" and en == "close to home in 承德县"


def test_a_wage_band_reaching_the_minimum_only_at_its_top_partly_meets_it():
    from matcher.records import Enterprise, Job, Worker
    from matcher.scoring.explain import explain

    w = Worker(worker_id="w", gender="male", birth_year=1990, home_county_code="621027", min_wage=2400)
    j = Job(job_id="j", enterprise_id="e", title="保安员", openings=1, wage_min=2000, wage_max=2400)
    e = Enterprise(enterprise_id="e", name="镇原物业", location_code="621027")
    zh, en = explain(w, j, e, {"wage": 0.0}, {"wage": 0.0}, location_code="621027")
    assert "部分达到期望2400" in zh and "partly meets 2400" in en
