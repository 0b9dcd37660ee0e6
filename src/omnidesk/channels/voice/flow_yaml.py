"""IVR flows as YAML request bodies (docs/voice-ivr.md: flows are written in YAML).

A route that lists a YAML media type in its OpenAPI request body (`YAML_FLOW_BODY`) takes
`Content-Type: application/yaml` (or `text/yaml`, `application/x-yaml`) besides JSON. The YAML
is read with `yaml.safe_load`, made JSON-compatible, and handed on as the JSON body the route
declares, so one schema (`FlowIn`) checks both and every error reads the same.

- The document may be the JSON body's shape, `{name, definition}`, or a flow definition on its
  own, as `examples/voice/ivr.yaml` is written: then its name is the `?name=` query parameter,
  else the flow's own `name`, else its `id`.
- YAML's dates (`holidays: [2026-12-24]`) and digit keys (`1: sales`) are made JSON as
  `schemas.json_values` says (ISO dates, text keys); a document too big once its aliases are
  expanded is refused before it is written out.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Coroutine
from typing import Any

import yaml
from fastapi import Request, Response
from fastapi.routing import APIRoute

from omnidesk.channels.voice.schemas import json_values
from omnidesk.platform.errors import DomainError, Invalid

YAML_TYPES = ("application/yaml", "text/yaml", "application/x-yaml")


def yaml_flow_body(schema: str, *, versioned: bool = False) -> dict[str, Any]:
    """OpenAPI of a route that takes a flow: merged into what FastAPI generates from `schema`
    (the JSON body), it adds the YAML media types and the `?name=` (and for an edit the
    `?version=`) a bare YAML definition may use."""
    parameters = [
        {
            "name": "name",
            "in": "query",
            "required": False,
            "description": "The flow's name when a YAML body is a definition on its own.",
            "schema": {"type": "string"},
        }
    ]
    if versioned:
        parameters.append(
            {
                "name": "version",
                "in": "query",
                "required": False,
                "description": "The version the edit was made on, when a YAML body is a "
                "definition on its own (it has no `version` field).",
                "schema": {"type": "integer", "minimum": 1},
            }
        )
    return {
        "requestBody": {
            "content": {
                kind: {
                    "schema": {
                        "oneOf": [
                            {"$ref": f"#/components/schemas/{schema}"},
                            {
                                "type": "object",
                                "description": "A flow definition on its own, as examples/"
                                "voice/ivr.yaml is written (its name: ?name=, else its "
                                "`name`, else its `id`).",
                            },
                        ]
                    }
                }
                for kind in YAML_TYPES
            },
        },
        "parameters": parameters,
    }


YAML_FLOW_BODY = yaml_flow_body("FlowIn")
YAML_FLOW_UPDATE_BODY = yaml_flow_body("FlowUpdateIn", versioned=True)


class MalformedYaml(DomainError):
    status = 400
    code = "malformed_yaml"
    title = "Malformed YAML"


def _media_type(request: Request) -> str:
    return (request.headers.get("content-type") or "").split(";")[0].strip().lower()


def flow_body_from_yaml(raw: bytes, name: str | None, version: str | None = None) -> dict[str, Any]:
    """The JSON body (`FlowIn`'s shape) a YAML flow document stands for."""
    try:
        document = yaml.safe_load(raw)
    except yaml.YAMLError as exc:
        raise MalformedYaml(f"the body is not valid YAML: {exc}") from None
    if not isinstance(document, dict):
        raise Invalid("the YAML document must be a mapping (a flow)", field="body")
    try:
        body: dict[str, Any] = json_values(document)
    except ValueError as exc:
        raise Invalid(f"the YAML document {exc}", field="body") from None
    # `?version=` as the query gives it: text that is not a number is refused by the body's
    # schema, naming `version`, as for JSON.
    edited_on: dict[str, Any] = {} if version is None else {"version": version}
    if "definition" in body:
        return {**edited_on, **body}  # already {name, definition[, version]}
    own = body.get("name") if isinstance(body.get("name"), str) else body.get("id")
    return {"name": name or own, "definition": body, **edited_on}


class _JsonBody(Request):
    def __init__(self, request: Request, body: bytes) -> None:
        headers = [(k, v) for k, v in request.scope["headers"] if k != b"content-type"]
        scope = {**request.scope, "headers": [*headers, (b"content-type", b"application/json")]}
        super().__init__(scope, request.receive)
        self._flow_body = body  # not `_json`: Starlette caches the parsed body under that name

    async def body(self) -> bytes:
        return self._flow_body


def _takes_yaml(route: APIRoute) -> bool:
    content = (route.openapi_extra or {}).get("requestBody", {}).get("content", {})
    return any(kind in content for kind in YAML_TYPES)


class YamlFlowRoute(APIRoute):
    """A route class for the voice router: routes whose OpenAPI body lists YAML take it."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        if not _takes_yaml(self):
            return handler

        async def handle(request: Request) -> Response:
            if _media_type(request) in YAML_TYPES:
                query = request.query_params
                body = flow_body_from_yaml(
                    await request.body(), query.get("name"), query.get("version")
                )
                request = _JsonBody(request, json.dumps(body).encode())
            return await handler(request)

        return handle
