"""The rewards catalog (layer 2, below campaigns): models, selectors, pricing, services."""
