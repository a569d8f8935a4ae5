"""Generated company names and aliases, unique across a portfolio so news can be matched.

A name is a surname-like stem (sometimes two joined by "&"), a trade word for the industry and
a legal suffix for the country, e.g. "Hollis Metalworks GmbH". Aliases are what the press
writes instead: the name without its suffix, the bare stem, or initials.
"""

from __future__ import annotations

import numpy as np

_HEADS = (
    "Hol", "Brand", "Kel", "Voss", "Ar", "Bern", "Dor", "Eck", "Fal", "Gar", "Hart", "Ing",
    "Jor", "Kam", "Lin", "Mar", "Nor", "Ost", "Pell", "Quan", "Ros", "Stein", "Tal", "Ul",
    "Vel", "Wes", "Zan", "Ald", "Bel", "Cor", "Dal", "Ems", "Fen", "Gol", "Hav", "Lind",
    "Mor", "Ned", "Pram", "Rau", "Sil", "Tor", "Wal", "Ber", "Kron", "Lau", "Mei", "Seld",
)
_TAILS = (
    "lis", "t", "ler", "berg", "dan", "hof", "mann", "sted", "ford", "ner", "wick", "ach",
    "den", "rup", "ke", "by", "stein", "ton", "holm", "ing", "au", "feld", "ham", "el",
    "brook", "dorf", "gard", "ley", "mont", "rich",
)
_LEGAL = {
    "DE": ("GmbH", "GmbH", "GmbH", "AG", "GmbH & Co. KG", "KG"),
    "AT": ("GmbH", "GmbH", "AG"),
    "NL": ("B.V.", "B.V.", "N.V."),
    "FR": ("SAS", "SARL", "S.A."),
    "IT": ("S.r.l.", "S.r.l.", "S.p.A."),
    "ES": ("S.L.", "S.L.", "S.A."),
    "BE": ("BV", "SRL", "SA"),
    "GB": ("Ltd", "Ltd", "PLC"),
    "US": ("Inc.", "LLC", "Corp."),
    "CH": ("AG", "GmbH", "SA"),
    "PL": ("Sp. z o.o.", "Sp. z o.o.", "S.A."),
    "SE": ("AB", "AB", "Handelsbolag"),
}
_MAX_TRIES = 1000


def _stem(rng: np.random.Generator) -> str:
    return str(rng.choice(_HEADS)) + str(rng.choice(_TAILS))


def company_names(
    rng: np.random.Generator, trade_words: list[tuple[str, ...]], countries: list[str]
) -> tuple[list[str], list[list[str]]]:
    """One unique name and 0-3 unique aliases per customer (given its trade words and country).

    Aliases never equal another customer's name or alias, so a news item carrying one of them
    points at exactly one customer.
    """
    bases: set[str] = set()
    names: list[str] = []
    parts: list[tuple[str, str]] = []
    for words, country in zip(trade_words, countries, strict=True):
        for _ in range(_MAX_TRIES):
            stem = _stem(rng)
            if rng.random() < 0.25:
                stem = f"{stem} & {_stem(rng)}"
            base = f"{stem} {rng.choice(words)}"
            name = f"{base} {rng.choice(_LEGAL[country])}"
            if base not in bases:
                break
        else:
            raise RuntimeError("could not generate a unique company name; portfolio too large")
        bases.add(base)
        names.append(name)
        parts.append((stem, base))

    # Bases are unique by construction; stems and initials may repeat and go to the first taker.
    taken = set(names)
    aliases: list[list[str]] = []
    for stem, base in parts:
        mine: list[str] = []
        if rng.random() < 0.45:
            initials = "".join(w[0] for w in base.replace("&", " ").split()).upper()
            for candidate in (base, stem, initials)[: int(rng.integers(1, 4))]:
                if candidate not in taken and len(candidate) >= 3:
                    taken.add(candidate)
                    mine.append(candidate)
        aliases.append(mine)
    return names, aliases


_INITIALS = "ABCDEFGHIJKLMNOPRSTVW"


def person_names(rng: np.random.Generator, n: int) -> list[str]:
    """Names of ``n`` private account holders ("M. Hollis"): an initial and a surname-like stem.

    They may repeat, as people's names do; accounts are told apart by their ids.
    """
    initial = rng.integers(0, len(_INITIALS), n).tolist()
    first = rng.integers(0, len(_HEADS), n).tolist()
    second = rng.integers(0, len(_TAILS), n).tolist()
    return [f"{_INITIALS[i]}. {_HEADS[h]}{_TAILS[t]}"
            for i, h, t in zip(initial, first, second, strict=True)]
