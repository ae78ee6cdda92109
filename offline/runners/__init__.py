"""Local runners behind the ``.sync`` integrations: the real work, done on this machine, failing as the service would.

:class:`~offline.runners.emr.EmrRunner` (a moto cluster; the step's ``spark-submit`` on local Spark)
and :class:`~offline.runners.sagemaker.TransformRunner` (the artifact's ``code/inference.py`` in the
model environment, one process per instance); each has ``register(harness)``.
:class:`~offline.runners.simulated_step.SimulatedSparkStep` reports as the Spark job does, without Spark.
"""
