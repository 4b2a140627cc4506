"""Study (Stage I): the event study. ``car`` (market model, risk neutralisation, CAR), ``significance``
(event-study test statistics), ``labels`` (direction, strength, splits, the labelled CAR table).
Imports from ``janus_core.data`` and the core modules only.
"""
