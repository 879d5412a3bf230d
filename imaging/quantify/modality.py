"""Modality of a distribution of local porosities: Gaussian mixtures of 1..k components, fewest-BIC wins."""

from __future__ import annotations

from typing import Any

import numpy as np

MIN_SAMPLES = 10  # below this a mixture's BIC says nothing
DEFINITION = (
    "number of modes = number of components of the 1D Gaussian mixture (scikit-learn, 5 "
    "initialisations, seed 0, each variance at least (0.1 std of the values)^2) with the lowest "
    "BIC among 1..max_modes components"
)


def porosity_modality(values: np.ndarray, *, max_modes: int = 4) -> dict[str, Any]:
    """Number of modes of `values` (e.g. the porosity of the interface band's lateral tiles) by
    the Bayesian information criterion over Gaussian mixtures of 1..`max_modes` components, with
    the chosen mixture's means, standard deviations and weights (sorted by mean). `modes` is None
    with fewer than MIN_SAMPLES finite values or when they are all equal (no spread to model).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> porosity_modality(np.r_[rng.normal(0.05, 0.01, 200), rng.normal(0.3, 0.02, 200)])["modes"]
    2
    """
    values = np.asarray(values, float)
    values = values[np.isfinite(values)]
    record: dict[str, Any] = {"samples": int(values.size), "modes": None, "bic": [],
                              "means": [], "stds": [], "weights": []}  # fmt: skip
    if values.size < MIN_SAMPLES or np.ptp(values) == 0:
        return record
    from sklearn.mixture import GaussianMixture

    x = values[:, None]
    distinct = np.unique(values).size
    # no component narrower than a tenth of the overall spread: repeated values (tiles with no
    # pore at all) would otherwise each become a zero-width "mode"
    floor = max(float((0.1 * values.std()) ** 2), 1e-12)
    fits = []
    for k in range(1, min(max_modes, distinct) + 1):
        mixture = GaussianMixture(k, n_init=5, random_state=0, reg_covar=floor).fit(x)
        fits.append((mixture.bic(x), mixture))
    bics = [float(b) for b, _ in fits]
    best = fits[int(np.argmin(bics))][1]
    order = np.argsort(best.means_[:, 0])
    record.update(
        modes=int(best.n_components),
        bic=bics,
        means=best.means_[order, 0].tolist(),
        stds=np.sqrt(best.covariances_[order, 0, 0]).tolist(),
        weights=best.weights_[order].tolist(),
    )
    return record
