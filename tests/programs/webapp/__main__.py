"""A small web application: a bucket for assets, a queue, and a Kubernetes deployment."""

import json

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

config = pulumi.Config()
replicas = config.require_int("replicas")
labels = config.require_object("labels")

assets = aws.s3.Bucket(
    "assets",
    tags={"owner": config.require("owner"), "replicas": str(replicas)},
)
queue = aws.sqs.Queue("jobs", visibility_timeout_seconds=45, delay_seconds=0)
policy_doc = assets.arn.apply(
    lambda arn: json.dumps({"Statement": [{"Effect": "Allow", "Resource": f"{arn}/*"}]})
)
policy = aws.s3.BucketPolicy("assets-policy", bucket=assets.id, policy=policy_doc)

app_labels = {"app": "web", **labels}
deployment = k8s.apps.v1.Deployment(
    "web",
    spec=k8s.apps.v1.DeploymentSpecArgs(
        replicas=replicas,
        selector=k8s.meta.v1.LabelSelectorArgs(match_labels=app_labels),
        template=k8s.core.v1.PodTemplateSpecArgs(
            metadata=k8s.meta.v1.ObjectMetaArgs(labels=app_labels),
            spec=k8s.core.v1.PodSpecArgs(
                containers=[
                    k8s.core.v1.ContainerArgs(
                        name="web",
                        image="nginx:1.27",
                        env=[k8s.core.v1.EnvVarArgs(name="QUEUE_URL", value=queue.url)],
                    )
                ]
            ),
        ),
    ),
)
config_map = k8s.core.v1.ConfigMap(
    "settings",
    metadata=k8s.meta.v1.ObjectMetaArgs(namespace="web"),
    data={"bucket": assets.bucket, "ratio": "0.5"},
)

# Values that hang on something unknown before deploy stay unknown, however nested.
mirror = aws.s3.Bucket("mirror", bucket=policy.id.apply(lambda i: f"mirror-{i}"))
tagged = k8s.core.v1.ConfigMap(
    "tagged", metadata={"labels": {"policy": policy.id}}, data={"mirror": mirror.arn}
)

pulumi.export("bucket", assets.bucket)
pulumi.export("taggedLabel", tagged.metadata.apply(lambda m: str(m.labels["policy"])))
pulumi.export("queueUrl", queue.url)
pulumi.export("deployment", deployment.metadata.name)
pulumi.export("configMapId", config_map.id)
