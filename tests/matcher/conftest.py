"""A small hand-built data set with known structure, for pipeline tests."""

from __future__ import annotations

import numpy as np
import pytest

from matcher.dataset import Dataset
from matcher.geo import builtin_pairings
from matcher.records import Enterprise, Job, Worker

YEAR = 2026
TITLES = [
    ("保安员", "4-07-05-01", "小区门岗值守，巡逻"),
    ("保洁员", "4-09-08-01", "写字楼保洁，清扫"),
    ("电子装配工", "6-25-04-07", "流水线装配手机主板"),
    ("中式烹调师", "4-03-02-01", "食堂炒菜，备餐"),
    ("快递分拣员", "4-02-07-09", "仓库包裹分拣装卸"),
]
WISHES = ["保安", "保洁", "电子厂普工", "厨师", "分拣", "什么都行"]


def small_dataset(n_workers: int = 40, seed: int = 3) -> Dataset:
    rng = np.random.default_rng(seed)
    counties = ["623024", "620821", "620525"]  # 迭部 ↔ 河东, 泾川 ↔ 武清, 张家川 ↔ 滨海
    enterprises = [
        Enterprise(
            enterprise_id="e1", name="河东物业", location_code="120102", employment_base=True, capacity=4
        ),
        Enterprise(enterprise_id="e2", name="武清电子", location_code="120114", dorm_beds=30),
        Enterprise(enterprise_id="e3", name="滨海物流", location_code="120116"),
        Enterprise(enterprise_id="e4", name="迭部扶贫车间", kind="poverty_workshop", location_code="623024"),
        Enterprise(enterprise_id="e5", name="和平餐饮", location_code="120101"),
    ]
    jobs = []
    for i in range(12):
        title, code, desc = TITLES[i % len(TITLES)]
        ent = enterprises[i % len(enterprises)]
        jobs.append(
            Job(
                job_id=f"j{i}",
                enterprise_id=ent.enterprise_id,
                title=title,
                description=desc,
                occupation_code=code,
                openings=int(rng.integers(1, 4)),
                wage_min=int(rng.integers(30, 50)) * 100,
                wage_max=6000,
                age_min=18 if i % 3 == 0 else None,
                age_max=45 if i % 4 == 0 else None,
                gender="female" if i == 7 else "any",
                accommodation=bool(i % 2),
            )
        )
    workers = []
    for i in range(n_workers):
        workers.append(
            Worker(
                worker_id=f"w{i:03d}",
                name=f"测试{i}",
                id_number="620503199001011234",
                phone="13812345678",
                gender="male" if i % 2 else "female",
                birth_year=int(rng.integers(1967, 2008)),
                home_county_code=counties[i % 3],
                skills="叉车" if i % 5 == 0 else "",
                experience=f"做过{WISHES[i % 6]}，电话13812345678",
                desired_occupations=WISHES[i % 6],
                mobility=["local", "paired", "anywhere"][i % 3 if i % 7 else 2],
                min_wage=int(rng.integers(30, 55)) * 100,
                group_id="",
            )
        )
    return Dataset(workers=workers, enterprises=enterprises, jobs=jobs, pairings=builtin_pairings())


@pytest.fixture
def small_ds() -> Dataset:
    return small_dataset()
