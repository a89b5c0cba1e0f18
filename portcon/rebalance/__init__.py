"""Rebalancing a held book: eligibility of held and new assets, the rules it adds."""
