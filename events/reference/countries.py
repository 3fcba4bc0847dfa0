"""The country codes the program accepts for a nationality or a country of residence."""

from __future__ import annotations

from functools import cache

import pycountry

#: Codes the program needs that ISO 3166-1 does not assign as ordinary alpha-2 codes.
#: Kosovo is on the DAC List of ODA Recipients but has no ISO 3166-1 code; `XK` is the
#: user-assigned code the European Commission, the IMF and the World Bank use for it.
USER_ASSIGNED_CODES: dict[str, str] = {"XK": "Kosovo"}


@cache
def accepted_country_codes() -> frozenset[str]:
    """Every ISO 3166-1 alpha-2 code (pycountry's copy of the standard), plus `XK`."""
    return frozenset(c.alpha_2 for c in pycountry.countries) | frozenset(USER_ASSIGNED_CODES)


def is_country_code(code: str) -> bool:
    """Whether `code` names a country or territory a person can be a national or a
    resident of, for the program."""
    return code in accepted_country_codes()
