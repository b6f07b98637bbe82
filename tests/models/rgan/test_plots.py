"""The sequence plots: panels per sequence, a legend naming the features, wider panels for long series."""

import numpy as np
import torch
from PIL import Image

from genlab.models.rgan.plots import COLOURS, PANEL, save_sequence_plot


def test_the_legend_names_each_feature_in_its_lines_colour(tmp_path):
    ramp = torch.linspace(0, 1, 12)[None, :, None].repeat(4, 1, 2)  # two features, four sequences
    named, bare = tmp_path / "named.png", tmp_path / "bare.png"
    save_sequence_plot(ramp, named, names=["price", "volume"])
    save_sequence_plot(ramp, bare)
    assert Image.open(named).size == Image.open(bare).size
    # Below the panels, only the named plot has text in the features' colours (blue, orange; the text
    # may be anti-aliased, so told by hue, not by exact value).
    def hues(path):
        legend = np.asarray(Image.open(path).convert("RGB"))[-16:].astype(int)
        r, b = legend[..., 0], legend[..., 2]
        return bool(((b - r) > 60).any()), bool(((r - b) > 60).any())
    assert hues(named) == (True, True) and hues(bare) == (False, False)
    assert COLOURS[0][2] - COLOURS[0][0] > 60 and COLOURS[1][0] - COLOURS[1][2] > 60  # blue, orange


def test_long_series_get_wider_panels_fewer_to_a_row(tmp_path):
    save_sequence_plot(torch.rand(8, 24, 1), tmp_path / "short.png")
    save_sequence_plot(torch.rand(3, 400, 1), tmp_path / "long.png")
    short, long = Image.open(tmp_path / "short.png").size, Image.open(tmp_path / "long.png").size
    assert short[0] >= 8 * PANEL[0]  # eight 160-px panels to a row
    assert long[0] >= 800 and long[1] > short[1]  # 800-px panels: one to a row, three rows
