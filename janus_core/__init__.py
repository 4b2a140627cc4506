"""janus_core: the library behind the Janus-Q research workbench (arXiv:2602.19919).

Layered like a research pipeline: data preparation (``data``, ``events``), computation (``car``,
``labels``, ``reward``, ``backtest``, ``metrics``), evidence (``evidence``, ``gate``) and review
(``report``). Notebooks in ``notebooks/`` hold controls, charts and narrative and call this library.
"""

__version__ = "0.1.0"
