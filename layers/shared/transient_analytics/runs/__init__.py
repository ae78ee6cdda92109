"""One run of the EMR pipeline or the batch transform, from its plan to its record.

- ``planning``: what ``prepare_run`` does: find the due slots, claim them, plan the run (ports).
- ``plan``: the run plan the state machines route into their requests; ``emr_plan`` its EMR
  part (a cluster and its step, or an EMR Serverless job run).
- ``bounds``: how long a run can take, state by state, and so how long its claims are leased for.
- ``asl_contract``: the state names and result paths of the two ``.asl.json`` files Python relies on.
- ``verdicts``: what happened to each slot, from how the run ended and the Spark job's report.
- ``recording``: what ``record_slots`` does with the verdicts: the ledger's writes (ports).
- ``completion``: the "Slot Converted" EventBridge event of each converted slot.
- ``cost``: the estimated cost of a Spark run from its billed usage and a price table;
  ``costing`` prices one run and its slots when it is recorded (a port reads the usage).
- ``metrics``: the metric values each run emits.
"""
