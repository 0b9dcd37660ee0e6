"""The API's routing models describe the engine's own JSON: field for field, so they cannot drift
apart when the engine gains a field (the conformance run then checks the values)."""

from __future__ import annotations

import dataclasses

import pytest
from pydantic import BaseModel

from omnidesk.core.routing import model, views
from omnidesk.routing import schemas

PAIRS = [
    (schemas.QueueDefinition, model.QueueDef, set()),
    (schemas.StepIn, model.Step, set()),
    (schemas.OverflowIn, model.OverflowAction, set()),
    (schemas.HoursIn, model.Hours, set()),
    (schemas.AgentDefinition, model.AgentDef, set()),
    (schemas.QueueStatusOut, views.QueueStatus, set()),
    (schemas.AgentStatusOut, views.AgentStatus, set()),
    (schemas.WaitEstimateOut, views.WaitEstimate, set()),
    # The API adds the wait estimate of a waiting contact.
    (schemas.ContactView, views.ContactStatus, {"estimate"}),
]


@pytest.mark.parametrize(
    ("api", "engine", "added"), PAIRS, ids=lambda x: getattr(x, "__name__", "")
)
def test_api_model_has_the_engines_fields(
    api: type[BaseModel], engine: type, added: set[str]
) -> None:
    assert set(api.model_fields) - added == {f.name for f in dataclasses.fields(engine)}
