"""The serverless resources the harness runs, as the template declares them: functions (``Globals``
merged in, handler module, layers, EventBridge rules) and state machines (resolved substitutions)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from offline.cfn.resolver import Resolver, TemplateError, as_parameter_string


@dataclass(frozen=True)
class FunctionSpec:
    """An ``AWS::Serverless::Function`` as the harness runs it in-process."""

    logical_id: str
    name: str
    arn: str
    #: ``functions.prepare_run.app``: the module ``CodeUri`` + ``Handler`` name.
    module: str
    handler: str
    code_uri: str
    environment: dict[str, str]
    timeout_seconds: int
    memory_mb: int
    runtime: str
    #: Directories of the layers the function uses (``ContentUri``), as Lambda mounts them under /opt/python.
    layer_paths: tuple[str, ...] = ()
    #: The ``Pattern`` of each of its ``EventBridgeRule`` events, resolved.
    event_patterns: tuple[dict[str, Any], ...] = ()
    #: The log group its ``LoggingConfig`` names (Lambda's default ``/aws/lambda/<name>`` without one).
    log_group: str = ""


@dataclass(frozen=True)
class StateMachineSpec:
    """An ``AWS::Serverless::StateMachine``: its name, ASL file and resolved substitutions."""

    logical_id: str
    name: str
    arn: str
    definition_uri: str
    substitutions: dict[str, str]
    type: str = "STANDARD"


class Stack(Resolver):
    """A template evaluated for one set of parameter values (see :class:`Resolver`), its resources listed."""

    def resources_of_type(self, rtype: str) -> list[str]:
        """Logical ids of the created resources of one type, in template order."""
        return [lid for lid, r in self.resources.items() if r.get("Type") == rtype and self.is_created(lid)]

    def functions(self) -> dict[str, FunctionSpec]:
        """Every ``AWS::Serverless::Function``, with ``Globals`` merged in as SAM does."""
        globals_fn = (self.template.get("Globals", {}) or {}).get("Function", {}) or {}
        specs = {}
        for lid in self.resources_of_type("AWS::Serverless::Function"):
            props = self._resource(lid).get("Properties", {})
            env = dict(self.resolve((globals_fn.get("Environment") or {}).get("Variables") or {}))
            env.update(self.resolve((props.get("Environment") or {}).get("Variables") or {}))
            handler = str(props.get("Handler") or globals_fn.get("Handler") or "")
            module_in_code, _, attribute = handler.rpartition(".")
            code_uri = str(props.get("CodeUri") or globals_fn.get("CodeUri") or "").strip("/")
            if not module_in_code or not code_uri:
                raise TemplateError(f"{lid}: CodeUri and Handler must both be set")
            module = ".".join([*Path(code_uri).parts, *module_in_code.split(".")])
            layers = self.resolve(props.get("Layers", globals_fn.get("Layers", [])))
            layer_paths = tuple(self._layer_path(arn) for arn in layers)
            name = self.physical_name(lid)
            specs[lid] = FunctionSpec(
                logical_id=lid,
                name=name,
                arn=self.get_att(lid, "Arn"),
                module=module,
                handler=attribute,
                code_uri=code_uri,
                environment={k: as_parameter_string(v) for k, v in env.items()},
                timeout_seconds=int(props.get("Timeout", globals_fn.get("Timeout", 3))),
                memory_mb=int(props.get("MemorySize", globals_fn.get("MemorySize", 128))),
                runtime=str(props.get("Runtime", globals_fn.get("Runtime", ""))),
                layer_paths=tuple(p for p in layer_paths if p),
                log_group=str(self.resolve(props.get("LoggingConfig") or {}).get("LogGroup") or f"/aws/lambda/{name}"),
                event_patterns=tuple(
                    self.resolve(event["Properties"]["Pattern"])
                    for event in (props.get("Events") or {}).values()
                    if event.get("Type") == "EventBridgeRule"
                ),
            )
        return specs

    def _layer_path(self, layer_arn: str) -> str:
        for lid in self.resources_of_type("AWS::Serverless::LayerVersion"):
            if self.ref(lid) == layer_arn:
                return str(self._resource(lid)["Properties"].get("ContentUri", "")).strip("/")
        return ""

    def state_machines(self) -> dict[str, StateMachineSpec]:
        """Every ``AWS::Serverless::StateMachine`` with its ``DefinitionSubstitutions`` resolved."""
        specs = {}
        for lid in self.resources_of_type("AWS::Serverless::StateMachine"):
            props = self._resource(lid).get("Properties", {})
            if "DefinitionUri" not in props:
                raise TemplateError(f"{lid}: only DefinitionUri state machines are supported")
            substitutions = self.resolve(props.get("DefinitionSubstitutions") or {})
            specs[lid] = StateMachineSpec(
                logical_id=lid,
                name=self.physical_name(lid),
                arn=self.ref(lid),
                definition_uri=str(props["DefinitionUri"]),
                substitutions={k: as_parameter_string(v) for k, v in substitutions.items()},
                type=str(props.get("Type", "STANDARD")),
            )
        return specs

    def resource_property(self, logical_id: str, name: str, default: Any = None) -> Any:
        """One of a resource's ``Properties``, resolved (only that one: others may name SAM-generated resources)."""
        value = self._property(logical_id, name)
        return default if value is None else value
