"""Shared base model: camelCase on the wire, unknown fields refused."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel


class ApiModel(BaseModel):
    """Base of every API model.

    Python attributes are snake_case; manifests and JSON use camelCase. Unknown
    fields are refused so that a misspelt field is an error, not a silent no-op.
    """

    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        extra="forbid",
        frozen=False,
    )

    def wire(self) -> dict[str, object]:
        """The model as it is written on the wire (camelCase, no unset defaults)."""
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)
