"""The browser session's cookies: set at login, cleared at logout (docs/adr/0005-auth.md)."""

from __future__ import annotations

from fastapi import Response

from omnidesk.platform.auth.service import LoginResult
from omnidesk.platform.settings import Settings


def set_session_cookies(response: Response, settings: Settings, result: LoginResult) -> None:
    max_age = settings.session_ttl_seconds
    response.set_cookie(
        settings.session_cookie_name,
        result.cookie_value,
        max_age=max_age,
        httponly=True,
        samesite="lax",
        secure=settings.cookie_secure,
        path="/",
    )
    # Readable by our own scripts (not HttpOnly) so they can echo it in the CSRF header.
    response.set_cookie(
        settings.csrf_cookie_name,
        result.csrf_token,
        max_age=max_age,
        httponly=False,
        samesite="strict",
        secure=settings.cookie_secure,
        path="/",
    )


def clear_session_cookies(response: Response, settings: Settings) -> None:
    response.delete_cookie(settings.session_cookie_name, path="/")
    response.delete_cookie(settings.csrf_cookie_name, path="/")
