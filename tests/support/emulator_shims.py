"""What moto lacks for the deploy rehearsal, patched into the emulator's own process (and only there).

Each shim fills in one thing real AWS does and moto 5.2.5 (requirements-dev.txt pins it) does
not, so that `make deploy` runs against moto exactly as against an account. A shim never makes
a call succeed that AWS would refuse for our input: where AWS validates (one index change per
table update, say), the shim validates the same way, so a defect of ours still fails here.
"""

from __future__ import annotations

from typing import Any

from moto.apigateway.models import APIGatewayBackend
from moto.cloudformation import models as cloudformation
from moto.cloudformation.parsing import get_model_list, get_model_map, get_name_type_map
from moto.cognitoidp.models import cognitoidp_backends
from moto.core.common_models import CloudFormationModel
from moto.dynamodb.exceptions import MockValidationException
from moto.dynamodb.models import dynamodb_backends
from moto.dynamodb.models.table import Table


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
    """A resource CloudFormation cannot make or change fails the stack, which rolls back.

    Real AWS answers CreateStack/UpdateStack at once and then, when a resource fails, records
    a ``*_FAILED`` event with the reason, undoes what it did and leaves the stack in
    ROLLBACK_COMPLETE (a first create) or UPDATE_ROLLBACK_COMPLETE (an update). moto raises
    the resource's error out of the API call instead, so the deploy's handling of a rolled-back
    stack (defect 6 of issue 13) could never run. Here the failure takes AWS's course.
    """
    original_create = cloudformation.Stack.create_resources
    original_update = cloudformation.Stack.update

    def create_resources(self: Any) -> None:
        try:
            original_create(self)
        except Exception as error:
            _record_failure(self, error)
            for resource in list(self.resource_map._parsed_resources.values()):
                try:
                    if hasattr(resource, "delete"):
                        resource.delete(self.account_id, self.region_name)
                except Exception:  # noqa: S110 - what was never made cannot be undone
                    pass
            self.status = "ROLLBACK_COMPLETE"
            self._add_stack_event("ROLLBACK_COMPLETE")

    def update(self: Any, *args: Any, **kwargs: Any) -> None:
        template, parameters = self.template, self.parameters
        try:
            original_update(self, *args, **kwargs)
        except Exception as error:
            _record_failure(self, error)
            self.template, self.parameters = template, parameters
            self._parse_template()
            self.status = "UPDATE_ROLLBACK_COMPLETE"
            self._add_stack_event("UPDATE_ROLLBACK_COMPLETE")

    cloudformation.Stack.create_resources = create_resources  # type: ignore[method-assign]
    cloudformation.Stack.update = update  # type: ignore[method-assign]


def _record_failure(stack: Any, error: Exception) -> None:
    reason = getattr(error, "message", None) or str(error)
    event = cloudformation.Event(
        stack_id=stack.stack_id,
        stack_name=stack.name,
        logical_resource_id=getattr(error, "logical_id", stack.name),
        physical_resource_id=stack.stack_id,
        resource_type="AWS::CloudFormation::Stack",
        resource_status="CREATE_FAILED" if stack.status.startswith("CREATE") else "UPDATE_FAILED",
        resource_status_reason=reason,
        resource_properties=None,
    )
    stack.events.append(event)


def _table_updates() -> None:
    """CloudFormation updates a table in place; moto's template update leaves it as it was.

    Real AWS applies a changed ``GlobalSecondaryIndexes`` list as index creations and deletions
    and refuses an update that creates or deletes more than one ("Cannot perform more than
    one GSI creation or deletion in a single update"), and applies ``DeletionProtectionEnabled``.
    The refusal is kept here, so a deploy that asks for two index changes at once fails on
    the emulator as it would on an account (defect 5 of issue 13).
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
        created = [name for name in wanted if name not in have]
        deleted = [name for name in have if name not in wanted]
        if len(created) + len(deleted) > 1:
            raise MockValidationException("Cannot perform more than one GSI creation or deletion in a single update")
        updates: list[dict[str, Any]] = [{"Create": wanted[name]} for name in created]
        updates += [{"Delete": {"IndexName": name}} for name in deleted]
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


class _UserPool(CloudFormationModel):
    """AWS::Cognito::UserPool, which moto's CloudFormation does not know (it skips the resource).

    Real AWS makes the pool with the template's settings; the pool here is made through
    moto's own Cognito API with the same settings, so a later DescribeUserPool shows what
    the template asked for (AllowAdminCreateUserOnly, deletion protection).
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
        return f"cognito-idp.{self.pool.region}.amazonaws.com/{self.pool.id}"

    @property
    def physical_resource_id(self) -> str:
        return str(self.pool.id)


class _UserPoolPart(CloudFormationModel):
    """The pool's client, domain and resource server: made with moto's Cognito API, as AWS would."""

    kind = ""

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


class _UserPoolClient(_UserPoolPart):
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
        client = cognitoidp_backends[account_id][region_name].create_user_pool_client(pool_id, secret, properties)
        return cls(str(client.id))


class _UserPoolDomain(_UserPoolPart):
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


class _UserPoolResourceServer(_UserPoolPart):
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


def install() -> None:
    _swagger_import()
    _stack_failures()
    _table_updates()
    for cache in (get_model_list, get_model_map, get_name_type_map):
        cache.cache_clear()  # the Cognito models above are CloudFormationModel subclasses moto must see
