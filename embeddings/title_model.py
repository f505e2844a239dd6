"""A trained title → CSCO 2022 classifier: job-board titles and workers' wishes in their own words.

Five channels, each a score over every code of the table, stacked by a weighted sum:

- ``ngram``: multinomial logistic regression on hashed character 1–3-grams (1 + log count,
  L2-normalised rows), stored as a low-rank factorisation so the shipped model stays small
  (log-probabilities);
- ``dense``: multinomial logistic regression on the encoder's ``query`` vector of the cleaned title
  (standardised per dimension; log-probabilities);
- ``knn``: the best cosine, per code, between the title and the code's examples (labelled titles,
  CSCO names and aliases);
- ``text``: the cosine between the title and the code's CSCO text (name and definition, encoded as a
  ``passage``): evidence for codes no labelled title shows;
- ``vote``: a soft vote of the labelled titles nearest the title (the ``VOTE_K`` best cosines, each
  counting ``exp((cos - 1) / VOTE_TAU)`` for its code; the log of the sum per code): where ``knn``
  sees one neighbour, this sees how many close titles agree (annotators' habits, such as labelling a
  kind of title with the 小类 or a catch-all code, show in the neighbourhood).

Each title is read twice, cleaned (:func:`~embeddings.occupations.clean_title`: brackets, salaries
and perks dropped) and as written (normalised only), and every channel is the mean of the two readings
where they differ: cleaning usually drops noise, but sometimes the telling part (``技术经理（塑胶薄膜）``).

Both regressions share strength along the code tree: a code's weight vector is the sum of its own,
its 小类's and its 中类's (a rare code learns from its siblings; a title labelled only at the 小类
teaches every code below it). Training rows are the labelled titles (weighted ``title_weight``) and
every CSCO name and alias (weight 1).

The channel weights (``channel_weights_``) are fitted on held-out folds of the labelled titles (each
fold trains a model of its own) by the log-loss of the softmax of the weighted sum: they weigh the
channels against each other and calibrate the top probability in one step, so that a caller can take
an answer below 0.5 as unsure (``laborbridge classify`` marks it) and keep the top 3 codes.

A second stage then reorders the ``RERANK_K`` best codes of the weighted sum
(:meth:`TitleClassifier._rerank_features`): a softmax over the candidates of a score (linear plus a
small hidden layer) of per-candidate evidence
that the weighted sum cannot express (each channel's rank of the code as well as its score, the summed
probability of the code's 小类, whether the code is itself a 小类, how often the annotators chose it).
It is fitted on the same held-out predictions, after the channel weights, and only shares out the
probability the weighted sum gave the candidates, so the codes below them keep theirs.

The fitted state is arrays only (no training text): :meth:`save` writes them to one ``.npz`` file and
:meth:`load` reads it back. The dense, kNN and text channels need the encoder the model was trained
with (``model_id_``); with another encoder they are left out and the n-gram channel answers alone.
"""

from __future__ import annotations

import functools
import hashlib
import inspect
import logging
import os
import zlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Self

import numpy as np

from embeddings.encoder import normalise_rows
from embeddings.lexical import normalize_text
from embeddings.occupations import Classification, Occupation, clean_title, minor_group, ranked_matches

__all__ = ["TitleClassifier"]

log = logging.getLogger(__name__)

_N_BUCKETS = 1 << 13
_CHUNK = 1024
_FORMAT = 4
CHANNELS = ("ngram", "dense", "knn", "text", "vote")
# What held-out folds of the dev titles gave (cross-fold stacking); used when fit() does not calibrate.
_DEFAULT_WEIGHTS = (0.4, 0.07, 30.0, 62.0, 0.15)
# The vote channel: the nearest labelled titles that vote, the cosine scale of a vote, and the floor
# of the per-code sum (a code no near title carries), chosen on inner folds of the dev titles.
VOTE_K = 20
VOTE_TAU = 0.05
_VOTE_FLOOR = 1e-3
# The second stage: how many of the best codes it reorders, its hidden units, the L2 penalty of its
# parameters, and the smoothing count of the label prior (chosen on inner folds of the dev titles).
RERANK_K = 20
_RERANK_UNITS = 8
_RERANK_L2 = 1e-2
_PRIOR_SMOOTHING = 0.5


def _grams(text: str) -> list[int]:
    text = text.lower()
    out: list[int] = []
    for n in (1, 2, 3):
        out.extend(zlib.crc32(text[i : i + n].encode()) % _N_BUCKETS for i in range(len(text) - n + 1))
    return out


def ngram_matrix(texts: Sequence[str]) -> Any:
    """Sparse (n, buckets) hashed char 1–3-gram features: 1 + log(count), rows L2-normalised."""
    import scipy.sparse as sp

    rows, cols = [], []
    for i, t in enumerate(texts):
        g = _grams(t)
        rows.extend([i] * len(g))
        cols.extend(g)
    x = sp.csr_matrix(
        (np.ones(len(rows), np.float32), (rows, cols)), shape=(len(texts), _N_BUCKETS), dtype=np.float32
    )
    x.sum_duplicates()
    x.data = 1.0 + np.log(x.data)
    norms = np.sqrt(np.asarray(x.multiply(x).sum(axis=1)).ravel())
    norms[norms == 0] = 1.0
    return sp.diags((1.0 / norms).astype(np.float32)) @ x


def _log_softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=1, keepdims=True))


class TitleClassifier:
    """Titles → CSCO codes with calibrated probabilities (see the module docstring).

    Parameters
    ----------
    encoder:
        An :class:`embeddings.encoder.Encoder` (the dense and kNN channels); ``None``: n-grams only.
    title_weight:
        Weight of a labelled title against one CSCO name or alias in the loss.
    l2_dense, l2_ngram:
        L2 penalties of the two regressions.
    steps, learning_rate:
        Full-batch Adam steps and step size.
    rank:
        Rank of the stored n-gram weight matrix.
    channel_weights:
        Weights of the ``ngram, dense, knn, text, vote`` channels when :meth:`fit` does not fit them
        (``calibrate_folds`` 0); the default is what held-out folds of the dev titles gave.
    seed:
        Seeds the training (the answer is reproducible).
    """

    def __init__(
        self,
        encoder: Any | None = None,
        *,
        title_weight: float = 3.0,
        l2_dense: float = 1e-4,
        l2_ngram: float = 1e-5,
        steps: int = 100,
        learning_rate: float = 0.05,
        rank: int = 256,
        channel_weights: tuple[float, float, float, float, float] = _DEFAULT_WEIGHTS,
        seed: int = 0,
    ) -> None:
        self.encoder = encoder
        self.title_weight = title_weight
        self.l2_dense = l2_dense
        self.l2_ngram = l2_ngram
        self.steps = steps
        self.learning_rate = learning_rate
        self.rank = rank
        self.channel_weights = channel_weights
        self.seed = seed

    # ------------------------------------------------------------------ fitting
    def fit(
        self,
        occupations: Sequence[Occupation],
        examples: Sequence[tuple[str, str]],
        *,
        calibrate_folds: int = 2,
    ) -> Self:
        """Train on labelled ``(title, code)`` examples and the table's names and aliases.

        ``calibrate_folds`` > 1 fits the channel weights on that many held-out folds of the examples
        (each fold trains a model of its own) and the second stage on the same held-out predictions;
        0 keeps the ``channel_weights`` parameter and fits no second stage.
        """
        if not occupations:
            raise ValueError("no occupations to fit on")
        self._index_codes(occupations)
        index = {c: i for i, c in enumerate(self.codes_)}
        labelled = []
        for i, (title, code) in enumerate(examples):
            if code not in index:
                raise ValueError(f"examples[{i}]: unknown occupation code {code!r}")
            labelled.append((clean_title(title), index[code]))
        written = [title for title, _ in examples]
        table = [(t, i) for i, o in enumerate(self.occupations_) for t in dict.fromkeys((o.name, *o.aliases))]
        self.model_id_ = str(getattr(self.encoder, "model_id", "")) if self.encoder is not None else ""
        self.text_vectors_ = None
        if self.encoder is not None:
            # Name and definition of each code, a passage to the title's query (E5's asymmetric task).
            texts = [f"{o.name}：{o.definition}" if o.definition else o.name for o in self.occupations_]
            self.text_vectors_ = normalise_rows(self.encoder.encode(texts, kind="passage"))
        self.channel_weights_ = np.asarray(self.channel_weights, dtype=np.float32)
        self.rerank_: _Reranker | None = None
        self.label_prior_ = _label_prior(np.array([c for _, c in labelled], dtype=np.int64), len(self.codes_))
        # n-grams alone (no encoder) are one softmax fitted by cross-entropy: nothing to weigh
        if self.encoder is not None and calibrate_folds > 1 and len(labelled) >= 2 * calibrate_folds:
            self.channel_weights_, self.rerank_ = self._fit_channel_weights(
                labelled, written, table, calibrate_folds
            )
        self._fit_arrays(labelled, table)
        return self

    def _fit_arrays(self, labelled: list[tuple[str, int]], table: list[tuple[str, int]]) -> None:
        texts = [t for t, _ in labelled] + [t for t, _ in table]
        y = np.array([c for _, c in labelled] + [c for _, c in table], dtype=np.int64)
        w = np.r_[np.full(len(labelled), self.title_weight), np.ones(len(table))].astype(np.float32)
        minor, middle = self._tree()
        w_ngram, self.ngram_bias_ = _train_softmax(
            ngram_matrix(texts), y, w, minor, middle, self.l2_ngram, self.steps, self.learning_rate, self.seed
        )
        u, s, vt = np.linalg.svd(w_ngram, full_matrices=False)
        r = min(self.rank, s.shape[0])
        self.ngram_left_ = (u[:, :r] * s[:r]).astype(np.float32)
        self.ngram_right_ = vt[:r].astype(np.float32)
        self.dense_mean_ = self.dense_scale_ = self.dense_weights_ = self.dense_bias_ = None
        self.example_vectors_ = self.example_codes_ = self.example_is_title_ = None
        if self.encoder is not None:
            vectors = self._encode(texts)
            self.dense_mean_ = vectors.mean(axis=0)
            self.dense_scale_ = vectors.std(axis=0) + 1e-6
            self.dense_weights_, self.dense_bias_ = _train_softmax(
                (vectors - self.dense_mean_) / self.dense_scale_,
                y,
                w,
                minor,
                middle,
                self.l2_dense,
                self.steps,
                self.learning_rate,
                self.seed,
            )
            order = np.argsort(y, kind="stable")
            self.example_vectors_ = vectors[order].astype(np.float32)
            self.example_codes_ = y[order]
            self.example_is_title_ = order < len(labelled)

    def _fit_channel_weights(
        self, labelled: list[tuple[str, int]], written: list[str], table: list[tuple[str, int]], folds: int
    ) -> tuple[np.ndarray, _Reranker]:
        """The channel weights minimising the held-out log-loss of the softmax of the weighted sum,
        then the second stage fitted on the same held-out predictions (``written``: the labelled titles
        as given, for the views of :meth:`_view_channels`). Each fold's label prior counts only the
        titles its model trained on."""
        perm = np.random.default_rng(self.seed).permutation(len(labelled))
        held_out: list[np.ndarray] = []
        priors: list[np.ndarray] = []
        gold: list[int] = []
        for part in np.array_split(perm, folds):
            held = set(part.tolist())
            kept = [x for i, x in enumerate(labelled) if i not in held]
            self._fit_arrays(kept, table)
            held_out.append(self._view_channels([written[i] for i in part]))
            prior = _label_prior(np.array([c for _, c in kept], dtype=np.int64), len(self.codes_))
            priors.append(np.broadcast_to(prior, (len(part), prior.shape[0])))
            gold.extend(labelled[i][1] for i in part)
        channels, target = np.concatenate(held_out, axis=1), np.asarray(gold)
        self.channel_weights_ = _fit_stack(channels, target, self.channel_weights_)
        lp = _log_softmax(np.tensordot(self.channel_weights_, channels, axes=1))
        features, candidates = self._rerank_features(lp, channels, np.concatenate(priors))
        rerank = _Reranker.fit(features, candidates, target, _RERANK_L2, _RERANK_UNITS, self.seed)
        return self.channel_weights_, rerank

    def _tree(self) -> tuple[np.ndarray, np.ndarray]:
        minor_of = {c: i for i, c in enumerate(sorted({minor_group(c) for c in self.codes_}))}
        middle_of = {c: i for i, c in enumerate(sorted({c[:4] for c in self.codes_}))}
        minor = np.array([minor_of[minor_group(c)] for c in self.codes_], dtype=np.int64)
        middle = np.array([middle_of[c[:4]] for c in self.codes_], dtype=np.int64)
        return minor, middle

    # ------------------------------------------------------------------ scoring
    def _channels_ready(self) -> bool:
        """Dense and kNN channels apply: fitted with an encoder, and this encoder is that model."""
        return (
            self.dense_weights_ is not None
            and self.encoder is not None
            and str(getattr(self.encoder, "model_id", "")) == self.model_id_
        )

    def _channels(self, cleaned: Sequence[str]) -> np.ndarray:
        """(channels, titles, codes): the n-gram channel, then with the encoder dense, kNN, text, vote."""
        x = ngram_matrix(cleaned)
        out = [_log_softmax(np.asarray((x @ self.ngram_left_) @ self.ngram_right_) + self.ngram_bias_)]
        if self._channels_ready():
            assert self.text_vectors_ is not None
            v = self._encode(list(cleaned))
            out.append(
                _log_softmax(
                    ((v - self.dense_mean_) / self.dense_scale_) @ self.dense_weights_ + self.dense_bias_
                )
            )
            sims = v @ self.example_vectors_.T  # type: ignore[union-attr]
            out.append(self._best_example_cosine(sims))
            out.append(normalise_rows(v) @ self.text_vectors_.T)
            out.append(self._title_vote(sims))
        return np.stack(out).astype(np.float32)

    def _view_channels(self, titles: Sequence[str]) -> np.ndarray:
        """:meth:`_channels` averaged over two views of each title: cleaned (:func:`clean_title`) and
        as written (normalised only), where the two differ. Cleaning drops what is usually noise, but
        sometimes the telling part (a bracketed speciality such as ``技术经理（塑胶薄膜）``); the average
        keeps both readings, and held-out folds of the dev titles scored it better than either alone."""
        cleaned = [clean_title(t) for t in titles]
        written = [normalize_text(t).strip() for t in titles]
        out = self._channels(cleaned)
        differ = [i for i, (c, w) in enumerate(zip(cleaned, written, strict=True)) if c != w]
        if differ:
            out[:, differ] = 0.5 * (out[:, differ] + self._channels([written[i] for i in differ]))
        return out

    def _logits(self, titles: Sequence[str]) -> np.ndarray:
        channels = self._view_channels(titles)
        if channels.shape[0] == 1:
            # The n-gram regression alone, a plain softmax fitted by cross-entropy, is used as it is.
            return channels[0]
        if self.rerank_ is None:
            return np.tensordot(self.channel_weights_, channels, axes=1)
        prior = np.broadcast_to(self.label_prior_, channels.shape[1:])
        lp = _log_softmax(np.tensordot(self.channel_weights_, channels, axes=1))
        features, candidates = self._rerank_features(lp, channels, prior)
        return self.rerank_.apply(lp, features, candidates)

    def _rerank_features(
        self, lp: np.ndarray, channels: np.ndarray, prior: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """(titles, ``RERANK_K``, features) of the best codes of the weighted sum (its log-probabilities
        ``lp``, titles × codes), and those codes.

        Per candidate: each channel's score and the log of 1 + its rank among all codes in that
        channel, the weighted sum's log-probability and rank, the log of the summed probability of
        the candidate's 小类, whether the candidate is a 小类-level code (``x-xx-xx-00``) and the
        label prior ``prior`` (titles, codes)."""
        k = min(RERANK_K, lp.shape[1])
        candidates = np.argsort(-lp, axis=1, kind="stable")[:, :k]
        rows = np.arange(lp.shape[0])[:, None]
        columns = []
        for channel in channels:
            score = channel[rows, candidates]
            columns.append(score)
            above = np.zeros(score.shape, dtype=np.int64)
            for j in range(k):  # (titles, codes) at a time: the rank of one candidate per title
                above[:, j] = (channel > score[:, j : j + 1]).sum(axis=1)
            columns.append(np.log1p(above))
        minor = self.minor_index_
        mass = np.zeros((lp.shape[0], int(minor.max()) + 1), dtype=np.float64)
        np.add.at(mass.T, minor, np.exp(lp, dtype=np.float64).T)
        columns += [
            lp[rows, candidates],
            np.broadcast_to(np.log1p(np.arange(k, dtype=np.float32)), candidates.shape),
            np.log(np.maximum(mass, 1e-30))[rows, minor[candidates]],
            self.minor_level_[candidates],
            prior[rows, candidates],
        ]
        return np.stack(columns, axis=-1).astype(np.float32), candidates

    def _index_codes(self, occupations: Sequence[Occupation]) -> None:
        """The table's codes, each code's 小类 index and whether it is a 小类-level code."""
        self.occupations_ = list(occupations)
        self.codes_ = [o.code for o in self.occupations_]
        self.minor_index_ = self._tree()[0]
        self.minor_level_ = np.array([c == minor_group(c) for c in self.codes_], dtype=np.float32)

    def _best_example_cosine(self, sims: np.ndarray) -> np.ndarray:
        """Per code, the best of ``sims`` (titles, examples) over the code's examples."""
        assert self.example_codes_ is not None
        starts = np.flatnonzero(np.r_[True, np.diff(self.example_codes_) != 0])
        out = np.full((sims.shape[0], len(self.codes_)), -1.0, dtype=np.float32)
        out[:, self.example_codes_[starts]] = np.maximum.reduceat(sims, starts, axis=1)
        return out

    def _title_vote(self, sims: np.ndarray) -> np.ndarray:
        """Per code, the log of the soft votes of the ``VOTE_K`` labelled titles nearest each title."""
        assert self.example_codes_ is not None and self.example_is_title_ is not None
        out = np.full((sims.shape[0], len(self.codes_)), _VOTE_FLOOR, dtype=np.float32)
        titles = np.flatnonzero(self.example_is_title_)
        k = min(VOTE_K, titles.size)
        if k:
            near = np.argpartition(-sims[:, titles], k - 1, axis=1)[:, :k]
            votes = np.exp((np.take_along_axis(sims[:, titles], near, axis=1) - 1.0) / VOTE_TAU)
            rows = np.repeat(np.arange(sims.shape[0]), k)
            np.add.at(out, (rows, self.example_codes_[titles[near]].ravel()), votes.ravel())
        return np.log(out)

    def predict_proba(self, titles: Sequence[str]) -> np.ndarray:
        """Calibrated probabilities ``(n_titles, n_codes)`` in :attr:`codes_` order."""
        self._check_fitted()
        if isinstance(titles, str):
            raise ValueError("titles must be a sequence of strings, not a single string")
        titles = list(titles)
        out = np.zeros((len(titles), len(self.codes_)), dtype=np.float32)
        for s in range(0, len(titles), _CHUNK):  # bounds the (titles, codes) arrays of each channel
            out[s : s + _CHUNK] = np.exp(_log_softmax(self._logits(titles[s : s + _CHUNK])))
        return out

    def classify(self, titles: Sequence[str], k: int = 5) -> list[Classification]:
        """Best code per title with its probability and the top ``k`` candidates."""
        out: list[Classification] = []
        for s in range(0, len(titles), _CHUNK):
            out.extend(self._classify(titles[s : s + _CHUNK], k))
        return out

    def _classify(self, titles: Sequence[str], k: int) -> list[Classification]:
        proba = self.predict_proba(titles)
        out = []
        for title, matches in zip(
            titles, ranked_matches(proba, k, self.codes_, self.occupations_), strict=True
        ):
            best = matches[0]
            out.append(Classification(title, best.code, best.name, best.score, False, matches))
        return out

    def classify_one(self, title: str, k: int = 5) -> Classification:
        """One title; the same answer as :meth:`classify` on a list of one."""
        return self.classify([title], k)[0]

    # ------------------------------------------------------------------ persistence
    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the fitted arrays (float16 where precision allows) to one ``.npz`` file."""
        self._check_fitted()
        arrays: dict[str, Any] = {
            "format": np.int64(_FORMAT),
            "codes": np.array(self.codes_),
            "codes_sha": np.array(_codes_sha(self.codes_)),
            "model_id": np.array(self.model_id_),
            "channel_weights": self.channel_weights_.astype(np.float32),
            "ngram_left": self.ngram_left_.astype(np.float16),
            "ngram_right": self.ngram_right_.astype(np.float16),
            "ngram_bias": self.ngram_bias_.astype(np.float32),
            "label_prior": self.label_prior_.astype(np.float32),
        }
        if self.rerank_ is not None:
            arrays |= self.rerank_.arrays()
        if self.dense_weights_ is not None:
            # fitted together with the dense weights (``_fit_dense``): set whenever they are
            assert self.dense_mean_ is not None and self.dense_scale_ is not None
            assert self.dense_bias_ is not None
            assert self.example_vectors_ is not None and self.example_codes_ is not None
            assert self.example_is_title_ is not None and self.text_vectors_ is not None
            arrays |= {
                "dense_mean": self.dense_mean_.astype(np.float32),
                "dense_scale": self.dense_scale_.astype(np.float32),
                "dense_weights": self.dense_weights_.astype(np.float16),
                "dense_bias": self.dense_bias_.astype(np.float32),
                "example_vectors": self.example_vectors_.astype(np.float16),
                "example_codes": self.example_codes_.astype(np.int16),
                "example_is_title": self.example_is_title_,
                "text_vectors": self.text_vectors_.astype(np.float16),
            }
        path = Path(path)
        tmp = path.with_name(f"{path.stem}.{os.getpid()}.tmp.npz")
        np.savez_compressed(tmp, **arrays)
        os.replace(tmp, path)

    @classmethod
    def load(
        cls, path: str | os.PathLike[str], occupations: Sequence[Occupation], encoder: Any | None = None
    ) -> TitleClassifier:
        """A fitted classifier from :meth:`save`'s file; ``occupations`` must be the table it was
        trained on (same codes, same order), else ``ValueError``."""
        data = _read_arrays(Path(path))
        if int(data["format"]) != _FORMAT:
            raise ValueError(f"{path}: title model format {int(data['format'])}, expected {_FORMAT}")
        codes = [o.code for o in occupations]
        if str(data["codes_sha"]) != _codes_sha(codes):
            raise ValueError(f"{path}: the title model was trained on another CSCO table")
        self = cls(encoder)
        self._index_codes(occupations)
        self.model_id_ = str(data["model_id"])
        self.channel_weights_ = np.asarray(data["channel_weights"], dtype=np.float32)
        self.label_prior_ = np.asarray(data["label_prior"], dtype=np.float32)
        self.rerank_ = _Reranker.from_arrays(data)
        self.ngram_left_ = data["ngram_left"]
        self.ngram_right_ = data["ngram_right"]
        self.ngram_bias_ = data["ngram_bias"]
        self.dense_mean_ = data.get("dense_mean")
        self.dense_scale_ = data.get("dense_scale")
        w = data.get("dense_weights")
        self.dense_weights_ = w
        self.dense_bias_ = data.get("dense_bias")
        self.example_vectors_ = data.get("example_vectors")
        ec = data.get("example_codes")
        self.example_codes_ = None if ec is None else ec.astype(np.int64)
        self.example_is_title_ = data.get("example_is_title")
        self.text_vectors_ = data.get("text_vectors")
        if self.dense_weights_ is not None and encoder is not None and not self._channels_ready():
            log.warning(
                "title model trained with %s; encoder %s differs: occupation codes from n-grams alone",
                self.model_id_,
                getattr(encoder, "model_id", "?"),
            )
        return self

    # ------------------------------------------------------------------ internals
    def _encode(self, texts: list[str]) -> np.ndarray:
        assert self.encoder is not None
        return np.asarray(self.encoder.encode(texts, kind="query"), dtype=np.float32)

    def _check_fitted(self) -> None:
        if not hasattr(self, "codes_"):
            raise RuntimeError("TitleClassifier is not fitted; call fit() or load() first")


def fit_source(calibrated: bool) -> str:
    """The source of everything that shapes the arrays a fit saves (a cache of fits keys on it): the
    fitting path and the title cleaning (all of :mod:`embeddings.occupations`), and with fitted
    channel weights (``calibrated``) the prediction path too. An edit that only changes how a fitted
    model predicts keeps uncalibrated fits valid."""
    import embeddings.occupations as occupations
    from embeddings.lexical import normalize_text

    common = inspect.getsource(occupations) + inspect.getsource(normalize_text)
    if calibrated:
        return inspect.getsource(inspect.getmodule(fit_source)) + common  # type: ignore[arg-type]
    parts = (
        _grams, ngram_matrix, _SparseMatmul, _train_softmax, _codes_sha, normalise_rows, TitleClassifier.fit,
        TitleClassifier._fit_arrays, TitleClassifier._tree, TitleClassifier._encode, TitleClassifier.save,
        TitleClassifier.load,
    )  # fmt: skip
    return f"{_N_BUCKETS} {_FORMAT}\n" + "".join(inspect.getsource(p) for p in parts) + common


@functools.lru_cache(maxsize=4)
def _arrays(path: Path, mtime_ns: int, size: int) -> dict[str, np.ndarray]:
    with np.load(path, allow_pickle=False) as f:  # float16 on disk, float32 to compute with
        return {k: f[k].astype(np.float32) if f[k].dtype == np.float16 else f[k] for k in f.files}


def _read_arrays(path: Path) -> dict[str, np.ndarray]:
    """The arrays of a saved model, read once per process while the file is unchanged (a refit of
    the service, or every test, would otherwise decompress ten megabytes again)."""
    st = path.stat()
    return _arrays(path.resolve(), st.st_mtime_ns, st.st_size)


def _codes_sha(codes: Sequence[str]) -> str:
    return hashlib.sha256("\n".join(codes).encode()).hexdigest()[:16]


def _label_prior(codes: np.ndarray, n_codes: int) -> np.ndarray:
    """The log of each code's smoothed share of the labelled titles ``codes`` (code indices)."""
    counts = np.bincount(codes, minlength=n_codes).astype(np.float64) + _PRIOR_SMOOTHING
    return np.log(counts / counts.sum()).astype(np.float32)


class _Reranker:
    """The second stage: a score of standardised per-candidate features ``x``, linear plus one small
    hidden layer (``x @ w + tanh(x @ hidden) @ out``), softmaxed over the candidates of each title
    (see the module docstring)."""

    _KEYS = ("rerank_weights", "rerank_hidden", "rerank_out", "rerank_mean", "rerank_scale")

    def __init__(
        self, weights: np.ndarray, hidden: np.ndarray, out: np.ndarray, mean: np.ndarray, scale: np.ndarray
    ) -> None:
        self.weights, self.hidden, self.out, self.mean, self.scale = weights, hidden, out, mean, scale

    @classmethod
    def fit(
        cls, features: np.ndarray, candidates: np.ndarray, gold: np.ndarray, l2: float, units: int, seed: int
    ) -> _Reranker:
        """Minimise the cross-entropy of the gold code among the candidates (titles whose gold code
        is not a candidate teach nothing here) plus ``l2`` times the squared parameters, with
        ``units`` hidden units started from ``seed``."""
        import torch

        flat = features.reshape(-1, features.shape[-1])
        mean, scale = flat.mean(axis=0), flat.std(axis=0) + 1e-6
        hit = candidates == gold[:, None]
        kept = hit.any(axis=1)
        x = torch.as_tensor((features[kept] - mean) / scale)
        target = torch.as_tensor(hit[kept].argmax(axis=1))
        generator = torch.Generator().manual_seed(seed)
        d = features.shape[-1]
        w = torch.zeros(d, requires_grad=True)
        hidden = (0.1 * torch.randn(d, units, generator=generator)).requires_grad_(True)
        out = torch.zeros(units, requires_grad=True)
        params = [w, hidden, out]
        opt = torch.optim.LBFGS(params, max_iter=300, line_search_fn="strong_wolfe")

        def closure() -> Any:
            opt.zero_grad()
            score = x @ w + torch.tanh(x @ hidden) @ out
            loss = torch.nn.functional.cross_entropy(score, target) + l2 * sum((p**2).sum() for p in params)
            loss.backward()
            return loss

        if kept.any():
            opt.step(closure)
        w_, hidden_, out_ = (a.detach().numpy().astype(np.float32) for a in params)
        return cls(w_, hidden_, out_, mean, scale)

    def apply(self, log_proba: np.ndarray, features: np.ndarray, candidates: np.ndarray) -> np.ndarray:
        """``log_proba`` (titles, codes) with the candidates' share of the probability redistributed
        by the score; the other codes keep theirs."""
        x = (features - self.mean) / self.scale
        score = x @ self.weights + np.tanh(x @ self.hidden) @ self.out
        rows = np.arange(log_proba.shape[0])[:, None]
        held = log_proba[rows, candidates]
        top = held.max(axis=1, keepdims=True)
        share = top + np.log(np.exp(held - top).sum(axis=1, keepdims=True))
        result = log_proba.copy()
        result[rows, candidates] = _log_softmax(score) + share
        return result

    def arrays(self) -> dict[str, np.ndarray]:
        values = (self.weights, self.hidden, self.out, self.mean, self.scale)
        return {k: v.astype(np.float32) for k, v in zip(self._KEYS, values, strict=True)}

    @classmethod
    def from_arrays(cls, data: dict[str, np.ndarray]) -> _Reranker | None:
        """The saved second stage; ``None`` for a model saved without one (fitted uncalibrated)."""
        if "rerank_weights" not in data:
            return None
        return cls(*(np.asarray(data[k], dtype=np.float32) for k in cls._KEYS))


def _fit_stack(channels: np.ndarray, gold: np.ndarray, init: np.ndarray) -> np.ndarray:
    """Non-negative weights ``w`` minimising the log-loss of ``softmax(sum_k w_k channels[k])``.

    ``channels`` is (channels, titles, codes) of held-out titles, ``gold`` their codes; L-BFGS over
    ``w = softplus(u)`` from ``init``.
    """
    import torch

    x = torch.as_tensor(channels)
    target = torch.as_tensor(gold, dtype=torch.int64)
    u = torch.tensor(np.log(np.expm1(np.maximum(init, 1e-3))), dtype=torch.float32, requires_grad=True)
    opt = torch.optim.LBFGS([u], max_iter=100, line_search_fn="strong_wolfe")

    def closure() -> Any:
        opt.zero_grad()
        z = torch.tensordot(torch.nn.functional.softplus(u), x, dims=1)
        loss = torch.nn.functional.cross_entropy(z, target)
        loss.backward()
        return loss

    opt.step(closure)
    return torch.nn.functional.softplus(u).detach().numpy().astype(np.float32)


class _SparseMatmul:
    """``x @ w`` for a fixed scipy CSR ``x`` with the transpose kept for the backward pass (torch's
    own sparse backward transposes ``x`` at every step)."""

    def __init__(self, x: Any) -> None:
        import torch

        def csr(m: Any) -> Any:
            m = m.tocsr()
            return torch.sparse_csr_tensor(
                torch.from_numpy(m.indptr.astype(np.int64)),
                torch.from_numpy(m.indices.astype(np.int64)),
                torch.from_numpy(m.data.astype(np.float32)),
                m.shape,
            )

        xt, xtt = csr(x), csr(x.T)

        class Fn(torch.autograd.Function):
            @staticmethod
            def forward(ctx: Any, w: Any) -> Any:
                return xt @ w

            @staticmethod
            def backward(ctx: Any, grad: Any) -> Any:
                return xtt @ grad

        self.apply = Fn.apply
        self.shape = x.shape


def _train_softmax(
    x: Any,
    y: np.ndarray,
    weight: np.ndarray,
    minor: np.ndarray,
    middle: np.ndarray,
    l2: float,
    steps: int,
    learning_rate: float,
    seed: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Weighted multinomial logistic regression with weights shared down the code tree.

    A code's weights are its own plus its 小类's plus its 中类's; returns the summed (d, C) weights
    and the (C,) biases. ``x`` is dense or scipy sparse. Full-batch Adam: with ~2,000 classes this
    takes seconds where an L-BFGS solver takes minutes.
    """
    import scipy.sparse as sp
    import torch

    torch.manual_seed(seed)
    n_codes = minor.shape[0]
    if sp.issparse(x):
        matmul = _SparseMatmul(x).apply
        d = x.shape[1]
    else:
        xt = torch.as_tensor(np.asarray(x, dtype=np.float32))
        d = xt.shape[1]

        def matmul(w: Any) -> Any:
            return xt @ w

    own = torch.zeros(d, n_codes, requires_grad=True)
    by_minor = torch.zeros(d, int(minor.max()) + 1, requires_grad=True)
    by_middle = torch.zeros(d, int(middle.max()) + 1, requires_grad=True)
    bias = torch.zeros(n_codes, requires_grad=True)
    mi, md = torch.as_tensor(minor), torch.as_tensor(middle)
    target, w = torch.as_tensor(y), torch.as_tensor(weight)
    opt = torch.optim.Adam([own, by_minor, by_middle, bias], lr=learning_rate)
    # Adam's moments of rarely active weights decay into subnormal floats, which the CPU handles
    # tens of times slower; flushing them to zero changes nothing measurable. The flag holds for the
    # calling thread only, so the loop runs on that thread (ten times faster than two threads without).
    flushed = torch.set_flush_denormal(True)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        for _ in range(steps):
            # Tree sharing: one product with the summed weights.
            z = matmul(own + by_minor[:, mi] + by_middle[:, md]) + bias
            per_row = torch.nn.functional.cross_entropy(z, target, reduction="none")
            loss = (per_row * w).sum() / w.sum()
            loss = loss + l2 * ((own**2).sum() + (by_minor**2).sum() + (by_middle**2).sum())
            opt.zero_grad()
            loss.backward()
            opt.step()
    finally:
        torch.set_num_threads(threads)
        if flushed:
            torch.set_flush_denormal(False)
    with torch.no_grad():
        full = own + by_minor[:, mi] + by_middle[:, md]
    return full.numpy().astype(np.float32), bias.detach().numpy().astype(np.float32)
