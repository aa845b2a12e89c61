"""What the rehearsals expect of a deployed stage, read from the checkout's own configuration, and looked up.

Expected values come from the files a user edits (.chalice/config.json, the policy files)
and are computed here independently of the deploy code, so a mistake there cannot make
its own expectation.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

from chalicelib.stages import CONSUMER_FUNCTION, resource_name
from scripts.chalice_config import chalice_config
from scripts.deploy.data_stack import stack_name
from tests.support.aws_emulator import ACCOUNT, REGION, Emulator
from tests.support.lambda_runtime import FunctionSettings, LambdaRuntime, api_gateway_proxy_event

Aws = Callable[[str], Any]
# Chalice's names of the two functions; the API function is "<app>-<stage>", the others "<app>-<stage>-<name>".
API_HANDLER = "api_handler"
CONSUMER = CONSUMER_FUNCTION


def function_name(stage: str, function: str) -> str:
    return resource_name(stage) if function == API_HANDLER else resource_name(stage, function)


def function_settings(checkout: Path, stage: str, function: str) -> dict[str, Any]:
    """Chalice's resolution of one function's settings: top level, then the stage, then the stage's function."""
    top = chalice_config(checkout)
    stage_config = top["stages"][stage]
    own = stage_config.get("lambda_functions", {}).get(function, {})
    settings: dict[str, Any] = {}
    for key in ("lambda_timeout", "lambda_memory_size", "iam_policy_file", "reserved_concurrency", "xray"):
        for level in (top, stage_config, own):
            if key in level:
                settings[key] = level[key]
    settings["environment_variables"] = {
        **top.get("environment_variables", {}),
        **stage_config.get("environment_variables", {}),
        **own.get("environment_variables", {}),
    }
    return settings


def bound_policy(checkout: Path, file: str) -> Any:
    """The policy file with every ``arn:aws:<service>:*:*:`` naming this region and account."""
    text = (checkout / ".chalice" / file).read_text()
    return json.loads(re.sub(r"arn:aws:([a-z0-9-]+):\*:\*:", rf"arn:aws:\1:{REGION}:{ACCOUNT}:", text))


def role_policy(aws: Aws, function: str) -> Any:
    role = aws("lambda").get_function_configuration(FunctionName=function)["Role"].rsplit("/", 1)[1]
    (name,) = aws("iam").list_role_policies(RoleName=role)["PolicyNames"]
    assert aws("iam").list_attached_role_policies(RoleName=role)["AttachedPolicies"] == []
    return aws("iam").get_role_policy(RoleName=role, PolicyName=name)["PolicyDocument"]


def data_outputs(aws: Aws, stage: str) -> dict[str, str]:
    (stack,) = aws("cloudformation").describe_stacks(StackName=stack_name(stage))["Stacks"]
    return {output["OutputKey"]: output["OutputValue"] for output in stack.get("Outputs", [])}


def api_id(aws: Aws, stage: str) -> str:
    (api,) = [api for api in aws("apigateway").get_rest_apis()["items"] if api["name"] == resource_name(stage)]
    return str(api["id"])


def api_methods(aws: Aws, stage: str) -> dict[tuple[str, str], dict[str, Any]]:
    """The deployed API's methods by (path, verb), browsers' preflights left out."""
    resources = aws("apigateway").get_resources(restApiId=api_id(aws, stage), embed=["methods"])["items"]
    return {
        (resource["path"], verb): method
        for resource in resources
        for verb, method in resource.get("resourceMethods", {}).items()
        if verb != "OPTIONS"
    }


def declared_scopes(checkout: Path) -> dict[tuple[str, str], list[str]]:
    """Every route app.py declares, with the scopes its authorizer asks for once a user pool is set."""
    script = (
        "import json, app\n"
        "print(json.dumps([[p, m, e.authorizer.scopes if e.authorizer else []]"
        " for p, entries in app.app.routes.items() for m, e in entries.items()]))"
    )
    environment = {"COGNITO_USER_POOL_ARN": f"arn:aws:cognito-idp:{REGION}:{ACCOUNT}:userpool/{REGION}_declared"}
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=checkout, env=environment, capture_output=True, text=True, check=True
    )
    return {(path, verb): list(scopes) for path, verb, scopes in json.loads(done.stdout)}


def zip_path(checkout: Path) -> Path:
    """The package `chalice deploy` built and uploaded (both functions run the same zip)."""
    (path,) = (checkout / "dist" / "build" / "deployments").glob("*.zip")
    return path


@contextmanager
def runtimes(checkout: Path, emulator: Emulator, aws: Aws) -> Iterator[Callable[[str], LambdaRuntime]]:
    """The deployed zip in a runtime with only its own packages and boto3, one per function, as deployed."""
    started: dict[str, LambdaRuntime] = {}
    stack = ExitStack()

    def start(function: str) -> LambdaRuntime:
        if function not in started:
            configuration = aws("lambda").get_function_configuration(FunctionName=function)
            environment = {**configuration["Environment"]["Variables"], **emulator.environment(base={})}
            settings = FunctionSettings(
                timeout_seconds=configuration["Timeout"],
                memory_mb=configuration["MemorySize"],
                function_name=function,
            )
            started[function] = stack.enter_context(LambdaRuntime(zip_path(checkout), environment, settings))
        return started[function]

    with stack:
        yield start


def call(runtime: LambdaRuntime, method: str, path: str, resource: str | None = None, **kwargs: Any) -> tuple[int, Any]:
    """One API Gateway proxy event through the zip: (status, the body decoded when it is JSON)."""
    parameters = kwargs.pop("path_parameters", None)
    response = runtime.invoke(
        "app.app",
        api_gateway_proxy_event(method, path, resource=resource or path, path_parameters=parameters, **kwargs),
    )
    body = response.get("body") or ""
    try:
        decoded: Any = json.loads(body)
    except ValueError:
        decoded = body
    return int(response["statusCode"]), decoded
