"""Cluster -> NodeGroup -> Node: components three deep."""

from __future__ import annotations

import pulumi
import pulumi_aws as aws


class Node(pulumi.ComponentResource):
    def __init__(self, name: str, index: int, opts: pulumi.ResourceOptions) -> None:
        super().__init__("acme:cluster:Node", name, None, opts)
        self.queue = aws.sqs.Queue(
            f"{name}-queue",
            message_retention_seconds=3600 * (index + 1),
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.register_outputs({"queueArn": self.queue.arn})


class NodeGroup(pulumi.ComponentResource):
    def __init__(self, name: str, size: int, opts: pulumi.ResourceOptions) -> None:
        super().__init__("acme:cluster:NodeGroup", name, None, opts)
        self.nodes = [
            Node(f"{name}-node{i}", i, pulumi.ResourceOptions(parent=self)) for i in range(size)
        ]
        self.register_outputs({"count": size})


class Cluster(pulumi.ComponentResource):
    def __init__(self, name: str, size: int, provider: pulumi.ProviderResource) -> None:
        super().__init__(
            "acme:cluster:Cluster",
            name,
            None,
            pulumi.ResourceOptions(
                providers=[provider], aliases=[pulumi.Alias(name=f"{name}-old")]
            ),
        )
        self.group = NodeGroup(f"{name}-workers", size, pulumi.ResourceOptions(parent=self))
        self.node_names = [n.queue.name for n in self.group.nodes]
        self.register_outputs({"nodeNames": self.node_names})
