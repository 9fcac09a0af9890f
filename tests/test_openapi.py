"""The OpenAPI document at /docs: every operation shows an example of what it returns, of its body
and of its path parameters, and every example is one the models accept."""

from __future__ import annotations

import json
import types
from typing import Annotated, Any, get_args, get_origin

import httpx
import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute, RouteContext, iter_route_contexts
from pydantic import BaseModel, TypeAdapter, ValidationError

from app.main import create_app
from tests.conftest import ADMIN, make_settings, post_webhook, processed

# Building the app opens nothing (the engine is made in the lifespan), so the routes can be listed
# at collection time and each becomes its own test case, named after its method and path.
APP = create_app(make_settings("sqlite+aiosqlite:///openapi-never-opened.db"))
DOC: dict[str, Any] = APP.openapi()
# app.routes holds included routers unexpanded (FastAPI >= 0.137); this yields one per endpoint.
ROUTES = [
    r
    for r in iter_route_contexts(APP.routes)
    if isinstance(r.original_route, APIRoute) and r.include_in_schema
]
OPERATIONS = [(r, m.lower()) for r in ROUTES for m in sorted(r.methods or ())]
IDS = [f"{method.upper()} {route.path_format}" for route, method in OPERATIONS]


def _operation(route: RouteContext, method: str) -> dict[str, Any]:
    operation: dict[str, Any] = DOC["paths"][route.path_format][method]
    return operation


def _resolve(ref: str) -> dict[str, Any]:
    node: Any = DOC
    for part in ref.removeprefix("#/").split("/"):
        node = node[part]
    return dict(node)


def _has_example(schema: dict[str, Any]) -> bool:
    if "example" in schema or schema.get("examples"):
        return True
    if "$ref" in schema:
        return _has_example(_resolve(schema["$ref"]))
    if "items" in schema:
        return _has_example(schema["items"])
    # An optional body is anyOf [model, null]: the null branch needs no example.
    branches = [
        s
        for key in ("anyOf", "oneOf", "allOf")
        for s in schema.get(key, [])
        if s.get("type") != "null"
    ]
    return bool(branches) and all(_has_example(s) for s in branches)


def _media_has_example(media: dict[str, Any]) -> bool:
    return "example" in media or bool(media.get("examples")) or _has_example(media["schema"])


def _success(operation: dict[str, Any]) -> tuple[str, dict[str, Any]] | None:
    """The first 2xx response that has a body: the one /docs shows first."""
    for code in sorted(operation["responses"]):
        response = operation["responses"][code]
        if code.startswith("2") and response.get("content"):
            return code, response["content"]
    return None


@pytest.mark.parametrize(("route", "method"), OPERATIONS, ids=IDS)
def test_success_response_has_an_example(route: RouteContext, method: str) -> None:
    success = _success(_operation(route, method))
    if success is None:
        return  # nothing to show, e.g. a 204
    code, content = success
    missing = [media for media, spec in content.items() if not _media_has_example(spec)]
    assert not missing, f"{code} {missing}: add an example to the response model or `responses=`"


@pytest.mark.parametrize(("route", "method"), OPERATIONS, ids=IDS)
def test_request_body_has_an_example(route: RouteContext, method: str) -> None:
    body = _operation(route, method).get("requestBody")
    if body is None:
        return
    missing = [media for media, spec in body["content"].items() if not _media_has_example(spec)]
    assert not missing, f"request body {missing}: add `examples` to the body model"


@pytest.mark.parametrize(("route", "method"), OPERATIONS, ids=IDS)
def test_path_parameters_have_examples(route: RouteContext, method: str) -> None:
    parameters = _operation(route, method).get("parameters", [])
    missing = [
        p["name"]
        for p in parameters
        if p["in"] == "path"
        and not ("example" in p or p.get("examples") or _has_example(p.get("schema", {})))
    ]
    assert not missing, f"path parameters {missing}: add `Path(examples=[...])`"


def _models_in(annotation: Any, found: set[type[BaseModel]]) -> set[type[BaseModel]]:
    """Every model an annotation reaches: itself, its fields' models, list items, union members."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        if annotation not in found:
            found.add(annotation)
            for field in annotation.model_fields.values():
                _models_in(field.annotation, found)
        return found
    origin = get_origin(annotation)
    if origin is Annotated:
        return _models_in(get_args(annotation)[0], found)
    if origin is not None or isinstance(annotation, types.UnionType):
        for arg in get_args(annotation):
            _models_in(arg, found)
    return found


def _route_models(route: RouteContext) -> list[type[BaseModel]]:
    found: set[type[BaseModel]] = set()
    _models_in(route.response_model, found)
    assert isinstance(route.original_route, APIRoute)
    for param in route.original_route.dependant.body_params:
        _models_in(param.field_info.annotation, found)
    return sorted(found, key=lambda m: m.__qualname__)


def _examples_of(route: RouteContext) -> list[tuple[str, Any, Any]]:
    """(where it is written, the type it must satisfy, the example) for each example the route
    shows: on its models, on their fields, and written straight into `responses=`."""
    found: list[tuple[str, Any, Any]] = []
    for model in _route_models(route):
        extra = model.model_config.get("json_schema_extra")
        examples = extra.get("examples") if isinstance(extra, dict) else None
        if isinstance(examples, list):
            found.extend((model.__name__, model, ex) for ex in examples)
        for name, field in model.model_fields.items():
            # The field's constraints (lengths, patterns) live in its metadata.
            checked_as = (
                Annotated[field.annotation, *field.metadata] if field.metadata else field.annotation
            )
            found.extend(
                (f"{model.__name__}.{name}", checked_as, ex) for ex in field.examples or []
            )
    for code, spec in route.responses.items():
        declared = spec.get("model") or (
            route.response_model if str(code).startswith("2") else None
        )
        for media in spec.get("content", {}).values():
            if "example" in media and declared is not None:
                found.append((f"responses[{code}]", declared, media["example"]))
    return found


@pytest.mark.parametrize(("route", "method"), OPERATIONS, ids=IDS)
def test_examples_validate_against_their_models(route: RouteContext, method: str) -> None:
    for where, checked_as, example in _examples_of(route):
        adapter: TypeAdapter[Any] = TypeAdapter(checked_as)
        try:
            # As JSON, since that is how a client sends or reads them (times as strings).
            value = adapter.validate_json(json.dumps(example))
        except ValidationError as exc:
            pytest.fail(f"the example on {where} does not validate: {exc}")
        # Optional fields make a misspelt key validate (it is dropped): it must survive the trip.
        again = adapter.dump_python(value, mode="json", by_alias=True, exclude_unset=True)
        assert again == example, f"the example on {where} has keys the model does not know"


async def test_docs_page_loads(client: httpx.AsyncClient, app: FastAPI) -> None:
    page = await client.get("/docs")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert "swagger-ui" in page.text
    schema = await client.get("/openapi.json")
    assert schema.status_code == 200
    assert schema.json()["paths"].keys() == app.openapi()["paths"].keys()


def _example(path: str, method: str, *where: str) -> Any:
    node: Any = DOC["paths"][path][method]
    for key in where:
        node = node[key]
    return node["content"]["application/json"]["example"]


async def test_webhook_example_is_a_delivery_the_app_stores(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    # Hand-written examples (no model to check them against) are checked by sending them.
    response = await post_webhook(client, _example("/webhook", "post", "requestBody"))
    assert response.json() == _example("/webhook", "post", "responses", "200")
    await processed(app)
    contact = await client.get("/contacts/4915112345678", headers=ADMIN)
    assert contact.json()["tags"]["status"] == "red"  # it asks for a price


async def test_healthz_answers_like_its_example(client: httpx.AsyncClient) -> None:
    response = await client.get("/healthz")
    assert response.status_code == 200
    assert response.json().keys() == _example("/healthz", "get", "responses", "200").keys()
