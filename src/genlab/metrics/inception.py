"""The standard FID Inception-v3: the TF 2015-12-05 graph as ported to PyTorch for FID.

It differs from torchvision's Inception-v3 where the TF graph did: average pools that leave the
zero padding out of the mean (Mixed_5b-d, Mixed_6b-e, Mixed_7b), a max pool in Mixed_7c's pool
branch, BatchNorm eps 1e-3, a 1008-way classifier. Input is uint8; it is resized to 299x299 with
TF1's bilinear resize (no half-pixel centres) and normalised as the graph does, (x - 128) / 128.
Features: the 2048-d final average pool ("pool3"); IS uses the classifier's logits without bias,
as the original Inception Score code does. With the published weights these match TF FID,
torch-fidelity and clean-fid's "legacy_tensorflow" mode; pytorch-fid uses the same weights but
resizes with half-pixel centres and scales to [-1, 1] as 2x/255 - 1, so its FIDs differ slightly.
"""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from genlab.errors import CheckpointError
from genlab.metrics.cache import cache_dir, home_cache

WEIGHTS_NAME = "pt_inception-2015-12-05-6726825d.pth"
WEIGHTS_URL = f"https://github.com/mseitzer/pytorch-fid/releases/download/fid_weights/{WEIGHTS_NAME}"
# The whole sha256 of the published file (its name carries the first 8 digits, torch.hub's convention).
SHA256 = "6726825d0af5f729cebd5821db510b11b1cfad8faad88a03f1befd49fb9129b2"
SIZE = 299


class BasicConv2d(nn.Module):
    def __init__(self, cin: int, cout: int, kernel: int | tuple[int, int], stride: int = 1,
                 padding: int | tuple[int, int] = 0) -> None:
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, kernel, stride=stride, padding=padding, bias=False)
        self.bn = nn.BatchNorm2d(cout, eps=0.001)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(self.bn(self.conv(x)))


def _tf_avg_pool(x: torch.Tensor) -> torch.Tensor:
    """3x3 stride-1 average pool whose border means leave the padding out (TF's SAME pooling)."""
    return F.avg_pool2d(x, 3, stride=1, padding=1, count_include_pad=False)


class InceptionA(nn.Module):
    def __init__(self, cin: int, pool_features: int) -> None:
        super().__init__()
        self.branch1x1 = BasicConv2d(cin, 64, 1)
        self.branch5x5_1 = BasicConv2d(cin, 48, 1)
        self.branch5x5_2 = BasicConv2d(48, 64, 5, padding=2)
        self.branch3x3dbl_1 = BasicConv2d(cin, 64, 1)
        self.branch3x3dbl_2 = BasicConv2d(64, 96, 3, padding=1)
        self.branch3x3dbl_3 = BasicConv2d(96, 96, 3, padding=1)
        self.branch_pool = BasicConv2d(cin, pool_features, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([self.branch1x1(x), self.branch5x5_2(self.branch5x5_1(x)),
                          self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(x))),
                          self.branch_pool(_tf_avg_pool(x))], 1)  # (B, 224 + pool_features, H, W)


class InceptionB(nn.Module):
    def __init__(self, cin: int) -> None:
        super().__init__()
        self.branch3x3 = BasicConv2d(cin, 384, 3, stride=2)
        self.branch3x3dbl_1 = BasicConv2d(cin, 64, 1)
        self.branch3x3dbl_2 = BasicConv2d(64, 96, 3, padding=1)
        self.branch3x3dbl_3 = BasicConv2d(96, 96, 3, stride=2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([self.branch3x3(x), self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(x))),
                          F.max_pool2d(x, 3, stride=2)], 1)  # (B, 480 + cin, H/2, W/2)


class InceptionC(nn.Module):
    def __init__(self, cin: int, c7: int) -> None:
        super().__init__()
        self.branch1x1 = BasicConv2d(cin, 192, 1)
        self.branch7x7_1 = BasicConv2d(cin, c7, 1)
        self.branch7x7_2 = BasicConv2d(c7, c7, (1, 7), padding=(0, 3))
        self.branch7x7_3 = BasicConv2d(c7, 192, (7, 1), padding=(3, 0))
        self.branch7x7dbl_1 = BasicConv2d(cin, c7, 1)
        self.branch7x7dbl_2 = BasicConv2d(c7, c7, (7, 1), padding=(3, 0))
        self.branch7x7dbl_3 = BasicConv2d(c7, c7, (1, 7), padding=(0, 3))
        self.branch7x7dbl_4 = BasicConv2d(c7, c7, (7, 1), padding=(3, 0))
        self.branch7x7dbl_5 = BasicConv2d(c7, 192, (1, 7), padding=(0, 3))
        self.branch_pool = BasicConv2d(cin, 192, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        seven = self.branch7x7_3(self.branch7x7_2(self.branch7x7_1(x)))
        double = self.branch7x7dbl_1(x)
        for layer in (self.branch7x7dbl_2, self.branch7x7dbl_3, self.branch7x7dbl_4, self.branch7x7dbl_5):
            double = layer(double)
        return torch.cat([self.branch1x1(x), seven, double, self.branch_pool(_tf_avg_pool(x))], 1)  # (B, 768, H, W)


class InceptionD(nn.Module):
    def __init__(self, cin: int) -> None:
        super().__init__()
        self.branch3x3_1 = BasicConv2d(cin, 192, 1)
        self.branch3x3_2 = BasicConv2d(192, 320, 3, stride=2)
        self.branch7x7x3_1 = BasicConv2d(cin, 192, 1)
        self.branch7x7x3_2 = BasicConv2d(192, 192, (1, 7), padding=(0, 3))
        self.branch7x7x3_3 = BasicConv2d(192, 192, (7, 1), padding=(3, 0))
        self.branch7x7x3_4 = BasicConv2d(192, 192, 3, stride=2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        seven = self.branch7x7x3_4(self.branch7x7x3_3(self.branch7x7x3_2(self.branch7x7x3_1(x))))
        return torch.cat([self.branch3x3_2(self.branch3x3_1(x)), seven,
                          F.max_pool2d(x, 3, stride=2)], 1)  # (B, 512 + cin, H/2, W/2)


class InceptionE(nn.Module):
    """Mixed_7b (TF average pool without padding) or Mixed_7c (max pool: the FID graph's quirk)."""

    def __init__(self, cin: int, max_pool: bool) -> None:
        super().__init__()
        self.max_pool = max_pool
        self.branch1x1 = BasicConv2d(cin, 320, 1)
        self.branch3x3_1 = BasicConv2d(cin, 384, 1)
        self.branch3x3_2a = BasicConv2d(384, 384, (1, 3), padding=(0, 1))
        self.branch3x3_2b = BasicConv2d(384, 384, (3, 1), padding=(1, 0))
        self.branch3x3dbl_1 = BasicConv2d(cin, 448, 1)
        self.branch3x3dbl_2 = BasicConv2d(448, 384, 3, padding=1)
        self.branch3x3dbl_3a = BasicConv2d(384, 384, (1, 3), padding=(0, 1))
        self.branch3x3dbl_3b = BasicConv2d(384, 384, (3, 1), padding=(1, 0))
        self.branch_pool = BasicConv2d(cin, 192, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        three = self.branch3x3_1(x)
        double = self.branch3x3dbl_2(self.branch3x3dbl_1(x))
        pooled = F.max_pool2d(x, 3, stride=1, padding=1) if self.max_pool else _tf_avg_pool(x)
        return torch.cat([self.branch1x1(x), self.branch3x3_2a(three), self.branch3x3_2b(three),
                          self.branch3x3dbl_3a(double), self.branch3x3dbl_3b(double),
                          self.branch_pool(pooled)], 1)  # (B, 2048, H, W)


def tf1_resize_bilinear(x: torch.Tensor, size: int) -> torch.Tensor:
    """TF1 ``resize_bilinear`` (align_corners=False, no half-pixel centres): (B, C, H, W) → (B, C, size, size).

    Output pixel i samples input coordinate i * in / out, so the image is anchored at its
    top-left corner (unlike torch's half-pixel ``interpolate``); the last row/column repeats.
    """

    def axis(n_in: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        src = torch.arange(size, dtype=torch.float64) * (n_in / size)  # float64 on the CPU, then to x's device
        low = src.floor().long().clamp(max=n_in - 1)
        return low.to(x.device), (low + 1).clamp(max=n_in - 1).to(x.device), (src - low).to(x.device, x.dtype)

    y0, y1, fy = axis(x.shape[2])
    x0, x1, fx = axis(x.shape[3])
    left = x[:, :, :, x0]  # (B, C, H, size); TF lerps along the width first, then the height
    columns = left + (x[:, :, :, x1] - left) * fx
    top = columns[:, :, y0, :]  # (B, C, size, size)
    return top + (columns[:, :, y1, :] - top) * fy[:, None]


class FIDInceptionV3(nn.Module):
    """uint8 images (B, 3, H, W) → pool3 features (B, 2048) and bias-free logits (B, 1008)."""

    def __init__(self) -> None:
        super().__init__()
        self.Conv2d_1a_3x3 = BasicConv2d(3, 32, 3, stride=2)
        self.Conv2d_2a_3x3 = BasicConv2d(32, 32, 3)
        self.Conv2d_2b_3x3 = BasicConv2d(32, 64, 3, padding=1)
        self.Conv2d_3b_1x1 = BasicConv2d(64, 80, 1)
        self.Conv2d_4a_3x3 = BasicConv2d(80, 192, 3)
        self.Mixed_5b = InceptionA(192, 32)
        self.Mixed_5c = InceptionA(256, 64)
        self.Mixed_5d = InceptionA(288, 64)
        self.Mixed_6a = InceptionB(288)
        self.Mixed_6b = InceptionC(768, 128)
        self.Mixed_6c = InceptionC(768, 160)
        self.Mixed_6d = InceptionC(768, 160)
        self.Mixed_6e = InceptionC(768, 192)
        self.Mixed_7a = InceptionD(768)
        self.Mixed_7b = InceptionE(1280, max_pool=False)
        self.Mixed_7c = InceptionE(2048, max_pool=True)
        self.fc = nn.Linear(2048, 1008)

    def forward(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x = tf1_resize_bilinear(images.float(), SIZE)
        x = (x - 128) / 128  # the graph's own normalisation of 0..255 pixels
        x = self.Conv2d_2b_3x3(self.Conv2d_2a_3x3(self.Conv2d_1a_3x3(x)))  # (B, 64, 147, 147)
        x = F.max_pool2d(x, 3, stride=2)  # (B, 64, 73, 73)
        x = self.Conv2d_4a_3x3(self.Conv2d_3b_1x1(x))  # (B, 192, 71, 71)
        x = F.max_pool2d(x, 3, stride=2)  # (B, 192, 35, 35)
        for block in (self.Mixed_5b, self.Mixed_5c, self.Mixed_5d, self.Mixed_6a, self.Mixed_6b, self.Mixed_6c,
                      self.Mixed_6d, self.Mixed_6e, self.Mixed_7a, self.Mixed_7b, self.Mixed_7c):
            x = block(x)  # ... (B, 288, 35, 35) → (B, 768, 17, 17) → (B, 2048, 8, 8)
        features = x.mean((2, 3))  # (B, 2048) pool3
        return features, features @ self.fc.weight.T  # logits without bias, as the IS code


def find_weights(path: str | Path | None = None) -> Path:
    """The FID Inception weight file: ``path``, else the genlab or torch.hub cache; a clear error if absent."""
    try:
        genlab_cache = cache_dir()
    except RuntimeError:  # no home folder and no GENLAB_CACHE
        genlab_cache = None
    if path is not None:
        candidates = [Path(path).expanduser()]
    else:
        torch_hub = home_cache("torch", "hub", "checkpoints")  # where pytorch-fid keeps it
        candidates = [folder / WEIGHTS_NAME for folder in (genlab_cache, torch_hub) if folder is not None]
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    where = f"are not at {candidates[0]}" if candidates else "were not given, and there is no home folder to look in"
    keep = f"put it in {genlab_cache}" if genlab_cache else "set GENLAB_CACHE to a folder holding it"
    raise CheckpointError(f"The FID Inception weights {WEIGHTS_NAME} {where}; download {WEIGHTS_URL} "
                          f"(sha256 {SHA256}) and pass --inception-weights PATH or {keep} — or use an offline "
                          "evaluator of the data's kind: --extractor mnist, fashion-mnist or cifar10.")


def verified_weights(path: Path) -> bytes:
    """The bytes of the weights file at ``path``, read once and checked against the published sha256
    (loading them from these bytes, not the path again, loads exactly what was checked)."""
    data = path.read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    if digest != SHA256:
        raise CheckpointError(f"{path} has sha256 {digest[:16]}…, not the FID Inception weights ({SHA256[:16]}…); "
                              f"download {WEIGHTS_URL} again.")
    return data


def load_inception(path: str | Path | None = None, device: str | torch.device = "cpu") -> FIDInceptionV3:
    """The FID Inception-v3 with the published weights, verified by sha256, in eval mode."""
    found = find_weights(path)
    state = torch.load(io.BytesIO(verified_weights(found)), map_location="cpu", weights_only=True)
    model = FIDInceptionV3()
    expected = model.state_dict()
    missing = [k for k in expected if k not in state and not k.endswith("num_batches_tracked")]
    unexpected = [k for k in state if k not in expected]
    if missing or unexpected:
        raise CheckpointError(f"{found} does not hold the FID Inception-v3 (missing {missing[:3]}, unexpected "
                              f"{unexpected[:3]}); download {WEIGHTS_URL} again.")
    model.load_state_dict(state, strict=False)
    return model.to(device).eval()
