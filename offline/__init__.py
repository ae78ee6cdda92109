"""The offline twin: the template's state machines executed in moto with the real handlers, jobs and model.

Packages: :mod:`offline.cfn` (template → deployed definitions), :mod:`offline.engine` (the moto
bridges), :mod:`offline.harness` (:class:`~offline.harness.OfflineHarness`), :mod:`offline.runners`
(the ``.sync`` integrations done locally); see ``offline/README.md``. The demos that use it: ``demo/``.
"""
