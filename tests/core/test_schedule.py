"""The temperature schedule: the official 12-epoch values, 36 epochs, iterations, bad input."""

import pytest

from o2f_core import iteration_temperature, linear_temperature

# T(e) = 0.6 - 0.4 * e / 11, written out in notes/official_o2f.md for a 12-epoch schedule.
OFFICIAL_12 = [0.6, 0.563636, 0.527273, 0.490909, 0.454545, 0.418182, 0.381818, 0.345455,
               0.309091, 0.272727, 0.236364, 0.2]


def test_twelve_epochs_match_the_official_values():
    values = [linear_temperature(e, 12) for e in range(12)]
    assert values == pytest.approx(OFFICIAL_12, abs=5e-7)
    assert values[0] == 0.6 and values[-1] == pytest.approx(0.2, abs=1e-15)


def test_thirty_six_epochs():
    values = [linear_temperature(e, 36) for e in range(36)]
    assert values[0] == 0.6 and values[-1] == pytest.approx(0.2, abs=1e-15)
    # Constant step 0.4 / 35 and strictly decreasing.
    steps = [a - b for a, b in zip(values, values[1:])]
    assert steps == pytest.approx([0.4 / 35] * 35)
    assert linear_temperature(24, 36) == pytest.approx(0.6 - 0.4 * 24 / 35)


def test_custom_endpoints_and_iterations():
    assert linear_temperature(2, 5, t_max=1.0, t_min=0.0) == pytest.approx(0.5)
    assert iteration_temperature(0, 90000) == 0.6
    assert iteration_temperature(89999, 90000) == pytest.approx(0.2)
    assert iteration_temperature(45000, 90001) == pytest.approx(0.4)
    assert linear_temperature(0, 1) == 0.6  # a single epoch is the first one


@pytest.mark.parametrize("epoch, total", [(-1, 12), (12, 12), (0, 0)])
def test_out_of_range_raises(epoch, total):
    with pytest.raises(ValueError, match="epoch"):
        linear_temperature(epoch, total)
