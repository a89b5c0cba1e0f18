"""Rules: one family of limits per module, each rule a small immutable object."""
