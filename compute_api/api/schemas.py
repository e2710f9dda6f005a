"""Request bodies of the compute API, validated as strictly as upstream's schemas."""

from __future__ import annotations

import base64
import binascii
import ipaddress
import re
import uuid
from collections.abc import Callable
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from pydantic_core import PydanticCustomError

from common.errors import BadRequest
from common.validation import shorten
from compute_api.api.errors import describe_validation
from compute_api.server_create import ServerSpec
from compute_api.server_items import check_tags
from compute_api.servers import ServerChanges

Name = Annotated[str, Field(min_length=1, max_length=255)]
MAX_USER_DATA = 65535


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


def member(data: Any, key: str) -> Any:
    """``data[key]`` of a body that must be ``{key: ...}``; BadRequest the upstream way."""
    if not isinstance(data, dict) or key not in data:
        raise BadRequest(f"Invalid input for field/attribute {key}. '{key}' is a required "
                         "property")
    return data[key]


def parse(model: type[Strict], data: Any, key: str) -> Any:
    """Validate ``{key: {...}}`` with ``model``; raise BadRequest the upstream way."""
    value = member(data, key)
    try:
        return model.model_validate(value)
    except ValidationError as exc:
        raise BadRequest(describe_validation(
            [{**e, "loc": (key, *e["loc"])} for e in exc.errors()]
        )) from None


def _no_edge_spaces(value: str) -> str:
    if value != value.strip():
        raise ValueError("Leading and trailing whitespace is not allowed")
    if not value.isprintable():
        raise ValueError("Non-printable characters are not allowed")
    return value


def check_personality(files: list[dict[str, str]] | None) -> list[dict[str, str]] | None:
    """Injected files: a path and base64 contents each, as upstream's schema says."""
    for item in files or []:
        if set(item) - {"path", "contents"}:
            raise ValueError("Additional properties are not allowed in a personality item")
        try:
            base64.decodebytes(str(item.get("contents", "")).encode())
        except (binascii.Error, ValueError):
            raise ValueError(f"{item.get('contents')!r} is not a 'base64'") from None
    return files


def _string_not_null(value: Any) -> Any:
    if value is None:
        raise PydanticCustomError("string_type", "None is not of type 'string'")
    return value


def _ip_address(family: int) -> Callable[[str | None], str | None]:
    """A validator of an access address: empty (none) or an address of ``family``."""
    def check(value: str | None) -> str | None:
        if not value:
            return value
        try:
            parsed = ipaddress.ip_address(value)
        except ValueError:
            parsed = None
        if parsed is None or parsed.version != family:
            raise PydanticCustomError("ip_format", "'{value}' is not a 'ipv{family}'",
                                      {"value": shorten(value), "family": family})
        # Kept and shown in canonical form, as upstream's address column does.
        return str(parsed)

    return check


class FlavorCreate(Strict):
    name: Name
    id: str | None = Field(None, min_length=1, max_length=255)
    ram: int = Field(ge=1, le=2**31 - 1)
    vcpus: int = Field(ge=1, le=2**31 - 1)
    disk: int = Field(ge=0, le=2**31 - 1)
    ephemeral: int = Field(0, ge=0, le=2**31 - 1, alias="OS-FLV-EXT-DATA:ephemeral")
    swap: int = Field(0, ge=0, le=2**31 - 1)
    rxtx_factor: float = Field(1.0, gt=0, le=3.40282e38)
    is_public: bool = Field(True, alias="os-flavor-access:is_public")
    description: str | None = Field(None, max_length=65535)

    _name = field_validator("name")(_no_edge_spaces)

    @field_validator("id", mode="before")
    @classmethod
    def _number_id(cls, value: Any) -> Any:
        # Upstream takes a number as the id too (Tempest makes integer ids) and keeps
        # its text.
        if isinstance(value, int | float) and not isinstance(value, bool):
            return str(value)
        return value

    @field_validator("id")
    @classmethod
    def _id_chars(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(r"[\w\.\- ]+", value):
            raise ValueError("Flavor id may only contain letters, digits, '_', '-', '.', ' '")
        return value


class NetworkRequest(Strict):
    uuid: str | None = None
    port: str | None = None
    fixed_ip: str | None = None
    tag: str | None = None


class ServerCreate(Strict):
    name: Name
    imageRef: str | None = Field(None, max_length=255)
    flavorRef: str | int
    networks: Literal["none", "auto"] | list[NetworkRequest] | None = None
    metadata: dict[str, str] = Field(default_factory=dict)
    min_count: int = Field(1, ge=1)
    max_count: int | None = Field(None, ge=1)
    return_reservation_id: bool = False
    key_name: str | None = Field(None, min_length=1, max_length=255)
    user_data: str | None = None
    availability_zone: str | None = Field(None, min_length=1, max_length=255)
    description: str | None = Field(None, max_length=255)
    accessIPv4: str | None = None
    accessIPv6: str | None = None
    adminPass: str | None = None
    config_drive: bool | str | None = None
    security_groups: list[dict[str, str]] | None = None
    disk_config: Literal["AUTO", "MANUAL"] | None = Field(None, alias="OS-DCF:diskConfig")
    block_device_mapping_v2: list[dict[str, Any]] | None = None
    tags: list[str] | None = None
    personality: list[dict[str, str]] | None = None
    trusted_image_certificates: list[str] | None = None
    host: str | None = Field(None, min_length=1, max_length=255)
    hypervisor_hostname: str | None = Field(None, min_length=1, max_length=255)
    hostname: str | None = Field(None, min_length=1, max_length=255)

    _name = field_validator("name")(_no_edge_spaces)
    _personality = field_validator("personality")(check_personality)
    _ipv4 = field_validator("accessIPv4")(_ip_address(4))
    _ipv6 = field_validator("accessIPv6")(_ip_address(6))

    @field_validator("config_drive")
    @classmethod
    def _config_drive(cls, value: bool | str | None) -> bool | str | None:
        # Kept with the server in a 255-character column.
        if isinstance(value, str) and len(value) > 255:
            raise PydanticCustomError("string_too_long", "'{value}' is too long",
                                      {"value": shorten(value)})
        return value

    @field_validator("security_groups")
    @classmethod
    def _security_groups(cls, value: list[dict[str, str]] | None
                         ) -> list[dict[str, str]] | None:
        for group in value or []:
            for item in group.values():
                if not 1 <= len(item) <= 255:
                    raise PydanticCustomError(
                        "string_length", "'{value}' is not a 1-255 character name",
                        {"value": shorten(item)})
        return value

    @field_validator("tags")
    @classmethod
    def _tags(cls, value: list[str] | None) -> list[str] | None:
        if value is not None:
            check_tags(value)
        return value

    @field_validator("flavorRef")
    @classmethod
    def _flavor_ref(cls, value: str | int) -> str:
        text = str(value)
        if not text:
            raise ValueError("flavorRef must not be empty")
        return text.rstrip("/").rsplit("/", 1)[-1]

    @field_validator("imageRef")
    @classmethod
    def _image_ref(cls, value: str | None) -> str | None:
        if not value:
            return None
        tail = value.rstrip("/").rsplit("/", 1)[-1]
        try:
            return str(uuid.UUID(tail))
        except ValueError:
            raise ValueError(f"'{value}' is not a 'uuid'") from None

    @field_validator("metadata")
    @classmethod
    def _metadata(cls, value: dict[str, str]) -> dict[str, str]:
        for key, item in value.items():
            if not 1 <= len(key) <= 255 or len(item) > 255:
                raise ValueError("metadata keys must be 1-255 and values 0-255 characters")
        return value

    @field_validator("user_data")
    @classmethod
    def _user_data(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if len(value) > MAX_USER_DATA:
            raise ValueError(f"user_data is longer than {MAX_USER_DATA} bytes")
        try:
            base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            raise ValueError("user_data is not valid base64") from None
        return value

    def to_spec(self, hints: SchedulerHints | None = None) -> ServerSpec:
        """The request as ``server_create.create`` takes it: the domain sees no wire models."""
        return ServerSpec(
            name=self.name, flavor_ref=str(self.flavorRef), image_ref=self.imageRef,
            networks=self.networks, metadata=self.metadata, min_count=self.min_count,
            max_count=self.max_count, key_name=self.key_name, user_data=self.user_data,
            availability_zone=self.availability_zone, description=self.description,
            access_ip_v4=self.accessIPv4, access_ip_v6=self.accessIPv6,
            admin_pass=self.adminPass, config_drive=self.config_drive,
            block_device_mapping_v2=self.block_device_mapping_v2, tags=self.tags,
            personality=self.personality, disk_config=self.disk_config,
            trusted_image_certificates=self.trusted_image_certificates, host=self.host,
            hypervisor_hostname=self.hypervisor_hostname, hostname=self.hostname,
            security_groups=self.security_groups,
            scheduler_hints=hints.model_dump(exclude_none=True) if hints is not None else {})


class ServerUpdate(Strict):
    name: Name | None = None
    hostname: str | None = Field(None, min_length=1, max_length=255)
    description: str | None = Field(None, max_length=255)
    accessIPv4: str | None = None
    accessIPv6: str | None = None
    disk_config: Literal["AUTO", "MANUAL"] | None = Field(None, alias="OS-DCF:diskConfig")
    # 2.104: null unpins the server from its zone.
    pinned_availability_zone: Name | None = None

    _name = field_validator("name")(_no_edge_spaces)
    # Absent means unchanged; an explicit null is refused (upstream: a string).
    _not_null = field_validator("name", "hostname", mode="before")(_string_not_null)
    _ipv4 = field_validator("accessIPv4")(_ip_address(4))
    _ipv6 = field_validator("accessIPv6")(_ip_address(6))

    @field_validator("pinned_availability_zone")
    @classmethod
    def _zone(cls, value: str | None) -> str | None:
        return None if value is None else _no_edge_spaces(value)

    def to_spec(self) -> ServerChanges:
        """The request as ``servers.update`` takes it: the domain sees no wire models."""
        renamed = {"accessIPv4": "access_ip_v4", "accessIPv6": "access_ip_v6"}
        return ServerChanges(
            given=frozenset(renamed.get(name, name) for name in self.model_fields_set),
            name=self.name, hostname=self.hostname, description=self.description,
            access_ip_v4=self.accessIPv4, access_ip_v6=self.accessIPv6,
            pinned_availability_zone=self.pinned_availability_zone,
            disk_config=self.disk_config)


class SchedulerHints(Strict):
    model_config = ConfigDict(extra="allow")

    group: str | None = None
    same_host: str | list[str] | None = None
    different_host: str | list[str] | None = None
