import pytest
import torch

from genlab.errors import SampleError
from genlab.imaging import to_uint8


def test_pixels_map_to_uint8_with_rounding_and_clamping():
    images = torch.tensor([-1.0, 1.0, 0.0, 2.0, -3.0, 1 / 127.5 - 1]).view(1, 1, 2, 3)
    assert to_uint8(images).reshape(-1).tolist() == [0, 255, 128, 255, 0, 1]  # 127.5 rounds half to even: 128


@pytest.mark.parametrize("bad", [float("nan"), float("inf")])
def test_non_finite_pixels_are_refused_not_written_as_black(bad):
    images = torch.zeros(3, 1, 4, 4)
    images[1, 0, 2, 2] = bad
    with pytest.raises(SampleError, match="drew 1 of 3 images with NaN or infinite pixels"):
        to_uint8(images)


def test_non_finite_points_are_refused_not_plotted_at_a_corner(tmp_path):
    from genlab.imaging import save_scatter

    points = torch.zeros(5, 2)
    points[3, 1] = float("nan")
    with pytest.raises(SampleError, match="drew 1 of 5 points with NaN or infinite coordinates"):
        save_scatter(points, tmp_path / "points.png")
    assert not (tmp_path / "points.png").exists()
