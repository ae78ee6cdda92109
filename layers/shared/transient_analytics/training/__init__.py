"""The model's lifecycle: trained on new data, registered, gated, promoted to production.

- ``planning``: what ``prepare_training`` does: find the data and the production model, plan (ports).
- ``plan``: the training plan the training state machine routes into its requests.
- ``registry``: the model registry's records (evaluation, candidate, production pointer) and requests.
- ``model_registry``: adapters over the registry's AWS calls (production pointer, packages, outputs).
- ``gate``: the quality gate and the promotion race rule.
- ``registration``: what ``register_model`` does: register the candidate and apply the gate (ports).
- ``promotion``: what ``promote_model`` does: swap the production pointer under the race rule (ports).
"""
