import json

import pulumi
import pulumi_aws as aws

network = pulumi.StackReference("organization/network/dev")
shared = pulumi.StackReference("acme/shared/prod")

me = aws.get_caller_identity()
zones = aws.get_availability_zones(state="available")
region = aws.get_region()
ami = aws.ec2.get_ami(
    most_recent=True,
    owners=["amazon"],
    filters=[aws.ec2.GetAmiFilterArgs(name="name", values=["al2023-ami-*"])],
)
default_sg = aws.ec2.get_security_group(name="default")

subnet = aws.ec2.Subnet(
    "app",
    vpc_id=network.get_output("vpcId"),
    cidr_block="10.20.1.0/24",
    availability_zone=zones.names[0],
)
instance = aws.ec2.Instance(
    "app",
    ami=ami.id,
    instance_type="t3.micro",
    subnet_id=subnet.id,
    vpc_security_group_ids=[default_sg.id],
    user_data=network.get_output("adminToken").apply(lambda t: f"TOKEN={t}"),
    tags={"account": me.account_id, "region": region.region, "zone": shared.get_output("zoneId")},
)
pulumi.export("instanceId", instance.id)
pulumi.export("amiId", ami.id)
pulumi.export("azs", json.dumps(zones.names))
