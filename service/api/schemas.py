"""Field types shared by the routes: every bound the chain enforces is checked here first, so
bad input is a 422 with a field name instead of an encoding error deep in web3."""

from __future__ import annotations

from typing import Annotated, Any, Generic, Self, TypeVar, get_args

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from contracts.eip55 import to_checksum_address  # eth_utils's, cached: a batch request checks 1,000

Hex32 = Annotated[str, Field(pattern=r"^0x[0-9a-fA-F]{64}$", examples=["0x" + "ab" * 32]),
                  AfterValidator(str.lower)]
Address = Annotated[str, Field(pattern=r"^0x[0-9a-fA-F]{40}$", examples=["0x" + "12" * 20]),
                    AfterValidator(to_checksum_address)]
Uint32 = Annotated[int, Field(ge=0, le=2**32 - 1)]
Uint64 = Annotated[int, Field(ge=0, le=2**64 - 1)]
Uint96 = Annotated[int, Field(ge=0, le=2**96 - 1)]
# A database row id (SQL BIGINT is signed) and a Unix time a datetime can hold (before year 10000).
RowId = Annotated[int, Field(ge=1, le=2**63 - 1)]
UnixTime = Annotated[int, Field(ge=0, le=253_402_300_799)]
Text = Annotated[str, Field(min_length=1, max_length=500)]

T = TypeVar("T")


def _takes_bool(annotation: Any) -> bool:
    return annotation is bool or annotation is Any or any(_takes_bool(a) for a in get_args(annotation))


class Strict(BaseModel):
    """A request body: unknown fields are refused, and JSON true/false is no number (pydantic's lax
    mode reads them as 1/0, which the schema's `integer` does not allow)."""

    model_config = ConfigDict(extra="forbid")

    @field_validator("*", mode="before")
    @classmethod
    def _no_bool_for_a_number(cls, value: Any, info: ValidationInfo) -> Any:
        field = cls.model_fields.get(info.field_name or "")
        if isinstance(value, bool) and field is not None and not _takes_bool(field.annotation):
            raise ValueError("a boolean is not accepted here")
        return value


class Out(BaseModel):
    """A response model, built from a row and the fields the row does not carry (`of`)."""

    model_config = ConfigDict(from_attributes=True, json_schema_serialization_defaults_required=True)

    @classmethod
    def of(cls, obj: Any, **extra: Any) -> Self:
        """`obj`'s attributes named like the fields, overridden and completed by `extra`."""
        return cls.model_validate({**{n: getattr(obj, n) for n in cls.model_fields if hasattr(obj, n)}, **extra})


class Page(BaseModel, Generic[T]):
    items: list[T]
    total: int
    limit: int
    offset: int
