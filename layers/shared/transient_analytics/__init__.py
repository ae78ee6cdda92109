"""transient_analytics: the rules of the pipelines, shared by every Lambda function (the shared layer).

Modules are pure unless named an adapter. The top level holds what every concern uses; the
subpackages group the rest by concern (each one's ``__init__`` lists its modules):

- ``slots``: the fixed time slots landing data is converted by, their ids and fingerprints.
- ``layout``: where every object lives in the data bucket (S3 keys and dated prefixes).
- ``naming``: run ids, EMR cluster names, SageMaker job names and their limits.
- ``tags``: the tag keys put on what a run starts, and tag values every service accepts.
- ``settings``: each function's configuration, read once from its environment and validated.
- ``models``: the events the functions receive (pydantic), with errors that name the field.
- ``errors``: the errors raised on purpose, and how a validation error is put into words.
- ``metrics_catalog``: every metric the functions emit (namespace, names, dimensions), the dashboard's check.
- ``aws``: thin adapters over boto3 (Step Functions, EMR, EMR Serverless, S3, SNS, EventBridge).
- ``wiring``: how each handler gets its settings, its adapters and the clock (replaced in tests).
- ``ledger``: the slot ledger: its records, their transitions, which slots a run claims, the
  DynamoDB store, the outbox of notices.
- ``runs``: one run of the EMR or the transform pipeline, from its plan to its record: planning,
  the plan, the lease, the verdicts, recording, the completion events, the cost, the metrics.
- ``training``: the model's lifecycle: the training plan, the model registry, the quality gate,
  registration and promotion.
- ``notify``: what people are told: a failed run's message (from its execution history), the
  slots' notices, and what ``notify_failure`` does.
"""

__version__ = "1.0.0"
