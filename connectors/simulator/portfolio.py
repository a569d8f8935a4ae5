"""Who the customers are: industry, size, country, limits, terms and payment habits.

All attributes are drawn once per customer and do not change during a run, except limits,
which the credit team reviews (see `masterdata`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from connectors.simulator.chinese import chinese_names
from connectors.simulator.names import company_names


@dataclass(frozen=True)
class Industry:
    """A NACE-like sector; ``health`` is the long-run mean of its members' latent health."""

    name: str
    nace: str
    weight: float
    health: float
    trade_words: tuple[str, ...]


INDUSTRIES: tuple[Industry, ...] = (
    Industry("construction", "F", 0.14, 3.7, ("Bau", "Construction", "Builders", "Hochbau")),
    Industry("accommodation_food", "I", 0.05, 3.7, ("Hospitality", "Catering", "Gastro")),
    Industry("retail", "G47", 0.08, 4.0, ("Retail", "Stores", "Handel", "Markets")),
    Industry("transport_logistics", "H", 0.10, 4.1, ("Logistics", "Freight", "Spedition")),
    Industry("agriculture_food", "A", 0.05, 4.3, ("Agrar", "Farms", "Foods", "Mills")),
    Industry("metal_products", "C25", 0.12, 4.3, ("Metalworks", "Stahlbau", "Forge")),
    Industry("wholesale", "G46", 0.13, 4.4, ("Trading", "Wholesale", "Supply", "Distribution")),
    Industry("real_estate", "L", 0.04, 4.5, ("Immobilien", "Properties", "Estates")),
    Industry("machinery", "C28", 0.11, 4.6, ("Maschinenbau", "Machinery", "Engineering")),
    Industry("professional_services", "M", 0.07, 4.8, ("Consulting", "Partners", "Advisory")),
    Industry("information_technology", "J", 0.06, 4.9, ("Systems", "Software", "Digital")),
    Industry("health_care", "Q", 0.03, 5.0, ("Medical", "Care", "Health", "Pharma")),
    Industry("energy_utilities", "D", 0.02, 5.3, ("Energy", "Power", "Utilities")),
)

COUNTRIES = ("DE", "AT", "NL", "FR", "IT", "ES", "BE", "GB", "US", "CH", "PL", "SE")
_COUNTRY_WEIGHTS = (0.62, 0.07, 0.05, 0.05, 0.04, 0.03, 0.03, 0.03, 0.02, 0.02, 0.02, 0.02)
CURRENCY_OF = {"DE": "EUR", "AT": "EUR", "NL": "EUR", "FR": "EUR", "IT": "EUR", "ES": "EUR",
               "BE": "EUR", "GB": "GBP", "US": "USD", "CH": "CHF", "PL": "PLN", "SE": "SEK",
               "CN": "CNY"}
EUR_RATE = {"EUR": 1.0, "GBP": 1.17, "USD": 0.92, "CHF": 1.05, "PLN": 0.23, "SEK": 0.088,
            "CNY": 0.128}
"""One unit of each currency in euros: the level the simulated exchange rates move around
(`connectors.simulator.fx`) and the fixed conversion of the simulator's own portfolio-wide
figures (DSO, overdue share). A customer's size is drawn in euros and its amounts are in its
own currency."""
_REGIONS = ("north", "south", "east", "west")
_TERMS = np.array([30, 60, 90])


@dataclass(frozen=True)
class Portfolio:
    """Static attributes of every customer, one array entry (or list item) per customer."""

    ids: list[str]
    names: list[str]
    aliases: list[list[str]]
    industry: np.ndarray
    corporate: np.ndarray
    country: list[str]
    currency: list[str]
    region: list[str]
    credit_limit: np.ndarray
    """In whole currency units, a multiple of 5,000."""
    insured_limit: np.ndarray
    """0 when the receivable is not insured."""
    invoices_per_month: np.ndarray
    monthly_volume: np.ndarray
    """Expected purchases per month, in cents."""
    terms: np.ndarray
    lateness: np.ndarray
    """Typical days past due when this customer pays late (its payment habit)."""
    has_tradeline: np.ndarray

    def __len__(self) -> int:
        return len(self.ids)


def _round_limit(values: np.ndarray) -> np.ndarray:
    return np.maximum(5_000, np.round(values / 5_000) * 5_000).astype(np.int64)


def draw_portfolio(rng: np.random.Generator, n: int) -> Portfolio:
    """Draw ``n`` customers of a mostly German B2B seller: ~80 % SMEs, ~20 % corporates;
    a few of its euro customers are Chinese (`connectors.simulator.chinese`)."""
    weights = np.array([i.weight for i in INDUSTRIES])
    industry = rng.choice(len(INDUSTRIES), size=n, p=weights / weights.sum())
    corporate = rng.random(n) < 0.2
    country = [str(c) for c in rng.choice(COUNTRIES, size=n, p=_COUNTRY_WEIGHTS)]
    region = [str(r) for r in rng.choice(_REGIONS, size=n)]
    names, aliases = company_names(
        rng, [INDUSTRIES[i].trade_words for i in industry], country
    )
    currency = [CURRENCY_OF[c] for c in country]
    for i, (name, known_as) in chinese_names(
            names, currency, [INDUSTRIES[j].name for j in industry]).items():
        names[i], aliases[i], country[i], currency[i] = name, known_as, "CN", CURRENCY_OF["CN"]

    in_currency = 1.0 / np.array([EUR_RATE[c] for c in currency])
    limit = _round_limit(
        np.where(corporate, rng.lognormal(np.log(400_000), 0.7, n),
                 rng.lognormal(np.log(40_000), 0.7, n)) * in_currency
    )
    insured = np.where(
        rng.random(n) < 0.6, np.minimum(limit, _round_limit(limit * rng.uniform(0.5, 1.0, n))), 0
    )
    invoices_per_month = np.where(
        corporate,
        np.clip(rng.lognormal(np.log(4.0), 0.5, n), 1.0, 12.0),
        np.clip(rng.lognormal(np.log(2.0), 0.5, n), 0.7, 8.0),
    )
    # Purchases sized so that receivables use roughly half to all of the credit limit.
    monthly_volume = limit * 100.0 * rng.uniform(0.15, 0.3, n)
    terms = np.where(
        corporate,
        rng.choice(_TERMS, size=n, p=(0.05, 0.25, 0.70)),
        rng.choice(_TERMS, size=n, p=(0.15, 0.35, 0.50)),
    )
    return Portfolio(
        ids=[f"C{i:06d}" for i in range(n)],
        names=names,
        aliases=aliases,
        industry=industry,
        corporate=corporate,
        country=country,
        currency=currency,
        region=region,
        credit_limit=limit,
        insured_limit=insured.astype(np.int64),
        invoices_per_month=invoices_per_month,
        monthly_volume=monthly_volume,
        terms=terms,
        lateness=rng.lognormal(np.log(18.0), 0.6, n),
        has_tradeline=rng.random(n) < 0.5,
    )
