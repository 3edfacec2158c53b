import pulumi
import pulumi_aws as aws
from helpers import bucket_name

aws.s3.Bucket("ok")
aws.s3.Bucket("bad", bucket=bucket_name(pulumi.get_stack()))
