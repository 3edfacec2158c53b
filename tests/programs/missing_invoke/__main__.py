import pulumi
import pulumi_aws as aws

try:
    vpc = aws.ec2.get_vpc(default=True)
except Exception:  # a program swallowing the failure must not hide it from the synth
    vpc = None
aws.ec2.Subnet("a", vpc_id=vpc.id if vpc else "vpc-none", cidr_block="10.0.0.0/24")
pulumi.export("ok", True)
