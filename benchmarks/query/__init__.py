"""Helpers of ``benchmarks/query_bench.py``: the data sets and one module per tool.

``worker.py`` runs inside a tool's own virtualenv (``benchmarks/.venvs/<tool>``) and needs
only that tool and numpy (which all three venvs have).
"""
