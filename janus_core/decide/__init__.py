"""Decide (Stage II): decisions and their reward. ``decisions`` (the decisions table and completion
parsing), ``policies`` (baseline policies), ``reward`` (the HGRM), ``training`` (SFT/GRPO records and
reward adapters). Imports from ``janus_core.study``, ``janus_core.data`` and the core modules only.
"""
