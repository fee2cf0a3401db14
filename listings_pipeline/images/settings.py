"""Settings of the image step: limits, variants, networking and where variants are stored.

Defaults are production-safe (private networks refused, bounded sizes); `from_env()` reads the
few values an operator changes per deployment.
"""

from __future__ import annotations

import ipaddress
import os
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from listings_pipeline.net import EgressPolicy
from listings_pipeline.settings import Settings, get_settings

OutputFormat = Literal["webp", "jpeg"]
SourceFormat = Literal["JPEG", "PNG", "WEBP", "GIF"]


class VariantSpec(BaseModel):
    """One derived size: the long side is at most `max_side` pixels (never upscaled)."""

    model_config = ConfigDict(frozen=True)

    name: str = Field(pattern=r"^[a-z0-9_]+$")
    max_side: int = Field(gt=0, le=10_000)
    formats: tuple[OutputFormat, ...] = ("webp", "jpeg")


DEFAULT_VARIANTS = (VariantSpec(name="web", max_side=1600), VariantSpec(name="thumb", max_side=400))


class ImageSettings(BaseModel):
    model_config = ConfigDict(frozen=True)

    # Where variants go: a local directory (default LISTINGS_HOME/images) or an S3 bucket.
    store: Literal["local", "s3"] = "local"
    local_dir: Path | None = None
    s3_bucket: str | None = None
    s3_prefix: str = ""

    variants: tuple[VariantSpec, ...] = DEFAULT_VARIANTS
    allowed_formats: frozenset[SourceFormat] = frozenset({"JPEG", "PNG", "WEBP", "GIF"})
    jpeg_quality: int = Field(85, ge=1, le=95)
    webp_quality: int = Field(80, ge=1, le=100)
    webp_method: int = Field(4, ge=0, le=6)  # libwebp effort: 0 fastest (~10% larger files)

    # Input limits. max_pixels also becomes Pillow's MAX_IMAGE_PIXELS (decompression bombs).
    max_bytes: int = Field(15 * 1024 * 1024, gt=0)
    max_pixels: int = Field(40_000_000, gt=0)
    max_dimension: int = Field(12_000, gt=0)

    # Networking.
    concurrency: int = Field(8, ge=1, le=64)  # downloads in flight
    decode_concurrency: int = Field(2, ge=1, le=16)  # decodes at once: bounds memory and CPU
    per_host_rps: float | None = Field(10.0, gt=0)  # requests per second per host; None = no limit
    connect_timeout: float = Field(5.0, gt=0)
    read_timeout: float = Field(15.0, gt=0)
    download_timeout: float = Field(60.0, gt=0)  # whole download, against slow-drip servers
    max_retries: int = Field(3, ge=0)  # per request, for connection errors, 429 and 5xx
    backoff_base: float = Field(0.5, ge=0)
    backoff_max: float = Field(10.0, ge=0)
    max_redirects: int = Field(5, ge=0)
    user_agent: str = "listings-pipeline-images/0.1"
    # The egress guard (listings_pipeline.net) refuses private, loopback, link-local, metadata
    # and reserved addresses except the operator's LISTINGS_EGRESS_ALLOW networks. Older
    # image-only settings, kept working: private_network_allowlist adds networks for image
    # downloads; allow_private_networks allows every network except cloud metadata.
    allow_private_networks: bool = False
    private_network_allowlist: tuple[str, ...] = ()

    # Re-run behaviour.
    max_attempts: int = Field(3, ge=1)  # a failed URL is retried on later runs up to this
    refresh: bool = False  # re-download stored URLs too (unchanged bytes are not re-encoded)
    batch_size: int = Field(200, gt=0)  # results written per database round trip

    @field_validator("private_network_allowlist")
    @classmethod
    def _networks(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for network in value:
            try:
                ipaddress.ip_network(network, strict=False)
            except ValueError as exc:
                raise ValueError(f"private_network_allowlist: {exc}") from None
        return value

    @model_validator(mode="after")
    def _check(self) -> ImageSettings:
        if self.store == "s3" and not self.s3_bucket:
            raise ValueError(
                "image store 's3' needs a bucket: set LISTINGS_IMAGES_S3_BUCKET "
                "(seed naming: '{environment}-<name>-images')"
            )
        if not self.variants:
            raise ValueError("at least one image variant is needed")
        if len({v.name for v in self.variants}) != len(self.variants):
            raise ValueError("image variant names must be unique")
        return self

    def egress_policy(self) -> EgressPolicy:
        extra = [*self.private_network_allowlist]
        if self.allow_private_networks:
            extra += ["0.0.0.0/0", "::/0"]
        return EgressPolicy.from_env(extra=extra)

    def images_dir(self, settings: Settings | None = None) -> Path:
        return self.local_dir or (settings or get_settings()).home / "images"

    @classmethod
    def from_env(cls, **overrides: object) -> ImageSettings:
        """Settings from LISTINGS_IMAGES_* variables; keyword overrides win."""
        env = os.environ
        values: dict[str, object] = {}
        if store := env.get("LISTINGS_IMAGE_STORE"):
            values["store"] = store
        if local_dir := env.get("LISTINGS_IMAGES_DIR"):
            values["local_dir"] = Path(local_dir).expanduser().resolve()
        if bucket := env.get("LISTINGS_IMAGES_S3_BUCKET"):
            values["s3_bucket"] = bucket
        if prefix := env.get("LISTINGS_IMAGES_S3_PREFIX"):
            values["s3_prefix"] = prefix
        if concurrency := env.get("LISTINGS_IMAGES_CONCURRENCY"):
            values["concurrency"] = int(concurrency)
        if rps := env.get("LISTINGS_IMAGES_PER_HOST_RPS"):
            values["per_host_rps"] = None if rps in ("0", "none") else float(rps)
        if allow := env.get("LISTINGS_IMAGES_ALLOW_PRIVATE_NETWORKS"):
            values["allow_private_networks"] = allow.lower() in ("1", "true", "yes")
        if allowlist := env.get("LISTINGS_IMAGES_PRIVATE_NETWORK_ALLOWLIST"):
            values["private_network_allowlist"] = tuple(
                n.strip() for n in allowlist.split(",") if n.strip()
            )
        values.update(overrides)
        return cls.model_validate(values)
