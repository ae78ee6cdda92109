"""The slot ledger: one record per (pipeline, slot) in DynamoDB, changed only by conditional writes.

- ``records``: a slot's record (state, attempts, lease, fingerprint, the notice it owes), and what it says.
- ``transitions``: the only transitions a record may make (claim, complete, fail, release, expire,
  requeue, vanish; take and settle a notice).
- ``selection``: which due slots a run claims, and the order its batch converts them in.
- ``store``: the ledger in DynamoDB (adapter): reads, and writes conditional on the version read.
- ``notices``: the outbox: the messages slots owe, delivered at least once.
"""
