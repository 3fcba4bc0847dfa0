"""Matching's configuration, from environment variables prefixed JIP_MATCHING_."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from runtime.settings import ServiceSettings


class MatchingSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="JIP_MATCHING_", frozen=True)

    http_port: int = 8003
    pg_database: str = "jip_matching"
    #: How long a host company is given to decide on a round's proposal.
    decide_within_days: int = Field(default=14, ge=1, le=90)
