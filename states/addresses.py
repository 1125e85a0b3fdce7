"""Email addresses as the wire carries them: an internationalised address (RFC 6530) in its
ASCII form where one exists.

A domain always has one: IDNA 2008 A-labels with the UTS #46 mapping, from the ``idna``
package (email-validator, which validates every address at registration, depends on it, so it
is always installed). Python's own ``"idna"`` codec is IDNA 2003: it maps ``straße.de`` to
``strasse.de``, which is another domain, so it is not used. A local part has no ASCII form: a
non-ASCII one can only travel with SMTPUTF8 (RFC 6531) and UTF-8 headers (RFC 6532).

Registration stores the normalised Unicode form (``chef@exämple.se``, whether it was given as
``CHEF@EXÄMPLE.SE`` or ``chef@xn--exmple-cua.se``); delivery sends ``chef@xn--exmple-cua.se``,
the same address.
"""

from __future__ import annotations

import idna

from states.errors import MobilityError


class AddressError(MobilityError):
    """An address that cannot be written on the wire (its domain has no IDNA 2008 form)."""


def ascii_domain(domain: str) -> str:
    """``exämple.se`` → ``xn--exmple-cua.se``; an ASCII domain is returned as it is."""
    if domain.isascii():
        return domain
    try:
        return idna.encode(domain, uts46=True).decode("ascii")
    except UnicodeError as error:  # idna.IDNAError is a UnicodeError
        raise AddressError(f"the domain {domain!r} has no IDNA 2008 form: {error}") from None


def ascii_email(email: str) -> str:
    """The address with its domain in ASCII; the local part as it is."""
    local, at, domain = email.rpartition("@")
    return f"{local}{at}{ascii_domain(domain)}" if at else email
