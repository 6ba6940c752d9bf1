"""The reliability suite: real kills, corrupt files (issue 14)."""

# the keys of the Trainer's trainer_state.json that a resume needs
STATE_KEYS = ("step", "elapsed_seconds", "best", "bad_evals", "batcher", "model_rngs", "history")
