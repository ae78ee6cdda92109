"""A deployed stack's outputs, read once with CloudFormation ``describe_stacks``; errors as one line."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError, NoCredentialsError


class StackError(Exception):
    """The stack cannot be read or lacks an output; the message is one line a user can act on."""


def read_outputs(cloudformation: Any, stack_name: str) -> tuple[str, dict[str, str]]:
    """The stack's status and its outputs (``OutputKey`` → ``OutputValue``)."""
    region = cloudformation.meta.region_name
    try:
        stacks = cloudformation.describe_stacks(StackName=stack_name)["Stacks"]
    except ClientError as exc:
        message = exc.response.get("Error", {}).get("Message", str(exc))
        if "does not exist" in message:
            raise StackError(f"stack {stack_name!r} does not exist in region {region}") from None
        raise StackError(f"cannot read stack {stack_name!r} in {region}: {message}") from None
    except NoCredentialsError:
        raise StackError("no AWS credentials found (set AWS_PROFILE or the AWS_* variables)") from None
    if not stacks:
        raise StackError(f"stack {stack_name!r} does not exist in region {region}")
    stack = stacks[0]
    outputs = {o["OutputKey"]: o.get("OutputValue", "") for o in stack.get("Outputs", [])}
    return stack.get("StackStatus", "?"), outputs


def require_output(stack_name: str, status: str, outputs: dict[str, str], key: str) -> str:
    """``outputs[key]``, or a StackError naming the missing output and the ones the stack has."""
    if not outputs.get(key):
        available = ", ".join(sorted(outputs)) or "none"
        raise StackError(f"stack {stack_name!r} ({status}) has no output {key!r}; its outputs: {available}")
    return outputs[key]
