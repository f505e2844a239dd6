"""The service's fast paths: in-memory answers while the fit is current, batched encodes, raw JSON."""

from __future__ import annotations

import pytest

from api.schemas import RecommendationOut
from matcher.store import import_paths, open_engine, store_generation
from tests.api.conftest import SECRET, auth, make_world, open_client
from tests.fakes import FakeEncoder


@pytest.fixture()
def own_world(tmp_path, db_url):
    return make_world(tmp_path, url=db_url)


def test_a_write_by_another_process_is_answered_fresh_and_starts_a_refit(own_world, tmp_path):
    w = own_world
    enc = FakeEncoder()
    with open_client(w.url, enc, api_fresh_s=0) as client:
        services = client.app.state.services
        h = auth(w, "city_admin")
        url = f"/workers/{w.worker_own}/recommendations"
        n = len(enc.seen)
        before = client.get(url, params={"k": 5}, headers=h)
        assert before.status_code == 200 and len(enc.seen) == n  # in memory: nothing encoded
        fitted = store_generation(services.engine)

        # `laborbridge import` from another process: the worker now wishes another occupation.
        rows = (w.data / "workers.csv").read_text(encoding="utf-8").splitlines()
        header = rows[0].split(",")
        col = header.index("experience")
        changed = [rows[0]] + [
            ",".join(c if i != col else "夜班保安巡逻十年" for i, c in enumerate(r.split(",")))
            for r in rows[1:]
            if r.startswith(w.worker_own + ",")
        ]
        folder = tmp_path / "edit"
        folder.mkdir()
        (folder / "workers.csv").write_text("\n".join(changed) + "\n", encoding="utf-8")
        report = import_paths(w.url, [folder], key=SECRET.encode())
        assert report.updated["workers"] == 1

        n = len(enc.seen)
        after = client.get(url, params={"k": 5}, headers=h)
        assert after.status_code == 200
        assert any("夜班保安巡逻十年" in t for t in enc.seen[n:])  # the stored record, encoded as a profile
        services.recommender.wait()
        assert services.recommender.fitted_on(store_generation(services.engine)) is not None
        assert store_generation(services.engine) > fitted
        n = len(enc.seen)
        again = client.get(url, params={"k": 5}, headers=h)
        assert again.status_code == 200 and len(enc.seen) == n  # refitted: in memory again
        assert again.json() == after.json()


def test_an_edit_through_the_service_refits_once(own_world):
    w = own_world
    with open_client(w.url, FakeEncoder(), api_fresh_s=0) as client:
        holder = client.app.state.services.recommender
        h = auth(w, "city_admin")
        fits = holder.fits
        r = client.patch(f"/workers/{w.worker_own}", json={"experience": "仓库叉车司机五年"}, headers=h)
        assert r.status_code == 200, r.text
        for _ in range(3):  # each read sees the new generation; none may start a second refit
            assert client.get(f"/workers/{w.worker_own}/recommendations", headers=h).status_code == 200
        holder.wait()
        assert holder.fits == fits + 1
        assert not holder.refreshing


def test_store_generation_counts_batches(own_world):
    engine = open_engine(own_world.url)
    try:
        g = store_generation(engine)
        assert g >= 1
        assert import_paths(own_world.url, [own_world.data], key=SECRET.encode()).written is False
        assert store_generation(engine) == g  # an import that changes nothing is no new generation
    finally:
        engine.dispose()


# ----------------------------------------------------------------------------- raw JSON
def test_recommendation_bodies_are_exactly_the_schema(client, world):
    h = auth(world, "city_admin")
    services = client.app.state.services
    services.recommender.wait()
    for w in services.recommender.current.dataset_.workers[:40]:
        body = client.get(f"/workers/{w.worker_id}/recommendations", params={"k": 10}, headers=h).json()
        assert RecommendationOut.model_validate(body).model_dump(mode="json") == body


def test_profiles_skip_the_disk_cache_but_the_fit_fills_it(own_world, tmp_path):
    from api.schemas import WorkerProfile
    from embeddings.cache import CachedEncoder, text_key
    from matcher.records import Worker
    from matcher.scoring.features import worker_text

    inner = FakeEncoder()
    cached = CachedEncoder(inner, tmp_path / "cache")
    w = own_world
    profile = {
        "gender": "female",
        "birth_year": 1992,
        "home_county_code": "623024",
        "experience": "在制衣厂做缝纫工六年，一次性的说明",
        "desired_occupations": ["缝纫工"],
        "mobility": "anywhere",
    }
    with open_client(w.url, cached) as client:
        n_fitted = len(cached.cache)
        assert n_fitted > 0  # the fit's texts are kept
        r = client.post("/recommendations", json={"profile": profile, "k": 3}, headers=auth(w, "city_admin"))
        assert r.status_code == 200, r.text
        text = worker_text(Worker.model_validate(WorkerProfile.model_validate(profile).model_dump()))
        assert text in inner.seen  # encoded by the model...
        found, _ = cached.cache.get_many([text_key("passage", text)])
        assert not found.any()  # ...and not written to the disk cache
        assert len(cached.cache) == n_fitted


def test_a_dead_model_process_answers_503_not_500():
    from api.errors import status_of
    from embeddings.errors import EncoderProcessError

    assert status_of(EncoderProcessError("the encoder process is gone (exit code -9)")) == 503
