import pytest
import torch
from PIL import Image

from genlab.errors import SampleError
from genlab.imaging import save_image_grid, to_uint8


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


def test_a_scatter_plot_draws_its_points_in_black_over_grey_axes_and_a_unit_grid(tmp_path):
    import numpy as np
    from PIL import Image

    from genlab.imaging import save_scatter

    save_scatter(torch.tensor([[0.6, -0.6], [1.0, 1.0]]), tmp_path / "points.png", size=101, extent=2.0)
    canvas = np.asarray(Image.open(tmp_path / "points.png").convert("L"))
    # x and y map [-2, 2] to pixels [0, 100]; rows run top-down, so y = 1 is row 25
    assert canvas[65, 65] == 0 and canvas[25, 75] == 0  # (0.6, -0.6) and (1, 1)
    assert canvas[10, 50] == 150 and canvas[50, 10] == 150  # the axes, x = 0 and y = 0
    assert canvas[10, 25] == canvas[10, 75] == canvas[25, 10] == canvas[75, 10] == 225  # x, y = ±1
    assert canvas[10, 10] == 255 and canvas[90, 90] == 255  # nothing between
    save_scatter(torch.tensor([[300.0, 0.0]]), tmp_path / "far.png", size=101)
    far = np.asarray(Image.open(tmp_path / "far.png").convert("L"))
    assert (far[10] < 255).sum() == 1  # spanning ±330 units: the axes only, no grid line every unit


def test_marks_are_red_circles_under_the_points_and_stay_in_view(tmp_path):
    import numpy as np
    from PIL import Image

    from genlab.imaging import save_scatter

    marks = torch.tensor([[3.0, 0.0], [0.0, 0.0]])  # the first lies past every point
    save_scatter(torch.tensor([[0.0, 0.0]]), tmp_path / "marked.png", size=101, marks=marks, mark_radius=0.5)
    canvas = np.asarray(Image.open(tmp_path / "marked.png"))
    red = (canvas[..., 0] > 200) & (canvas[..., 1] < 50) & (canvas[..., 2] < 50)
    columns = np.nonzero(red.any(axis=0))[0]
    assert columns.max() < 100 and columns.max() > 90  # the extent grew to show the far mark whole
    assert not red[50, 52] and red[50, 50 - 8:50 + 9].any()  # a circle (radius 0.5 ≈ 7.6 px here), not a disc
    rim = np.argwhere(red)[0]  # a pixel of a circle's outline; a point put there is drawn over it
    x, y = (rim[1] / 100 * 2 - 1) * 3.85, (1 - rim[0] / 100 * 2) * 3.85  # back to coordinates (extent 3.85)
    save_scatter(torch.tensor([[x, y]]), tmp_path / "over.png", size=101, extent=3.85, marks=marks, mark_radius=0.5)
    over = np.asarray(Image.open(tmp_path / "over.png"))
    assert canvas[tuple(rim)].tolist() != [0, 0, 0] and over[tuple(rim)].tolist() == [0, 0, 0]


def test_a_grid_larger_than_pil_opens_is_refused_before_anything_is_written(tmp_path, monkeypatch):
    images = torch.zeros(4, 1, 28, 28)
    save_image_grid(images, tmp_path / "ok.png")  # 62 × 62 pixels
    with Image.open(tmp_path / "ok.png") as picture:
        assert picture.size == (62, 62)
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 62 * 62 - 1)
    with pytest.raises(SampleError, match="A grid of 4 images of 28×28 pixels would have .* million pixels, more than "
                                          r"PIL and most viewers open .*; draw fewer, or write them as an array"):
        save_image_grid(images, tmp_path / "big.png")
    assert not (tmp_path / "big.png").exists()
