"""Report: the reviewer's self-contained HTML report, rendered from an evidence folder. ``charts``
(altair charts shared with the notebooks), ``renderer`` (vl-convert, drawing the charts in a process
of its own), ``reasons`` (reason codes in words), ``folder`` (reading
the folder), ``page`` (layout and helpers), ``section_verdict``, ``section_provenance``, ``section_study``,
``section_reward``, ``section_backtest`` (the sections), ``sections`` (them in order), ``render`` (the
HTML file). Draws what the evidence holds; computes no statistics (the summaries it shows come from
``janus_core.decide.reward_summary``, ``janus_core.study.counts`` and
``janus_core.backtest.nav_summary``). Imports ``janus_core.evidence`` and below.
"""
