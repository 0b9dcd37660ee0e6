from __future__ import annotations

import json
from typing import Any

import pytest

from omnidesk.channels.voice.ivr.flow import (
    Flow,
    FlowIssue,
    MenuNode,
    flow_warnings,
    load_flow,
    validate_flow,
)

GOOD = """
id: demo
language: de
timezone: Europe/Vienna
start: main
nodes:
  main:
    type: menu
    prompt: Drücken Sie 1.
    options:
      1: bye
      "*": bye
  bye:
    type: hangup
"""


def issues(data: dict[str, Any]) -> dict[str, str]:
    result = validate_flow({"id": "x", "start": "main", **data})
    assert isinstance(result, list), "expected errors"
    return {i.path: i.message for i in result}


def test_good_flow_loads_with_digit_keys_as_strings() -> None:
    flow = load_flow(GOOD)
    assert isinstance(flow, Flow)
    menu = flow.nodes["main"]
    assert isinstance(menu, MenuNode)
    assert menu.options == {"1": "bye", "*": "bye"}
    assert menu.prompt[0].say == "Drücken Sie 1." and menu.timeout_s == 5 and menu.retries == 2
    assert flow_warnings(flow) == []


def test_json_text_loads_too() -> None:
    data = {"id": "j", "start": "a", "nodes": {"a": {"type": "hangup"}}}
    assert isinstance(load_flow(json.dumps(data)), Flow)


def test_errors_name_their_path() -> None:
    found = issues(
        {
            "nodes": {
                "main": {"type": "menu", "options": {1: "b", "x": "b", "12": "b"}},
                "b": {"type": "bogus"},
                "c": {"prompt": "no type"},
                "d": {"type": "transfer", "number": "+49 123"},
                "e": {"type": "hours", "schedule": {"mon": ["09:00-17:00", "08:00-25:00"]},
                      "open": "b", "closed": "b"},
                "f": {"type": "play", "prompt": "x", "next": "b", "colour": "red"},
                "g": {"type": "collect", "store_as": "n", "next": "b", "pattern": "(",
                      "min_digits": 3, "max_digits": 2},
                "h": {"type": "set", "attributes": {"language": "klingon"}, "next": "b"},
            }
        }
    )  # fmt: skip
    assert found == {
        "nodes.main.options.x": "String should match pattern '^[0-9*#]$'",
        "nodes.main.options.12": "String should match pattern '^[0-9*#]$'",
        "nodes.b": found["nodes.b"],
        "nodes.c": "node needs a 'type'",
        "nodes.d.number": "'+49 123' is not a valid phone number",
        "nodes.e.schedule.mon.1": "'08:00-25:00' is not a time of day",
        "nodes.f.colour": "Extra inputs are not permitted",
        "nodes.g.pattern": found["nodes.g.pattern"],
        "nodes.h.attributes.language": found["nodes.h.attributes.language"],
    }
    assert found["nodes.b"].startswith("unknown node type 'bogus'")
    assert found["nodes.g.pattern"].startswith("not a regular expression")
    assert "klingon" in found["nodes.h.attributes.language"]


def test_reference_errors_after_the_shape_is_right() -> None:
    found = issues(
        {
            "start": "nowhere",
            "nodes": {
                "main": {"type": "menu", "options": {7: "gone"}, "on_failure": "lost"},
                "q": {"type": "queue", "queue": "s", "max_wait_s": 5, "on_timeout": "vm"},
            },
        }
    )
    assert found == {
        "start": "no node 'nowhere'",
        "nodes.main.options.7": "no node 'gone'",
        "nodes.main.on_failure": "no node 'lost'",
        "nodes.q.on_timeout": "no node 'vm'",
    }


@pytest.mark.parametrize(
    ("data", "path", "words"),
    [
        ({"language": "xx"}, "language", "no speech voice"),
        ({"timezone": "Mars/Olympus"}, "timezone", "unknown time zone"),
        ({"prompt": {"say": "Hi", "language": "tlh"}}, "nodes.main.prompt.0", "no speech voice"),
        ({"prompt": [{"wav": "../etc/passwd"}]}, "nodes.main.prompt.0", "plain file name"),
        ({"prompt": {"say": "a", "wav": "b"}}, "nodes.main.prompt.0", "either"),
        ({"prompt": "Hi {0}"}, "nodes.main.prompt.0", "not an attribute name"),
    ],
)
def test_language_time_zone_and_prompt_errors(data: dict[str, Any], path: str, words: str) -> None:
    prompt = {"prompt": data.pop("prompt")} if "prompt" in data else {}
    found = issues({"nodes": {"main": {"type": "hangup", **prompt}}, **data})
    assert words in found[path]


def test_schedule_errors() -> None:
    found = issues(
        {
            "nodes": {
                "main": {
                    "type": "hours",
                    "schedule": {
                        "mon": ["9-17"],
                        "funday": ["09:00-10:00"],
                        "holidays": ["2026-02-30"],
                        "closed_dates": ["2026-12-30..2026-12-01"],
                        "holiday_calendar": "XX",
                    },
                    "open": "main",
                    "closed": "main",
                    "timezone": "Nowhere/City",
                }
            }
        }
    )
    assert set(found) == {
        "nodes.main.schedule.mon.0",
        "nodes.main.schedule.funday",
        "nodes.main.schedule.holidays.0",
        "nodes.main.schedule.closed_dates",
        "nodes.main.schedule.holiday_calendar",
        "nodes.main.timezone",
    }


def test_queue_timeout_fields_go_together() -> None:
    found = issues({"nodes": {"main": {"type": "queue", "queue": "q", "max_wait_s": 10}}})
    assert "go together" in found["nodes.main.on_timeout"]


def test_a_whole_node_check_names_the_field_it_blames() -> None:
    """An editor shows each refusal on its field: a check across a node's fields names one."""
    found = issues(
        {
            "nodes": {
                "wait": {"type": "queue", "queue": "q", "on_timeout": "ask"},
                "ask": {"type": "callback", "queue": "q", "caller_key": "1", "other_key": "1"},
                "pin": {
                    "type": "collect",
                    "store_as": "pin",
                    "next": "set",
                    "min_digits": 6,
                    "max_digits": 4,
                },
                "set": {"type": "set", "attributes": {"language": "tlh"}, "next": "wait"},
            }
        }
    )
    assert set(found) == {
        "nodes.wait.max_wait_s",
        "nodes.ask.other_key",
        "nodes.pin.min_digits",
        "nodes.set.attributes.language",
    }
    assert "go together" in found["nodes.wait.max_wait_s"]
    assert "must differ" in found["nodes.ask.other_key"]


def test_unreachable_nodes_are_warnings_not_errors() -> None:
    flow = validate_flow(
        {
            "id": "w",
            "start": "a",
            "nodes": {
                "a": {"type": "play", "prompt": "x", "next": "b"},
                "b": {"type": "hangup"},
                "island": {"type": "play", "prompt": "y", "next": "b"},
            },
        }
    )
    assert isinstance(flow, Flow)
    assert flow_warnings(flow) == [FlowIssue("nodes.island", "unreachable from start")]


def test_bad_yaml_and_wrong_top_level() -> None:
    (issue,) = load_flow("id: [unclosed")
    assert isinstance(issue, FlowIssue) and "YAML" in issue.message
    (issue,) = load_flow("- a list")
    assert isinstance(issue, FlowIssue) and "mapping" in issue.message
    result = load_flow("id: x\nnodes: {}\n")
    assert isinstance(result, list)
    assert {i.path for i in result} == {"start", "nodes"}
