"""IAM enforcement for the local stack: moto's authorization, switched on once the stack is
provisioned, and evaluated against the resources AWS evaluates it against.

moto can authorize every request with the caller's IAM policies (its INITIAL_NO_AUTH_ACTION_COUNT
setting), but it checks SQS against the queue's ARN and everything else against `*`, and a
TransactWriteItems as the action `dynamodb:TransactWriteItems`. AWS does neither: a statement
scoped to a table's ARN allows exactly that table, and a transaction needs the permission of each
operation in it on each item's table (PutItem, UpdateItem, DeleteItem, ConditionCheckItem), see
https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/transaction-apis-iam.html.
Evaluated against `*`, every table-scoped statement of template.yaml would deny everything (or,
written as `*`, allow everything), so nothing would be proven. This module supplies, per request,
the (action, resource ARN) pairs AWS would check:

- DynamoDB: the table in `TableName` (and `table/T/index/I` for an `IndexName`); each item of a
  TransactWriteItems / TransactGetItems as its own operation on its own table; BatchGetItem and
  BatchWriteItem on each table named;
- Secrets Manager: the secret's full ARN, looked up when the request names it by name or partial
  ARN;
- CloudWatch Logs: `log-group:G` and `log-group:G:log-stream:S`;
- SQS: a batch action as its single action (`DeleteMessageBatch` needs `sqs:DeleteMessage`,
  `SendMessageBatch` `sqs:SendMessage`, `ChangeMessageVisibilityBatch`
  `sqs:ChangeMessageVisibility`, as AWS documents), on the queue's ARN, which moto finds itself.

`enforce(True)` switches authorization on (`moto_server.py` exposes it as `POST /_hookline/iam`
with body `on` or `off`; moto's reset switches it off). With it off, every request is allowed, as
moto's default.
"""

from __future__ import annotations

from typing import Any

from moto import settings
from moto.core.authorization import ActionAuthenticatorMixin
from moto.dynamodb.responses import DynamoHandler
from moto.iam.access_control import IAMRequest
from moto.logs.responses import LogsResponse
from moto.secretsmanager.models import secretsmanager_backends
from moto.secretsmanager.responses import SecretsManagerResponse
from moto.sqs.responses import SQSResponse

SQS_BATCH_ACTIONS = {
    "DeleteMessageBatch": "DeleteMessage",
    "SendMessageBatch": "SendMessage",
    "ChangeMessageVisibilityBatch": "ChangeMessageVisibility",
}

TRANSACT_WRITE_ACTIONS = {
    "Put": "PutItem",
    "Update": "UpdateItem",
    "Delete": "DeleteItem",
    "ConditionCheck": "ConditionCheckItem",
}


def enforce(on: bool) -> None:
    """Authorize every request from now on (`on`), or none (moto's default)."""
    settings.INITIAL_NO_AUTH_ACTION_COUNT = 0 if on else float("inf")
    ActionAuthenticatorMixin.request_count = 0


def enforced() -> bool:
    return settings.INITIAL_NO_AUTH_ACTION_COUNT == 0


def dynamodb_permissions(action: str, body: dict[str, Any], region: str, account: str) -> list[tuple[str, str]]:
    """The (action, resource) pairs AWS authorizes a DynamoDB request by."""

    def table(name: str, index: str | None = None) -> str:
        arn = f"arn:aws:dynamodb:{region}:{account}:table/{name}"
        return f"{arn}/index/{index}" if index else arn

    if action == "TransactWriteItems":
        pairs = []
        for item in body.get("TransactItems") or []:
            for kind, operation in item.items():
                pairs.append((TRANSACT_WRITE_ACTIONS.get(kind, kind), table(operation.get("TableName", "?"))))
        return pairs or [(action, "*")]
    if action == "TransactGetItems":
        return [("GetItem", table(item["Get"].get("TableName", "?"))) for item in body.get("TransactItems") or []] or [
            (action, "*")
        ]
    if action in ("BatchGetItem", "BatchWriteItem"):
        return [(action, table(name)) for name in body.get("RequestItems") or {}] or [(action, "*")]
    if body.get("TableName"):
        return [(action, table(body["TableName"], body.get("IndexName")))]
    return [(action, "*")]


def secret_arn(secret_id: str | None, region: str, account: str) -> str:
    """The secret's full ARN, as a policy names it (`!Ref` of a secret is its full ARN)."""
    if not secret_id:
        return "*"
    secret = secretsmanager_backends[account][region].secrets.get(secret_id)
    return secret.arn if secret is not None else secret_id


def logs_resource(body: dict[str, Any], region: str, account: str) -> str:
    group = body.get("logGroupName")
    if not group:
        return "*"
    arn = f"arn:aws:logs:{region}:{account}:log-group:{group}"
    stream = body.get("logStreamName")
    return f"{arn}:log-stream:{stream}" if stream else arn


def _authorize_each(self, pairs: list[tuple[str, str]]) -> None:
    """moto's own check (its counting, signature check and policy evaluation), once per
    (action, resource): the request class is told which action to check."""
    for checked, resource in pairs:

        def request_for(checked: str = checked, **kwargs: Any) -> IAMRequest:
            return IAMRequest(**{**kwargs, "action": checked})  # in place of the request's own

        self._authenticate_and_authorize_action(request_for, resource)


def _dynamodb_authorize(self, resource: str = "*") -> None:
    body = getattr(self, "params", None) or {}
    _authorize_each(self, dynamodb_permissions(self._get_action(), body, self.region, self.current_account))


def _secretsmanager_authorize(self, resource: str = "*") -> None:
    arn = secret_arn(self._get_param("SecretId"), self.region, self.current_account)
    _authorize_each(self, [(self._get_action(), arn)])


def _logs_authorize(self, resource: str = "*") -> None:
    body = {name: self._get_param(name) for name in ("logGroupName", "logStreamName")}
    _authorize_each(self, [(self._get_action(), logs_resource(body, self.region, self.current_account))])


def _sqs_authorize(self, resource: str = "*") -> None:
    action = self._get_action()
    _authorize_each(self, [(SQS_BATCH_ACTIONS.get(action, action), resource)])


DynamoHandler._authenticate_and_authorize_normal_action = _dynamodb_authorize
SQSResponse._authenticate_and_authorize_normal_action = _sqs_authorize
SecretsManagerResponse._authenticate_and_authorize_normal_action = _secretsmanager_authorize
LogsResponse._authenticate_and_authorize_normal_action = _logs_authorize
