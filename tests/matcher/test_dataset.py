from pathlib import Path

import pytest

from matcher.errors import SchemaError
from matcher.ingest import load_folder
from matcher.records import COLUMNS

WORKERS = (
    ",".join(COLUMNS["workers"])
    + """
w1,张三,620503199001011231,13812345678,male,1990,620503,初中,电焊,做过焊工,焊工,paired,4000,unemployed,,
w2,李四,,,female,1985,623024,高中,,,保洁,local,,unemployed,,
w3,王五,,,unknown,1985,623024,高中,,,保洁,local,,unemployed,,

w4,赵六,,,male,1985,62302,高中,,,保洁,local,,unemployed,,
"""
)
ENTERPRISES = """enterprise_id,name,kind,location_code,employment_base,capacity,dorm_beds
e1,津门物业,company,120111,true,,20
e2,迭部扶贫车间,poverty_workshop,623024,false,5,
"""
JOBS = (
    ",".join(COLUMNS["jobs"])
    + """
j1,e1,保安员,小区门岗,4-07-05-01,3,4000,5000,,18,55,any,true
j2,e2,手工编织,,,2,2000,2500,,,,female,false
j3,e9,仓管,,,2,2000,2500,,,,any,false
j4,e1,厨师,,,-1,2000,2500,,,,any,false
"""
)


def _write(tmp_path: Path, workers=WORKERS, enterprises=ENTERPRISES, jobs=JOBS) -> Path:
    (tmp_path / "workers.csv").write_text(workers, encoding="utf-8")
    (tmp_path / "enterprises.csv").write_text(enterprises, encoding="utf-8")
    (tmp_path / "jobs.csv").write_text(jobs, encoding="utf-8")
    return tmp_path


def test_load_keeps_valid_rows_and_reports_each_bad_one(tmp_path):
    ds = load_folder(_write(tmp_path))
    assert [w.worker_id for w in ds.workers] == ["w1", "w2"]
    assert [j.job_id for j in ds.jobs] == ["j1", "j2"]
    by_field = {(e.row, e.field) for e in ds.rejected if e.file and e.file.endswith("workers.csv")}
    # Row numbers as a spreadsheet shows them: header is row 1, the blank line still counts.
    assert by_field == {(4, "gender"), (6, "home_county_code")}
    reasons = " | ".join(str(e) for e in ds.rejected)
    assert "unknown enterprise_id 'e9'" in reasons
    assert "openings" in reasons


def test_load_uses_builtin_pairings_without_file(tmp_path):
    ds = load_folder(_write(tmp_path))
    assert ds.pairing_map().is_paired("623024", "120102")


def test_missing_column_names_the_file(tmp_path):
    with pytest.raises(SchemaError, match=r"workers.csv.*row 1.*birth_year"):
        load_folder(_write(tmp_path, workers="worker_id,gender,home_county_code\nw1,male,623024\n"))


def test_input_hash_changes_with_content(tmp_path):
    a = load_folder(_write(tmp_path)).input_sha256
    (tmp_path / "jobs.csv").write_text(JOBS.replace("4000,5000", "4100,5000"), encoding="utf-8")
    assert load_folder(tmp_path).input_sha256 != a


def test_rejected_personal_values_are_masked(tmp_path):
    bad = WORKERS.replace(
        "w1,张三,620503199001011231,13812345678,male,1990,620503",
        "w1,张三,620503199001011231,13812345678,male,1990,6205",
    )
    ds = load_folder(_write(tmp_path, workers=bad))
    assert "13812345678" not in repr([e.as_dict() for e in ds.rejected])
