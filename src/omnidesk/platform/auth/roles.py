"""The roles the permission model knows. The platform owns them (principals, visibility and
event audiences are built on them); the directory stores them on users and team memberships."""

from __future__ import annotations

import enum


class Role(enum.StrEnum):
    ADMIN = "admin"
    SUPERVISOR = "supervisor"
    AGENT = "agent"


class TeamRole(enum.StrEnum):
    MEMBER = "member"
    SUPERVISOR = "supervisor"
