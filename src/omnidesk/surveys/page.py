"""The survey as a small server-rendered page (`/s/{token}`): no script, no CDN, labelled
fields (each scale a fieldset with a legend, each choice a labelled radio button), in the
customer's language. It posts back to itself as an ordinary form."""

from __future__ import annotations

from html import escape
from typing import Any

from omnidesk.surveys import texts
from omnidesk.surveys.schemas import SurveyFormOut

STYLE = """
body{font-family:system-ui,sans-serif;max-width:36rem;margin:2rem auto;padding:0 1rem;
color:#1d1d1f;line-height:1.4}
fieldset{border:1px solid #c8c8cc;border-radius:.5rem;margin:0 0 1rem;padding:.75rem}
legend{font-weight:600;padding:0 .25rem}
.scale{display:flex;flex-wrap:wrap;gap:.25rem}
.scale label{display:inline-flex;flex-direction:column;align-items:center;min-width:2.25rem;
padding:.25rem;border:1px solid #c8c8cc;border-radius:.35rem;cursor:pointer}
.ends{display:flex;justify-content:space-between;font-size:.85rem;color:#555}
textarea{width:100%;min-height:6rem;font:inherit}
button{font:inherit;padding:.5rem 1.25rem;border-radius:.35rem;border:0;background:#0b57d0;
color:#fff;cursor:pointer}
.error{color:#a50e0e}
.brand{margin:0 0 1rem;padding:.5rem .75rem;border-radius:.35rem;background:#13283f;color:#fff;
font-weight:700}
"""
# The tenant's branding (name, accent colour): set on the page's elements, not in the style
# sheet. The colour is #rrggbb as the branding API stored it (checked readable under white).
Look = tuple[str, str | None]


def _document(language: str, title: str, body: str) -> str:
    return (
        f'<!doctype html><html lang="{escape(language)}"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f'<meta name="robots" content="noindex"><title>{escape(title)}</title>'
        f"<style>{STYLE}</style></head><body><main>{body}</main></body></html>"
    )


def message(language: str, key: str) -> str:
    """A page that only says something (thanks, answered, expired, unknown)."""
    words = texts.text(language, key)
    return _document(language, words, f"<h1>{escape(words)}</h1>")


def _scale(question: dict[str, Any], language: str, chosen: Any) -> str:
    """A scored question as a radio group: the scale's numbers between its ends' words, or
    for a `resolved` question yes (1) and no (0), in words."""
    qid = escape(question["id"])
    required = " required" if question["required"] else ""
    if question["kind"] == "resolved":
        options = [(1, texts.text(language, "yes")), (0, texts.text(language, "no"))]
        ends = ""
    else:
        options = [(n, str(n)) for n in range(question["min"], question["max"] + 1)]
        ends = (
            f'<div class="ends" aria-hidden="true"><span>{escape(texts.text(language, "low"))}'
            f"</span><span>{escape(texts.text(language, 'high'))}</span></div>"
        )
    choices = "".join(
        f'<label><input type="radio" name="{qid}" value="{n}"{required}'
        f"{' checked' if str(chosen) == str(n) else ''}>{escape(label)}</label>"
        for n, label in options
    )
    return (
        f'<fieldset><legend id="q-{qid}">{escape(question["text"])}'
        f"{_marker(question, language)}</legend>"
        f'<div class="scale" role="radiogroup" aria-labelledby="q-{qid}">{choices}</div>'
        f"{ends}</fieldset>"
    )


def _marker(question: dict[str, Any], language: str) -> str:
    return f" ({escape(texts.text(language, 'required'))})" if question["required"] else ""


def _text(question: dict[str, Any], language: str, given: Any) -> str:
    qid = escape(question["id"])
    required = " required" if question["required"] else ""
    return (
        f'<fieldset><label for="a-{qid}"><strong>{escape(question["text"])}'
        f"{_marker(question, language)}</strong></label>"
        f'<textarea id="a-{qid}" name="{qid}" maxlength="5000"{required}>'
        f"{escape(str(given or ''))}</textarea></fieldset>"
    )


def survey_form(
    shown: SurveyFormOut,
    action: str,
    *,
    error: str | None = None,
    given: dict[str, Any] | None = None,
    look: Look | None = None,
) -> str:
    language = shown.language
    given = given or {}
    name, accent = look or ("", None)
    painted = f' style="background:{escape(accent)}"' if accent else ""
    parts = [f'<p class="brand"{painted}>{escape(name)}</p>'] if name else []
    parts.append(f"<h1>{escape(texts.text(language, 'title'))}</h1>")
    if shown.intro:
        parts.append(f"<p>{escape(shown.intro)}</p>")
    if error:
        parts.append(
            f'<p class="error" role="alert">{escape(texts.text(language, "invalid"))} '
            f"{escape(error)}</p>"
        )
    parts.append(f'<form method="post" action="{escape(action)}">')
    for question in shown.questions:
        q = question.model_dump()
        chosen = given.get(question.id)
        parts.append(
            _text(q, language, chosen) if q["kind"] == "text" else _scale(q, language, chosen)
        )
    submit = escape(texts.text(language, "submit"))
    parts.append(f'<button type="submit"{painted}>{submit}</button></form>')
    return _document(language, f"{texts.text(language, 'title')}: {shown.survey}", "".join(parts))
