"""Baselines scored on the same gene-disjoint split as the transformer (``tfvocab evaluate``).

* ``cosine_profile`` — cosine similarity of the two promoters' mean TF profiles (T,), no training.
* ``logreg_profile`` — logistic regression on symmetric pair features ``[|a-b|, a*b]`` of the mean
  TF profiles (trained on the train pairs).
* ``bag_of_tokens`` — logistic regression on symmetric features ``[|a-b|, a*b]`` of the two
  promoters' token-frequency vectors (K,) (mask token excluded): the vocabulary without positions
  or order.

All functions take arrays and return arrays; higher score = more likely co-expressed.
"""
from __future__ import annotations

import numpy as np


def mean_profiles(values: np.ndarray, window_mask: np.ndarray) -> np.ndarray:
    """Mean TF profile per gene over its non-missing windows.

    ``values`` (G, W, T) float (missing entries already 0), ``window_mask`` (G, W) bool (True =
    missing). Returns (G, T) float64 in normalised signal units.
    """
    keep = (~window_mask).astype(np.float64)[..., None]
    return (values * keep).sum(1) / np.maximum(keep.sum(1), 1.0)


def token_frequencies(tokens: np.ndarray, n_tokens: int, mask_token: int | None = None) -> np.ndarray:
    """Token frequency vector per gene (G, K): counts / non-missing windows; mask token excluded."""
    G = tokens.shape[0]
    counts = np.zeros((G, n_tokens), dtype=np.float64)
    np.add.at(counts, (np.repeat(np.arange(G), tokens.shape[1]), tokens.ravel()), 1.0)
    if mask_token is not None and 0 <= mask_token < n_tokens:
        counts[:, mask_token] = 0.0
    return counts / np.maximum(counts.sum(1, keepdims=True), 1.0)


def cosine_scores(profiles: np.ndarray, ia: np.ndarray, ib: np.ndarray) -> np.ndarray:
    """Cosine similarity (N,) of ``profiles[ia]`` and ``profiles[ib]`` ((G, T) -> pairs)."""
    a, b = profiles[ia], profiles[ib]
    num = (a * b).sum(1)
    den = np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1)
    return np.where(den > 0, num / np.maximum(den, 1e-12), 0.0)


def symmetric_features(x: np.ndarray, ia: np.ndarray, ib: np.ndarray) -> np.ndarray:
    """Pair features (N, 2F) ``[|a-b|, a*b]`` of per-gene features ``x`` (G, F); symmetric in a, b."""
    a, b = x[ia], x[ib]
    return np.concatenate([np.abs(a - b), a * b], axis=1)


def fit_logistic(features: np.ndarray, labels: np.ndarray, seed: int = 0):
    """Standardised, class-balanced L2 logistic regression (sklearn Pipeline)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    clf = make_pipeline(StandardScaler(),
                        LogisticRegression(C=1.0, class_weight="balanced", max_iter=2000, random_state=seed))
    clf.fit(features, labels)
    return clf


def baseline_scores(values: np.ndarray | None, window_mask: np.ndarray | None,
                    tokens: np.ndarray | None, n_tokens: int, mask_token: int | None,
                    ia: np.ndarray, ib: np.ndarray, labels: np.ndarray, train: np.ndarray,
                    seed: int = 0) -> dict[str, np.ndarray]:
    """Scores (N,) of every baseline for all pairs ``(ia, ib)``; ``train`` (N,) bool marks the
    pairs the trained baselines may learn from (``labels`` of the others are not used)."""
    out: dict[str, np.ndarray] = {}
    y_tr = labels[train]
    can_fit = train.any() and 0 < y_tr.sum() < len(y_tr)
    if values is not None:
        prof = mean_profiles(values, window_mask)
        out["cosine_profile"] = cosine_scores(prof, ia, ib)
        if can_fit:
            X = symmetric_features(prof, ia, ib)
            out["logreg_profile"] = fit_logistic(X[train], y_tr, seed).predict_proba(X)[:, 1]
    if tokens is not None and can_fit:
        freq = token_frequencies(tokens, n_tokens, mask_token)
        X = symmetric_features(freq, ia, ib)
        out["bag_of_tokens"] = fit_logistic(X[train], y_tr, seed).predict_proba(X)[:, 1]
    return out
