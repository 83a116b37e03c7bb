"""The outbound HTTP proxy: the only network a plugin has (capability ``proxy:http``)."""

from maidcore.proxy.addresses import refusal_reason
from maidcore.proxy.http_proxy import METHODS, HttpProxy
from maidcore.proxy.resolver import AddressRefused, CheckingResolver, StaticResolver, UnresolvableHost

__all__ = [
    "METHODS",
    "AddressRefused",
    "CheckingResolver",
    "HttpProxy",
    "StaticResolver",
    "UnresolvableHost",
    "refusal_reason",
]
