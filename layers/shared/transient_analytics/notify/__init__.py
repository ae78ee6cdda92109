"""What people are told, by SNS: a failed run's message, and the notices the slots owe.

- ``message``: what every message is made of (a valid subject, a readable cause, a backfill command).
- ``history``: what a Step Functions execution history says about a run that did not succeed.
- ``failed_run``: the message a failed, timed-out or aborted run produces.
- ``slot_notices``: the messages of the slots' notices (a quarantine, rows the catalog cannot show).
- ``notifying``: what ``notify_failure`` does for one failed run (ports).
"""
