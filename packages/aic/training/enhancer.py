"""Tool 1's network: restores a frame that the native codec sent at 1/scale the size.

out = bicubic_upscale(x) + residual(x): the network only learns what bicubic upscaling misses
(detail lost to downscaling, and the codec's blocking and ringing). Convolutions at the low
resolution, then a sub-pixel convolution (PixelShuffle, ONNX DepthToSpace) to full size, so the
cost per output pixel stays small.
"""
import torch
from torch import nn
import torch.nn.functional as F


class ResBlock(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.a = nn.Conv2d(c, c, 3, padding=1)
        self.b = nn.Conv2d(c, c, 3, padding=1)

    def forward(self, x):
        return x + self.b(F.relu(self.a(x)))


class Enhancer(nn.Module):
    def __init__(self, scale=2, channels=32, blocks=4):
        super().__init__()
        if scale not in (2, 3, 4):
            raise ValueError(f"scale must be 2, 3 or 4 (a sub-pixel factor), got {scale}")
        self.scale = scale
        self.head = nn.Conv2d(3, channels, 3, padding=1)
        self.body = nn.Sequential(*[ResBlock(channels) for _ in range(blocks)])
        self.tail = nn.Conv2d(channels, 3 * scale * scale, 3, padding=1)
        self.shuffle = nn.PixelShuffle(scale)
        nn.init.zeros_(self.tail.weight)
        nn.init.zeros_(self.tail.bias)

    def forward(self, x):
        """x: N x 3 x h x w in [0, 1]; returns N x 3 x (h*scale) x (w*scale) in [0, 1]."""
        base = F.interpolate(x, scale_factor=self.scale, mode="bicubic", align_corners=False)
        y = self.head(x)
        y = self.body(y) + y
        return torch.clamp(base + self.shuffle(self.tail(y)), 0.0, 1.0)


def parameter_count(model):
    return sum(p.numel() for p in model.parameters())
