"""Evidence: the lane contract. ``schema`` (names, reason codes, exact decimals, authority and
lineage), ``records`` (the three lane documents from computed tables), ``output`` (atomic folders),
``dspy_bundle`` (the DSPy compile/eval hash chain), ``gate`` (the lane's verdict, locally) and
``verify`` (every hash and claim recomputed). Imports only ``janus_core.data``, ``janus_core.hashing``
and ``janus_core.paths``: reading or checking evidence never needs the computation.
"""
