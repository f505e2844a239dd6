"""Vectorised text for the synthetic sample: names, experience, wishes, postings, enterprise names.

Every function takes the seeded generator and whole columns, and returns numpy string arrays; no
per-row Python work, so a million workers take seconds. Words come from :mod:`matcher.sample.vocab`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from matcher.sample import vocab as V

if TYPE_CHECKING:
    from matcher.sample.draw import Geo
from matcher.sample.arrays import Ragged, cat, choice_by_group, fill, join


def _one_of(rng: np.random.Generator, words: tuple[str, ...] | list[str], n: int) -> np.ndarray:
    return np.array(words, dtype=np.str_)[rng.integers(0, len(words), n)]


def _brand(rng: np.random.Generator, n: int) -> np.ndarray:
    chars = np.array(V.BRAND_CHARS)
    a = rng.integers(0, len(chars), n)
    b = (a + rng.integers(1, len(chars), n)) % len(chars)  # two different syllables
    return np.strings.add(chars[a], chars[b])


def _county_short(name: str) -> str:
    for suffix in ("满族蒙古族自治县", "回族自治县", "蒙古族自治县", "县", "市", "区"):
        if name.endswith(suffix) and len(name) > len(suffix) + 1:
            return name.removesuffix(suffix)
    return name


def enterprise_names(rng: np.random.Generator, ent: dict[str, np.ndarray], geo: Geo) -> np.ndarray:
    """Names for companies in Tianjin and for the workshops, cooperatives and stations at home."""
    n, nd = len(ent["tj"]), len(geo.districts)
    words = Ragged([s[1] for s in V.TIANJIN_SECTORS] + [s[1] for s in V.LOCAL_SECTORS])
    word = words.pick(ent["sector"], rng.random(n))
    brand = _brand(rng, n)
    dshort = np.array([geo.name(d).removesuffix("新区").removesuffix("区") for d in geo.districts])
    cidx = np.where(ent["tj"], 0, ent["loc"] - nd)
    cname = np.array([geo.name(c) for c in geo.counties])[cidx]
    cshort = np.array([_county_short(geo.name(c)) for c in geo.counties])[cidx]
    r = rng.random(n)
    city = np.where(r < 0.4, dshort[np.where(ent["tj"], ent["loc"], 0)], np.where(r < 0.7, "市", ""))
    suffix = np.where(rng.random(n) < 0.85, "有限公司", "有限责任公司")
    village = _one_of(rng, V.VILLAGES, n)
    community = _one_of(rng, V.COMMUNITIES, n)
    kind = ent["kind"]
    return np.select(
        [
            ent["tj"],
            kind == "poverty_workshop",
            kind == "community_factory",
            kind == "satellite_factory",
            kind == "cooperative",
        ],
        [
            cat(geo.city, city, brand, word, suffix),
            cat(cname, village, "村", word, "扶贫车间"),
            cat(cname, community, "社区", word, "工厂"),
            cat(geo.city, brand, word, cshort, "卫星工厂"),
            cat(cname, brand, word, "专业合作社"),
        ],
        cat(cname, village, "村就业驿站"),
    )


def job_descriptions(rng: np.random.Generator, jobs: dict[str, np.ndarray]) -> np.ndarray:
    """One paragraph per posting: duty, hours, pay and board, then who may apply."""
    occ, n = jobs["occ"], len(jobs["occ"])
    families = list(V.SHIFTS)
    fam = np.array([families.index(o.family) for o in V.OCCUPATIONS])[occ]
    duty = Ragged([o.duties for o in V.OCCUPATIONS]).pick(occ, rng.random(n))
    shift = Ragged([V.SHIFTS[f] for f in families]).pick(fam, rng.random(n))
    lo, hi = jobs["wage_min"].astype(np.str_), jobs["wage_max"].astype(np.str_)
    pay = cat(_one_of(rng, V.PAY_PREFIXES, n), lo, "-", hi, "元")
    board = np.where(jobs["accommodation"], _one_of(rng, V.DORM_YES, n), _one_of(rng, V.DORM_NO, n))
    extra = _one_of(rng, V.EXTRAS, n)
    ages = cat("年龄", jobs["age_min"].astype(np.str_), "-", jobs["age_max"].astype(np.str_), "岁")
    gender = np.array(["男女不限", "限男性", "限女性"])[jobs["gender"]]
    edu = _one_of(rng, V.EDU_REQ, n)
    skill = Ragged([o.skills for o in V.OCCUPATIONS]).pick(occ, rng.random(n))
    prefer = np.where(rng.random(n) < 0.5, np.strings.add("，优先考虑：", skill), "")
    tianjin = cat(
        duty,
        "。",
        shift,
        "，",
        pay,
        "，",
        board,
        "，",
        extra,
        "。",
        ages,
        "，",
        gender,
        "，",
        edu,
        prefer,
        "。",
    )
    perk = _one_of(rng, V.LOCAL_PERKS, n)
    local = cat(duty, "。", perk, "，月收入", lo, "-", hi, "元。", ages, "，", gender, "。")
    return np.where(jobs["tj"], tianjin, local)


def _names(rng: np.random.Generator, w: dict[str, np.ndarray], geo: Geo) -> np.ndarray:
    n, female, county = len(w["age"]), w["female"] == 1, w["county"]
    weights = 1.0 / np.arange(1, len(V.SURNAMES) + 1) ** 0.7
    hui_weights = weights.copy()
    hui_weights[V.SURNAMES.index("马")] *= 12
    u = rng.random(n)
    hui = np.array(geo.counties)[county] == V.HUI_COUNTY
    cum, cum_hui = np.cumsum(weights) / weights.sum(), np.cumsum(hui_weights) / hui_weights.sum()
    idx = np.where(hui, np.searchsorted(cum_hui, u, side="right"), np.searchsorted(cum, u, side="right"))
    surname = np.array(V.SURNAMES)[np.minimum(idx, len(V.SURNAMES) - 1)]
    chars = Ragged([tuple(V.MALE_CHARS), tuple(V.FEMALE_CHARS)])
    g = female.astype(np.int64)
    given = np.where(
        rng.random(n) < 0.7,
        cat(chars.pick(g, rng.random(n)), chars.pick(g, rng.random(n))),
        chars.pick(g, rng.random(n)),
    )
    tib = Ragged([tuple(V.TIBETAN_MALE), tuple(V.TIBETAN_FEMALE)])
    k1 = rng.integers(0, 1000, n)
    k2 = k1 + rng.integers(1, 6, n)  # a different second part
    tibetan = cat(tib.at(g, k1), tib.at(g, k2))
    share = np.array([V.TIBETAN_NAME_SHARE.get(c, 0.0) for c in geo.counties])[county]
    return np.where(rng.random(n) < share, tibetan, np.strings.add(surname, given))


def worker_texts(
    rng: np.random.Generator, w: dict[str, np.ndarray], geo: Geo, enterprise_names: np.ndarray
) -> dict[str, np.ndarray]:
    """Name, education, skills, experience, desired occupations and current employer per worker."""
    n, occ = len(w["age"]), V.OCCUPATIONS
    signal, true_occ, exp_occ = w["signal"], w["true_occ"], w["exp_occ"]
    name = _names(rng, w, geo)
    education = np.array(V.EDUCATION)[choice_by_group(rng, w["band"], np.array(V.EDUCATION_P))]

    # Skills: from the occupation the worker actually did (a switcher's old trade), plus one generic.
    skill_occ = np.where(signal == 1, np.maximum(exp_occ, 0), true_occ)
    n_sk = np.select([signal == 3, signal == 0], [0, rng.integers(0, 3, n)], rng.integers(1, 3, n))
    skills = Ragged([o.skills for o in occ])
    start = rng.integers(0, 1000, n)
    parts = [np.where(n_sk > k, skills.at(skill_occ, start + k), "") for k in range(2)]
    parts.append(np.where(rng.random(n) < 0.4, _one_of(rng, V.GENERIC_SKILLS, n), ""))
    skill_text = join(parts)

    # Experience: a sentence from a template, or a line saying there is none.
    eo = np.maximum(exp_occ, 0)
    cap = np.select([w["age"] < 22, w["age"] < 26], [3, 4], len(V.DURATIONS) - 1)
    fields = {
        "p": _one_of(rng, V.PLACES, n),
        "w": Ragged([o.workplaces for o in occ]).pick(eo, rng.random(n)),
        "r": Ragged([o.roles for o in occ]).pick(eo, rng.random(n)),
        "d": np.array(V.DURATIONS)[np.minimum(rng.integers(0, len(V.DURATIONS), n), cap)],
    }
    which = rng.integers(0, len(V.EXPERIENCE_TEMPLATES), n)
    did = np.select(
        [which == i for i in range(len(V.EXPERIENCE_TEMPLATES))],
        [fill(t, fields) for t in V.EXPERIENCE_TEMPLATES],
        "",
    )
    fresh = (w["age"] < 23) & (rng.random(n) < 0.6)
    none_idx = np.where(fresh, 2, np.array([0, 1, 3])[rng.integers(0, 3, n)])
    none_text = np.where(rng.random(n) < 0.25, "", np.array(V.NO_EXPERIENCE)[none_idx])
    experience = np.where(exp_occ >= 0, did, none_text)

    # Wishes: the true occupation in the worker's words, or something vague.
    aliases = Ragged([o.aliases for o in occ])
    k = rng.integers(0, 1000, n)
    first = aliases.at(true_occ, k)
    second = np.where(rng.random(n) < 0.3, aliases.at(true_occ, k + 1), "")
    second = np.where(second == first, "", second)
    vague1 = _one_of(rng, V.VAGUE_WISHES, n)
    vague2 = np.where(rng.random(n) < 0.3, _one_of(rng, V.VAGUE_WISHES, n), "")
    vague2 = np.where(vague2 == vague1, "", vague2)
    also = np.where((rng.random(n) < 0.1) & (vague1 != first) & (vague1 != second), vague1, "")
    specific = join([first, second, also])
    desired = np.where(signal >= 2, join([vague1, vague2]), specific)

    # Employer of the employed: at home (workshop, cooperative, public post), in a programme
    # enterprise, or elsewhere in China.
    cname = np.array([geo.name(c) for c in geo.counties])[w["county"]]
    at_home = cat(cname, _one_of(rng, V.VILLAGES, n), _one_of(rng, V.HOME_EMPLOYERS, n))
    outside = cat(_one_of(rng, V.OUTSIDE_CITIES, n), _brand(rng, n), _one_of(rng, V.OUTSIDE_INDUSTRIES, n))
    if len(enterprise_names):
        ours = enterprise_names[rng.integers(0, len(enterprise_names), n)]
        away = np.where(rng.random(n) < 0.4, ours, outside)
    else:
        away = outside
    employer = np.where(w["employed"], np.where(w["to_tj"], away, at_home), "")
    return dict(
        name=name,
        education=education,
        skills=skill_text,
        experience=experience,
        desired=desired,
        employer=employer,
    )
