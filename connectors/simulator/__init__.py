"""The portfolio simulator: a synthetic B2B receivables portfolio written as feed contract v1.

``simulate`` (in `simulate`, which also describes the generative process) draws customers
(`portfolio`, `names`), their latent health and failures (`health`), and from those the
feeds: the ledger (`ledger`), bank tradelines (`tradelines`), default events and outcomes
(`defaults`), registry events (`registry`), news (`news`) and master data (`masterdata`).
`summary` measures the result; `lines`, `timeline` and `writer` are shared plumbing.
Other shapes of book (card accounts, monthly delinquency status, annual statements) are the
`profiles`, chosen by ``simulate(..., profile=NAME)``.
"""

from connectors.simulator.profiles import PROFILE_NAMES
from connectors.simulator.simulate import simulate
from connectors.simulator.summary import SimulationSummary

__all__ = ["PROFILE_NAMES", "SimulationSummary", "simulate"]
