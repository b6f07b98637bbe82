"""The FID Inception-v3: names and shapes against the published weight file, the TF1 resize, weight checks."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
import torch

from genlab.errors import CheckpointError
from genlab.metrics import inception
from genlab.metrics.inception import FIDInceptionV3, load_inception, tf1_resize_bilinear

def published_keys(path: Path) -> dict[str, tuple[int, ...]]:
    entries = {}
    for line in path.read_text().splitlines():
        if line.startswith("#") or not line.strip():
            continue
        name, shape, _ = line.split("\t")
        entries[name] = tuple(int(d) for d in shape.strip("()").split(",") if d.strip())
    return entries


def test_parameter_names_shapes_and_counts_match_the_published_file(shared_file):
    ours = {k: tuple(v.shape) for k, v in FIDInceptionV3().state_dict().items()}
    published = published_keys(shared_file("reference/fid_inception_v3_keys.txt"))
    assert list(ours) == list(published)  # same names, same order, layer by layer
    assert ours == published
    count = sum(p.numel() for p in FIDInceptionV3().parameters())
    assert count == sum(torch.Size(s).numel() for k, s in published.items()
                        if k.endswith(("weight", "bias")))


def test_tf1_resize_matches_hand_computed_values():
    x = torch.tensor([[0.0, 10.0], [20.0, 30.0]])[None, None]
    # Upscale 2 → 4: source coordinate i * 2/4 = 0, .5, 1, 1.5; the last row/column repeats (clamped).
    expected = torch.tensor([[0.0, 5.0, 10.0, 10.0],
                             [10.0, 15.0, 20.0, 20.0],
                             [20.0, 25.0, 30.0, 30.0],
                             [20.0, 25.0, 30.0, 30.0]])
    assert torch.equal(tf1_resize_bilinear(x, 4)[0, 0], expected)
    # Downscale 4 → 3: source coordinates 0, 4/3, 8/3 (anchored at the corner, no half-pixel shift).
    row = torch.tensor([0.0, 3.0, 6.0, 9.0])[None, None, None].expand(1, 1, 4, 4)
    assert torch.allclose(tf1_resize_bilinear(row, 3)[0, 0, 0], torch.tensor([0.0, 4.0, 8.0]))
    # Everything it builds follows the images' device (a mix of CPU and CUDA tensors would fail there).
    assert tf1_resize_bilinear(torch.empty(2, 3, 8, 8, device="meta"), 5).device.type == "meta"
    # torch's own bilinear (half-pixel centres) differs: the resize must not be F.interpolate.
    torch_way = torch.nn.functional.interpolate(x, size=4, mode="bilinear", align_corners=False)
    assert not torch.equal(torch_way[0, 0], expected)


def test_forward_gives_pool3_features_and_1008_logits():
    torch.manual_seed(0)
    network = FIDInceptionV3().eval()
    with torch.no_grad():
        features, logits = network(torch.randint(0, 256, (1, 3, 32, 32), dtype=torch.uint8))
    assert features.shape == (1, 2048) and logits.shape == (1, 1008)
    assert (features >= 0).all()  # the mean of ReLU outputs


def test_missing_weights_say_where_to_get_them(tmp_path, monkeypatch):
    monkeypatch.setenv("GENLAB_CACHE", str(tmp_path))
    monkeypatch.setenv("HOME", str(tmp_path))
    with pytest.raises(CheckpointError, match=r"pt_inception-2015-12-05-6726825d\.pth.*https://github\.com/mseitzer"):
        load_inception()
    with pytest.raises(CheckpointError, match="--inception-weights"):
        load_inception(tmp_path / "nowhere.pth")


def test_without_a_home_folder_missing_weights_are_still_one_sentence(monkeypatch):
    def no_home():
        raise RuntimeError("Could not determine home directory.")

    monkeypatch.delenv("GENLAB_CACHE", raising=False)
    monkeypatch.setattr(Path, "home", staticmethod(no_home))
    with pytest.raises(CheckpointError, match="no home folder to look in.*set GENLAB_CACHE"):
        load_inception()


def test_wrong_hash_is_refused_and_the_right_one_loads(tmp_path, monkeypatch):
    path = tmp_path / "weights.pth"
    torch.manual_seed(0)
    saved = FIDInceptionV3().state_dict()
    torch.save(saved, path)
    with pytest.raises(CheckpointError, match="not the FID Inception weights"):
        load_inception(path)
    monkeypatch.setattr(inception, "SHA256", hashlib.sha256(path.read_bytes()).hexdigest())
    torch.manual_seed(1)  # a fresh network draws other weights: equal ones below were loaded from the file
    loaded = load_inception(path)
    assert isinstance(loaded, FIDInceptionV3) and not loaded.training
    assert all(torch.equal(value, saved[key]) for key, value in loaded.state_dict().items())
    torch.save({"fc.weight": torch.zeros(3)}, path)
    monkeypatch.setattr(inception, "SHA256", hashlib.sha256(path.read_bytes()).hexdigest())
    with pytest.raises(CheckpointError, match="does not hold the FID Inception-v3"):
        load_inception(path)
