"""Property-based fuzzing of every operation in the OpenAPI schema (schemathesis-style, Hypothesis only).

For each operation, Hypothesis draws path, query and body values from the operation's own schema
(mostly valid, sometimes arbitrary JSON), and a key of any role. Every answer must be below 500, a
2xx JSON body must match the response schema the API declares, an error body must carry a
``detail``, and no body may hold an unmasked ID or phone number (the client checks every response).
It runs against its own store, since it edits records.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.api.conftest import make_world, open_client

pytestmark = pytest.mark.slow
SKIP = {("post", "/placements")}  # each example would queue a full batch run; covered in test_routes
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=10),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=8,
)


@pytest.fixture(scope="module")
def fuzz(tmp_path_factory, encoder):
    world = make_world(tmp_path_factory.mktemp("fuzz"), n_workers=150, n_jobs=50, seed=5)
    with open_client(world.url, encoder) as client:
        yield world, client, client.app.openapi()


def _resolve(schema: dict, root: dict) -> dict:
    while "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        schema = root["components"]["schemas"][name]
    return schema


def values(schema: dict, root: dict, depth: int = 0) -> st.SearchStrategy[Any]:
    """A strategy for instances of a JSON schema (the subset FastAPI emits)."""
    schema = _resolve(schema, root)
    if "anyOf" in schema:
        return st.one_of([values(s, root, depth + 1) for s in schema["anyOf"]])
    if "enum" in schema:
        return st.sampled_from(schema["enum"])
    if "const" in schema:
        return st.just(schema["const"])
    kind = schema.get("type")
    if kind == "string":
        if "pattern" in schema:
            return st.from_regex(schema["pattern"], fullmatch=True).filter(lambda s: len(s) <= 64)
        return st.text(min_size=schema.get("minLength", 0), max_size=min(schema.get("maxLength", 30), 30))
    if kind == "integer":
        return st.integers(schema.get("minimum", -(10**6)), schema.get("maximum", 10**7))
    if kind == "number":
        return st.floats(allow_nan=False, allow_infinity=False)
    if kind == "boolean":
        return st.booleans()
    if kind == "null":
        return st.none()
    if kind == "array":
        return st.lists(
            values(schema.get("items", {}), root, depth + 1), max_size=min(schema.get("maxItems", 4), 4)
        )
    if kind == "object" or "properties" in schema:
        props = schema.get("properties", {})
        required = set(schema.get("required", ()))
        return st.fixed_dictionaries(
            {k: values(v, root, depth + 1) for k, v in props.items() if k in required},
            optional={k: values(v, root, depth + 1) for k, v in props.items() if k not in required},
        )
    return JSON


def conforms(value: Any, schema: dict, root: dict) -> bool:
    """Whether ``value`` is an instance of ``schema`` (the subset FastAPI emits)."""
    schema = _resolve(schema, root)
    if "anyOf" in schema:
        return any(conforms(value, s, root) for s in schema["anyOf"])
    if "enum" in schema and value not in schema["enum"]:
        return False
    if "const" in schema and value != schema["const"]:
        return False
    kind = schema.get("type")
    checks = {
        "string": lambda v: isinstance(v, str),
        "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
        "number": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
        "boolean": lambda v: isinstance(v, bool),
        "null": lambda v: v is None,
        "array": lambda v: isinstance(v, list),
        "object": lambda v: isinstance(v, dict),
    }
    if kind in checks and not checks[kind](value):
        return False
    if kind == "string" and "pattern" in schema and not re.search(schema["pattern"], value):
        return False
    if kind == "array":
        if len(value) > schema.get("maxItems", len(value)):
            return False
        return all(conforms(v, schema.get("items", {}), root) for v in value)
    if isinstance(value, dict) and (kind == "object" or "properties" in schema):
        props = schema.get("properties", {})
        if not set(schema.get("required", ())) <= set(value):
            return False
        extra = schema.get("additionalProperties", True)
        for k, v in value.items():
            if k in props:
                if not conforms(v, props[k], root):
                    return False
            elif isinstance(extra, dict) and not conforms(v, extra, root):
                return False
            elif extra is False:
                return False
    return True


def operations(schema: dict) -> list[tuple[str, str, dict]]:
    return [
        (method, path, op)
        for path, ops in schema["paths"].items()
        for method, op in ops.items()
        if (method, path) not in SKIP
    ]


def _schema() -> dict:
    from api.app import create_app

    return create_app().openapi()


@pytest.mark.parametrize(("method", "path"), [(m, p) for m, p, _ in operations(_schema())])
def test_operation_never_fails_and_answers_its_schema(fuzz, method, path):
    world, client, root = fuzz
    op = root["paths"][path][method]
    known = [world.worker_own, world.worker_other, world.job_own, world.enterprise_own, "workers", "jobs"]

    @settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
    @given(data=st.data())
    def check(data: st.DataObject) -> None:
        url, query = path, {}
        for p in op.get("parameters", []):
            strat = values(p["schema"], root)
            if p["in"] == "path":
                v = data.draw(st.sampled_from(known) | strat.map(str), label=p["name"])
                url = url.replace("{" + p["name"] + "}", quote(str(v), safe="") or "x")
            elif p["in"] == "query" and data.draw(st.booleans()):
                query[p["name"]] = data.draw(strat | JSON.map(str), label=p["name"])
        role = data.draw(st.sampled_from(sorted(world.keys)), label="role")
        kwargs: dict[str, Any] = {"params": query, "headers": {"X-API-Key": world.keys[role]}}
        content = op.get("requestBody", {}).get("content", {})
        if "application/json" in content:
            body_schema = content["application/json"]["schema"]
            kwargs["json"] = data.draw(values(body_schema, root) | JSON, label="body")
        elif "multipart/form-data" in content:
            name = data.draw(
                st.sampled_from(["workers.csv", "jobs.csv", "enterprises.xlsx", "pairings.json", "a.txt"])
            )
            blob = data.draw(
                st.binary(max_size=300) | st.sampled_from([(world.data / "jobs.csv").read_bytes()])
            )
            kwargs["files"] = [("files", (name, blob, "application/octet-stream"))]
        r = client.request(method.upper(), url, **kwargs)
        assert r.status_code < 500, (method, url, kwargs, r.text)
        declared = op["responses"].get(str(r.status_code)) or op["responses"].get("default")
        assert declared is not None or r.status_code in (401, 403, 404, 405, 413, 422, 429), (
            r.status_code,
            url,
        )
        if r.headers.get("content-type", "").startswith("application/json"):
            body = r.json()
            if r.status_code < 300:
                resp_schema = declared["content"]["application/json"]["schema"]
                assert conforms(body, resp_schema, root), (url, body)
            else:
                assert "detail" in body

    check()
