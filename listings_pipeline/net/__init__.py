"""The one way out: every outbound HTTP request of the product (API, WordPress and website
sources, the geocoder, image downloads) goes through this package's egress guard."""

from listings_pipeline.net.addresses import BlockedAddress, EgressPolicy, EgressRefused
from listings_pipeline.net.client import EgressClient, RedirectRefused, Secrets, origin
from listings_pipeline.net.transport import GuardedTransport, guarded_client

__all__ = [
    "BlockedAddress",
    "EgressClient",
    "EgressPolicy",
    "EgressRefused",
    "GuardedTransport",
    "RedirectRefused",
    "Secrets",
    "guarded_client",
    "origin",
]
