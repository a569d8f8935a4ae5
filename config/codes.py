"""ISO code tables the feed contract validates against, from the maintained ``pycountry``
package rather than typed by hand: ISO 4217 currencies and ISO 3166-1 alpha-2 countries.

`NOT_A_CURRENCY` leaves out the two codes ISO 4217 reserves for "no currency" and for tests.

>>> {"EUR", "TWD", "PLN"} <= CURRENCIES, "XXX" in CURRENCIES
(True, False)
>>> {"DE", "TW"} <= COUNTRIES, "UK" in COUNTRIES
(True, False)
"""

from __future__ import annotations

import pycountry

NOT_A_CURRENCY = frozenset({"XXX", "XTS"})

CURRENCIES: frozenset[str] = frozenset(
    c.alpha_3 for c in pycountry.currencies) - NOT_A_CURRENCY

COUNTRIES: frozenset[str] = frozenset(c.alpha_2 for c in pycountry.countries)
