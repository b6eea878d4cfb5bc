"""Hyperparameter sweeps, as W&B's ``wandb.sweep`` / ``wandb.agent``, with a local controller.

* ``config.py``: the sweep config (W&B's schema), checked and normalized.
* ``search.py``: the search methods (grid, random, bayes): which parameters the next trial gets.
* ``early_stop.py``: hyperband early termination: whether a running trial falls behind.
* ``agent.py``: ``trackline.sweep()`` (create) and ``trackline.agent()`` (run trials, in this
  process or as the config's program), claiming each trial in the store so several agents
  share one sweep.
"""
