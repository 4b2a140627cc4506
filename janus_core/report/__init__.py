"""Report: the reviewer's self-contained HTML report, rendered from an evidence folder. ``charts``
(altair charts shared with the notebooks), ``reasons`` (reason codes in words), ``folder`` (reading
the folder), ``page`` (layout and helpers), ``sections`` (the sections), ``render`` (the HTML file).
Draws what the evidence holds; computes no statistics. Imports ``janus_core.evidence`` and below.
"""
