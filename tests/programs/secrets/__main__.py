import pulumi
import pulumi_aws as aws

config = pulumi.Config()
db_password = config.require_secret("dbPassword")
api_key = config.require_secret("apiKey")
planted = pulumi.Output.secret("planted-plaintext-7f3a9c")

param = aws.ssm.Parameter("db-password", type="SecureString", value=db_password)
api = aws.ssm.Parameter("api-key", type="SecureString", value=api_key)
token = aws.ssm.Parameter(
    "token",
    type="SecureString",
    value=planted,
    tags={"nested": planted.apply(lambda p: f"{p}-nested")},
)
print("the program may print; the synth does not")  # noqa: T201 -- its own output
pulumi.export("username", config.require("username"))
pulumi.export("token", planted)
pulumi.export("tokenLength", planted.apply(len))
