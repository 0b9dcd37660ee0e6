"""API shapes of branding."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, Field, StringConstraints

from omnidesk.platform.schemas import Input

AccentColor = Annotated[str, Field(pattern=r"^#[0-9a-fA-F]{6}$", examples=["#0b5cad"])]
DisplayName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=80)]
VERSION_DOC = (
    "The branding's version the edit was made on (from GET): when it has changed since, the save "
    "is refused with 409 `version_conflict`."
)


class BrandingIn(Input):
    display_name: DisplayName | None = Field(
        default=None, description="The name shown in the header; null: the tenant's name."
    )
    accent_color: AccentColor | None = Field(
        default=None,
        description="#rrggbb behind the header and primary buttons' white text; its contrast "
        "with white must be at least 4.5:1 (WCAG AA), else 422 naming the measured ratio. "
        "null: the built-in colours.",
    )
    version: Annotated[int, Field(ge=1, description=VERSION_DOC)]


class BrandingLogoOut(BaseModel):
    content_type: str
    size: int
    # Changes with the image, so a browser may cache each URL for good.
    url: str


class BrandingOut(BaseModel):
    display_name: str
    display_name_set: bool  # False: display_name is the tenant's name
    accent_color: str | None
    logo: BrandingLogoOut | None
    version: int
    updated_at: datetime | None
