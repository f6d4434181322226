"""Learning-rate thresholds and the run classifier."""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp

from symgd.calculus.curvature import learning_rates
from symgd.numeric.regimes import classify_run
from symgd.numeric.runner import descend


def test_saddle_has_no_stable_rate() -> None:
    rates = learning_rates("x**2 + 2*x*y")
    assert rates.constant_hessian
    window = rates.windows[0]
    assert not window.local and not window.converges
    exact = window.exact_eigenvalues
    assert exact is not None
    assert sp.simplify(exact[0] - (1 - sp.sqrt(5))) == 0
    assert sp.simplify(exact[1] - (1 + sp.sqrt(5))) == 0
    assert all(window.regime(lr) == "divergent" for lr in (1e-4, 0.1, 1.0))
    assert "runs away" in window.summary()
    assert window.stable_range_latex() == ""


def test_exact_thresholds_of_a_quadratic() -> None:
    # H = [[2, 1], [1, 6]]: λ = 4 ± √5
    window = learning_rates("x**2 + 3*y**2 + x*y").windows[0]
    top = 4 + sp.sqrt(5)
    assert window.exact_stable_below is not None and window.exact_monotone_below is not None
    assert sp.simplify(window.exact_stable_below - 2 / top) == 0
    assert sp.simplify(window.exact_monotone_below - 1 / top) == 0
    assert window.stable_below == pytest.approx(2 / (4 + 5**0.5), rel=1e-14)
    lams = [lam for lam, _, _ in window.thresholds()]
    np.testing.assert_allclose(lams, [4 - 5**0.5, 4 + 5**0.5], rtol=1e-14)
    assert r"\frac{2}{\lambda_{\max}}" in window.stable_range_latex()


@pytest.mark.parametrize(
    ("lr", "regime"), [(0.4, "monotone"), (0.6, "oscillating"), (1.2, "divergent")]
)
def test_w_squared_prediction_and_classification_agree(lr: float, regime: str) -> None:
    rates = learning_rates("w**2")
    assert rates.windows[0].stable_below == 1.0 and rates.windows[0].monotone_below == 0.5
    assert rates.regime(lr) == regime
    assert classify_run(descend("w**2", 1.0, lr=lr, steps=3)) == regime
    assert classify_run(descend("w**2", 1.0, lr=lr, steps=60)) == regime


def test_regimes_follow_the_stiffest_direction() -> None:
    # λ = 2 and 20: 1/λmax = 0.05, 2/λmax = 0.1
    f = "x**2 + 10*y**2"
    for lr, regime in ((0.04, "monotone"), (0.08, "oscillating"), (0.11, "divergent")):
        assert learning_rates(f).regime(lr) == regime
        assert classify_run(descend(f, [1.0, 1.0], lr=lr, steps=40)) == regime


def test_local_windows_for_a_non_quadratic() -> None:
    rates = learning_rates("(1-x)**2 + 100*(y-x**2)**2", start=[-1.2, 1.0], reached=[1.0, 1.0])
    assert not rates.constant_hessian
    assert [w.label for w in rates.windows] == [
        "local, at the start",
        "local, at the point reached",
    ]
    assert all(w.local for w in rates.windows)
    at_min = rates.windows[1]
    expected = np.linalg.eigvalsh(np.array([[802.0, -400.0], [-400.0, 200.0]]))
    np.testing.assert_allclose(at_min.eigenvalues, expected, rtol=1e-12)
    assert at_min.exact_eigenvalues is None
    assert "local, at the point reached" in rates.summary()


def test_classifier_on_runs() -> None:
    assert classify_run(descend("x**2 + 2*x*y", [1.0, 1.0], steps=60)) == "divergent"
    assert classify_run(descend("x**2 + y**2", [1.0, 2.0], steps=20)) == "monotone"
    assert (
        classify_run(descend("x**2", [1.0], method="momentum", lr=0.1, steps=50)) == "oscillating"
    )
    batch = descend("w**2", [[1.0], [-2.0]], lr=0.6, steps=20)
    assert classify_run(batch) == ["oscillating", "oscillating"]


def test_classifier_is_quiet_on_huge_iterates() -> None:
    # steps of 1e200 would overflow a squared norm; warnings are errors under pytest
    run = descend("x**2", [1e150], lr=0.1, steps=3, tol=0.0)
    assert classify_run(run) == "divergent"  # |x| > 1e12 at the start
    big = descend("w**2", np.array([[1.0], [2.0]]), lr=1.2, steps=30)
    assert classify_run(big) == ["divergent", "divergent"]


def test_window_of_a_numeric_hessian_holds_every_threshold() -> None:
    from symgd.calculus.curvature import window_of_matrix

    window = window_of_matrix([[2.0, 0.0], [0.0, 8.0]], "here", point=[1.0, 2.0], vectors=True)
    assert window.eigenvalues == (2.0, 8.0) and window.point == (1.0, 2.0)
    assert (window.lambda_min, window.lambda_max) == (2.0, 8.0)
    assert window.monotone_below == 0.125 and window.stable_below == 0.25
    assert window.contraction(0.1) == pytest.approx(0.8) and window.condition_number == 4.0
    assert window.vectors is not None and np.allclose(np.abs(window.vectors[1]), [0.0, 1.0])
    undefined = window_of_matrix([[np.nan, 0.0], [0.0, 1.0]], "nowhere")
    assert undefined.eigenvalues == () and undefined.lambda_max is None
    assert undefined.contraction(0.1) is None and not undefined.converges
