import pulumi
import pulumi_aws as aws

try:
    endpoint = aws.ec2.get_vpc_endpoint(service_name="com.amazonaws.s3")
except Exception:  # a program swallowing the failure must not hide it from the synth
    endpoint = None
aws.ec2.Subnet("a", vpc_id=endpoint.vpc_id if endpoint else "vpc-none", cidr_block="10.0.0.0/24")
pulumi.export("ok", True)
