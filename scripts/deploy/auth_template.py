"""The Cognito user pool of a stage that requires auth: OAuth client-credentials with read and write scopes.

Two app clients: a reader (``customers/read``) and a writer (both scopes), so a
service that only looks customers up cannot change them.
"""

from __future__ import annotations

from typing import Any

from chalicelib.api.access import AUTHORIZER_NAME, RESOURCE_SERVER
from chalicelib.stages import resource_name

POOL = "UserPool"


def auth_resources(stage: str, protected: bool) -> dict[str, Any]:
    policy = "Retain" if protected else "Delete"
    scopes = [f"{RESOURCE_SERVER}/read", f"{RESOURCE_SERVER}/write"]

    def client(name: str, allowed: list[str]) -> dict[str, Any]:
        return {
            "Type": "AWS::Cognito::UserPoolClient",
            "DependsOn": "UserPoolResourceServer",
            "Properties": {
                "UserPoolId": {"Ref": POOL},
                "ClientName": resource_name(stage, name),
                "GenerateSecret": True,
                "AllowedOAuthFlowsUserPoolClient": True,
                "AllowedOAuthFlows": ["client_credentials"],
                "AllowedOAuthScopes": allowed,
                "AccessTokenValidity": 60,
                "TokenValidityUnits": {"AccessToken": "minutes"},
            },
        }

    return {
        POOL: {
            "Type": "AWS::Cognito::UserPool",
            "DeletionPolicy": policy,
            "UpdateReplacePolicy": policy,
            "Properties": {
                "UserPoolName": resource_name(stage),
                "DeletionProtection": "ACTIVE" if protected else "INACTIVE",
                # Callers are services with client credentials: nobody may sign themselves up.
                "AdminCreateUserConfig": {"AllowAdminCreateUserOnly": True},
            },
        },
        "UserPoolDomain": {
            "Type": "AWS::Cognito::UserPoolDomain",
            "Properties": {
                "UserPoolId": {"Ref": POOL},
                "Domain": {"Fn::Sub": f"{resource_name(stage)}-${{AWS::AccountId}}"},
            },
        },
        "UserPoolResourceServer": {
            "Type": "AWS::Cognito::UserPoolResourceServer",
            "Properties": {
                "UserPoolId": {"Ref": POOL},
                "Identifier": RESOURCE_SERVER,
                "Name": "Customer Management API",
                "Scopes": [
                    {"ScopeName": "read", "ScopeDescription": "Read customers"},
                    {"ScopeName": "write", "ScopeDescription": "Create, change and delete customers"},
                ],
            },
        },
        "ReaderClient": client("reader", scopes[:1]),
        "WriterClient": client("writer", scopes),
    }


def auth_outputs(stage: str) -> dict[str, Any]:
    def output(description: str, value: Any) -> dict[str, Any]:
        return {"Description": description, "Value": value}

    return {
        "UserPoolArn": {
            **output(
                "The user pool's ARN: make deploy gives it to the authorizer (COGNITO_USER_POOL_ARN)",
                {"Fn::GetAtt": [POOL, "Arn"]},
            ),
            "Export": {"Name": resource_name(stage, "UserPoolArn")},
        },
        "TokenUrl": output(
            "POST client_id/secret here (grant_type=client_credentials) for an access token",
            {
                "Fn::Sub": f"https://{resource_name(stage)}-${{AWS::AccountId}}.auth.${{AWS::Region}}.amazoncognito.com/oauth2/token"
            },
        ),
        "ReaderClientId": output("Client with customers/read", {"Ref": "ReaderClient"}),
        "WriterClientId": output("Client with customers/read and customers/write", {"Ref": "WriterClient"}),
    }


def authorizer_override() -> dict[str, Any]:
    """Point Chalice's authorizer at the pool created in the same (merged) template."""
    return {
        "DefinitionBody": {
            "securityDefinitions": {
                AUTHORIZER_NAME: {"x-amazon-apigateway-authorizer": {"providerARNs": [{"Fn::GetAtt": [POOL, "Arn"]}]}}
            }
        }
    }
