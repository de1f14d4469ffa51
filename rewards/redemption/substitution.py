"""Out-of-stock substitution (SPEC §8 "Out of stock").

This version returns the picked product unchanged; the closest-in-stock rule replaces it,
keeping this signature.
"""

from __future__ import annotations


def substitute_for_out_of_stock(*, product, grant):
    """The product to ship for `product` picked on `grant`: itself when in stock, else the
    in-stock product of the same marketplace closest in reference price without exceeding the
    campaign's CPA (None when there is none)."""
    return product
