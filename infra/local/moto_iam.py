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
- EventBridge: a PutEvents on the bus of each of its entries (`EventBusName`: a name in the
  caller's account and region, or an ARN; absent, the account's `default` bus), once per
  distinct bus, so entries on two buses need both (other EventBridge actions stay on `*`);
- SQS: a batch action as its single action (`DeleteMessageBatch` needs `sqs:DeleteMessage`,
  `SendMessageBatch` `sqs:SendMessage`, `ChangeMessageVisibilityBatch`
  `sqs:ChangeMessageVisibility`, as AWS documents), on the queue's ARN, which moto finds itself;
- S3: moto checks an object action against the object's ARN (`arn:aws:s3:::B/K`) itself.

moto evaluates no SQS queue policy, and evaluates an S3 bucket policy on every object request
whether enforcement is on or not, with a flaw: a `Deny` statement whose condition does not hold
denies anyway, so the template's TLS-only statement would deny every object request. Here, a
request allowed by the caller's own policies is then held to the queue's policy (its `Policy`
attribute) or the bucket's policy, whose `Deny` statements win over any allow, as in AWS's
policy evaluation logic
(https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html);
moto's own bucket-policy check is replaced by that one, so with enforcement off no bucket policy
applies, as no queue policy does. What `queue_policy_denial` evaluates, and how it differs from
AWS:
- `Deny` statements with `Principal` `*` (or `{"AWS": "*"}`, or naming the caller's ARN or
  account), `Action`, `Resource` and `Condition`; `Allow` statements are not needed for a caller
  of the queue's own account (its identity policy suffices) and are not evaluated, so a
  cross-account grant is not emulated;
- condition operators ArnEquals/ArnLike (each of the ARN's six colon-separated parts matched on
  its own, `*` and `?` wildcards), StringEquals/StringLike, Bool, and their negations; a missing
  key fails a positive operator and satisfies a negated one, as AWS documents; any other operator
  or statement element (NotAction, NotPrincipal, ...) is refused loudly rather than guessed;
- context keys: `aws:PrincipalArn` (the user's ARN, or for a role session the role's ARN, path
  included) and `aws:PrincipalAccount`. `aws:SecureTransport` is absent: the emulator's endpoint
  is plain HTTP on loopback, and every request would otherwise be denied by the template's TLS
  statement, so that statement is proven by the template tests alone.

`enforce(True)` switches authorization on (`moto_server.py` exposes it as `POST /_hookline/iam`
with body `on` or `off`; moto's reset switches it off). With it off, every request is allowed, as
moto's default.
"""

from __future__ import annotations

import fnmatch
import json
import re
from typing import Any

from moto import settings
from moto.core.authorization import ActionAuthenticatorMixin
from moto.core.exceptions import AccessDeniedError
from moto.dynamodb.responses import DynamoHandler
from moto.events.responses import EventsHandler
from moto.iam.access_control import IAMRequest, PermissionResult, S3IAMRequest
from moto.logs.responses import LogsResponse
from moto.s3.models import FakeBucket, s3_backends
from moto.s3.responses import S3Response
from moto.secretsmanager.models import secretsmanager_backends
from moto.secretsmanager.responses import SecretsManagerResponse
from moto.sqs.models import sqs_backends
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


def event_bus_arn(name: str | None, region: str, account: str) -> str:
    """The ARN of the bus a PutEvents entry goes to, as EventBridge resolves `EventBusName`."""
    if name and name.startswith("arn:"):
        return name
    return f"arn:aws:events:{region}:{account}:event-bus/{name or 'default'}"


def events_permissions(action: str, body: dict[str, Any], region: str, account: str) -> list[tuple[str, str]]:
    """The (action, resource) pairs AWS authorizes an EventBridge request by: a PutEvents on
    each distinct bus of its entries."""
    if action == "PutEvents":
        entries = body.get("Entries") or []
        buses = dict.fromkeys(event_bus_arn(entry.get("EventBusName"), region, account) for entry in entries)
        return [(action, bus) for bus in buses] or [(action, "*")]
    return [(action, "*")]


def _authorize_each(self, pairs: list[tuple[str, str]], request_class: type = IAMRequest) -> None:
    """moto's own check (its counting, signature check and policy evaluation), once per
    (action, resource): the request class is told which action to check."""
    for checked, resource in pairs:

        def request_for(checked: str = checked, **kwargs: Any) -> IAMRequest:
            return request_class(**{**kwargs, "action": checked})  # in place of the request's own

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


def _events_authorize(self, resource: str = "*") -> None:
    body = {"Entries": self._get_param("Entries")}
    _authorize_each(self, events_permissions(self._get_action(), body, self.region, self.current_account))


class UnsupportedPolicy(Exception):
    """A queue policy uses what `queue_policy_denial` does not evaluate."""


STATEMENT_ELEMENTS = {"Sid", "Effect", "Principal", "Action", "Resource", "Condition"}


def _like(pattern: str, value: str, case_sensitive: bool = True) -> bool:
    if not case_sensitive:
        pattern, value = pattern.lower(), value.lower()
    return re.fullmatch(fnmatch.translate(pattern), value) is not None


def _arn_like(pattern: str, arn: str) -> bool:
    """ArnLike: each of the six colon-separated parts matched on its own."""
    patterns, parts = pattern.split(":", 5), arn.split(":", 5)
    return len(patterns) == len(parts) == 6 and all(_like(p, v) for p, v in zip(patterns, parts))


MATCHERS = {
    "ArnEquals": _arn_like,  # AWS documents ArnEquals and ArnLike as the same test
    "ArnLike": _arn_like,
    "StringEquals": lambda expected, actual: expected == actual,
    "StringLike": _like,
    "Bool": lambda expected, actual: expected.lower() == actual.lower(),
}
NEGATIONS = {"ArnNotEquals": "ArnEquals", "ArnNotLike": "ArnLike", "StringNotEquals": "StringEquals", "StringNotLike": "StringLike"}


def _listed(value: Any) -> list[str]:
    return [str(v) for v in value] if isinstance(value, list) else [str(value)]


def _condition_holds(operator: str, key: str, expected: Any, context: dict[str, str]) -> bool:
    negated = operator in NEGATIONS
    matcher = MATCHERS.get(NEGATIONS.get(operator, operator))
    if matcher is None:
        raise UnsupportedPolicy(f"condition operator {operator}")
    actual = context.get(key)
    if actual is None:
        return negated
    matched = any(matcher(value, actual) for value in _listed(expected))
    return not matched if negated else matched


def _principal_applies(principal: Any, context: dict[str, str]) -> bool:
    if principal == "*":
        return True
    if not isinstance(principal, dict) or set(principal) != {"AWS"}:
        return False  # a service principal: not the caller of an API request
    arn, account = context.get("aws:PrincipalArn", ""), context.get("aws:PrincipalAccount", "")
    for named in _listed(principal["AWS"]):
        if named in ("*", arn, account) or named.endswith(f"::{account}:root"):
            return True
    return False


def queue_policy_denial(policy: str | None, action: str, resource: str, context: dict[str, str]) -> str | None:
    """The Sid (or index) of the queue policy's statement that denies `action` (e.g.
    `sqs:SendMessage`) on `resource` for the caller described by `context`, or None."""
    if not policy:
        return None
    statements = json.loads(policy).get("Statement") or []
    for index, statement in enumerate(statements if isinstance(statements, list) else [statements]):
        unsupported = set(statement) - STATEMENT_ELEMENTS
        if unsupported:
            raise UnsupportedPolicy(f"statement element {', '.join(sorted(unsupported))}")
        if statement.get("Effect") != "Deny" or not _principal_applies(statement.get("Principal"), context):
            continue
        if not any(_like(a, action, case_sensitive=False) for a in _listed(statement.get("Action", []))):
            continue
        if not any(_arn_like(r, resource) or r == "*" for r in _listed(statement.get("Resource", "*"))):
            continue
        conditions = statement.get("Condition") or {}
        if all(
            _condition_holds(operator, key, expected, context)
            for operator, keys in conditions.items()
            for key, expected in keys.items()
        ):
            return statement.get("Sid") or f"statement {index}"
    return None


def principal_context(access_key: Any) -> dict[str, str]:
    """aws:PrincipalArn and aws:PrincipalAccount of moto's access key: a user's ARN, or the
    role's ARN (path included) for a role session, as AWS sets aws:PrincipalArn."""
    arn = access_key.arn
    role_name = getattr(access_key, "_owner_role_name", None)
    if role_name is not None:
        arn = access_key.backend.get_role(role_name).arn
    return {"aws:PrincipalArn": arn, "aws:PrincipalAccount": access_key.account_id}


class _QueuePolicyRequest(IAMRequest):
    """moto's identity check, then the queue's own policy."""

    def check_action_permitted(self, resource: str) -> None:
        super().check_action_permitted(resource)
        if not resource.startswith("arn:") or ":sqs:" not in resource:
            return
        _, _, _, region, account, name = resource.split(":", 5)
        queue = sqs_backends[account][region].queues.get(name)
        if queue is None:
            return
        context = principal_context(self._access_key)
        denial = queue_policy_denial(queue.policy, self._action, resource, context)
        if denial is not None:
            raise AccessDeniedError(
                user_arn=context["aws:PrincipalArn"],
                action=f"{self._action} on resource: {resource} with an explicit deny in a resource-based policy ({denial})",
            )


def _sqs_authorize(self, resource: str = "*") -> None:
    action = self._get_action()
    _authorize_each(self, [(SQS_BATCH_ACTIONS.get(action, action), resource)], _QueuePolicyRequest)


class _BucketPolicyRequest(S3IAMRequest):
    """moto's identity check (against the bucket's or the object's ARN), then the bucket's own
    policy, evaluated as a queue's is."""

    def check_action_permitted(self, resource: str) -> None:
        super().check_action_permitted(resource)
        if not resource.startswith("arn:") or ":s3:::" not in resource:
            return
        bucket_name = resource.split(":::", 1)[1].split("/", 1)[0]
        partition = resource.split(":", 2)[1]
        bucket = s3_backends[self._access_key.account_id][partition].buckets.get(bucket_name)
        if bucket is None or not bucket.policy:
            return
        context = principal_context(self._access_key)
        denial = queue_policy_denial(bucket.policy.decode(), self._action, resource, context)
        if denial is not None:
            self._raise_access_denied()


def _s3_authorize(self, bucket_name: str | None = None, key_name: str | None = None) -> None:
    arn = f"{bucket_name or '*'}/{key_name}" if key_name else (bucket_name or "*")
    self._authenticate_and_authorize_action(_BucketPolicyRequest, f"arn:aws:s3:::{arn}")


def _no_unconditional_bucket_denial(self, action: str, resource: str) -> Any:
    """moto's per-object bucket-policy check: neutral, the policy is evaluated with the caller's
    identity above instead."""
    return PermissionResult.NEUTRAL


S3Response._authenticate_and_authorize_s3_action = _s3_authorize
FakeBucket.get_permission = _no_unconditional_bucket_denial
DynamoHandler._authenticate_and_authorize_normal_action = _dynamodb_authorize
SQSResponse._authenticate_and_authorize_normal_action = _sqs_authorize
SecretsManagerResponse._authenticate_and_authorize_normal_action = _secretsmanager_authorize
LogsResponse._authenticate_and_authorize_normal_action = _logs_authorize
EventsHandler._authenticate_and_authorize_normal_action = _events_authorize
