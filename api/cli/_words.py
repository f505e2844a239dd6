"""The command line's words in Chinese (the default) and English, chosen by ``LABORBRIDGE_LANG``.

They extend the console's catalog (:mod:`api.web.i18n`): the same lookup (English falls back to
Chinese, then to the key), and the console's own words where both say the same thing (the reasons
a worker stays unplaced, ``reason.*``). What goes to a script stays as it was: ``--json`` output,
ids, codes and numbers are never translated.
"""

from __future__ import annotations

from collections.abc import Callable

ZH: dict[str, str] = {
    "place.title": "劳务协作批量匹配",
    "place.workers": "劳动力",
    "place.jobs": "岗位",
    "place.openings": "招聘人数",
    "place.candidates": "候选配对",
    "place.placed": "安置",
    "place.wished": "安置在期望职业",
    "place.wished_value": "{n}，最多可能 {most}",
    "place.coded": "由岗位名称推断职业代码的岗位",
    "place.unplaced": "未安置",
    "place.none": "无",
    "place.objective": "目标值",
    "place.bound": "上界",
    "place.bound_value": "{bound}（差距 {gap}）",
    "place.unplaced_rules": "未安置（按规则）",
    "place.pairing_late": "晚于 --year 的结对",
    "place.pairing_late_value": "{n} 个结对晚于 {year} 年开始，未计入：{pairs}",
    "place.and_more": " 等（另 {n} 个见 run.json）",
    "place.status": "求解状态",
    "place.certificate": "最优性证明",
    "place.certificate_off": "未做（仅在前 k 个候选中最优）",
    "place.cert_optimal": (
        "在全部 {n} 个符合硬性规则的配对中最优（定价 {rounds} 轮，在前 {k} 候选图上补充 {added} 条边）"
    ),
    "place.cert_flow_bound": (
        "流核心在全部 {n} 个符合规则的配对中最优（定价 {rounds} 轮，补充 {added} 条边）；"
        "附加规则下与其最优值 {flow} 的差距至多 {gap}"
    ),
    "place.cert_none": "未能在全部 {n} 个符合规则的配对上证明最优：{reason}",
    "place.model": "模型",
    "place.rejected": "被拒绝的数据行",
    "place.rule": "规则：{name}",
    "place.relaxed": "放宽：{name}",
    "place.relaxed_value": "{achieved} / {target}（{binding}）",
    "place.seconds": "用时（秒）：{step}",
    "place.run_id": "运行编号",
    "place.run_in": "{run_id}，记录于 {db}",
    "place.output": "输出目录",
    "runs.title": "已记录的匹配运行",
    "runs.id": "运行编号",
    "runs.created": "时间（UTC）",
    "runs.kind": "类型",
    "runs.status": "状态",
    "runs.placed": "安置",
    "runs.workers": "劳动力",
    "runs.objective": "目标值",
    "runs.input": "输入",
    "runs.model": "模型",
    "runs.kind.plan": "批量匹配",
    "runs.kind.rematch": "再匹配",
    "diff.input": "输入",
    "diff.same": "相同",
    "diff.changed": "已变化（{a} → {b}）",
    "diff.parameter": "参数 {name}",
    "diff.model": "模型",
    "diff.version": "版本 {name}",
    "diff.objective": "目标值",
    "diff.placed": "安置",
    "diff.newly_placed": "新安置",
    "diff.newly_unplaced": "不再安置",
    "diff.moved": "换岗",
    "diff.identical": "两次运行的安置结果完全相同",
    "diff.changes": "有变化的劳动力（前 {n} 人，共 {total} 人）",
    "diff.worker": "劳动力",
    "diff.change": "变化",
    "diff.job_a": "运行 A 的岗位",
    "diff.job_b": "运行 B 的岗位",
    "diff.score_change": "匹配度变化",
    "diff.why": "原因",
    "fairs.recorded": "已记录 {n} 场招聘会",
    "fairs.rejected": "被拒绝的行：{n}",
    "report.line": (
        "{year}年：提供岗位 {offered}，{start}年以来累计 {cumulative}（{end}年目标 {target}）；"
        "安置 {placed}；专场招聘会累计 {fairs} / {fair_target}"
    ),
    "supply.sent": "已记录发送：{n} 个县，发送日期 {date}",
}

EN: dict[str, str] = {
    "place.title": "laborbridge placement",
    "place.workers": "workers",
    "place.jobs": "jobs",
    "place.openings": "openings",
    "place.candidates": "candidates",
    "place.placed": "placed",
    "place.wished": "placed in a wished occupation",
    "place.wished_value": "{n} of at most {most}",
    "place.coded": "jobs coded from their titles",
    "place.unplaced": "unplaced",
    "place.none": "none",
    "place.objective": "objective",
    "place.bound": "bound",
    "place.bound_value": "{bound} (gap {gap})",
    "place.unplaced_rules": "unplaced by rule",
    "place.pairing_late": "pairing after --year",
    "place.pairing_late_value": "{n} pairing(s) start after {year}, not counted: {pairs}",
    "place.and_more": " and {n} more (run.json)",
    "place.status": "solver status",
    "place.certificate": "certificate",
    "place.certificate_off": "off (optimal over the top-k graph)",
    "place.cert_optimal": (
        "optimal over all {n} rule-passing pairs "
        "({rounds} pricing round(s), {added} edge(s) added to the top-{k} graph)"
    ),
    "place.cert_flow_bound": (
        "flow core optimal over all {n} rule-passing pairs "
        "({rounds} pricing round(s), {added} edge(s) added); "
        "side rules enforced with a gap of at most {gap} to its optimum {flow}"
    ),
    "place.cert_none": "not certified over all {n} rule-passing pairs: {reason}",
    "place.model": "model",
    "place.rejected": "rejected rows",
    "place.rule": "rule: {name}",
    "place.relaxed": "relaxed: {name}",
    "place.relaxed_value": "{achieved} of {target} ({binding})",
    "place.seconds": "seconds: {step}",
    "place.run_id": "run id",
    "place.run_in": "{run_id} in {db}",
    "place.output": "output",
    "runs.title": "recorded runs",
    "runs.id": "run id",
    "runs.created": "created (UTC)",
    "runs.kind": "kind",
    "runs.status": "status",
    "runs.placed": "placed",
    "runs.workers": "workers",
    "runs.objective": "objective",
    "runs.input": "input",
    "runs.model": "model",
    "runs.kind.plan": "plan",
    "runs.kind.rematch": "rematch",
    "diff.input": "input",
    "diff.same": "same",
    "diff.changed": "changed ({a} → {b})",
    "diff.parameter": "parameter {name}",
    "diff.model": "model",
    "diff.version": "version {name}",
    "diff.objective": "objective",
    "diff.placed": "placed",
    "diff.newly_placed": "newly placed",
    "diff.newly_unplaced": "newly unplaced",
    "diff.moved": "moved",
    "diff.identical": "identical assignments",
    "diff.changes": "changed workers (first {n} of {total})",
    "diff.worker": "worker",
    "diff.change": "change",
    "diff.job_a": "job A",
    "diff.job_b": "job B",
    "diff.score_change": "score change",
    "diff.why": "why",
    "fairs.recorded": "recorded {n} job fairs",
    "fairs.rejected": "rejected: {n}",
    "report.line": (
        "{year}: jobs offered {offered} in {year}, {cumulative} since {start} of {target} by {end}; "
        "placed {placed}; job fairs (专场) {fairs} of {fair_target}"
    ),
    "supply.sent": "recorded as sent: {n} counties on {date}",
}


def cli_lang() -> str:
    """The language the command line speaks: the ``lang`` setting (``LABORBRIDGE_LANG``)."""
    from api.settings import get_settings
    from api.web.i18n import pick_lang

    return pick_lang(get_settings().lang)


def words(lang: str | None = None) -> Callable[..., str]:
    """``t(key, **values)`` in ``lang`` (default: :func:`cli_lang`), over the console's catalog and
    the command line's own words."""
    from api.web.i18n import CATALOG
    from api.web.i18n import ZH as CONSOLE_ZH

    lang = lang or cli_lang()
    own = EN if lang == "en" else ZH
    table = {**CATALOG[lang], **own}

    def t(key: str, **values: object) -> str:
        text = table.get(key) or ZH.get(key) or CONSOLE_ZH.get(key) or key
        return text.format(**values) if values else text

    return t
