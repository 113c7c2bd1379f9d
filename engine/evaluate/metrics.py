"""Numbers of the evaluation: transfer accuracy and chance, pixel errors, Frechet distance."""

from __future__ import annotations

import numpy as np


def accuracy(pred: np.ndarray, target: np.ndarray) -> float:
    return float(np.mean(pred == target)) if len(target) else float("nan")


def chance_levels(target: np.ndarray, num_classes: int) -> dict[str, float]:
    """Uniform guessing (1/K) and the best constant guess (frequency of the commonest class);
    ``chance`` is the larger of the two."""
    uniform = 1.0 / num_classes
    majority = (
        float(np.bincount(target, minlength=num_classes).max() / len(target))
        if len(target)
        else uniform
    )
    return {
        "chance": max(uniform, majority),
        "chance_uniform": uniform,
        "chance_majority": majority,
    }


def angle_chance(target: np.ndarray) -> float:
    """Mean absolute error of the best constant guess (the median angle), in degrees."""
    return float(np.mean(np.abs(target - np.median(target)))) if len(target) else float("nan")


def pixel_errors(a: np.ndarray, b: np.ndarray) -> dict[str, float]:
    """uint8 image batches (N, ...) -> mean L1 in [0, 1] intensity units and mean PSNR (dB)."""
    x = a.reshape(len(a), -1).astype(np.float64) / 255.0
    y = b.reshape(len(b), -1).astype(np.float64) / 255.0
    l1 = np.abs(x - y).mean(axis=1)
    mse = ((x - y) ** 2).mean(axis=1)
    psnr = 10 * np.log10(1.0 / np.maximum(mse, 1e-10))
    return {"l1": float(l1.mean()), "psnr_db": float(psnr.mean())}


def frechet_distance(x: np.ndarray, y: np.ndarray) -> float:
    """Frechet distance between Gaussians fitted to two feature sets (rows are samples).

    ||mu_x - mu_y||^2 + tr(S_x) + tr(S_y) - 2 tr((S_x^1/2 S_y S_x^1/2)^1/2), with the matrix
    square roots taken by symmetric eigendecomposition (stable for singular covariances).
    """
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    if len(x) < 2 or len(y) < 2:
        return float("nan")
    mu_x, mu_y = x.mean(axis=0), y.mean(axis=0)
    s_x = np.cov(x, rowvar=False)
    s_y = np.cov(y, rowvar=False)
    w, v = np.linalg.eigh(s_x)
    root_x = (v * np.sqrt(np.clip(w, 0, None))) @ v.T
    middle = root_x @ s_y @ root_x
    cross = np.sqrt(np.clip(np.linalg.eigvalsh((middle + middle.T) / 2), 0, None)).sum()
    value = float(((mu_x - mu_y) ** 2).sum() + np.trace(s_x) + np.trace(s_y) - 2 * cross)
    return max(value, 0.0)


def coverage(pred: np.ndarray, num_classes: int) -> float:
    """Fraction of the classes that occur at least once among the predictions."""
    return float(len(np.unique(pred)) / num_classes) if len(pred) else 0.0


def nmi(a: np.ndarray, b: np.ndarray) -> float:
    """Normalised mutual information of two labelings, I(a; b) / mean(H(a), H(b)); 0 when either
    labeling is constant."""
    a = np.unique(np.asarray(a), return_inverse=True)[1].ravel()
    b = np.unique(np.asarray(b), return_inverse=True)[1].ravel()
    if len(a) == 0:
        return float("nan")
    joint = np.zeros((a.max() + 1, b.max() + 1))
    np.add.at(joint, (a, b), 1.0)
    joint /= joint.sum()
    pa, pb = joint.sum(1), joint.sum(0)
    nz = joint > 0
    mi = float((joint[nz] * np.log(joint[nz] / np.outer(pa, pb)[nz])).sum())
    ha = float(-(pa[pa > 0] * np.log(pa[pa > 0])).sum())
    hb = float(-(pb[pb > 0] * np.log(pb[pb > 0])).sum())
    denom = (ha + hb) / 2
    return mi / denom if denom > 0 else 0.0


def purity(clusters: np.ndarray, classes: np.ndarray) -> float:
    """Share of samples whose class is the commonest class of their cluster."""
    clusters, classes = np.asarray(clusters).ravel(), np.asarray(classes).ravel()
    if len(clusters) == 0:
        return float("nan")
    total = 0
    for k in np.unique(clusters):
        total += np.bincount(classes[clusters == k]).max()
    return float(total / len(clusters))
