"""Naive reference implementations, written the slow obvious way, for the tests only.

These are the loop-and-filter rules portcon replaces. They share no code with portcon.
"""

from __future__ import annotations

import numpy as np


def cap_and_renormalise(raw: np.ndarray, cap: float | None, target: float) -> np.ndarray:
    """Scale raw sizes to the target, cap, renormalise the uncapped, repeat until stable.

    What the caps cannot absorb stays uninvested (the rollover).
    """
    weights = np.zeros(len(raw))
    free = list(range(len(raw)))
    remaining = target
    while free:
        total = sum(raw[i] for i in free)
        trial = {i: remaining * raw[i] / total for i in free}
        over = [i for i in free if cap is not None and trial[i] > cap]
        if not over:
            for i in free:
                weights[i] = trial[i]
            break
        for i in over:
            weights[i] = cap
            remaining -= cap
            free.remove(i)
    return weights


def shares(mode: str, scores: np.ndarray) -> np.ndarray:
    """Raw shares of the eligible assets under a proportional sizing mode."""
    if mode == "equal_weight":
        return np.ones(len(scores))
    if mode == "score_weighted":
        return scores.copy()
    if mode == "adaptive":
        return 1.0 + scores / scores.sum()
    raise ValueError(mode)


def tier_multipliers(scores: np.ndarray, tiers) -> np.ndarray:
    """Multiplier of the first tier each score reaches, 0 below all tiers."""
    result = []
    for score in scores:
        chosen = 0.0
        for threshold, multiplier in tiers:
            if score >= threshold:
                chosen = multiplier
                break
        result.append(chosen)
    return np.array(result)


def top_slice(
    raw: np.ndarray,
    scores: np.ndarray,
    cap: float,
    target: float,
    per_asset: float,
    multiple: float,
) -> np.ndarray:
    """Hold raw sizes (capped); if they overflow, scale down; else hand out the residual greedily.

    The residual goes to the highest scores first, each up to min(cap, raw + per_asset,
    (1 + multiple) × raw).
    """
    held = np.minimum(raw, cap)
    if held.sum() >= target:
        return cap_and_renormalise(raw, cap, target)
    residual = target - held.sum()
    weights = held.copy()
    for i in sorted(range(len(raw)), key=lambda k: -scores[k]):
        ceiling = min(cap, raw[i] + per_asset, (1 + multiple) * raw[i])
        extra = max(0.0, min(ceiling - weights[i], residual))
        weights[i] += extra
        residual -= extra
    return weights
