"""The stack program: one :class:`components.Environment` from the stack's settings."""

from __future__ import annotations

from typing import Any

from components.environment import Environment
from stacks.settings import StackSettings


def build(settings: StackSettings) -> dict[str, Any]:
    """Declare the stack's resources; returns the stack outputs to export."""
    environment = Environment(settings.stack, settings.environment_settings())
    return {
        "environment": settings.kind,
        "region": settings.region,
        "vpcId": environment.vpc_id,
        "privateSubnetIds": environment.private_subnet_ids,
        "bucketNames": environment.bucket_names,
        "databaseAddress": environment.database_address,
        "databaseSecretArn": environment.database_secret_arn,
        "namespace": environment.namespace,
        "url": environment.url,
    }
