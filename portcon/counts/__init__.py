"""Position-count limits: count rules, mixed-integer model, heuristic, chosen support."""
