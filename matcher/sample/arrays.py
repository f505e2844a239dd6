"""Whole-column string and choice helpers on numpy arrays, shared by the sample's draws and texts.

No per-row Python work, so a million rows take seconds.
"""

from __future__ import annotations

import re
from functools import reduce
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    pass


def cat(*parts: object) -> np.ndarray:
    """Element-wise concatenation of string arrays and scalars."""
    return np.asarray(reduce(np.strings.add, (np.asarray(p, dtype=np.str_) for p in parts)))


def zfill(numbers: np.ndarray, width: int) -> np.ndarray:
    """Integers as zero-padded decimal strings (an empty input gives an empty string array)."""
    text = np.asarray(numbers).astype(np.str_)
    return np.strings.zfill(text, width) if len(text) else text


def join(parts: list[np.ndarray], sep: str = ";") -> np.ndarray:
    """Join the non-empty items of each row with ``sep`` (multi-valued cells)."""
    out = np.asarray(parts[0], dtype=np.str_)
    for p in parts[1:]:
        p = np.asarray(p, dtype=np.str_)
        both = (np.strings.str_len(out) > 0) & (np.strings.str_len(p) > 0)
        out = np.where(both, cat(out, sep, p), np.strings.add(out, p))
    return out


def fill(template: str, fields: dict[str, np.ndarray]) -> np.ndarray:
    """``template`` with ``{name}`` replaced by ``fields[name]`` row by row."""
    tokens = re.split(r"\{(\w+)\}", template)
    return cat(*(fields[t] if i % 2 else t for i, t in enumerate(tokens) if t or i % 2))


def choice_by_group(rng: np.random.Generator, group: np.ndarray, probs: np.ndarray) -> np.ndarray:
    """For each row, a category index drawn with ``probs[group[row]]`` (each row sums to 1)."""
    cum = np.cumsum(probs, axis=1)
    cum[:, -1] = 1.0
    u = rng.random(len(group))
    return (u[:, None] >= cum[group]).sum(axis=1)


class Ragged:
    """Lists of strings of different lengths, picked from by list index, vectorised."""

    def __init__(self, lists: list[tuple[str, ...]] | tuple[tuple[str, ...], ...]) -> None:
        self.flat = np.array([x for items in lists for x in items] + [""], dtype=np.str_)
        self.counts = np.array([len(items) for items in lists], dtype=np.int64)
        self.offsets = np.concatenate([[0], np.cumsum(self.counts)[:-1]]).astype(np.int64)

    def at(self, which: np.ndarray, k: np.ndarray) -> np.ndarray:
        """Item ``k mod len`` of list ``which`` ("" for an empty list)."""
        c = self.counts[which]
        idx = self.offsets[which] + np.mod(k, np.maximum(c, 1))
        return np.where(c > 0, self.flat[idx], "")

    def pick(self, which: np.ndarray, u: np.ndarray) -> np.ndarray:
        """A uniformly chosen item of list ``which``, given uniforms ``u`` in [0, 1)."""
        return self.at(which, np.floor(u * self.counts[which]).astype(np.int64))
