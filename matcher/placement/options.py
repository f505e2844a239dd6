"""What a placement run is asked to do: :class:`PlaceOptions` and the optimizer's side rules.

The side rules (dorm beds, district targets, county fairness, co-villager groups, priority for the
unemployed) are switched on by :class:`RuleOptions` and recorded with the run. Two wishes are
respected before solving: employed workers are not moved unless ``include_employed`` (reason
``employed_kept``), and no edge scoring below ``min_fit`` is offered (a worker left with none:
``no_fitting_job``).

What a user may ask for is one typed object, :class:`PlaceRequest` (with its :class:`RuleRequest`):
the API's request body, the console's form and the ``place`` command's flags all become one, checked
by the same constraints, and :meth:`PlaceRequest.options` turns it into the :class:`PlaceOptions` a
run takes (adding what the caller's settings decide: model, cache, CSCO table, scoring, k default).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Annotated, Any, Literal, Self

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError

from matcher.errors import ConfigError
from matcher.geo import TIANJIN_DISTRICTS
from matcher.scoring.factors import ScoringConfig

if TYPE_CHECKING:
    from embeddings.index import IndexKind
    from optimizer.problem import Mode, Priority

DEFAULT_K = 100
"""Candidate jobs per worker offered to the solver when neither ``--k``, a tuned configuration nor the
``k`` setting says otherwise."""
DEFAULT_MIN_FIT = 0.30
"""The documented default minimum fit: a worker is never placed into a job scoring below it.

With the default weights the factors that say nothing about the work itself (wage, pairing,
accommodation, employment base) add up to at most 0.24, so a job must also fit the worker's wished
occupation or text to reach 0.30. On the generated sample (2,000 workers, 500 jobs) 0 places 845,
0.25 places 701, 0.30 560 and 0.35 448, with the placements in a wished occupation all but the same
(190, 189, 187, 187 of at most 247). It can be tuned per run (``PlaceOptions.min_fit``,
``laborbridge place --min-fit``, the API's ``min_fit``); 0 offers every rule-passing candidate, as
runs did before the option existed.
"""

DEFAULT_WISH_BONUS = 1.0
"""The documented default wish priority: the placement objective adds this (in score units) times the
probability that the candidate's job is of one of the worker's wished occupations, from the code
beliefs of both sides (:func:`matcher.scoring.occupations.wish_probability`; a job with a given code
is certain of it). The flow so maximises the total score plus the bonus times the expected number of
placements in a wished occupation. Scores lie in [0, 1], so at 1 a job surely of a wished occupation
wins over any job elsewhere for that worker, and such an opening goes to a worker who wished it
rather than to one for whom it scores a little higher; a job only probably of it gets that share of
the priority. (On real phrases, cross-fitted title models, ``python -m benchmarks quality_real``, the
probability placed 0.709 / 0.791 of the most possible in their true wished occupation where a whole
bonus for agreeing most likely codes placed 0.677 / 0.719.) ``run.json``'s ``wishes`` reports both the
placements whose most likely codes agree and the expected count. The reported objective is the total
score plus the bonuses; 0 solves on scores alone (``PlaceOptions.wish_bonus``, ``laborbridge place
--wish-bonus``)."""


EMPLOYED_KEPT = "employed_kept"
"""Unplaced reason: an employed worker (已就业) left where they work (``include_employed`` off)."""


NO_FITTING_JOB = "no_fitting_job"
"""Unplaced reason: the worker had candidate jobs, but every one scored below ``min_fit``."""


DEFAULT_TIME_LIMIT_S = 120.0
"""Seconds a run's side rules get when the request names none (the county max–min search, the
Lagrangian rounds and the MIP stages after the flow): the best assignment found by then is kept,
with status ``FEASIBLE`` and its gap. Without a default, one county share on the sample ran for
over 24 minutes (issue 17)."""


HELD_EMPLOYED, HELD_NO_FIT = 1, 2


HELD_BACK_REASONS = {HELD_EMPLOYED: EMPLOYED_KEPT, HELD_NO_FIT: NO_FITTING_JOB}


@dataclass(frozen=True)
class RuleOptions:
    """The optimizer's side rules for a run (see :mod:`optimizer.rules`); all off by default."""

    dorm_beds: bool = True
    """Enterprises' dorm beds cap the workers placed away from home in jobs with accommodation."""
    district_targets: tuple[tuple[str, int], ...] = ()
    """(district code, placements of workers from its paired counties it should reach)."""
    county_share: float | None = None
    """County fairness (:mod:`optimizer.fairness`): each county's target is this fraction of its
    fair share (its share of the workers × the placements of the plain run); the worst county is
    raised first, a target out of reach is relaxed and reported, nobody is levelled down."""
    priority: Priority = "none"
    """``none``, ``lexicographic`` (most unemployed placed first) or ``weighted``."""
    priority_weight: float = 1.0
    groups: bool = False
    """Co-villager groups (``group_id``) go together to one enterprise, or not at all."""
    time_limit_s: float | None = DEFAULT_TIME_LIMIT_S
    """Seconds for the side rules after the flow (``None``: no limit)."""
    seed: int = 0

    def __post_init__(self) -> None:
        if self.priority not in ("none", "lexicographic", "weighted"):
            raise ConfigError(f"priority must be none, lexicographic or weighted, not {self.priority!r}")
        if self.county_share is not None and not 0.0 <= self.county_share <= 1.0:
            raise ConfigError(f"county share {self.county_share} must lie in [0, 1]")
        for code, n in self.district_targets:
            if code not in TIANJIN_DISTRICTS:
                raise ConfigError(f"district target {code}={n}: {code} is not a Tianjin district code")
            if n < 0:
                raise ConfigError(f"district target {code}={n} must be >= 0")
        if self.time_limit_s is not None and self.time_limit_s <= 0:
            raise ConfigError(f"time limit {self.time_limit_s} must be > 0 seconds")


@dataclass(frozen=True)
class PlaceOptions:
    """Parameters of a placement run (all of them recorded in ``run.json`` and the store)."""

    year: int
    k: int = DEFAULT_K
    """Candidates per worker: the smallest k losing ≤ 0.5% objective and placements against all
    rule-passing edges at 10k workers / 2k jobs (benchmarks/bench_candidates.py)."""
    model: str = "default"
    cache_dir: str | None = None
    mode: Mode = "score"
    index_kind: IndexKind = "auto"
    scoring: ScoringConfig = field(default_factory=ScoringConfig)
    csco_path: str | None = None
    """CSCO table for the occupation factor; ``None``: the shipped table."""
    title_model: str | None = None
    """Title → code model (``TitleClassifier.save``); ``None``: the shipped one."""
    rules: RuleOptions = field(default_factory=RuleOptions)
    exclude: tuple[tuple[str, str], ...] = ()
    """(worker_id, enterprise_id) pairs that must not be matched (e.g. a re-match after leaving)."""
    shadow_prices: bool = False
    """Compute the marginal value of one more opening per job (costly on large runs: off by default)."""
    include_employed: bool = False
    """Also move employed workers (已就业); off by default: the programme stabilises their jobs."""
    min_fit: float = DEFAULT_MIN_FIT
    """Candidate edges scoring below this are dropped before solving (0 <= min_fit < 1)."""
    certify: bool = True
    """Price out every rule-passing pair missing from the top-k graph (:mod:`matcher.placement.pricing`),
    so the answer is optimal over all of them, not only over the top k; off: the top-k optimum."""
    k_auto: bool = False
    """``k`` was not given: with ``certify``, the run picks it from the data
    (:func:`matcher.placement.pricing.auto_k`; k is then a speed knob only)."""
    wish_bonus: float = DEFAULT_WISH_BONUS
    """Objective bonus of a candidate surely in a wished occupation, scaled by the probability that it is
    (0 <= wish_bonus <= 10)."""

    def __post_init__(self) -> None:
        if not 0.0 <= self.min_fit < 1.0:
            raise ConfigError(f"min fit {self.min_fit} must lie in [0, 1)")
        if not 0.0 <= self.wish_bonus <= 10.0:
            raise ConfigError(f"wish bonus {self.wish_bonus} must lie in [0, 10]")

    def params(self) -> dict[str, Any]:
        """The parameters that shape the result, JSON-ready (``cache_dir`` left out: it does not)."""
        out: dict[str, Any] = {
            "year": self.year,
            "k": self.k,
            "model": self.model,
            "mode": self.mode,
            "index_kind": self.index_kind,
            "scoring": self.scoring.model_dump(),
            "rules": asdict(self.rules),
            "exclude": [list(p) for p in self.exclude],
            "include_employed": self.include_employed,
            "min_fit": self.min_fit,
            "certify": self.certify,
            "k_auto": self.k_auto,
            "wish_bonus": self.wish_bonus,
        }
        out["rules"]["district_targets"] = {c: n for c, n in self.rules.district_targets}
        return out


def _tianjin_district(code: str) -> str:
    if code not in TIANJIN_DISTRICTS:
        raise ValueError(f"{code} is not a Tianjin district code ({', '.join(sorted(TIANJIN_DISTRICTS))})")
    return code


District = Annotated[str, Field(pattern=r"^1201\d\d$"), AfterValidator(_tianjin_district)]
"""A Tianjin district's code, checked when the request is made (never a run queued to fail on it)."""


class RuleRequest(BaseModel):
    """The side rules a user may ask for (API ``rules``, console check boxes, ``place`` flags)."""

    model_config = ConfigDict(extra="forbid")

    dorm_beds: bool = True
    """Enterprises' dorm beds cap the workers placed away from home in jobs with accommodation."""
    groups: bool = False
    """Co-villager groups go together to one enterprise, or not at all."""
    priority: Literal["none", "lexicographic", "weighted"] = "none"
    """``lexicographic``: most unemployed placed first; ``weighted``: a bonus for the unemployed."""
    county_share: Annotated[float, Field(ge=0, le=1)] | None = None
    """County fairness: each paired county's target is this share of its fair share of the
    placements; the worst county is raised first (max–min), a target out of reach is relaxed."""
    district_targets: Annotated[
        dict[District, Annotated[int, Field(ge=0, le=1_000_000)]], Field(max_length=16)
    ] = Field(default_factory=dict)
    """District code → placements of workers from its paired counties it should reach."""
    time_limit_s: Annotated[float, Field(gt=0)] | None = None
    """Seconds for the side rules after the flow; ``None``: ``DEFAULT_TIME_LIMIT_S``."""
    seed: int = 0
    """Solver seed (recorded)."""

    def options(self) -> RuleOptions:
        return RuleOptions(
            dorm_beds=self.dorm_beds,
            district_targets=tuple(sorted(self.district_targets.items())),
            county_share=self.county_share,
            priority=self.priority,
            groups=self.groups,
            time_limit_s=self.time_limit_s or DEFAULT_TIME_LIMIT_S,
            seed=self.seed,
        )


class PlaceRequest(BaseModel):
    """What a user asks of a placement run, before the caller's settings fill in the rest."""

    model_config = ConfigDict(extra="forbid")

    k: Annotated[int, Field(ge=1, le=2000)] | None = None
    """Candidate jobs per worker offered to the solver; ``None``: the caller's default (settings)."""
    year: Annotated[int, Field(ge=1950, le=2100)] | None = None
    """Reference year for ages and pairings; ``None``: the caller's (this year)."""
    mode: Literal["score", "count"] = "score"
    """``score``: maximise the total score; ``count``: most placements first, then score."""
    rules: RuleRequest = Field(default_factory=RuleRequest)
    shadow_prices: bool = False
    """Compute where one more opening helps most (costly on large runs)."""
    include_employed: bool = False
    """Also move employed workers (已就业); off: they keep their jobs (reason ``employed_kept``)."""
    min_fit: Annotated[float, Field(ge=0, lt=1)] = DEFAULT_MIN_FIT
    """Never place into a job scoring below this (reason ``no_fitting_job``)."""
    certify: bool = True
    """Price out every rule-passing pair beyond the top k: the answer is optimal over all of them."""
    wish_bonus: Annotated[float, Field(ge=0, le=10)] = DEFAULT_WISH_BONUS
    """Objective bonus of a placement surely in a wished occupation, scaled by the probability that it
    is (0: scores alone)."""

    @classmethod
    def checked(cls, flags: Mapping[str, str] | None = None, **values: Any) -> Self:
        """Validate ``values``; a bad one is a :class:`ConfigError` naming it (by its entry in
        ``flags``, e.g. ``{"rules.time_limit_s": "--time-limit"}``, else by its field)."""
        try:
            return cls.model_validate(values)
        except ValidationError as exc:
            err = exc.errors()[0]
            where = ".".join(str(x) for x in err["loc"][:2]) or "request"
            raise ConfigError(f"{(flags or {}).get(where, where)}: {err['msg']}") from exc

    def options(
        self,
        *,
        year: int,
        k: int,
        model: str = "default",
        cache_dir: str | None = None,
        csco_path: str | None = None,
        scoring: ScoringConfig | None = None,
        exclude: tuple[tuple[str, str], ...] = (),
        k_auto: bool = False,
    ) -> PlaceOptions:
        """The run's options: this request, with ``year`` and ``k`` where it leaves them open;
        ``k_auto``: the caller's ``k`` is only a default, and a certified run may pick its own."""
        return PlaceOptions(
            year=self.year or year,
            k=self.k or k,
            k_auto=self.k is None and k_auto,
            model=model,
            cache_dir=cache_dir,
            mode=self.mode,
            scoring=scoring or ScoringConfig(),
            csco_path=csco_path,
            rules=self.rules.options(),
            exclude=exclude,
            shadow_prices=self.shadow_prices,
            include_employed=self.include_employed,
            min_fit=self.min_fit,
            certify=self.certify,
            wish_bonus=self.wish_bonus,
        )
