"""The programme report's one-page progress chart (matplotlib, Agg), with Chinese text.

Chinese needs a CJK font: the first installed one of :data:`CJK_FAMILIES` (Debian/Ubuntu:
``apt-get install fonts-noto-cjk``). Without one the chart would draw boxes, so
:func:`cjk_font` raises :class:`~matcher.errors.ConfigError` instead.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from matcher.errors import ConfigError

CJK_FAMILIES = (
    "Noto Sans CJK SC",
    "Noto Serif CJK SC",
    "Source Han Sans SC",
    "WenQuanYi Zen Hei",
    "WenQuanYi Micro Hei",
    "SimHei",
    "Microsoft YaHei",
    "PingFang SC",
    "AR PL UMing CN",
)


def cjk_font() -> str:
    """Path of an installed font that has Chinese glyphs; :class:`ConfigError` if there is none.

    matplotlib lists the fonts from a cache it wrote when it first ran, so a font installed since
    (``apt-get install fonts-noto-cjk`` after a first chart) is not in that list: when the list has
    none, the system's font files are scanned once more before giving up."""
    from matplotlib import font_manager

    fonts = {f.name: f.fname for f in font_manager.fontManager.ttflist}
    candidates = [fonts[n] for n in CJK_FAMILIES if n in fonts]
    candidates += sorted(f for n, f in fonts.items() if "CJK" in n and f not in candidates)
    found = _with_chinese(candidates) or _with_chinese(_system_cjk_fonts(set(fonts.values())))
    if found is None:
        hint = "install one (Debian/Ubuntu: apt-get install fonts-noto-cjk)"
        raise ConfigError(f"no Chinese font for the report chart: {hint}")
    return found


def _with_chinese(paths: list[str]) -> str | None:
    """The first of the font files ``paths`` that has Chinese glyphs."""
    from matplotlib.ft2font import FT2Font

    for path in paths:
        try:
            if FT2Font(path).get_char_index(ord("区")):
                return path
        except (OSError, RuntimeError):
            continue
    return None


def _system_cjk_fonts(known: set[str]) -> list[str]:
    """The system's font files not in matplotlib's list (``known``) whose family is one of
    :data:`CJK_FAMILIES` or names CJK."""
    from matplotlib import font_manager
    from matplotlib.ft2font import FT2Font

    out = []
    for path in sorted(set(font_manager.findSystemFonts()) - known):
        try:
            family = FT2Font(path).family_name
        except (OSError, RuntimeError):
            continue
        if family in CJK_FAMILIES or "CJK" in family:
            out.append(path)
    return out


def progress_chart(figures: Mapping[str, Any], path: str | Path) -> Path:
    """Draw the chart (districts' jobs offered and placed vs target; city jobs and job fairs) to a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import font_manager
    from matplotlib import pyplot as plt

    font_path = cjk_font()
    font_manager.fontManager.addfont(font_path)
    family = font_manager.FontProperties(fname=font_path).get_name()
    city = figures["city"]
    districts = [d for d in figures["districts"] if d["target"]]
    with plt.rc_context({"font.family": family, "axes.unicode_minus": False}):
        fig = plt.figure(figsize=(11.69, 8.27), dpi=110)  # A4 landscape
        grid = fig.add_gridspec(2, 2, width_ratios=[1.7, 1], height_ratios=[1, 1])
        ax = fig.add_subplot(grid[:, 0])
        names = [d["district"] for d in districts]
        y = list(range(len(districts)))
        ax.barh(
            [v + 0.2 for v in y],
            [d["jobs_offered"] for d in districts],
            height=0.4,
            label="提供岗位",
            color="#4C72B0",
        )
        ax.barh(
            [v - 0.2 for v in y],
            [d["placed_from_paired"] for d in districts],
            height=0.4,
            label="结对县劳动力安置",
            color="#55A868",
        )
        target = districts[0]["target"] if districts else 1000
        ax.axvline(target, color="#C44E52", linestyle="--", label=f"年度目标 {target:,}")
        ax.set_yticks(y, names)
        ax.invert_yaxis()
        ax.set_xlabel("人 / 个")
        ax.set_title("各区对口帮扶岗位与安置")
        ax.legend(loc="lower right")
        for row, (label, done, goal) in enumerate(
            (
                ("全市提供岗位（累计）", city["jobs_offered_cumulative"], city["jobs_target"]),
                ("专场招聘会（累计）", city["job_fairs_cumulative"], city["job_fairs_target"]),
            )
        ):
            a = fig.add_subplot(grid[row, 1])
            share = done / goal if goal else 0.0
            a.barh([0], [min(share, 1.0)], color="#4C72B0")
            a.barh([0], [1.0], color="none", edgecolor="#333333")
            a.set_xlim(0, 1)
            a.set_yticks([])
            a.set_xticks([0, 0.25, 0.5, 0.75, 1.0], ["0", "25%", "50%", "75%", "100%"])
            a.set_title(f"{label}：{done:,} / {goal:,}（{share:.0%}）")
        fig.suptitle(f"{figures['year']}年东西部劳务协作进度（安置 {city['placed']:,} 人）", fontsize=16)
        fig.tight_layout(rect=(0, 0, 1, 0.95))
        path = Path(path)
        fig.savefig(path)
        plt.close(fig)
    return path
