"""``template.yaml`` → what ``sam deploy`` would deploy: resolved names, functions, state machine definitions.

- :mod:`offline.cfn.template` — loading (cfn-lint's decoder), stack defaults, :class:`TemplateError`.
- :mod:`offline.cfn.resolver` — intrinsic functions and physical names.
- :mod:`offline.cfn.stack` — :class:`Stack`: the functions and state machines the harness runs.
- :mod:`offline.cfn.definitions` — ASL file + ``DefinitionSubstitutions`` → deployed definition.
- :mod:`offline.cfn.print_definition` — CLI printing a substituted definition.

Needs only cfn-lint and the standard library, so ``checks/`` can use it from the SAM environment.
"""

from offline.cfn.definitions import RenderedDefinition, all_states, render_definition
from offline.cfn.stack import FunctionSpec, Stack, StateMachineSpec
from offline.cfn.template import (
    DEFAULT_ACCOUNT_ID,
    DEFAULT_REGION,
    DEFAULT_STACK_NAME,
    TemplateError,
    load_template,
)

__all__ = [
    "DEFAULT_ACCOUNT_ID",
    "DEFAULT_REGION",
    "DEFAULT_STACK_NAME",
    "FunctionSpec",
    "RenderedDefinition",
    "Stack",
    "StateMachineSpec",
    "TemplateError",
    "all_states",
    "load_template",
    "render_definition",
]
