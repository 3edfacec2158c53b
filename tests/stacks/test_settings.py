"""StackSettings: config read once, validated, per-kind defaults, one-line errors."""

from __future__ import annotations

import pulumi
import pulumi.runtime
import pytest
from hypothesis import given
from hypothesis import strategies as st

from components.environment import SIZING
from stacks.settings import KEYS, StackConfigError, StackSettings, parse_settings
from tests.pulumi_capture import run_program

GOOD = {
    "environment": "dev",
    "owner": "platform-team",
    "costCenter": "cc-1",
    "image": "ghcr.io/example/web:1.0.0",
}


def parse(**raw: str | None) -> StackSettings:
    return parse_settings({**GOOD, **raw}, project="p", stack="dev", region="eu-west-1")


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("natStrategy", "sometimes"),
        ("replicas", "0"),
        ("replicas", "many"),
        ("vpcCidr", "10.0.0.0/33"),
        ("environment", "qa"),
        ("image", "ghcr.io/example/web:latest"),
        ("image", "ghcr.io/example/web"),
        ("availabilityZones", "eu-west-1a"),
        ("availabilityZones", '["eu-west-1a"]'),
        ("namespace", "Web_Dev"),
        ("hostname", "Dev.Example.com"),
        ("buckets", '["assets", "assets"]'),
        ("tags", '["not", "a", "mapping"]'),
        ("dbInstanceClass", "t3.micro"),
        ("appPort", "80"),
    ],
)
def test_a_bad_value_gives_one_line_naming_key_and_value(key: str, value: str) -> None:
    with pytest.raises(StackConfigError) as caught:
        parse(**{key: value})
    message = str(caught.value)
    assert "\n" not in message
    assert f"stackflow:{key}=" in message
    parsed = {'["eu-west-1a"]': "['eu-west-1a']", '["assets", "assets"]': "['assets', 'assets']"}
    assert repr(value) in message or parsed.get(value, value) in message


def test_missing_required_keys_say_how_to_set_them() -> None:
    with pytest.raises(StackConfigError, match=r"stackflow:image=''.*pulumi config set"):
        parse(image=None)
    with pytest.raises(StackConfigError, match="aws:region"):
        parse_settings(GOOD, project="p", stack="dev", region=None)


def test_the_error_is_a_run_error_so_the_language_host_prints_one_line() -> None:
    assert issubclass(StackConfigError, pulumi.RunError)
    assert issubclass(StackConfigError, ValueError)


@pytest.mark.parametrize("kind", sorted(SIZING))
def test_kind_defaults_are_filled_in(kind: str) -> None:
    settings = parse(environment=kind)
    sizing = SIZING[kind]
    assert settings.nat_strategy == sizing.nat_strategy
    assert settings.replicas == sizing.replicas
    assert settings.db_instance_class == sizing.db_instance_class
    assert len(settings.availability_zones) == sizing.zone_count
    assert settings.availability_zones[0] == "eu-west-1a"
    assert settings.namespace == "dev"
    assert settings.buckets == ("assets",)


def test_values_override_the_kind() -> None:
    settings = parse(
        natStrategy="none",
        replicas="4",
        availabilityZones='["eu-west-1b", "eu-west-1c"]',
        tags='{"team": "payments"}',
    )
    assert (settings.nat_strategy, settings.replicas) == ("none", 4)
    assert settings.availability_zones == ("eu-west-1b", "eu-west-1c")
    assert settings.environment_settings().tags == {"team": "payments", "project": "p"}


@given(st.integers(-1000, 1000))
def test_replicas_accept_exactly_1_to_100(replicas: int) -> None:
    if 1 <= replicas <= 100:
        assert parse(replicas=str(replicas)).replicas == replicas
    else:
        with pytest.raises(StackConfigError, match=f"stackflow:replicas='{replicas}'"):
            parse(replicas=str(replicas))


@pytest.mark.usefixtures("pulumi_runtime")
class TestFromConfig:
    def set_config(self, values: dict[str, str], secret_keys: tuple[str, ...] = ()) -> None:
        config = {f"stackflow:{k}": v for k, v in {**GOOD, **values}.items()}
        config["aws:region"] = "eu-west-1"
        pulumi.runtime.set_all_config(config, [f"stackflow:{k}" for k in secret_keys])

    def test_reads_config_and_keeps_secrets_secret(self) -> None:
        self.set_config({"dbPassword": "hunter2-but-long"}, secret_keys=("dbPassword",))
        settings = run_program(StackSettings.from_config, stack="dev").result
        assert settings.region == "eu-west-1"
        assert settings.db_password is not None
        assert "hunter2" not in repr(settings)

    @pytest.mark.parametrize(
        ("key", "value"),
        [("natStrategy", "sometimes"), ("replicas", "0"), ("vpcCidr", "10.0.0.0/33")],
    )
    def test_bad_values_from_config(self, key: str, value: str) -> None:
        self.set_config({key: value})
        with pytest.raises(StackConfigError) as caught:
            run_program(StackSettings.from_config, stack="dev")
        assert f"stackflow:{key}='{value}'" in str(caught.value)

    def test_an_unknown_key_is_an_error_naming_the_closest_known_key(self) -> None:
        self.set_config({"replicaz": "3"})
        with pytest.raises(StackConfigError) as caught:
            run_program(StackSettings.from_config, stack="dev")
        message = str(caught.value)
        assert "stackflow:replicaz is not a setting" in message
        assert "did you mean stackflow:replicas?" in message

    def test_render_and_kubeconfig_together_are_refused_without_echoing_it(self) -> None:
        self.set_config({"renderYamlTo": "out", "kubeconfig": "secret-kube"}, ("kubeconfig",))
        with pytest.raises(StackConfigError, match="stackflow:renderYamlTo='out'") as caught:
            run_program(StackSettings.from_config, stack="dev")
        assert "secret-kube" not in str(caught.value)


def test_every_key_is_documented() -> None:
    assert all(isinstance(text, str) and text for text in KEYS.values())
