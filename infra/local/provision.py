#!/usr/bin/env python3
"""Create template.yaml's queues, tables and secrets in the local AWS emulator.

Runs with the project venv: `.venv/bin/python infra/local/provision.py [options]`.

CloudFormation itself is not used (moto cannot deploy a SAM template). Instead this script
reads template.yaml, resolves the intrinsic functions it needs (Ref, Fn::GetAtt, Fn::Sub,
Fn::FindInMap, Fn::Join, Fn::Select, Fn::Split, Fn::If and conditions) and creates every
AWS::SQS::Queue, AWS::DynamoDB::Table, AWS::SecretsManager::Secret, AWS::S3::Bucket and
AWS::Events::EventBus in dependency order.
Other resource types (functions, APIs, alarms, ...) are skipped with one line each.
Re-running it updates what exists instead of failing.

It then writes an env file (KEY=VALUE, no quotes, no `export`: the scripts and tests source
it) with the emulator settings, every function's environment variables together, one
HOOKLINE_RESOURCE_<NAME> line per provisioned resource, and any --extra K=V; and beside it a
`.functions.json` file with each function as the local Lambda host runs it (binary, Timeout,
MemorySize, its own environment).
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import re
import secrets
import string
import sys
import tempfile
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable

import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_REGION = "us-east-1"
DEFAULT_STACK_NAME = "hookline-local"
DEFAULT_ENV_FILE = ".hookline/local.env"
FALLBACK_ACCOUNT_ID = "123456789012"  # moto's default account

SQS_QUEUE = "AWS::SQS::Queue"
DYNAMODB_TABLE = "AWS::DynamoDB::Table"
SECRET = "AWS::SecretsManager::Secret"
IAM_ROLE = "AWS::IAM::Role"
LOG_GROUP = "AWS::Logs::LogGroup"
QUEUE_POLICY = "AWS::SQS::QueuePolicy"
BUCKET = "AWS::S3::Bucket"
BUCKET_POLICY = "AWS::S3::BucketPolicy"
EVENT_BUS = "AWS::Events::EventBus"
EMULATED_TYPES = (SQS_QUEUE, DYNAMODB_TABLE, SECRET, IAM_ROLE, LOG_GROUP, QUEUE_POLICY, BUCKET, BUCKET_POLICY, EVENT_BUS)
FUNCTION_TYPES = ("AWS::Serverless::Function", "AWS::Lambda::Function")

# Queue properties passed to SQS as attributes (CloudFormation name -> SQS attribute name).
SQS_ATTRIBUTES = {
    "ContentBasedDeduplication": "ContentBasedDeduplication",
    "DeduplicationScope": "DeduplicationScope",
    "DelaySeconds": "DelaySeconds",
    "FifoQueue": "FifoQueue",
    "FifoThroughputLimit": "FifoThroughputLimit",
    "KmsDataKeyReusePeriodSeconds": "KmsDataKeyReusePeriodSeconds",
    "KmsMasterKeyId": "KmsMasterKeyId",
    "MaximumMessageSize": "MaximumMessageSize",
    "MessageRetentionPeriod": "MessageRetentionPeriod",
    "ReceiveMessageWaitTimeSeconds": "ReceiveMessageWaitTimeSeconds",
    "RedrivePolicy": "RedrivePolicy",
    "RedriveAllowPolicy": "RedriveAllowPolicy",  # moto_move_tasks.py stores and enforces it
    "SqsManagedSseEnabled": "SqsManagedSseEnabled",
    "VisibilityTimeout": "VisibilityTimeout",
}
# Properties that the emulator cannot take; each is skipped with a note.
SQS_SKIPPED: dict[str, str] = {}
SQS_IMMUTABLE = {"FifoQueue"}  # cannot be changed by SetQueueAttributes


class ProvisionError(Exception):
    """A problem in the template, the arguments or the emulator; printed without a traceback."""


class Unresolvable(ProvisionError):
    """An intrinsic function that cannot be resolved locally."""


# --------------------------------------------------------------------------------------
# YAML loading: CloudFormation short tags become their long, JSON form (as data).


class CfnLoader(yaml.SafeLoader):
    """SafeLoader that turns `!Ref X` into {"Ref": "X"}, `!Sub s` into {"Fn::Sub": s}, etc.

    Timestamps stay strings (CloudFormation reads `Version: 2012-10-17` as text).
    """


CfnLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def _construct_tag(loader: CfnLoader, tag_suffix: str, node: yaml.Node) -> dict[str, Any]:
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)

    if tag_suffix == "Ref":
        return {"Ref": value}
    if tag_suffix == "Condition":
        return {"Condition": value}
    if tag_suffix == "GetAtt" and isinstance(value, str):
        resource, sep, attribute = value.partition(".")
        if not sep:
            raise yaml.constructor.ConstructorError(
                None, None, f"!GetAtt {value!r} is not of the form Resource.Attribute", node.start_mark
            )
        value = [resource, attribute]
    return {f"Fn::{tag_suffix}": value}


CfnLoader.add_multi_constructor("!", _construct_tag)


def load_template(text_or_path: str | Path) -> dict[str, Any]:
    """Parse a CloudFormation/SAM template (YAML or JSON); a Path is read from disk."""
    text = Path(text_or_path).read_text() if isinstance(text_or_path, Path) else text_or_path
    template = yaml.load(text, Loader=CfnLoader)  # noqa: S506 - CfnLoader is a SafeLoader
    if not isinstance(template, dict) or not isinstance(template.get("Resources"), dict):
        raise ProvisionError("the template has no Resources section")
    return template


# --------------------------------------------------------------------------------------
# Resolving intrinsic functions.

NO_VALUE = object()  # what Ref AWS::NoValue resolves to; removed from the enclosing dict/list


@dataclass
class ResolvedResource:
    """What a provisioned resource answers to Ref and Fn::GetAtt."""

    ref: str
    attributes: dict[str, str] = field(default_factory=dict)


@dataclass
class Context:
    template: dict[str, Any]
    stack_name: str = DEFAULT_STACK_NAME
    region: str = DEFAULT_REGION
    account_id: str = FALLBACK_ACCOUNT_ID
    partition: str = "aws"
    overrides: dict[str, str] = field(default_factory=dict)  # --param K=V
    resources: dict[str, ResolvedResource] = field(default_factory=dict)

    def pseudo_parameter(self, name: str) -> Any:
        values = {
            "AWS::StackName": self.stack_name,
            "AWS::Region": self.region,
            "AWS::AccountId": self.account_id,
            "AWS::Partition": self.partition,
            "AWS::URLSuffix": "amazonaws.com",
            "AWS::StackId": f"arn:{self.partition}:cloudformation:{self.region}:{self.account_id}:"
            f"stack/{self.stack_name}/00000000-0000-0000-0000-000000000000",
            "AWS::NotificationARNs": [],
            "AWS::NoValue": NO_VALUE,
        }
        if name not in values:
            raise Unresolvable(f"unknown pseudo parameter {name}")
        return values[name]

    def parameter(self, name: str) -> Any:
        declared = self.template.get("Parameters") or {}
        if name not in declared:
            raise Unresolvable(f"Ref {name}: no such parameter or resource")
        spec = declared[name] or {}
        if name in self.overrides:
            value: Any = self.overrides[name]
        elif "Default" in spec:
            value = spec["Default"]
        else:
            raise Unresolvable(f"parameter {name} has no Default: pass --param {name}=VALUE")
        if str(spec.get("Type", "String")).startswith("CommaDelimitedList") or str(
            spec.get("Type", "")
        ).startswith("List<"):
            if isinstance(value, list):
                return [str(v) for v in value]
            return [v.strip() for v in str(value).split(",")]
        return _scalar_text(value)

    def ref(self, name: str) -> Any:
        if name.startswith("AWS::"):
            return self.pseudo_parameter(name)
        if name in (self.template.get("Parameters") or {}):
            return self.parameter(name)
        if name in self.resources:
            return self.resources[name].ref
        if name in self.template["Resources"]:
            kind = self.template["Resources"][name].get("Type")
            raise Unresolvable(f"Ref {name}: {kind} is not created in the emulator")
        raise Unresolvable(f"Ref {name}: no such parameter or resource")

    def get_att(self, name: str, attribute: str) -> str:
        if name not in self.resources:
            if name in self.template["Resources"]:
                kind = self.template["Resources"][name].get("Type")
                raise Unresolvable(f"GetAtt {name}.{attribute}: {kind} is not created in the emulator")
            raise Unresolvable(f"GetAtt {name}.{attribute}: no such resource")
        attributes = self.resources[name].attributes
        if attribute not in attributes:
            raise Unresolvable(
                f"GetAtt {name}.{attribute}: unknown attribute (known: {', '.join(sorted(attributes))})"
            )
        return attributes[attribute]


def _scalar_text(value: Any) -> Any:
    """CloudFormation hands parameters and Sub values around as text."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    return value


_SUB_VARIABLE = re.compile(r"\$\{([^}]*)\}")


def _sub(template_string: str, variables: dict[str, Any], ctx: Context) -> str:
    def replace(match: re.Match[str]) -> str:
        name = match.group(1).strip()
        if name.startswith("!"):  # ${!Literal} stays as ${Literal}
            return "${" + name[1:] + "}"
        if name in variables:
            value = variables[name]
        elif "." in name and not name.startswith("AWS::"):
            resource, _, attribute = name.partition(".")
            value = ctx.get_att(resource, attribute)
        else:
            value = ctx.ref(name)
        if isinstance(value, list) or value is NO_VALUE:
            raise Unresolvable(f"Fn::Sub: ${{{name}}} is not a string")
        return str(_scalar_text(value))

    return _SUB_VARIABLE.sub(replace, template_string)


def evaluate_condition(name: str, ctx: Context, _seen: tuple[str, ...] = ()) -> bool:
    conditions = ctx.template.get("Conditions") or {}
    if name not in conditions:
        raise Unresolvable(f"no such condition {name}")
    if name in _seen:
        raise Unresolvable(f"condition {name} refers to itself")
    return _truth(resolve(conditions[name], ctx, _conditions=_seen + (name,)), name)


def _truth(value: Any, where: str) -> bool:
    if isinstance(value, bool):
        return value
    if value in ("true", "false"):
        return value == "true"
    raise Unresolvable(f"{where}: {value!r} is not a condition")


def resolve(value: Any, ctx: Context, _conditions: tuple[str, ...] = ()) -> Any:
    """Resolve CloudFormation intrinsic functions in `value` (recursively) against `ctx`.

    Plain data is returned as a copy. A Ref to AWS::NoValue removes the key or list item.
    Raises Unresolvable for anything that cannot be known locally (for instance a Ref to a
    function, which the emulator does not create).
    """
    rec = lambda v: resolve(v, ctx, _conditions)  # noqa: E731

    if isinstance(value, list):
        items = [rec(v) for v in value]
        return [v for v in items if v is not NO_VALUE]
    if not isinstance(value, dict):
        return value
    if len(value) == 1:
        (key, arg), = value.items()
        if key == "Ref":
            return ctx.ref(arg)
        if key == "Condition" and isinstance(arg, str):
            return evaluate_condition(arg, ctx, _conditions)
        if key == "Fn::GetAtt":
            if isinstance(arg, str):
                arg = arg.split(".", 1)
            resource, attribute = rec(arg)
            return ctx.get_att(resource, attribute)
        if key == "Fn::Sub":
            if isinstance(arg, str):
                return _sub(arg, {}, ctx)
            text, variables = arg
            return _sub(text, {k: rec(v) for k, v in variables.items()}, ctx)
        if key == "Fn::FindInMap":
            mapping, top, second = (str(_scalar_text(x)) for x in rec(arg[:3]))
            table = (ctx.template.get("Mappings") or {}).get(mapping)
            if table is None:
                raise Unresolvable(f"Fn::FindInMap: no mapping {mapping}")
            try:
                return _scalar_text(copy.deepcopy(table[top][second]))
            except KeyError:
                raise Unresolvable(f"Fn::FindInMap: {mapping} has no {top}/{second}") from None
        if key == "Fn::If":
            condition, if_true, if_false = arg
            return rec(if_true if evaluate_condition(condition, ctx, _conditions) else if_false)
        if key == "Fn::Equals":
            a, b = (_scalar_text(x) for x in rec(arg))
            return a == b
        if key == "Fn::Not":
            return not _truth(rec(arg[0]), "Fn::Not")
        if key == "Fn::Join":
            delimiter, items = rec(arg)
            if not isinstance(items, list):
                raise Unresolvable("Fn::Join: the second argument must be a list")
            return str(delimiter).join(str(_scalar_text(item)) for item in items)
        if key == "Fn::Split":
            delimiter, text = rec(arg)
            return str(text).split(str(delimiter))
        if key.startswith("Fn::"):
            # Only what template.yaml uses is resolved (Ref, Sub, GetAtt, FindInMap, If,
            # Equals, Not, Join, Split, Condition); anything else fails loudly rather than guessing.
            raise Unresolvable(f"{key} is not supported by the local provisioner")
    out = {}
    for k, v in value.items():
        resolved = rec(v)
        if resolved is not NO_VALUE:
            out[k] = resolved
    return out


# --------------------------------------------------------------------------------------
# Dependencies and order.


def references(value: Any) -> set[str]:
    """Logical ids and parameter names that `value` refers to (Ref, GetAtt, Sub variables)."""
    found: set[str] = set()
    if isinstance(value, list):
        for v in value:
            found |= references(v)
    elif isinstance(value, dict):
        if len(value) == 1:
            (key, arg), = value.items()
            if key == "Ref" and isinstance(arg, str):
                return {arg}
            if key == "Fn::GetAtt":
                target = arg.split(".", 1)[0] if isinstance(arg, str) else arg[0]
                return {target} | (references(arg[1:]) if isinstance(arg, list) else set())
            if key == "Fn::Sub":
                text, variables = (arg, {}) if isinstance(arg, str) else (arg[0], arg[1])
                local = set(variables)
                for name in _SUB_VARIABLE.findall(text):
                    name = name.strip()
                    if name.startswith("!") or name in local:
                        continue
                    found.add(name.split(".", 1)[0] if not name.startswith("AWS::") else name)
                return found | references(list(variables.values()))
        for v in value.values():
            found |= references(v)
    return found


def dependencies(template: dict[str, Any], logical_id: str) -> set[str]:
    """Resources (not parameters) that `logical_id` needs to exist first."""
    resource = template["Resources"][logical_id]
    depends_on = resource.get("DependsOn") or []
    if isinstance(depends_on, str):
        depends_on = [depends_on]
    refs = references(resource.get("Properties") or {}) | set(depends_on)
    return {r for r in refs if r in template["Resources"] and r != logical_id}


def creation_order(template: dict[str, Any], logical_ids: Iterable[str] | None = None) -> list[str]:
    """`logical_ids` (default: all resources) sorted so that dependencies come first.

    Ties keep template order. Dependencies outside `logical_ids` are ignored here (they fail
    later, at resolution, with a clearer message). A cycle raises ProvisionError.
    """
    wanted = list(template["Resources"] if logical_ids is None else logical_ids)
    wanted_set = set(wanted)
    deps = {lid: dependencies(template, lid) & wanted_set for lid in wanted}
    order: list[str] = []
    done: set[str] = set()
    while len(order) < len(wanted):
        ready = [lid for lid in wanted if lid not in done and deps[lid] <= done]
        if not ready:
            stuck = [lid for lid in wanted if lid not in done]
            raise ProvisionError(f"dependency cycle between {', '.join(stuck)}")
        lid = ready[0]
        order.append(lid)
        done.add(lid)
    return order


# --------------------------------------------------------------------------------------
# Env file.


def upper_snake(name: str) -> str:
    """DeadLetterQueue -> DEAD_LETTER_QUEUE, SQSQueue2 -> SQS_QUEUE2."""
    s = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", name)
    s = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", s)
    return re.sub(r"[^A-Za-z0-9]+", "_", s).strip("_").upper()


def _function_variables(lid: str, resource: dict, ctx: Context, warn: Callable[[str], None]) -> dict[str, str]:
    """One function's environment variables (Globals merged with its own), resolved; those
    that cannot be resolved locally (e.g. a Ref to an API) are left out with a note."""
    template = ctx.template
    props = resource.get("Properties") or {}
    own = ((props.get("Environment") or {}).get("Variables")) or {}
    if resource.get("Type") == "AWS::Serverless::Function":
        global_vars = (
            ((template.get("Globals") or {}).get("Function") or {}).get("Environment") or {}
        ).get("Variables") or {}
        merged = {**global_vars, **own}
    else:
        merged = dict(own)
    variables: dict[str, str] = {}
    for key, raw in merged.items():
        try:
            value = resolve(raw, ctx)
        except Unresolvable as e:
            warn(f"note: {key} of {lid} left out of the env file: {e}")
            continue
        if value is not NO_VALUE:
            variables[key] = str(_scalar_text(value))
    return variables


def _functions(ctx: Context):
    for lid, resource in ctx.template["Resources"].items():
        if resource.get("Type") in FUNCTION_TYPES and _condition_holds(resource, ctx):
            yield lid, resource


def function_environment(ctx: Context, warn: Callable[[str], None] = print) -> dict[str, str]:
    """Every function's environment variables together, for the env file the shell scripts
    and tests source. If two functions give one variable different values, the first wins."""
    env: dict[str, str] = {}
    for lid, resource in _functions(ctx):
        for key, value in _function_variables(lid, resource, ctx, warn).items():
            if key in env and env[key] != value:
                warn(f"warning: {key} is {env[key]!r} in one function and {value!r} in {lid}; keeping the first")
                continue
            env[key] = value
    return env


def function_specs(ctx: Context, extra: dict[str, str], warn: Callable[[str], None] = print) -> list[dict]:
    """What the local Lambda host (lambda_host.py) runs, per function as the template declares
    it: the binary (Metadata BuildProperties Binary), Timeout, MemorySize, the variables Lambda
    sets from LoggingConfig, and the function's own environment (plus the --extra lines)."""
    template = ctx.template
    globals_function = (template.get("Globals") or {}).get("Function") or {}
    specs = []
    for lid, resource in _functions(ctx):
        props = resource.get("Properties") or {}
        serverless = resource.get("Type") == "AWS::Serverless::Function"

        def setting(name: str, default):
            raw = props.get(name, globals_function.get(name, default) if serverless else default)
            return resolve(raw, ctx)

        binary = ((resource.get("Metadata") or {}).get("BuildProperties") or {}).get("Binary") or lid
        logging = setting("LoggingConfig", {}) or {}
        lambda_env = {}
        if logging.get("LogFormat"):
            lambda_env["AWS_LAMBDA_LOG_FORMAT"] = str(logging["LogFormat"])
        if logging.get("ApplicationLogLevel"):
            lambda_env["AWS_LAMBDA_LOG_LEVEL"] = str(logging["ApplicationLogLevel"])
        variables = _function_variables(lid, resource, ctx, warn)
        if "SSL_CERT_FILE" in variables:
            variables["SSL_CERT_FILE"] = local_ca_bundle(variables["SSL_CERT_FILE"])
        try:
            role_arn = resolve(props["Role"], ctx) if "Role" in props else None
        except Unresolvable:
            role_arn = None
        specs.append(
            {
                "name": binary,
                "logical_id": lid,
                "role_arn": role_arn,
                "timeout_seconds": int(setting("Timeout", 3)),
                "memory_mb": int(setting("MemorySize", 128)),
                "environment": {**lambda_env, **variables, **extra},
            }
        )
    return specs


def functions_file(env_path: Path) -> Path:
    """Where the function specs go beside the env file: .hookline/test.env -> .hookline/test.functions.json."""
    return env_path.with_name(env_path.stem + ".functions.json")


# Where systems keep their one bundle of TLS roots (as openssl-probe looks for them).
CA_BUNDLES = (
    "/etc/ssl/certs/ca-certificates.crt",  # Debian, Ubuntu
    "/etc/pki/tls/certs/ca-bundle.crt",  # Amazon Linux, Fedora, RHEL
    "/etc/ssl/ca-bundle.pem",  # openSUSE
    "/etc/ssl/cert.pem",  # Alpine, macOS
)


def local_ca_bundle(path: str, candidates: tuple[str, ...] = CA_BUNDLES) -> str:
    """The template's SSL_CERT_FILE names a file of Lambda's image; where that file does not
    exist here, this machine's own bundle stands in, so a function run locally reads one bundle
    as it does on Lambda (and not none, which would make local cold starts look cheaper)."""
    if os.path.isfile(path):
        return path
    return next((c for c in candidates if os.path.isfile(c)), path)


def env_lines(
    endpoint_url: str,
    region: str,
    function_env: dict[str, str],
    resources: dict[str, ResolvedResource],
    extra: dict[str, str],
    credentials: dict[str, str] | None = None,
) -> list[str]:
    """The env file's lines, in order: emulator settings, function variables, resources, extras.

    A later value for a key replaces an earlier one (so --extra can override anything); the
    key keeps the position of its last definition.
    """
    entries: dict[str, str] = {}

    def put(key: str, value: str) -> None:
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", key):
            raise ProvisionError(f"env file: {key!r} is not a valid variable name")
        value = str(value)
        if "\n" in value or "\r" in value:
            raise ProvisionError(f"env file: the value of {key} spans lines")
        # The file is written unquoted, for the shell scripts that source it and for
        # `cargo lambda`'s --env-file parser, which refuses these characters unquoted.
        refused = sorted({c for c in value if c in " \t=\"'"})
        if refused:
            raise ProvisionError(
                f"env file: the value of {key} holds {''.join(refused)!r}, which cannot be written unquoted"
            )
        entries.pop(key, None)
        entries[key] = value

    put("AWS_ENDPOINT_URL", endpoint_url)
    put("AWS_REGION", region)
    put("AWS_ACCESS_KEY_ID", (credentials or {}).get("AWS_ACCESS_KEY_ID", "test"))
    put("AWS_SECRET_ACCESS_KEY", (credentials or {}).get("AWS_SECRET_ACCESS_KEY", "test"))
    for k, v in function_env.items():
        put(k, local_ca_bundle(v) if k == "SSL_CERT_FILE" else v)
    for lid, resource in resources.items():
        put(f"HOOKLINE_RESOURCE_{upper_snake(lid)}", resource.ref)
    for k, v in extra.items():
        put(k, v)
    return [f"{k}={v}" for k, v in entries.items()]


def set_iam_enforcement(endpoint_url: str, on: bool) -> None:
    """Switches the emulator's IAM enforcement (moto_server.py's `POST /_hookline/iam`)."""
    import urllib.request

    request = urllib.request.Request(f"{endpoint_url}/_hookline/iam", data=b"on" if on else b"off", method="POST")
    try:
        with urllib.request.urlopen(request, timeout=10) as reply:
            answer = reply.read().strip()
    except OSError as e:
        if not on:
            return  # an emulator without the switch enforces nothing to begin with
        raise ProvisionError(f"cannot switch IAM enforcement on at {endpoint_url}: {e}") from None
    if answer != (b"on" if on else b"off"):
        raise ProvisionError(f"the emulator at {endpoint_url} answered {answer!r} to switching IAM enforcement")


def operator_credentials(session: Callable[[str], Any], stack_name: str) -> tuple[str, dict[str, str]]:
    """The ARN and access keys of an operator user allowed everything: what the scripts, the
    tests and the CLI use once enforcement is on (an account's administrator, in AWS terms)."""
    iam = session("iam")
    name = f"{stack_name}-operator"
    try:
        arn = iam.create_user(UserName=name)["User"]["Arn"]
    except iam.exceptions.EntityAlreadyExistsException:
        arn = iam.get_user(UserName=name)["User"]["Arn"]
        for key in iam.list_access_keys(UserName=name)["AccessKeyMetadata"]:
            iam.delete_access_key(UserName=name, AccessKeyId=key["AccessKeyId"])
    document = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
    iam.put_user_policy(UserName=name, PolicyName="operator", PolicyDocument=json.dumps(document))
    key = iam.create_access_key(UserName=name)["AccessKey"]
    return arn, {"AWS_ACCESS_KEY_ID": key["AccessKeyId"], "AWS_SECRET_ACCESS_KEY": key["SecretAccessKey"]}


def role_credentials(session: Callable[[str], Any], role_arn: str, session_name: str) -> dict[str, str]:
    """A role's temporary credentials, as Lambda hands a function its execution role's."""
    credentials = session("sts").assume_role(RoleArn=role_arn, RoleSessionName=session_name[:64], DurationSeconds=43200)[
        "Credentials"
    ]
    return {
        "AWS_ACCESS_KEY_ID": credentials["AccessKeyId"],
        "AWS_SECRET_ACCESS_KEY": credentials["SecretAccessKey"],
        "AWS_SESSION_TOKEN": credentials["SessionToken"],
    }


def write_functions_file(path: Path, endpoint_url: str, region: str, specs: list[dict]) -> None:
    """The functions' specs as JSON, with what every function's environment holds locally
    beside its own variables: the emulator's endpoint, region and credentials."""
    document = {
        "common_environment": {
            "AWS_ENDPOINT_URL": endpoint_url,
            "AWS_REGION": region,
            "AWS_DEFAULT_REGION": region,
            "AWS_ACCESS_KEY_ID": "test",
            "AWS_SECRET_ACCESS_KEY": "test",
        },
        "functions": specs,
    }
    _write_atomically(path, json.dumps(document, indent=2) + "\n")


def write_env_file(path: Path, lines: list[str]) -> None:
    _write_atomically(path, "# Written by infra/local/provision.py; regenerated on every run.\n" + "\n".join(lines) + "\n")


def _write_atomically(path: Path, text: str) -> None:
    """Writes `text` to `path` through a temporary file beside it, so a reader never sees half."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


# --------------------------------------------------------------------------------------
# Creating resources in the emulator.


def _condition_holds(resource: dict[str, Any], ctx: Context) -> bool:
    condition = resource.get("Condition")
    return True if condition is None else evaluate_condition(condition, ctx)


def _attribute_text(value: Any) -> str:
    if isinstance(value, (dict, list)):
        return json.dumps(_json_numbers(value), separators=(",", ":"))
    return str(_scalar_text(value))


_JSON_NUMBER_KEYS = {"maxReceiveCount"}


def _json_numbers(value: Any) -> Any:
    """Numbers that Ref turned into text (maxReceiveCount: "5") back into JSON numbers."""
    if isinstance(value, dict):
        return {
            k: int(v) if k in _JSON_NUMBER_KEYS and isinstance(v, str) and v.isdigit() else _json_numbers(v)
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [_json_numbers(v) for v in value]
    return value


def _tags(props: dict[str, Any]) -> list[dict[str, str]]:
    return [{"Key": str(t["Key"]), "Value": str(t["Value"])} for t in props.get("Tags") or []]


class Provisioner:
    def __init__(self, ctx: Context, session: Any, out: Callable[[str], None] = print, verbose: bool = False):
        self.ctx = ctx
        self.session = session
        self.out = out
        # What is left out on purpose (resources the emulator does not hold, properties it
        # drops) is one summary line, or a line each with verbose.
        self.detail = out if verbose else (lambda _: None)
        self._clients: dict[str, Any] = {}

    def client(self, service: str) -> Any:
        if service not in self._clients:
            self._clients[service] = self.session(service)
        return self._clients[service]

    def provision(self, secret_values: dict[str, str]) -> dict[str, ResolvedResource]:
        template = self.ctx.template
        unknown = set(secret_values) - {
            lid for lid, r in template["Resources"].items() if r.get("Type") == SECRET
        }
        if unknown:
            raise ProvisionError(f"--secret-value names no secret of the template: {', '.join(sorted(unknown))}")

        emulated = []
        skipped: dict[str, int] = {}
        for lid, resource in template["Resources"].items():
            kind = resource.get("Type")
            if kind not in EMULATED_TYPES:
                self.detail(f"skip       {lid} ({kind}): not emulated")
            elif not _condition_holds(resource, self.ctx):
                self.detail(f"skip       {lid} ({kind}): condition {resource['Condition']} is false")
            else:
                emulated.append(lid)
                continue
            skipped[kind] = skipped.get(kind, 0) + 1
        if skipped:
            kinds = ", ".join(f"{n} {kind}" for kind, n in sorted(skipped.items()))
            self.out(f"skipped   {sum(skipped.values())} resources not emulated or not enabled ({kinds}; --verbose lists them)")

        provisioned: dict[str, ResolvedResource] = {}
        for lid in creation_order(template, emulated):
            resource = template["Resources"][lid]
            try:
                props = resolve(resource.get("Properties") or {}, self.ctx)
            except Unresolvable as e:
                raise ProvisionError(f"{lid}: {e}") from None
            kind = resource["Type"]
            if kind == SQS_QUEUE:
                result = self.queue(lid, props)
            elif kind == DYNAMODB_TABLE:
                result = self.table(lid, props)
            elif kind == IAM_ROLE:
                result = self.role(lid, props)
            elif kind == LOG_GROUP:
                result = self.log_group(lid, props)
            elif kind == QUEUE_POLICY:
                result = self.queue_policy(lid, props)
            elif kind == BUCKET:
                result = self.bucket(lid, props)
            elif kind == BUCKET_POLICY:
                result = self.bucket_policy(lid, props)
            elif kind == EVENT_BUS:
                result = self.event_bus(lid, props)
            else:
                result = self.secret(lid, props, secret_values.get(lid))
            self.ctx.resources[lid] = result
            provisioned[lid] = result
        return provisioned

    # -- SQS ----------------------------------------------------------------------------

    def queue(self, lid: str, props: dict[str, Any]) -> ResolvedResource:
        sqs = self.client("sqs")
        fifo = _attribute_text(props.get("FifoQueue", False)) == "true"
        name = props.get("QueueName") or f"{self.ctx.stack_name}-{lid}" + (".fifo" if fifo else "")
        attributes = {}
        for prop, value in props.items():
            if prop in SQS_ATTRIBUTES:
                if prop == "FifoQueue" and not fifo:
                    continue  # AWS rejects FifoQueue=false on create
                attributes[SQS_ATTRIBUTES[prop]] = _attribute_text(value)
            elif prop in SQS_SKIPPED:
                self.detail(f"note      {lid}: {prop} skipped: {SQS_SKIPPED[prop]}")
            elif prop not in ("QueueName", "Tags"):
                self.out(f"note      {lid}: property {prop} is not supported locally; skipped")

        try:
            url = sqs.get_queue_url(QueueName=name)["QueueUrl"]
        except sqs.exceptions.QueueDoesNotExist:
            url = None
        if url is None:
            kwargs: dict[str, Any] = {"QueueName": name, "Attributes": attributes}
            if props.get("Tags"):
                kwargs["tags"] = {t["Key"]: t["Value"] for t in _tags(props)}
            url = sqs.create_queue(**kwargs)["QueueUrl"]
            action = "created"
        else:
            mutable = {k: v for k, v in attributes.items() if k not in SQS_IMMUTABLE}
            if mutable:
                sqs.set_queue_attributes(QueueUrl=url, Attributes=mutable)
            if props.get("Tags"):
                sqs.tag_queue(QueueUrl=url, Tags={t["Key"]: t["Value"] for t in _tags(props)})
            action = "updated"
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        self.out(f"{action:<9} {lid} (queue) {url}")
        return ResolvedResource(ref=url, attributes={"Arn": arn, "QueueName": name, "QueueUrl": url})

    def queue_policy(self, lid: str, props: dict[str, Any]) -> ResolvedResource:
        """The policy document as each queue's `Policy` attribute, as CloudFormation sets it
        (moto stores it; moto_iam.py evaluates its Deny statements once enforcement is on)."""
        sqs = self.client("sqs")
        document = json.dumps(props["PolicyDocument"])
        for url in props.get("Queues") or []:
            sqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": document})
        self.out(f"{'set':<9} {lid} (queue policy of {len(props.get('Queues') or [])} queues)")
        return ResolvedResource(ref=lid, attributes={"Id": lid})

    # -- S3 -----------------------------------------------------------------------------

    def bucket(self, lid: str, props: dict[str, Any]) -> ResolvedResource:
        """The bucket with its encryption, public access block, ownership and lifecycle, as
        CloudFormation sets them. moto stores each; it applies no lifecycle rule and evaluates
        no bucket policy (the static tests hold those)."""
        s3 = self.client("s3")
        name = props.get("BucketName") or f"{self.ctx.stack_name}-{lid}".lower()
        try:
            s3.head_bucket(Bucket=name)
            action = "updated"
        except s3.exceptions.ClientError:
            kwargs: dict[str, Any] = {"Bucket": name}
            if self.ctx.region != "us-east-1":
                kwargs["CreateBucketConfiguration"] = {"LocationConstraint": self.ctx.region}
            s3.create_bucket(**kwargs)
            action = "created"
        for prop, value in props.items():
            if prop == "BucketEncryption":
                s3.put_bucket_encryption(Bucket=name, ServerSideEncryptionConfiguration={
                    "Rules": [_bucket_encryption_rule(rule) for rule in value["ServerSideEncryptionConfiguration"]]})
            elif prop == "PublicAccessBlockConfiguration":
                s3.put_public_access_block(Bucket=name, PublicAccessBlockConfiguration={
                    k: _attribute_text(v) == "true" for k, v in value.items()})
            elif prop == "OwnershipControls":
                s3.put_bucket_ownership_controls(Bucket=name, OwnershipControls=value)
            elif prop == "LifecycleConfiguration":
                s3.put_bucket_lifecycle_configuration(Bucket=name, LifecycleConfiguration={
                    "Rules": [_lifecycle_rule(rule) for rule in value["Rules"]]})
            elif prop != "BucketName":
                self.out(f"note      {lid}: property {prop} is not supported locally; skipped")
        self.out(f"{action:<9} {lid} (bucket) {name}")
        return ResolvedResource(ref=name, attributes={"Arn": f"arn:{self.ctx.partition}:s3:::{name}"})

    def bucket_policy(self, lid: str, props: dict[str, Any]) -> ResolvedResource:
        self.client("s3").put_bucket_policy(Bucket=props["Bucket"], Policy=json.dumps(props["PolicyDocument"]))
        self.out(f"{'set':<9} {lid} (bucket policy of {props['Bucket']})")
        return ResolvedResource(ref=lid)

    # -- EventBridge --------------------------------------------------------------------

    def event_bus(self, lid: str, props: dict[str, Any]) -> ResolvedResource:
        """The bus by its name, which is what Ref of a bus answers in CloudFormation (GetAtt Arn
        its ARN). moto routes PutEvents on it to its rules' targets."""
        events = self.client("events")
        name = props.get("Name") or f"{self.ctx.stack_name}-{lid}"
        for prop in props:
            if prop != "Name":
                self.out(f"note      {lid}: property {prop} is not supported locally; skipped")
        try:
            arn = events.create_event_bus(Name=name)["EventBusArn"]
            action = "created"
        except events.exceptions.ResourceAlreadyExistsException:
            arn = events.describe_event_bus(Name=name)["Arn"]
            action = "unchanged"
        self.out(f"{action:<9} {lid} (event bus) {arn}")
        return ResolvedResource(ref=name, attributes={"Arn": arn, "Name": name})

    # -- DynamoDB -----------------------------------------------------------------------

    def table(self, lid: str, props: dict[str, Any]) -> ResolvedResource:
        ddb = self.client("dynamodb")
        name = props.get("TableName") or f"{self.ctx.stack_name}-{lid}"
        gsis = [
            {k: v for k, v in gsi.items() if k in ("IndexName", "KeySchema", "Projection")}
            for gsi in props.get("GlobalSecondaryIndexes") or []
        ]
        lsis = [
            {k: v for k, v in lsi.items() if k in ("IndexName", "KeySchema", "Projection")}
            for lsi in props.get("LocalSecondaryIndexes") or []
        ]
        if props.get("BillingMode", "PAY_PER_REQUEST") != "PAY_PER_REQUEST":
            self.out(f"note      {lid}: BillingMode {props['BillingMode']} created as PAY_PER_REQUEST locally")

        try:
            description = ddb.describe_table(TableName=name)["Table"]
        except ddb.exceptions.ResourceNotFoundException:
            description = None
        if description is None:
            kwargs: dict[str, Any] = {
                "TableName": name,
                "KeySchema": props["KeySchema"],
                "AttributeDefinitions": props["AttributeDefinitions"],
                "BillingMode": "PAY_PER_REQUEST",
            }
            if gsis:
                kwargs["GlobalSecondaryIndexes"] = gsis
            if lsis:
                kwargs["LocalSecondaryIndexes"] = lsis
            stream = props.get("StreamSpecification")
            if stream:
                kwargs["StreamSpecification"] = {"StreamEnabled": True, "StreamViewType": stream["StreamViewType"]}
            if props.get("Tags"):
                kwargs["Tags"] = _tags(props)
            description = ddb.create_table(**kwargs)["TableDescription"]
            action = "created"
        else:
            existing = {g["IndexName"] for g in description.get("GlobalSecondaryIndexes") or []}
            missing = [g for g in gsis if g["IndexName"] not in existing]
            if missing:
                ddb.update_table(
                    TableName=name,
                    AttributeDefinitions=props["AttributeDefinitions"],
                    GlobalSecondaryIndexUpdates=[{"Create": g} for g in missing],
                )
                self.out(f"note      {lid}: added index(es) {', '.join(g['IndexName'] for g in missing)}")
            action = "updated"
        ddb.get_waiter("table_exists").wait(TableName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 30})

        ttl = props.get("TimeToLiveSpecification")
        if ttl:
            self._time_to_live(ddb, name, ttl)
        description = ddb.describe_table(TableName=name)["Table"]
        self.out(f"{action:<9} {lid} (table) {name}")
        attributes = {"Arn": description["TableArn"]}
        if description.get("LatestStreamArn"):
            attributes["StreamArn"] = description["LatestStreamArn"]
        return ResolvedResource(ref=name, attributes=attributes)

    @staticmethod
    def _time_to_live(ddb: Any, name: str, ttl: dict[str, Any]) -> None:
        enabled = _attribute_text(ttl.get("Enabled", False)) == "true"
        current = ddb.describe_time_to_live(TableName=name)["TimeToLiveDescription"]
        is_on = current.get("TimeToLiveStatus") in ("ENABLED", "ENABLING")
        if is_on == enabled and (not enabled or current.get("AttributeName") == ttl["AttributeName"]):
            return  # AWS rejects a no-op UpdateTimeToLive
        if is_on and enabled:  # a different attribute: switch off first
            ddb.update_time_to_live(
                TableName=name,
                TimeToLiveSpecification={"AttributeName": current["AttributeName"], "Enabled": False},
            )
        ddb.update_time_to_live(
            TableName=name,
            TimeToLiveSpecification={
                "AttributeName": ttl["AttributeName"] if enabled else current.get("AttributeName", ttl["AttributeName"]),
                "Enabled": enabled,
            },
        )

    # -- Secrets Manager ----------------------------------------------------------------

    # -- IAM and CloudWatch Logs ----------------------------------------------------------

    def role(self, lid: str, props: dict[str, Any]) -> ResolvedResource:
        """The role with exactly the template's inline policies (a re-run replaces them and
        removes any the template no longer has), so the emulator enforces what AWS would."""
        iam = self.client("iam")
        name = props.get("RoleName") or f"{self.ctx.stack_name}-{lid}"
        trust = json.dumps(props.get("AssumeRolePolicyDocument") or {})
        try:
            arn = iam.get_role(RoleName=name)["Role"]["Arn"]
            iam.update_assume_role_policy(RoleName=name, PolicyDocument=trust)
            action = "updated"
        except iam.exceptions.NoSuchEntityException:
            kwargs: dict[str, Any] = {"RoleName": name, "AssumeRolePolicyDocument": trust}
            if props.get("Description"):
                kwargs["Description"] = props["Description"]
            arn = iam.create_role(**kwargs)["Role"]["Arn"]
            action = "created"
        wanted = {p["PolicyName"]: p["PolicyDocument"] for p in props.get("Policies") or []}
        for stale in set(iam.list_role_policies(RoleName=name)["PolicyNames"]) - set(wanted):
            iam.delete_role_policy(RoleName=name, PolicyName=stale)
        for policy_name, document in wanted.items():
            iam.put_role_policy(RoleName=name, PolicyName=policy_name, PolicyDocument=json.dumps(document))
        for prop in props:
            if prop not in ("RoleName", "Description", "AssumeRolePolicyDocument", "Policies"):
                self.out(f"note      {lid}: property {prop} is not supported locally; skipped")
        self.out(f"{action:<9} {lid} ({name}, {len(wanted)} inline policies)")
        return ResolvedResource(ref=name, attributes={"Arn": arn, "RoleId": name})

    def log_group(self, lid: str, props: dict[str, Any]) -> ResolvedResource:
        logs = self.client("logs")
        name = props.get("LogGroupName") or f"/{self.ctx.stack_name}/{lid}"
        try:
            logs.create_log_group(logGroupName=name)
            action = "created"
        except logs.exceptions.ResourceAlreadyExistsException:
            action = "unchanged"
        if props.get("RetentionInDays"):
            logs.put_retention_policy(logGroupName=name, retentionInDays=int(props["RetentionInDays"]))
        arn = f"arn:aws:logs:{self.ctx.region}:{self.ctx.account_id}:log-group:{name}"
        self.detail(f"{action:<9} {lid} ({name})")
        return ResolvedResource(ref=name, attributes={"Arn": f"{arn}:*"})

    def secret(self, lid: str, props: dict[str, Any], override: str | None) -> ResolvedResource:
        sm = self.client("secretsmanager")
        name = props.get("Name") or f"{self.ctx.stack_name}-{lid}"
        for prop in props:
            if prop not in ("Name", "Description", "SecretString", "GenerateSecretString", "Tags", "KmsKeyId"):
                self.out(f"note      {lid}: property {prop} is not supported locally; skipped")

        try:
            existing = sm.describe_secret(SecretId=name)
        except sm.exceptions.ResourceNotFoundException:
            existing = None
        if existing is not None and existing.get("DeletedDate"):
            sm.restore_secret(SecretId=name)
            self.out(f"note      {lid}: restored {name} (it was scheduled for deletion)")

        if override is not None:
            value: str | None = override
        elif "SecretString" in props:
            value = _attribute_text(props["SecretString"])
        elif "GenerateSecretString" in props:
            # Only generate once: a re-run keeps the generated value.
            value = None if existing is not None else generate_secret_string(props["GenerateSecretString"])
        else:
            value = None

        if existing is None:
            kwargs: dict[str, Any] = {"Name": name}
            if props.get("Description"):
                kwargs["Description"] = props["Description"]
            if value is not None:
                kwargs["SecretString"] = value
            if props.get("Tags"):
                kwargs["Tags"] = _tags(props)
            arn = sm.create_secret(**kwargs)["ARN"]
            action = "created"
        else:
            arn = existing["ARN"]
            if props.get("Description") and props["Description"] != existing.get("Description"):
                sm.update_secret(SecretId=arn, Description=props["Description"])
            action = "unchanged"
            if value is not None and value != self._current_value(sm, arn):
                sm.put_secret_value(SecretId=arn, SecretString=value)
                action = "updated"
        source = " (value from --secret-value)" if override is not None else ""
        self.out(f"{action:<9} {lid} (secret) {arn}{source}")
        return ResolvedResource(ref=arn, attributes={"Id": arn})

    @staticmethod
    def _current_value(sm: Any, arn: str) -> str | None:
        try:
            return sm.get_secret_value(SecretId=arn).get("SecretString")
        except sm.exceptions.ResourceNotFoundException:  # a secret with no version yet
            return None


def _bucket_encryption_rule(rule: dict[str, Any]) -> dict[str, Any]:
    """A CloudFormation ServerSideEncryptionRule as the S3 API takes it."""
    out: dict[str, Any] = {"ApplyServerSideEncryptionByDefault": rule["ServerSideEncryptionByDefault"]}
    if "BucketKeyEnabled" in rule:
        out["BucketKeyEnabled"] = _attribute_text(rule["BucketKeyEnabled"]) == "true"
    return out


def _lifecycle_rule(rule: dict[str, Any]) -> dict[str, Any]:
    """A CloudFormation lifecycle Rule (Prefix, ExpirationInDays, ...) as the S3 API takes it."""
    out: dict[str, Any] = {"Status": rule["Status"], "Filter": {"Prefix": rule.get("Prefix", "")}}
    if "Id" in rule:
        out["ID"] = rule["Id"]
    if "ExpirationInDays" in rule:
        out["Expiration"] = {"Days": int(rule["ExpirationInDays"])}
    if "AbortIncompleteMultipartUpload" in rule:
        days = int(rule["AbortIncompleteMultipartUpload"]["DaysAfterInitiation"])
        out["AbortIncompleteMultipartUpload"] = {"DaysAfterInitiation": days}
    return out


def generate_secret_string(spec: dict[str, Any]) -> str:
    """A local stand-in for GenerateSecretString (length, exclusions, template + key)."""
    length = int(spec.get("PasswordLength", 32))
    alphabet = ""
    if _attribute_text(spec.get("ExcludeLowercase", False)) != "true":
        alphabet += string.ascii_lowercase
    if _attribute_text(spec.get("ExcludeUppercase", False)) != "true":
        alphabet += string.ascii_uppercase
    if _attribute_text(spec.get("ExcludeNumbers", False)) != "true":
        alphabet += string.digits
    if _attribute_text(spec.get("ExcludePunctuation", False)) != "true":
        alphabet += "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~"
    if _attribute_text(spec.get("IncludeSpace", False)) == "true":
        alphabet += " "
    alphabet = "".join(c for c in alphabet if c not in spec.get("ExcludeCharacters", ""))
    if not alphabet:
        raise ProvisionError("GenerateSecretString excludes every character")
    password = "".join(secrets.choice(alphabet) for _ in range(length))
    if spec.get("SecretStringTemplate") and spec.get("GenerateStringKey"):
        document = json.loads(spec["SecretStringTemplate"])
        document[spec["GenerateStringKey"]] = password
        return json.dumps(document)
    return password


# --------------------------------------------------------------------------------------
# Command line.


def _key_value(text: str, option: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"{option} wants KEY=VALUE, got {text!r}")
    return key, value


def _check_parameter_overrides(template: dict[str, Any], overrides: dict[str, str]) -> None:
    declared = template.get("Parameters") or {}
    for key, value in overrides.items():
        if key not in declared:
            raise ProvisionError(f"--param {key}: the template has no such parameter")
        allowed = declared[key].get("AllowedValues")
        if allowed and value not in [str(_scalar_text(a)) for a in allowed]:
            raise ProvisionError(f"--param {key}={value}: allowed values are {', '.join(map(str, allowed))}")


def _require_loopback(endpoint_url: str) -> None:
    host = urllib.parse.urlsplit(endpoint_url).hostname or ""
    if host not in ("localhost", "::1") and not host.startswith("127."):
        raise ProvisionError(
            f"endpoint {endpoint_url} is not on this machine; pass --allow-remote-endpoint to use it anyway"
        )


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--template", default=str(REPO_ROOT / "template.yaml"), help="default: template.yaml in the repo root")
    p.add_argument("--stack-name", default=DEFAULT_STACK_NAME, help=f"${{AWS::StackName}} (default {DEFAULT_STACK_NAME})")
    p.add_argument("--region", default=DEFAULT_REGION, help=f"default {DEFAULT_REGION}")
    p.add_argument(
        "--endpoint-url",
        default=os.environ.get("AWS_ENDPOINT_URL")
        or f"http://127.0.0.1:{os.environ.get('HOOKLINE_MOTO_PORT', '4566')}",
        help="emulator URL (default: $AWS_ENDPOINT_URL, else http://127.0.0.1:$HOOKLINE_MOTO_PORT or 4566)",
    )
    p.add_argument("--allow-remote-endpoint", action="store_true", help="allow an endpoint that is not loopback")
    p.add_argument("--param", action="append", default=[], metavar="K=V", help="override a template parameter")
    p.add_argument(
        "--secret-value",
        action="append",
        default=[],
        metavar="LOGICAL_ID=FILE",
        help="take a secret's value from FILE (e.g. SourcesSecret=infra/local/sources.json)",
    )
    p.add_argument("--env-file", help=f"where to write the env file (default: {DEFAULT_ENV_FILE} in the repo root)")
    p.add_argument("--extra", action="append", default=[], metavar="K=V", help="append a line to the env file")
    p.add_argument("-v", "--verbose", action="store_true", help="list each resource and property left out on purpose")
    p.add_argument(
        "--enforce-iam",
        action="store_true",
        help="run each function with its own role's credentials, the env file with an operator's, and switch the "
        "emulator's IAM enforcement on at the end",
    )
    p.add_argument(
        "--operator-parameter",
        metavar="NAME",
        help="with --enforce-iam: set the template parameter NAME (unless --param sets it) to the operator's ARN, "
        "e.g. OperatorPrincipalArns, the principals the queue policies let send besides the functions",
    )
    return p.parse_args(argv)


def boto3_session_factory(endpoint_url: str, region: str) -> Callable[[str], Any]:
    import boto3
    from botocore.config import Config

    config = Config(connect_timeout=3, read_timeout=30, retries={"max_attempts": 2, "mode": "standard"})

    def make(service: str) -> Any:
        return boto3.client(
            service,
            endpoint_url=endpoint_url,
            region_name=region,
            aws_access_key_id="test",
            aws_secret_access_key="test",
            config=config,
        )

    return make


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        params = dict(_key_value(p, "--param") for p in args.param)
        extra = dict(_key_value(e, "--extra") for e in args.extra)
        secret_files = dict(_key_value(s, "--secret-value") for s in args.secret_value)
    except argparse.ArgumentTypeError as e:
        print(f"provision: error: {e}", file=sys.stderr)
        return 2

    try:
        if not args.allow_remote_endpoint:
            _require_loopback(args.endpoint_url)
        template_path = Path(args.template)
        template = load_template(template_path)
        _check_parameter_overrides(template, params)
        secret_values = {}
        for lid, file in secret_files.items():
            path = Path(file) if Path(file).is_absolute() else Path.cwd() / file
            if not path.is_file():
                path = REPO_ROOT / file
            try:
                secret_values[lid] = path.read_text()
            except OSError as e:
                raise ProvisionError(f"--secret-value {lid}: cannot read {file}: {e.strerror}") from None

        set_iam_enforcement(args.endpoint_url, False)  # provisioning itself is not a role's work
        session = boto3_session_factory(args.endpoint_url, args.region)
        account_id = _account_id(session, args.endpoint_url)
        operator: dict[str, str] = {}
        if args.enforce_iam:
            operator_arn, operator = operator_credentials(session, args.stack_name)
            if args.operator_parameter:
                _check_parameter_overrides(template, {args.operator_parameter: operator_arn})
                params.setdefault(args.operator_parameter, operator_arn)
        elif args.operator_parameter:
            raise ProvisionError("--operator-parameter needs --enforce-iam (without it there is no operator)")
        ctx = Context(
            template=template,
            stack_name=args.stack_name,
            region=args.region,
            account_id=account_id,
            overrides=params,
        )
        print(f"provisioning {template_path} as stack {args.stack_name} on {args.endpoint_url}")
        provisioned = Provisioner(ctx, session, verbose=args.verbose).provision(secret_values)

        env_path = Path(args.env_file) if args.env_file else REPO_ROOT / DEFAULT_ENV_FILE
        specs = function_specs(ctx, extra, warn=lambda _: None)  # notes printed with the env file's
        if args.enforce_iam:
            for spec in specs:
                if not spec["role_arn"]:
                    raise ProvisionError(f"--enforce-iam: function {spec['name']} has no role the emulator holds")
                spec["environment"].update(role_credentials(session, spec["role_arn"], f"{args.stack_name}-{spec['name']}"))
        lines = env_lines(args.endpoint_url, args.region, function_environment(ctx), provisioned, extra, operator)
        write_env_file(env_path, lines)
        write_functions_file(functions_file(env_path), args.endpoint_url, args.region, specs)
        if args.enforce_iam:
            set_iam_enforcement(args.endpoint_url, True)
            print("IAM enforcement is on: each function runs with its own role's credentials, the env file's are an operator's")
        print(f"wrote {env_path} ({len(lines)} variables) and {functions_file(env_path).name} ({len(specs)} functions)")
        return 0
    except ProvisionError as e:
        print(f"provision: error: {e}", file=sys.stderr)
        return 1
    except yaml.YAMLError as e:
        print(f"provision: error: cannot parse the template: {e}", file=sys.stderr)
        return 1


def _account_id(session: Callable[[str], Any], endpoint_url: str) -> str:
    from botocore.exceptions import BotoCoreError, ClientError, EndpointConnectionError

    try:
        return session("sts").get_caller_identity()["Account"]
    except EndpointConnectionError:
        raise ProvisionError(
            f"cannot reach the emulator at {endpoint_url}: start it with `make emulator-up` "
            "(or infra/local/moto.sh start)"
        ) from None
    except (BotoCoreError, ClientError) as e:
        raise ProvisionError(f"the emulator at {endpoint_url} did not answer STS: {e}") from None


if __name__ == "__main__":
    sys.exit(main())
