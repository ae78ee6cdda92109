"""``template.yaml`` → what ``sam deploy`` would deploy (only :mod:`~offline.cfn.template` needs cfn-lint).

- :mod:`offline.cfn.resolver` — intrinsic functions, conditions and physical names, for the SAM template
  and the translated one (``checks/`` resolve with it too, the IAM lint without cfn-lint);
- :mod:`offline.cfn.template` — loading with cfn-lint's decoder;
- :mod:`offline.cfn.stack` — the functions and state machines the harness runs;
- :mod:`offline.cfn.definitions` — ASL file + ``DefinitionSubstitutions`` → deployed definition;
- :mod:`offline.cfn.print_definition` — the CLI printing one.
"""
