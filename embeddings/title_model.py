"""A trained title → CSCO 2022 classifier: job-board titles and workers' wishes in their own words.

Three channels, each a log-probability over every code of the table, summed and calibrated:

- ``dense``: multinomial logistic regression on the encoder's ``query`` vector of the cleaned title
  (standardised per dimension);
- ``ngram``: multinomial logistic regression on hashed character 1–3-grams (1 + log count,
  L2-normalised rows), stored as a low-rank factorisation so the shipped model stays small;
- ``knn``: the best cosine, per code, between the title and the code's examples (labelled titles,
  CSCO names and aliases), through a softmax with temperature ``knn_temperature``.

Both regressions share strength along the code tree: a code's weight vector is the sum of its own,
its 小类's and its 中类's (a rare code learns from its siblings; a title labelled only at the 小类
teaches every code below it). Training rows are the labelled titles (weighted ``title_weight``) and
every CSCO name and alias (weight 1). The summed log-probabilities are divided by ``temperature_``,
fitted on held-out folds so that the top probability is calibrated: a caller can take an answer
below 0.5 as unsure (``laborbridge classify`` marks it) and keep the top 3 codes.

The fitted state is arrays only (no training text): :meth:`save` writes them to one ``.npz`` file and
:meth:`load` reads it back. The dense and kNN channels need the encoder the model was trained with
(``model_id_``); with another encoder they are left out and the n-gram channel answers alone.
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

from embeddings.occupations import Classification, Occupation, clean_title, minor_group, ranked_matches

__all__ = ["TitleClassifier"]

log = logging.getLogger(__name__)

_N_BUCKETS = 1 << 13
_CHUNK = 1024
_FORMAT = 1


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
    knn_temperature:
        Softmax temperature of the kNN channel's cosines.
    rank:
        Rank of the stored n-gram weight matrix.
    temperature:
        Divides the summed log-probabilities when :meth:`fit` does not calibrate (``calibrate_folds``
        0); the default is what 3-fold calibration on the dev titles gave the shipped model (3.046:
        three channels that each believe themselves make an overconfident sum).
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
        knn_temperature: float = 20.0,
        rank: int = 256,
        temperature: float = 3.05,
        seed: int = 0,
    ) -> None:
        self.encoder = encoder
        self.title_weight = title_weight
        self.l2_dense = l2_dense
        self.l2_ngram = l2_ngram
        self.steps = steps
        self.learning_rate = learning_rate
        self.knn_temperature = knn_temperature
        self.rank = rank
        self.temperature = temperature
        self.seed = seed

    # ------------------------------------------------------------------ fitting
    def fit(
        self,
        occupations: Sequence[Occupation],
        examples: Sequence[tuple[str, str]],
        *,
        calibrate_folds: int = 3,
    ) -> Self:
        """Train on labelled ``(title, code)`` examples and the table's names and aliases.

        ``calibrate_folds`` > 1 fits the temperature on that many held-out folds of the examples
        (each fold trains a model of its own); 0 keeps the ``temperature`` parameter.
        """
        if not occupations:
            raise ValueError("no occupations to fit on")
        self.occupations_ = list(occupations)
        self.codes_ = [o.code for o in self.occupations_]
        index = {c: i for i, c in enumerate(self.codes_)}
        labelled = []
        for i, (title, code) in enumerate(examples):
            if code not in index:
                raise ValueError(f"examples[{i}]: unknown occupation code {code!r}")
            labelled.append((clean_title(title), index[code]))
        table = [(t, i) for i, o in enumerate(self.occupations_) for t in dict.fromkeys((o.name, *o.aliases))]
        self.model_id_ = str(getattr(self.encoder, "model_id", "")) if self.encoder is not None else ""
        self._fit_arrays(labelled, table)
        self.temperature_ = self.temperature
        if calibrate_folds > 1 and len(labelled) >= 2 * calibrate_folds:
            self.temperature_ = self._fit_temperature(labelled, table, calibrate_folds)
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
        self.example_vectors_ = self.example_codes_ = None
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

    def _fit_temperature(
        self, labelled: list[tuple[str, int]], table: list[tuple[str, int]], folds: int
    ) -> float:
        """The temperature minimising the held-out log-loss of the summed channels."""
        keep = {k: v for k, v in vars(self).items() if k.endswith("_") and not k.startswith("_")}
        perm = np.random.default_rng(self.seed).permutation(len(labelled))
        logits: list[np.ndarray] = []
        gold: list[np.ndarray] = []
        for part in np.array_split(perm, folds):
            held = set(part.tolist())
            self._fit_arrays([x for i, x in enumerate(labelled) if i not in held], table)
            tests = [labelled[i] for i in part]
            logits.append(self._logits([t for t, _ in tests]))
            gold.extend(c for _, c in tests)
        vars(self).update(keep)
        z, g = np.concatenate(logits), np.asarray(gold)
        grid = np.exp(np.linspace(np.log(0.3), np.log(10.0), 60))
        losses = [-_log_softmax(z / t)[np.arange(len(g)), g].mean() for t in grid]
        return float(grid[int(np.argmin(losses))])

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

    def _logits(self, cleaned: Sequence[str]) -> np.ndarray:
        x = ngram_matrix(cleaned)
        z = _log_softmax(np.asarray((x @ self.ngram_left_) @ self.ngram_right_) + self.ngram_bias_)
        if self._channels_ready():
            v = self._encode(list(cleaned))
            z = z + _log_softmax(
                ((v - self.dense_mean_) / self.dense_scale_) @ self.dense_weights_ + self.dense_bias_
            )
            z = z + _log_softmax(self.knn_temperature * self._best_example_cosine(v))
        return z

    def _best_example_cosine(self, v: np.ndarray) -> np.ndarray:
        assert self.example_vectors_ is not None and self.example_codes_ is not None
        sims = v @ self.example_vectors_.T
        starts = np.flatnonzero(np.r_[True, np.diff(self.example_codes_) != 0])
        out = np.full((v.shape[0], len(self.codes_)), -1.0, dtype=np.float32)
        out[:, self.example_codes_[starts]] = np.maximum.reduceat(sims, starts, axis=1)
        return out

    def predict_proba(self, titles: Sequence[str]) -> np.ndarray:
        """Calibrated probabilities ``(n_titles, n_codes)`` in :attr:`codes_` order."""
        self._check_fitted()
        if isinstance(titles, str):
            raise ValueError("titles must be a sequence of strings, not a single string")
        cleaned = [clean_title(t) for t in titles]
        # The temperature calibrates the sum of the three channels; the n-gram regression alone, a
        # plain softmax fitted by cross-entropy, is used as it is.
        temperature = self.temperature_ if self._channels_ready() else 1.0
        out = np.zeros((len(cleaned), len(self.codes_)), dtype=np.float32)
        for s in range(0, len(cleaned), _CHUNK):  # bounds the (titles, codes) arrays of each channel
            out[s : s + _CHUNK] = np.exp(_log_softmax(self._logits(cleaned[s : s + _CHUNK]) / temperature))
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
            "temperature": np.float64(self.temperature_),
            "knn_temperature": np.float64(self.knn_temperature),
            "ngram_left": self.ngram_left_.astype(np.float16),
            "ngram_right": self.ngram_right_.astype(np.float16),
            "ngram_bias": self.ngram_bias_.astype(np.float32),
        }
        if self.dense_weights_ is not None:
            # fitted together with the dense weights (``_fit_dense``): set whenever they are
            assert self.dense_mean_ is not None and self.dense_scale_ is not None
            assert self.dense_bias_ is not None
            assert self.example_vectors_ is not None and self.example_codes_ is not None
            arrays |= {
                "dense_mean": self.dense_mean_.astype(np.float32),
                "dense_scale": self.dense_scale_.astype(np.float32),
                "dense_weights": self.dense_weights_.astype(np.float16),
                "dense_bias": self.dense_bias_.astype(np.float32),
                "example_vectors": self.example_vectors_.astype(np.float16),
                "example_codes": self.example_codes_.astype(np.int16),
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
        self = cls(encoder, knn_temperature=float(data["knn_temperature"]))
        self.occupations_, self.codes_ = list(occupations), codes
        self.model_id_ = str(data["model_id"])
        self.temperature_ = float(data["temperature"])
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
    fitting path and the title cleaning (all of :mod:`embeddings.occupations`), and with temperature
    calibration (``calibrated``) the prediction path too. An edit that only changes how a fitted
    model predicts keeps uncalibrated fits valid."""
    import embeddings.occupations as occupations
    from embeddings.lexical import normalize_text

    common = inspect.getsource(occupations) + inspect.getsource(normalize_text)
    if calibrated:
        return inspect.getsource(inspect.getmodule(fit_source)) + common  # type: ignore[arg-type]
    parts = (
        _grams, ngram_matrix, _train_softmax, _codes_sha, TitleClassifier.fit, TitleClassifier._fit_arrays,
        TitleClassifier._tree, TitleClassifier._encode, TitleClassifier.save, TitleClassifier.load,
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
        coo = x.tocoo()
        xt = torch.sparse_coo_tensor(
            torch.from_numpy(np.vstack([coo.row, coo.col]).astype(np.int64)),
            torch.from_numpy(coo.data.astype(np.float32)),
            coo.shape,
            check_invariants=False,
        ).coalesce()
        matmul = torch.sparse.mm
    else:
        xt = torch.as_tensor(np.asarray(x, dtype=np.float32))
        matmul = torch.mm
    d = xt.shape[1]
    own = torch.zeros(d, n_codes, requires_grad=True)
    by_minor = torch.zeros(d, int(minor.max()) + 1, requires_grad=True)
    by_middle = torch.zeros(d, int(middle.max()) + 1, requires_grad=True)
    bias = torch.zeros(n_codes, requires_grad=True)
    mi, md = torch.as_tensor(minor), torch.as_tensor(middle)
    target, w = torch.as_tensor(y), torch.as_tensor(weight)
    opt = torch.optim.Adam([own, by_minor, by_middle, bias], lr=learning_rate)
    for _ in range(steps):
        # Tree sharing on the logits (cheaper than summing the (d, C) weight matrices each step).
        z = matmul(xt, own) + matmul(xt, by_minor)[:, mi] + matmul(xt, by_middle)[:, md] + bias
        per_row = torch.nn.functional.cross_entropy(z, target, reduction="none")
        loss = (per_row * w).sum() / w.sum()
        loss = loss + l2 * ((own**2).sum() + (by_minor**2).sum() + (by_middle**2).sum())
        opt.zero_grad()
        loss.backward()
        opt.step()
    with torch.no_grad():
        full = own + by_minor[:, mi] + by_middle[:, md]
    return full.numpy().astype(np.float32), bias.detach().numpy().astype(np.float32)
