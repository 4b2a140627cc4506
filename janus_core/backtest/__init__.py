"""Backtest: ``engine`` (the paper's long/short event portfolio) and ``metrics`` (Sharpe, MDD, TR, ARR,
Calmar, DA and bootstrap intervals). Imports from ``janus_core.decide``, ``janus_core.study``,
``janus_core.data`` and the core modules only.
"""
