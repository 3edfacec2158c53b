"""AWS components: a network, a secure bucket, a PostgreSQL database."""

from components.aws.bucket import SecureBucket, SecureBucketArgs
from components.aws.database import Database, DatabaseArgs
from components.aws.network import NAT_STRATEGIES, NatStrategy, Network, NetworkArgs

__all__ = [
    "NAT_STRATEGIES",
    "Database",
    "DatabaseArgs",
    "NatStrategy",
    "Network",
    "NetworkArgs",
    "SecureBucket",
    "SecureBucketArgs",
]
