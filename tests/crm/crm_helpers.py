"""What the CRM API tests share: a tenant set up for the CRM, customers made by the API."""

from __future__ import annotations

import uuid
from typing import Any

from omnidesk.platform.database import SYSTEM
from omnidesk.platform.tenancy import tenant_by_slug

API = "/api/v1/crm"


def setup_crm(admin: Any) -> None:
    r = admin.put(f"{API}/settings", json={"default_region": "DE"})
    assert r.status_code == 200, r.text
    r = admin.post(
        f"{API}/fields",
        json={"key": "contract_no", "label": "Contract", "type": "text"},
    )
    assert r.status_code == 201, r.text
    r = admin.post(
        f"{API}/fields",
        json={"key": "plan", "label": "Plan", "type": "choice", "choices": ["basic", "pro"]},
    )
    assert r.status_code == 201, r.text


def customer(user: Any, name: str | None, *identities: tuple[str, str], **extra: Any) -> Any:
    body = {"display_name": name, "identities": [{"kind": k, "value": v} for k, v in identities]}
    r = user.post(f"{API}/customers", json={**body, **extra})
    assert r.status_code == 201, r.text
    return r.json()


def search(user: Any, **params: Any) -> list[Any]:
    r = user.get(f"{API}/customers", params=params)
    assert r.status_code == 200, r.text
    return r.json()["results"]


def tenant_of(client: Any, app: Any, slug: str = "demo") -> uuid.UUID:
    """The id of the tenant `slug`, read in the app's loop."""

    async def go() -> uuid.UUID:
        session = app.state.services.db.session(SYSTEM)
        try:
            tenant = await tenant_by_slug(session, slug)
            assert tenant is not None
            return tenant.id
        finally:
            await session.close()

    return client.portal.call(go)  # type: ignore[no-any-return]
