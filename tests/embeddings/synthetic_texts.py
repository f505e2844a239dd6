"""Deterministic synthetic job postings and worker profiles (no personal data), for tests and benchmarks.

Each occupation has a Chinese and an English title, duty phrases, and *experience* phrases used in worker
profiles that describe the work without repeating the title, so that matching a worker to the jobs of
the same occupation is a small labelled retrieval task.
"""

from __future__ import annotations

import random
from dataclasses import dataclass


@dataclass(frozen=True)
class Occupation:
    zh: str
    en: str
    duties_zh: tuple[str, ...]
    duties_en: tuple[str, ...]
    experience_zh: tuple[str, ...]


OCCUPATIONS: tuple[Occupation, ...] = (
    Occupation(
        "保安员",
        "security guard",
        ("负责小区门岗值守和夜间巡逻", "负责工厂出入登记与监控室值班", "维护商场秩序，处理突发情况"),
        ("staff the gate and patrol the estate at night", "log visitors and watch the CCTV room"),
        ("在小区门口站岗、晚上巡楼", "在厂区看大门、登记来访车辆"),
    ),
    Occupation(
        "保洁员",
        "cleaner",
        ("负责写字楼公共区域清洁", "负责医院病房和走廊的日常保洁", "负责酒店客房打扫"),
        ("clean office common areas", "daily cleaning of hospital wards and corridors"),
        ("在写字楼里拖地、擦玻璃、倒垃圾", "在宾馆打扫房间、换床单"),
    ),
    Occupation(
        "电子装配工",
        "electronics assembler",
        ("负责手机主板的组装与检测", "在流水线上插件、焊接电路板", "负责电子元器件的装配和质检"),
        ("assemble and test phone mainboards", "insert components and solder circuit boards on the line"),
        ("在电子厂流水线上插件、贴片", "在工厂组装手机和充电器"),
    ),
    Occupation(
        "仓库分拣员",
        "warehouse sorter",
        ("负责电商仓库包裹分拣、扫码、装车", "负责货物入库、拣货和打包", "按订单分拣快递包裹"),
        ("sort, scan and load parcels in an e-commerce warehouse", "pick and pack orders"),
        ("在物流仓库扫码分包裹", "在电商仓库拣货打包"),
    ),
    Occupation(
        "厨师",
        "cook",
        ("负责食堂中餐烹饪", "负责餐厅热菜制作与备料", "负责员工食堂早中晚三餐"),
        ("cook Chinese dishes for a canteen", "prepare hot dishes and ingredients in a restaurant"),
        ("在饭店炒菜、配菜", "在单位食堂掌勺做大锅饭"),
    ),
    Occupation(
        "护工",
        "care worker",
        ("负责养老院老人的生活照料", "在医院陪护病人，协助翻身、喂饭", "负责失能老人的日常护理"),
        ("look after residents of a care home", "assist hospital patients with feeding and turning"),
        ("在养老院照顾老人吃饭洗澡", "在医院照顾病人"),
    ),
    Occupation(
        "叉车司机",
        "forklift driver",
        ("负责仓库叉车装卸货物", "驾驶叉车搬运原材料和成品", "持证上岗，负责货物码放"),
        ("drive a forklift to load and unload goods", "move raw materials and pallets with a forklift"),
        ("在工厂开铲车搬运货物", "持有叉车证，在仓库装卸托盘"),
    ),
    Occupation(
        "快递员",
        "courier",
        ("负责片区快递派送和揽收", "骑电动车配送包裹到户", "负责社区快递驿站收发件"),
        ("deliver and collect parcels in an assigned area", "deliver packages by e-bike"),
        ("骑电动车送快递", "在驿站收发快递件"),
    ),
    Occupation(
        "焊工",
        "welder",
        ("负责钢结构件的电焊和气保焊", "负责管道焊接作业", "按图纸焊接机械零部件"),
        ("arc and MIG welding of steel structures", "weld pipelines on site"),
        ("在钢结构厂干电焊", "持焊工证，做过管道焊接"),
    ),
    Occupation(
        "缝纫工",
        "sewing machine operator",
        ("负责服装车间平车缝制", "负责箱包缝纫加工", "在制衣厂做车缝工"),
        ("sew garments on a flat-bed machine", "sew bags and luggage"),
        ("在服装厂踩缝纫机做衣服", "在制衣厂车衣服"),
    ),
)

_CITIES = ("天津市滨海新区", "天津市西青区", "天津市津南区", "天津市东丽区", "甘肃省迭部县", "天津市武清区")
_BENEFITS_ZH = ("包吃住", "五险一金", "提供宿舍", "月休四天", "长白班", "两班倒", "有加班费", "管午饭")
_BENEFITS_EN = (
    "free board and lodging",
    "social insurance",
    "dormitory provided",
    "day shift only",
    "two shifts",
    "overtime paid",
)
_EDU = ("小学", "初中", "高中", "中专", "大专")


def job_text_zh(occ: Occupation, rng: random.Random) -> str:
    lo = rng.randrange(3000, 7000, 100)
    hi = lo + rng.randrange(500, 3000, 100)
    benefits = "，".join(rng.sample(_BENEFITS_ZH, 2))
    return (
        f"{occ.zh}：{rng.choice(occ.duties_zh)}。月薪{lo}～{hi}元，{benefits}。"
        f"工作地点：{rng.choice(_CITIES)}。招{rng.randint(1, 50)}人。"
    )


def job_text_en(occ: Occupation, rng: random.Random) -> str:
    wage = rng.randrange(18, 40)
    return (
        f"{occ.en.capitalize()} wanted: {rng.choice(occ.duties_en)}. ${wage}/hour, "
        f"{rng.choice(_BENEFITS_EN)}. {rng.randint(1, 30)} openings."
    )


def worker_text_zh(occ: Occupation, rng: random.Random) -> str:
    return (
        f"{rng.randint(20, 55)}岁，{rng.choice(_EDU)}文化，做过{rng.randint(1, 10)}年"
        f"{rng.choice(occ.experience_zh)}的工作，期望月薪{rng.randrange(3000, 6000, 500)}元以上，"
        f"愿意去{rng.choice(_CITIES)}。"
    )


def job_texts(n: int, seed: int = 0, *, english_share: float = 0.3) -> list[str]:
    """``n`` job postings, about ``english_share`` of them in English, the rest in Chinese."""
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        occ = rng.choice(OCCUPATIONS)
        out.append(job_text_en(occ, rng) if rng.random() < english_share else job_text_zh(occ, rng))
    return out


def labelled_pairs(n_workers: int, jobs_per_occupation: int, seed: int = 0):
    """Workers and Chinese jobs with their occupation index: ``(workers, worker_occ, jobs, job_occ)``."""
    rng = random.Random(seed)
    workers, worker_occ, jobs, job_occ = [], [], [], []
    for i in range(n_workers):
        k = i % len(OCCUPATIONS)
        workers.append(worker_text_zh(OCCUPATIONS[k], rng))
        worker_occ.append(k)
    for k, occ in enumerate(OCCUPATIONS):
        for _ in range(jobs_per_occupation):
            jobs.append(job_text_zh(occ, rng))
            job_occ.append(k)
    return workers, worker_occ, jobs, job_occ
