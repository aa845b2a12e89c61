"""What moto lacks for the deploy rehearsal, patched into the emulator's own process (and only there).

Each shim fills in one thing real AWS does and moto 5.2.5 (requirements-dev.txt pins it) does
not, so that `make deploy` runs against moto exactly as against an account. Where AWS refuses
what the deploy could get wrong (two index changes in one table update, an in-place index
change, an existing stack's name, a malformed alarm, an unknown OAuth scope, deleting a
protected stack), the shim refuses the same way, so a defect of ours still fails here. What
a shim leaves out, it says: the deploy never asks it of an existing stack.
"""

from __future__ import annotations

import contextlib
import json
from typing import Any, cast

from moto.apigateway.exceptions import BadRequestException
from moto.apigateway.models import APIGatewayBackend
from moto.awslambda.models import LambdaFunction
from moto.cloudformation import models as cloudformation
from moto.cloudformation.exceptions import ValidationError
from moto.cloudformation.parsing import get_model_list, get_model_map, get_name_type_map
from moto.cloudformation.responses import CloudFormationResponse
from moto.cloudwatch import models as cloudwatch
from moto.cognitoidp.models import cognitoidp_backends
from moto.core.common_models import CloudFormationModel
from moto.core.responses import ActionResult
from moto.dynamodb.models import dynamodb_backends
from moto.dynamodb.models.table import StreamRecord, StreamShard, Table
from moto.secretsmanager.models import secretsmanager_backends


def _swagger_import() -> None:
    """API Gateway imports Swagger 2.0 bodies (what `chalice deploy` sends); moto reads only OpenAPI 3.

    Real AWS builds the resources, methods, integrations, Cognito authorizers (from
    ``securityDefinitions``), per-method scopes (from ``security``), binary media types and
    gateway responses from the body. moto raises on ``swagger: 2.0`` and, on import, also
    requires ``info.description``, which the Swagger spec leaves optional. Here the same
    document builds the same API through moto's own resource and method calls; a path,
    method or authorizer missing from our body is missing from the emulated API too.
    """
    original_put = APIGatewayBackend.put_rest_api

    def put_rest_api(
        self: APIGatewayBackend, function_id: str, api_doc: dict[str, Any], fail_on_warnings: bool, mode: str = "merge"
    ) -> Any:
        if api_doc.get("swagger") != "2.0":
            return original_put(self, function_id, api_doc, fail_on_warnings, mode)
        api = self.get_rest_api(function_id)
        if mode == "overwrite":
            api.resources = {}
            api.default = api.add_child("/")
            api.authorizers = {}
        authorizers: dict[str, Any] = {}
        for name, definition in api_doc.get("securityDefinitions", {}).items():
            authorizer = definition.get("x-amazon-apigateway-authorizer")
            if authorizer is None:
                continue
            made = self.create_authorizer(
                function_id,
                name,
                "COGNITO_USER_POOLS" if authorizer["type"] == "cognito_user_pools" else authorizer["type"].upper(),
                provider_arns=authorizer.get("providerARNs"),
                authorizer_uri=authorizer.get("authorizerUri"),
                identity_source=definition.get("name") and f"method.request.header.{definition['name']}",
            )
            authorizers[name] = made.id
        for path, methods in sorted(api_doc["paths"].items()):
            resource = _resource(self, function_id, path)
            for method_type, method in methods.items():
                if method_type.startswith("x-") or method_type == "parameters":
                    continue
                authorization: str = "NONE"
                authorizer_id: Any = None
                scopes: Any = None
                for requirement in method.get("security", []):
                    for name, requirement_scopes in requirement.items():
                        if name not in api_doc.get("securityDefinitions", {}):  # AWS refuses the import
                            raise BadRequestException(f"Invalid security requirement {name} at {method_type} {path}")
                        if name in authorizers:
                            authorization, authorizer_id = "COGNITO_USER_POOLS", authorizers[name]
                            scopes = requirement_scopes or None
                self.put_method(
                    function_id,
                    resource.id,
                    method_type.upper(),
                    authorization,
                    authorizer_id=authorizer_id,
                    authorization_scopes=scopes,
                )
                for code in method.get("responses", {}):
                    self.put_method_response(function_id, resource.id, method_type.upper(), code, None, None)
                integration = method.get("x-amazon-apigateway-integration")
                if integration:
                    arguments = self._build_integration_args(integration)
                    # A MOCK integration (Chalice's CORS preflight) has neither.
                    arguments["uri"] = arguments["uri"] or ""
                    arguments.setdefault("integration_method", None)
                    self.put_integration(
                        function_id=function_id,
                        resource_id=resource.id,
                        method_type=method_type.upper(),
                        **{
                            key: value
                            for key, value in arguments.items()
                            if value is not None or key == "integration_method"
                        },
                    )
        api.binaryMediaTypes = list(api_doc.get("x-amazon-apigateway-binary-media-types", []))
        for response_type, response in api_doc.get("x-amazon-apigateway-gateway-responses", {}).items():
            self.put_gateway_response(
                function_id,
                response_type,
                status_code=response.get("statusCode"),
                response_parameters=response.get("responseParameters"),
                response_templates=response.get("responseTemplates"),
            )
        return api

    original_import = APIGatewayBackend.import_rest_api

    def import_rest_api(self: APIGatewayBackend, api_doc: dict[str, Any], fail_on_warnings: bool) -> Any:
        if api_doc.get("swagger") != "2.0":
            return original_import(self, api_doc, fail_on_warnings)
        api = self.create_rest_api(name=api_doc["info"]["title"], description=api_doc["info"].get("description", ""))
        self.put_rest_api(api.id, api_doc, fail_on_warnings)
        return api

    APIGatewayBackend.put_rest_api = put_rest_api  # type: ignore[method-assign]
    APIGatewayBackend.import_rest_api = import_rest_api  # type: ignore[method-assign]


def _resource(backend: APIGatewayBackend, api_id: str, path: str) -> Any:
    """The resource at ``path``, made with its missing ancestors (as the import does)."""
    api = backend.get_rest_api(api_id)
    found = api.get_resource_for_path(path)
    if found is not None:
        return found
    parent_path, _, part = path.rstrip("/").rpartition("/")
    parent = _resource(backend, api_id, parent_path or "/")
    return backend.create_resource(function_id=api_id, parent_resource_id=parent.id, path_part=part)


def _stack_failures() -> None:
    """A resource CloudFormation cannot make, or a table change it refuses, fails the stack, which rolls back.

    Real AWS answers CreateStack/UpdateStack at once and then, when a resource fails, records
    a ``*_FAILED`` event with the reason and rolls back: a first create ends in ROLLBACK_COMPLETE
    with every resource deleted except those whose ``DeletionPolicy`` is ``Retain`` (each
    recorded as DELETE_SKIPPED: they stay in the account, under their names); an update ends in
    UPDATE_ROLLBACK_COMPLETE with everything as it was. moto raises the resource's error out
    of the API call instead, so the deploy's handling of a rolled-back stack (defect 6 of issue
    13) could never run. Here a first create's resource failure takes AWS's course; an update
    is checked before moto applies any of it (the table rules of ``_table_update_refusal``), so
    a refused update changes nothing, as on AWS. Anything else still fails the call, loudly.
    """
    original_create = cloudformation.CloudFormationBackend.create_stack
    original_update = cloudformation.Stack.update

    def create_stack(self: Any, name: str, *args: Any, **kwargs: Any) -> Any:
        before = set(self.stacks)
        try:
            return original_create(self, name, *args, **kwargs)
        except Exception as error:
            made = [stack for key, stack in self.stacks.items() if key not in before and stack.name == name]
            if not made:  # refused before any resource was made (a name taken, a bad template): as AWS refuses
                raise
            (stack,) = made
            _record_failure(stack, "CREATE_FAILED", getattr(error, "message", None) or str(error))
            _roll_back_create(stack)
            for export in [key for key, value in self.exports.items() if value.exporting_stack_id == stack.stack_id]:
                del self.exports[export]
            return stack

    def update(self: Any, template: str, *args: Any, **kwargs: Any) -> None:
        reason = _table_update_refusal(self, json.loads(template))
        if reason is None:
            original_update(self, template, *args, **kwargs)
            return
        self._add_stack_event("UPDATE_IN_PROGRESS", resource_status_reason="User Initiated")
        _record_failure(self, "UPDATE_FAILED", reason)
        self.status = "UPDATE_ROLLBACK_COMPLETE"
        self._add_stack_event("UPDATE_ROLLBACK_COMPLETE")

    cloudformation.CloudFormationBackend.create_stack = create_stack  # type: ignore[method-assign]
    cloudformation.Stack.update = update  # type: ignore[method-assign]


def _roll_back_create(stack: Any) -> None:
    """Delete what the failed create made but what ``Retain`` keeps; the stack then holds nothing."""
    resources = stack.template_dict.get("Resources", {})
    for logical_id, resource in list(stack.resource_map._parsed_resources.items()):
        if not isinstance(resource, CloudFormationModel) or logical_id not in resources:
            continue
        physical_id = getattr(resource, "physical_resource_id", logical_id)
        kept = resources[logical_id].get("DeletionPolicy") == "Retain"
        if not kept:
            with contextlib.suppress(Exception):  # what was never made cannot be undone
                type(resource).delete_from_cloudformation_json(
                    physical_id, resources[logical_id], stack.account_id, stack.region_name
                )
        stack.events.append(
            cloudformation.Event(
                stack_id=stack.stack_id,
                stack_name=stack.name,
                logical_resource_id=logical_id,
                physical_resource_id=physical_id,
                resource_type=resources[logical_id]["Type"],
                resource_status="DELETE_SKIPPED" if kept else "DELETE_COMPLETE",
                resource_status_reason=None,
                resource_properties=None,
            )
        )
    stack.template = "{}"
    stack.template_dict = {"Resources": {}}
    stack.resource_map = stack._create_resource_map()  # moto would otherwise make the resources lazily again
    stack.output_map = stack._create_output_map()
    stack.status = "ROLLBACK_COMPLETE"
    stack._add_stack_event("ROLLBACK_COMPLETE")


def _record_failure(stack: Any, status: str, reason: str) -> None:
    stack.events.append(
        cloudformation.Event(
            stack_id=stack.stack_id,
            stack_name=stack.name,
            logical_resource_id=stack.name,
            physical_resource_id=stack.stack_id,
            resource_type="AWS::CloudFormation::Stack",
            resource_status=status,
            resource_status_reason=reason,
            resource_properties=None,
        )
    )


def _termination_protection() -> None:
    """Termination protection can be turned on for an existing stack, and a protected stack refuses DeleteStack.

    moto takes the flag at CreateStack only: it has no UpdateTerminationProtection and deletes
    a protected stack. The deploy turns protection on for a prod data stack made before the
    stage was protected, and must never be able to delete one; both are AWS's behaviour here.
    """
    original_delete = cloudformation.CloudFormationBackend.delete_stack

    def update_termination_protection(self: CloudFormationResponse) -> ActionResult:
        stack = self.cloudformation_backend.get_stack(self._get_param("StackName"))
        stack.enable_termination_protection = self._get_param("EnableTerminationProtection") in (True, "true")
        return ActionResult({"StackId": stack.stack_id})

    def delete_stack(self: Any, name_or_stack_id: str) -> None:
        try:
            stack = self.get_stack(name_or_stack_id)
        except ValidationError:
            return  # AWS: deleting a stack that does not exist succeeds, and does nothing
        if stack.enable_termination_protection:
            raise ValidationError(
                name_or_stack_id,
                message=f"Stack [{stack.name}] cannot be deleted while TerminationProtection is enabled",
            )
        original_delete(self, name_or_stack_id)

    CloudFormationResponse.update_termination_protection = update_termination_protection  # type: ignore[attr-defined]
    cloudformation.CloudFormationBackend.delete_stack = delete_stack  # type: ignore[method-assign]


IN_PLACE_INDEX_CHANGE = (
    "Cannot update GSI's properties other than Provisioned Throughput and Contributor Insights Specification"
)
INCONSISTENT_ATTRIBUTES = (
    "Property AttributeDefinitions is inconsistent with the KeySchema of the table and the secondary indexes"
)


def _table_update_refusal(stack: Any, template: dict[str, Any]) -> str | None:
    """Why CloudFormation would refuse this update of the stack's tables, or None.

    Real AWS refuses an update that creates or deletes more than one global secondary index
    on a table ("Cannot perform more than one GSI creation or deletion in a single update"),
    that changes an existing index's keys or projection in place, or whose
    ``AttributeDefinitions`` are not exactly the attributes the table's and indexes' keys use.
    moto checks none of these, so a deploy that asked for several index changes at once
    (defect 5 of issue 13) would pass here without this.
    """
    backend = dynamodb_backends[stack.account_id][stack.region_name]
    for logical_id, resource in template.get("Resources", {}).items():
        current = stack.resource_map._parsed_resources.get(logical_id)
        if resource.get("Type") != "AWS::DynamoDB::Table" or not isinstance(current, Table):
            continue
        properties = resource["Properties"]
        table = backend.get_table(current.name)
        wanted = {index["IndexName"]: index for index in properties.get("GlobalSecondaryIndexes", [])}
        have = {index.name: index for index in table.global_indexes}
        if len(wanted.keys() ^ have.keys()) > 1:
            return f"{logical_id}: Cannot perform more than one GSI creation or deletion in a single update"
        for name in wanted.keys() & have.keys():
            if _index_shape(wanted[name]) != _index_shape(
                {"KeySchema": have[name].schema, "Projection": have[name].projection}
            ):
                return f"{logical_id}: {IN_PLACE_INDEX_CHANGE}"
        keys = [*properties["KeySchema"], *(key for index in wanted.values() for key in index["KeySchema"])]
        if {d["AttributeName"] for d in properties["AttributeDefinitions"]} != {k["AttributeName"] for k in keys}:
            return f"{logical_id}: {INCONSISTENT_ATTRIBUTES}"
    return None


def _index_shape(index: dict[str, Any]) -> tuple[Any, ...]:
    projection = index.get("Projection") or {}
    keys = tuple((key["AttributeName"], key["KeyType"]) for key in index["KeySchema"])
    return keys, projection.get("ProjectionType", "ALL"), tuple(sorted(projection.get("NonKeyAttributes", [])))


def _table_updates() -> None:
    """CloudFormation updates a table in place; moto's template update leaves it as it was.

    Real AWS applies a changed ``GlobalSecondaryIndexes`` list as index creations and deletions,
    and ``DeletionProtectionEnabled``; here moto's UpdateTable does the same, once
    ``_table_update_refusal`` found nothing AWS would refuse. (Stream, billing, TTL and
    encryption changes are not applied: the deploy never changes them on an existing table.)
    """

    @classmethod  # type: ignore[misc]
    def update_from_cloudformation_json(
        cls: Any,
        original_resource: Table,
        new_resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> Table:
        properties = cloudformation_json["Properties"]
        backend = dynamodb_backends[account_id][region_name]
        table = backend.get_table(original_resource.name)
        wanted = {index["IndexName"]: index for index in properties.get("GlobalSecondaryIndexes", [])}
        have = {index.name for index in table.global_indexes}
        updates: list[dict[str, Any]] = [{"Create": wanted[name]} for name in wanted if name not in have]
        updates += [{"Delete": {"IndexName": name}} for name in have if name not in wanted]
        backend.update_table(
            name=table.name,
            attr_definitions=properties.get("AttributeDefinitions", []),
            global_index=updates,
            throughput={},
            billing_mode="",
            stream_spec={},
            deletion_protection_enabled=properties.get("DeletionProtectionEnabled", False),
            warm_throughput=None,
        )
        return table

    Table.update_from_cloudformation_json = update_from_cloudformation_json  # type: ignore[method-assign, assignment]


def _stream_records_stay() -> None:
    """A DynamoDB stream keeps its records 24 hours, whoever reads them; moto hands them to Lambda and drops them.

    On AWS, Lambda's poller reads the stream on its own schedule and the records stay on it.
    moto instead invokes the subscribed function in a container as each record is written
    (there is no container runtime here) and then empties the shard, so nothing could read
    the records afterwards. Here they stay, and the rehearsal plays Lambda's poller: it reads
    them with GetRecords and hands them to the deployed zip's consumer.
    """

    def add(self: StreamShard, old: Any, new: Any) -> None:
        view = self.table.stream_specification["StreamViewType"]  # type: ignore[index]
        event = "INSERT" if old is None else "REMOVE" if new is None else "MODIFY"
        sequence = len(self.items) + self.starting_sequence_number
        self.items.append(StreamRecord(self.table, view, event, old, new, sequence))

    StreamShard.add = add  # type: ignore[method-assign]


def _function_logging_config() -> None:
    """Lambda keeps a function's ``LoggingConfig`` (its log group and format); moto drops it.

    The deploy points each function at the log group its data stack owns (defect 8 of issue
    13); without this, the rehearsal could not see whether it did.
    """
    original_update = LambdaFunction.update_configuration
    original_get = LambdaFunction.get_configuration

    def update_configuration(self: Any, config_updates: dict[str, Any]) -> dict[str, Any]:
        if "LoggingConfig" in config_updates:  # AWS merges what is sent into what the function has
            current = getattr(self, "rehearsal_logging_config", _default_logging_config(self))
            self.rehearsal_logging_config = {**current, **config_updates["LoggingConfig"]}
        return original_update(self, config_updates)

    def get_configuration(self: Any, on_create: bool = False) -> dict[str, Any]:
        configuration = original_get(self, on_create)
        configuration["LoggingConfig"] = getattr(self, "rehearsal_logging_config", _default_logging_config(self))
        return configuration

    LambdaFunction.update_configuration = update_configuration  # type: ignore[method-assign]
    LambdaFunction.get_configuration = get_configuration  # type: ignore[method-assign]


def _default_logging_config(function: Any) -> dict[str, str]:
    return {"LogFormat": "Text", "LogGroup": f"/aws/lambda/{function.function_name}"}


class _UserPool(CloudFormationModel):
    """AWS::Cognito::UserPool, which moto's CloudFormation does not know (it skips the resource).

    Real AWS makes the pool with the template's settings; the pool here is made through
    moto's own Cognito API with the same settings, so a later DescribeUserPool shows what
    the template asked for (AllowAdminCreateUserOnly, deletion protection). Pools and their
    parts are neither updated nor deleted here: the deploy never changes them once made, and
    prod's pool is Retain (a template that changed them would not be rehearsed).
    """

    def __init__(self, pool: Any) -> None:
        self.pool = pool

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::Cognito::UserPool"

    @staticmethod
    def cloudformation_name_type() -> str:
        return "UserPoolName"

    @classmethod
    def create_from_cloudformation_json(
        cls, resource_name: str, cloudformation_json: dict[str, Any], account_id: str, region_name: str, **kwargs: Any
    ) -> _UserPool:
        properties = dict(cloudformation_json.get("Properties", {}))
        properties.pop("UserPoolName", None)
        pool = cognitoidp_backends[account_id][region_name].create_user_pool(resource_name, properties)
        return cls(pool)

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return attr in {"Arn", "ProviderName", "ProviderURL", "UserPoolId"}

    def get_cfn_attribute(self, attribute_name: str) -> str:
        if attribute_name == "Arn":
            return str(self.pool.arn)
        if attribute_name == "UserPoolId":
            return str(self.pool.id)
        provider = f"cognito-idp.{self.pool.region}.amazonaws.com/{self.pool.id}"
        return provider if attribute_name == "ProviderName" else f"https://{provider}"

    @property
    def physical_resource_id(self) -> str:
        return str(self.pool.id)


class _UserPoolPart:
    """The pool's client, domain and resource server: made with moto's Cognito API, as AWS would.

    A mixin: moto finds CloudFormation types among CloudFormationModel's direct subclasses only.
    """

    def __init__(self, physical_id: str) -> None:
        self.physical_id = physical_id

    @staticmethod
    def cloudformation_name_type() -> str:
        return ""

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return attr in {"ClientId", "Name"}

    def get_cfn_attribute(self, attribute_name: str) -> str:
        return self.physical_id

    @property
    def physical_resource_id(self) -> str:
        return self.physical_id


class _UserPoolClient(_UserPoolPart, CloudFormationModel):
    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::Cognito::UserPoolClient"

    @classmethod
    def create_from_cloudformation_json(
        cls, resource_name: str, cloudformation_json: dict[str, Any], account_id: str, region_name: str, **kwargs: Any
    ) -> _UserPoolClient:
        properties = dict(cloudformation_json["Properties"])
        pool_id = properties.pop("UserPoolId")
        secret = bool(properties.pop("GenerateSecret", False))
        backend = cognitoidp_backends[account_id][region_name]
        servers = backend.describe_user_pool(pool_id).resource_servers.values()
        known = {f"{server.identifier}/{scope['ScopeName']}" for server in servers for scope in server.scopes}
        unknown = sorted(
            set(properties.get("AllowedOAuthScopes", [])) - known - {"openid", "email", "profile", "phone"}
        )
        if unknown:  # AWS: ScopeDoesNotExistException, and the stack fails
            raise ValidationError(resource_name, message=f"Invalid scope requested: {', '.join(unknown)}")
        client = cognitoidp_backends[account_id][region_name].create_user_pool_client(pool_id, secret, properties)
        return cls(str(client.id))


class _UserPoolDomain(_UserPoolPart, CloudFormationModel):
    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::Cognito::UserPoolDomain"

    @classmethod
    def create_from_cloudformation_json(
        cls, resource_name: str, cloudformation_json: dict[str, Any], account_id: str, region_name: str, **kwargs: Any
    ) -> _UserPoolDomain:
        properties = cloudformation_json["Properties"]
        backend = cognitoidp_backends[account_id][region_name]
        backend.create_user_pool_domain(properties["UserPoolId"], properties["Domain"])
        return cls(str(properties["Domain"]))


class _UserPoolResourceServer(_UserPoolPart, CloudFormationModel):
    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::Cognito::UserPoolResourceServer"

    @classmethod
    def create_from_cloudformation_json(
        cls, resource_name: str, cloudformation_json: dict[str, Any], account_id: str, region_name: str, **kwargs: Any
    ) -> _UserPoolResourceServer:
        properties = cloudformation_json["Properties"]
        backend = cognitoidp_backends[account_id][region_name]
        backend.create_resource_server(
            properties["UserPoolId"], properties["Identifier"], properties["Name"], properties.get("Scopes", [])
        )
        return cls(str(properties["Identifier"]))


class _Alarm(CloudFormationModel):
    """AWS::CloudWatch::Alarm, which moto's CloudFormation skips (the alarms stack would make nothing).

    Real AWS makes the alarm (named ``<stack>-<logical id>-<suffix>`` when the template gives no
    name) with the template's metric or metric-math queries and actions; here moto's own
    PutMetricAlarm makes the same alarm, so DescribeAlarms shows what the template asked for.
    """

    def __init__(self, name: str) -> None:
        self.name = name

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::CloudWatch::Alarm"

    @staticmethod
    def cloudformation_name_type() -> str:
        return "AlarmName"

    @classmethod
    def create_from_cloudformation_json(
        cls, resource_name: str, cloudformation_json: dict[str, Any], account_id: str, region_name: str, **kwargs: Any
    ) -> _Alarm:
        p = cloudformation_json["Properties"]
        refusal = _alarm_refusal(p)
        if refusal:
            raise ValidationError(resource_name, message=f"{resource_name}: {refusal}")
        queries = [
            cloudwatch.MetricDataQuery(
                query_id=query["Id"],
                label=query.get("Label", ""),
                period=query.get("Period"),  # moto serialises it as given
                return_data=str(query.get("ReturnData", True)).lower(),
                expression=query.get("Expression"),
                metric_stat=_metric_stat(query["MetricStat"]) if "MetricStat" in query else None,
            )
            for query in p.get("Metrics", [])
        ]
        cloudwatch.cloudwatch_backends[account_id][region_name].put_metric_alarm(
            name=resource_name,
            namespace=p.get("Namespace"),  # absent for metric math, as DescribeAlarms shows it
            metric_name=p.get("MetricName"),
            comparison_operator=p["ComparisonOperator"],
            evaluation_periods=int(p["EvaluationPeriods"]),
            period=int(p["Period"]) if "Period" in p else None,  # type: ignore[arg-type]
            threshold=float(p["Threshold"]),
            statistic=p.get("Statistic"),
            description=p.get("AlarmDescription", ""),
            dimensions=list(p.get("Dimensions", [])),
            alarm_actions=list(p.get("AlarmActions", [])),
            metric_data_queries=queries or None,
            datapoints_to_alarm=p.get("DatapointsToAlarm"),
            extended_statistic=p.get("ExtendedStatistic"),
            ok_actions=list(p.get("OKActions", [])),
            insufficient_data_actions=list(p.get("InsufficientDataActions", [])),
            unit=p.get("Unit"),
            treat_missing_data=p.get("TreatMissingData"),
        )
        return cls(resource_name)

    @classmethod
    def delete_from_cloudformation_json(
        cls, resource_name: str, cloudformation_json: dict[str, Any], account_id: str, region_name: str
    ) -> None:
        cloudwatch.cloudwatch_backends[account_id][region_name].delete_alarms([resource_name])

    @classmethod
    def update_from_cloudformation_json(
        cls,
        original_resource: Any,
        new_resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> _Alarm:
        return cls.create_from_cloudformation_json(original_resource.name, cloudformation_json, account_id, region_name)

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return False  # the templates never ask an alarm for an attribute

    @property
    def physical_resource_id(self) -> str:
        return self.name


class _Secret(CloudFormationModel):
    """AWS::SecretsManager::Secret, which moto's CloudFormation skips.

    Real AWS makes the secret with a random value from ``GenerateSecretString`` (the pagination
    key the functions read at cold start); here moto's CreateSecret and GetRandomPassword do.
    A stack delete deletes it at once on dev (no recovery window), as the template's policy says.
    """

    def __init__(self, arn: str) -> None:
        self.arn = arn

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::SecretsManager::Secret"

    @staticmethod
    def cloudformation_name_type() -> str:
        return "Name"

    @classmethod
    def create_from_cloudformation_json(
        cls, resource_name: str, cloudformation_json: dict[str, Any], account_id: str, region_name: str, **kwargs: Any
    ) -> _Secret:
        p = cloudformation_json["Properties"]
        backend = secretsmanager_backends[account_id][region_name]
        generate = p.get("GenerateSecretString", {})
        value = p.get("SecretString") or backend.get_random_password(
            password_length=int(generate.get("PasswordLength", 32)),
            exclude_characters=generate.get("ExcludeCharacters", ""),
            exclude_numbers=bool(generate.get("ExcludeNumbers", False)),
            exclude_punctuation=bool(generate.get("ExcludePunctuation", False)),
            exclude_uppercase=bool(generate.get("ExcludeUppercase", False)),
            exclude_lowercase=bool(generate.get("ExcludeLowercase", False)),
            include_space=bool(generate.get("IncludeSpace", False)),
            require_each_included_type=bool(generate.get("RequireEachIncludedType", True)),
        )
        if not isinstance(value, str):  # moto answers with the API's JSON document
            value = json.loads(value)["RandomPassword"]
        created = backend.create_secret(
            name=resource_name,
            secret_string=value,
            secret_binary=None,
            description=p.get("Description"),
            tags=p.get("Tags"),
            kms_key_id=p.get("KmsKeyId"),
            client_request_token=None,
            replica_regions=[],
            force_overwrite=False,
        )
        return cls(json.loads(created)["ARN"])

    @classmethod
    def delete_from_cloudformation_json(
        cls, resource_name: str, cloudformation_json: dict[str, Any], account_id: str, region_name: str
    ) -> None:
        secretsmanager_backends[account_id][region_name].delete_secret(resource_name, None, True)

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return False  # the templates use the secret's name, never an attribute

    @property
    def physical_resource_id(self) -> str:
        return self.arn


def _alarm_refusal(p: dict[str, Any]) -> str | None:
    """Why PutMetricAlarm (so CloudFormation) refuses these alarm properties, or None: the rules our alarms meet."""
    metrics = p.get("Metrics", [])
    if metrics:
        if any(key in p for key in ("MetricName", "Namespace", "Statistic", "ExtendedStatistic", "Period")):
            return "Metrics cannot be combined with MetricName, Namespace, Statistic, ExtendedStatistic or Period"
        if len(metrics) > 10:
            return "The maximum number of metrics in an alarm's Metrics is 10"
        if sum(bool(query.get("ReturnData", True)) for query in metrics) != 1:
            return "Exactly one element of the Metrics list must return data"
    elif not (
        "MetricName" in p and "Namespace" in p and "Period" in p and ("Statistic" in p) != ("ExtendedStatistic" in p)
    ):
        return "An alarm on one metric needs MetricName, Namespace, Period and one of Statistic or ExtendedStatistic"
    if "Threshold" not in p and "ThresholdMetricId" not in p:
        return "Threshold is required"
    return None


def _metric_stat(stat: dict[str, Any]) -> cloudwatch.MetricStat:
    metric = stat["Metric"]
    dimensions = [cloudwatch.Dimension(d["Name"], d["Value"]) for d in metric.get("Dimensions", [])]
    return cloudwatch.MetricStat(
        cloudwatch.Metric(metric["MetricName"], metric["Namespace"], dimensions),
        str(stat["Period"]),
        stat["Stat"],
        cast("str", stat.get("Unit")),  # None when the template names no unit, as AWS leaves it
    )


def install() -> None:
    _swagger_import()
    _stack_failures()
    _table_updates()
    _termination_protection()
    _function_logging_config()
    _stream_records_stay()
    for cache in (get_model_list, get_model_map, get_name_type_map):
        cache.cache_clear()  # the Cognito models above are CloudFormationModel subclasses moto must see
