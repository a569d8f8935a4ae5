"""Shapes of book the simulator can write besides the default receivables portfolio.

Each profile is one module with one public function taking a `book.Run` and a start date:
`cards` (card accounts: a few monthly bureau tradelines each, default the month after),
`monthly_status` (accounts with a monthly days-past-due bucket for up to five years) and
`statements` (firms with one set of filed accounts a year, and bankruptcies). They share
`latent` (drifting health), `book` (writing and measuring) and the simulator's own plumbing;
the account books also share `delinquency` (missed payments) and `accounts` (holders, balances,
tradelines); `statements` has `solvency` (when firms fail) and `financials` (their accounts).
docs/simulator.md tells each generative process in plain words.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date
from types import MappingProxyType

from connectors.simulator.profiles.book import Run
from connectors.simulator.profiles.cards import simulate_cards
from connectors.simulator.profiles.monthly_status import simulate_monthly_status
from connectors.simulator.profiles.statements import simulate_statements
from connectors.simulator.summary import SimulationSummary

__all__ = ["DEFAULT_PROFILE", "PROFILES", "PROFILE_NAMES", "Run"]

DEFAULT_PROFILE = "receivables"
"""The B2B receivables portfolio (`connectors.simulator.simulate`), which needs no entry here."""
PROFILES: Mapping[str, Callable[[Run, date], SimulationSummary]] = MappingProxyType({
    "cards": simulate_cards,
    "monthly-status": simulate_monthly_status,
    "statements": simulate_statements,
})
PROFILE_NAMES = (DEFAULT_PROFILE, *PROFILES)
