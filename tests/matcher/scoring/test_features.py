from matcher.records import Job, Worker
from matcher.scoring.features import job_text, scrub, worker_text


def test_worker_text_has_wishes_skills_and_no_personal_data():
    w = Worker(
        worker_id="w1",
        name="张三丰",
        id_number="620503199001011234",
        phone="13812345678",
        gender="male",
        birth_year=1990,
        home_county_code="620503",
        skills="电焊;叉车",
        experience="在东莞电子厂做过两年，联系电话13812345678，身份证620503199001011234",
        desired_occupations="焊工;保安",
        current_employer="某某公司 022-23456789",
    )
    text = worker_text(w)
    assert "焊工" in text and "电焊" in text and "电子厂" in text
    for secret in ("张三丰", "620503199001011234", "13812345678", "23456789"):
        assert secret not in text


def test_scrub_removes_id_and_phone_shapes_only():
    assert scrub("电话 138-1234-5678 工号 12345") == "电话 工号 12345"
    assert scrub("身份证 12010119900101123X 好") == "身份证 好"


def test_job_text_starts_with_title():
    j = Job(job_id="j", enterprise_id="e", title="小区保安", description="门岗值守，包吃住", openings=2)
    assert job_text(j).startswith("岗位：小区保安")
