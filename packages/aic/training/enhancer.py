"""Tool 1's network: restores a frame that the native codec sent at 1/scale the size.

out = upscale(x) + residual(x): the network only learns what the upscaling misses (detail lost
to downscaling, and the codec's blocking and ringing). Convolutions at the low resolution, then a
sub-pixel convolution (PixelShuffle, ONNX DepthToSpace) to full size, so the cost per output
pixel stays small.

The upscaling (`upsample`):
  "bicubic-conv"  bicubic interpolation written as a convolution: a 5x5 kernel per output phase
                  (scale^2 phases per colour channel), initialised to the bicubic weights
                  (a = -0.75, as torch's bicubic) and then trained with the rest. ONNX Runtime's
                  cubic Resize costs about 75 ms per 640x360 frame on 2 cores; this costs about
                  a millisecond, and it starts where bicubic is instead of below it.
  "bicubic"       torch's bicubic interpolation (an ONNX Resize; slow in ONNX Runtime)
  "bilinear"      bilinear interpolation (fast, but a worse start than bicubic)
"""
import torch
from torch import nn
import torch.nn.functional as F

UPSAMPLES = ("bicubic-conv", "bicubic", "bilinear")


class ResBlock(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.a = nn.Conv2d(c, c, 3, padding=1)
        self.b = nn.Conv2d(c, c, 3, padding=1)

    def forward(self, x):
        return x + self.b(F.relu(self.a(x)))


def cubic(t, a=-0.75):
    """Keys' cubic convolution kernel at distance t."""
    t = abs(t)
    if t <= 1:
        return (a + 2) * t ** 3 - (a + 3) * t ** 2 + 1
    if t < 2:
        return a * t ** 3 - 5 * a * t ** 2 + 8 * a * t - 4 * a
    return 0.0


def bicubic_phase_taps(scale, phase, radius=2):
    """Weights over input offsets -radius..radius for output phase `phase` (align_corners=False):
    output pixel scale*k + phase samples the input at k + (phase + 0.5) / scale - 0.5."""
    pos = (phase + 0.5) / scale - 0.5
    return [cubic(pos - o) for o in range(-radius, radius + 1)]


class Enhancer(nn.Module):
    def __init__(self, scale=2, channels=32, blocks=4, upsample="bicubic"):
        super().__init__()
        if scale not in (2, 3, 4):
            raise ValueError(f"scale must be 2, 3 or 4 (a sub-pixel factor), got {scale}")
        if upsample not in UPSAMPLES:
            raise ValueError(f"upsample must be one of {UPSAMPLES}, got {upsample!r}")
        self.scale = scale
        self.upsample = upsample
        self.head = nn.Conv2d(3, channels, 3, padding=1)
        self.body = nn.Sequential(*[ResBlock(channels) for _ in range(blocks)])
        self.tail = nn.Conv2d(channels, 3 * scale * scale, 3, padding=1)
        self.shuffle = nn.PixelShuffle(scale)
        nn.init.zeros_(self.tail.weight)
        nn.init.zeros_(self.tail.bias)
        if upsample == "bicubic-conv":
            # groups=3: colour channel c gives output channels c*scale^2 + phase, PixelShuffle's order
            self.skip = nn.Conv2d(3, 3 * scale * scale, 5, padding=2, padding_mode="replicate", groups=3, bias=False)
            with torch.no_grad():
                w = torch.zeros(3 * scale * scale, 1, 5, 5)
                for c in range(3):
                    for py in range(scale):
                        for px in range(scale):
                            ty, tx = bicubic_phase_taps(scale, py), bicubic_phase_taps(scale, px)
                            w[c * scale * scale + py * scale + px, 0] = torch.tensor(ty)[:, None] * torch.tensor(tx)[None, :]
                self.skip.weight.copy_(w)

    def forward(self, x):
        """x: N x 3 x h x w in [0, 1]; returns N x 3 x (h*scale) x (w*scale) in [0, 1]."""
        y = self.head(x)
        y = self.body(y) + y
        if self.upsample == "bicubic-conv":
            return torch.clamp(self.shuffle(self.skip(x) + self.tail(y)), 0.0, 1.0)
        base = F.interpolate(x, scale_factor=self.scale, mode=self.upsample, align_corners=False)
        return torch.clamp(base + self.shuffle(self.tail(y)), 0.0, 1.0)


def parameter_count(model):
    return sum(p.numel() for p in model.parameters())
