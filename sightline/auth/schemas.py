"""Request and response bodies of the auth, users and API-key routes.

Requests forbid unknown fields (a typo such as ``"rol"`` is an error, not a
silent no-op). Responses are built field by field from the rows, so a
password hash or key hash can never slip into one.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from sightline.api.deps import Role
from sightline.storage.models import ApiKey, User

DepartmentName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class LoginIn(_In):
    username: str = Field(min_length=1, max_length=100)
    password: str = Field(min_length=1, max_length=1024)


class PasswordChangeIn(_In):
    current_password: str = Field(min_length=1, max_length=1024)
    new_password: str = Field(min_length=1, max_length=1024)


class UserCreate(_In):
    username: str = Field(min_length=1, max_length=100, examples=["alice"])
    password: str = Field(min_length=1, max_length=1024, description="at least 10 characters, two kinds")
    role: Role
    display_name: str = Field("", max_length=200)
    departments: list[DepartmentName] = Field(default_factory=list, max_length=100, description="empty = all")


class UserPatch(_In):
    """Only the fields present change. ``password`` resets the password and
    signs the user out everywhere; ``disabled: true`` signs them out too."""

    role: Role | None = None
    display_name: str | None = Field(None, max_length=200)
    departments: list[DepartmentName] | None = Field(None, max_length=100)
    disabled: bool | None = None
    password: str | None = Field(None, min_length=1, max_length=1024)


class UserOut(BaseModel):
    id: str
    username: str
    display_name: str
    role: Role
    departments: list[str]
    disabled: bool
    created_at: datetime
    updated_at: datetime
    last_login_at: datetime | None

    @classmethod
    def of(cls, user: User) -> UserOut:
        return cls(
            id=user.id,
            username=user.username,
            display_name=user.display_name,
            role=user.role,  # type: ignore[arg-type]
            departments=list(user.departments),
            disabled=user.disabled,
            created_at=user.created_at,
            updated_at=user.updated_at,
            last_login_at=user.last_login_at,
        )


class LoginOut(BaseModel):
    token: str = Field(description="send as 'Authorization: Bearer <token>'; also set as an HttpOnly cookie")
    token_type: Literal["bearer"] = "bearer"
    expires_at: datetime
    user: UserOut


class MeOut(BaseModel):
    kind: Literal["user", "api_key"]
    subject: str
    name: str
    role: Role
    departments: list[str]
    user: UserOut | None = None
    session_expires_at: datetime | None = None


class ApiKeyCreate(_In):
    name: str = Field(min_length=1, max_length=200, examples=["line-counter dashboard"])
    role: Role = "viewer"
    departments: list[DepartmentName] = Field(default_factory=list, max_length=100, description="empty = all")


class ApiKeyOut(BaseModel):
    id: str
    name: str
    key_prefix: str
    role: Role
    departments: list[str]
    owner_id: str | None
    created_at: datetime
    last_used_at: datetime | None
    revoked: bool
    revoked_at: datetime | None

    @classmethod
    def of(cls, row: ApiKey) -> ApiKeyOut:
        return cls(
            id=row.id,
            name=row.name,
            key_prefix=row.key_prefix,
            role=row.role,  # type: ignore[arg-type]
            departments=list(row.departments),
            owner_id=row.owner_id,
            created_at=row.created_at,
            last_used_at=row.last_used_at,
            revoked=row.revoked,
            revoked_at=row.revoked_at,
        )


class ApiKeyCreated(ApiKeyOut):
    key: str = Field(description="the key itself: shown only now, store it safely")
