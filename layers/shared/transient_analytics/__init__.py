"""transient_analytics: the rules of the two pipelines, shared by every Lambda function.

Modules (pure unless named an adapter):

- ``layout``: where every object lives in the data bucket (S3 keys and dated prefixes).
- ``naming``: run ids, EMR cluster names, SageMaker transform-job names and their limits.
- ``settings``: the function's configuration, read once from its environment and validated.
- ``models``: the events the functions receive (pydantic), with errors that name the field.
- ``plan``: the run plan ``prepare_run`` hands to the state machines.
- ``overlap``: the guard that keeps two executions of one state machine from running at once.
- ``history``: what a Step Functions execution history says about a failed run.
- ``notification``: the SNS message a failed run produces.
- ``metrics_catalog``: every metric the functions emit (namespace, names, dimensions), the dashboard's check.
- ``completion``: the "Slot Converted" EventBridge event of a converted slot, batched for ``PutEvents``.
- ``aws``: thin adapters over boto3 (Step Functions, EMR, SNS) that tests replace.
"""

__version__ = "1.0.0"
