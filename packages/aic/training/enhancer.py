"""Tool 1's network: restores a frame that the native codec sent at 1/scale the size (2 or 1.5).

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

At scale 1.5 every 2x2 block of input pixels becomes 3x3 output pixels: the bicubic base is a
6x6 convolution with stride 2 (9 phases per colour channel, one per output pixel of the block,
each reading the 6x6 input pixels around its block that bicubic's taps reach), the residual ends
in a 4x4 convolution with stride 2 to 9 x 3 channels, and PixelShuffle(3) puts the phases in
place. Input heights and widths must then be even (a 2x2 block each).
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


def bicubic_phase_taps(scale, phase, radius=2, offsets=None):
    """Weights over input offsets (default -radius..radius) for output phase `phase`
    (align_corners=False): output pixel scale*k + phase samples the input at
    k + (phase + 0.5) / scale - 0.5. At 1.5x, with k counting 2x2 blocks, output pixel 3k + p
    samples input 2k + (p + 0.5) / 1.5 - 0.5 (p = 0, 1, 2), so offsets -2..3 from 2k."""
    pos = (phase + 0.5) / scale - 0.5
    return [cubic(pos - o) for o in (offsets if offsets is not None else range(-radius, radius + 1))]


# scale -> (output pixels per block side, input pixels per block side): 2x is 2 per 1, 1.5x 3 per 2
SCALES = {2: (2, 1), 3: (3, 1), 4: (4, 1), 1.5: (3, 2)}


class Enhancer(nn.Module):
    def __init__(self, scale=2, channels=32, blocks=4, upsample="bicubic"):
        super().__init__()
        if scale not in SCALES:
            raise ValueError(f"scale must be one of {sorted(SCALES)}, got {scale}")
        if upsample not in UPSAMPLES:
            raise ValueError(f"upsample must be one of {UPSAMPLES}, got {upsample!r}")
        if scale == 1.5 and upsample != "bicubic-conv":
            raise ValueError(f"scale 1.5 needs upsample \"bicubic-conv\", got {upsample!r}")
        self.scale = scale
        self.upsample = upsample
        out, inp = SCALES[scale]
        self.block = inp  # input pixels per block side: the input's height and width must be multiples
        phases = out * out
        self.head = nn.Conv2d(3, channels, 3, padding=1)
        self.body = nn.Sequential(*[ResBlock(channels) for _ in range(blocks)])
        if inp == 1:
            self.tail = nn.Conv2d(channels, 3 * phases, 3, padding=1)
        else:
            # a block's 2x2 pixels and their neighbours (input 2k-1..2k+2) give its 3x3 outputs
            self.tail = nn.Conv2d(channels, 3 * phases, 4, stride=2, padding=1)
        self.shuffle = nn.PixelShuffle(out)
        nn.init.zeros_(self.tail.weight)
        nn.init.zeros_(self.tail.bias)
        if upsample == "bicubic-conv":
            # groups=3: colour channel c gives output channels c*phases + phase, PixelShuffle's order.
            # 2x: a 5x5 kernel centred on the input pixel; 1.5x: 6x6 over input 2k-2..2k+3, stride 2
            # (replicate padding 2 on every side: torch's bicubic clamps at the edges the same way)
            size, offsets = (5, range(-2, 3)) if inp == 1 else (6, range(-2, 4))
            self.skip = nn.Conv2d(3, 3 * phases, size, stride=inp, padding=2, padding_mode="replicate", groups=3, bias=False)
            with torch.no_grad():
                w = torch.zeros(3 * phases, 1, size, size)
                for c in range(3):
                    for py in range(out):
                        for px in range(out):
                            ty = bicubic_phase_taps(scale, py, offsets=offsets)
                            tx = bicubic_phase_taps(scale, px, offsets=offsets)
                            w[c * phases + py * out + px, 0] = torch.tensor(ty)[:, None] * torch.tensor(tx)[None, :]
                self.skip.weight.copy_(w)

    def forward(self, x):
        """x: N x 3 x h x w in [0, 1]; returns N x 3 x (h*scale) x (w*scale) in [0, 1]. At 1.5x, h
        and w must be even."""
        if self.block > 1 and not torch.jit.is_tracing() and (x.shape[2] % self.block or x.shape[3] % self.block):
            raise ValueError(f"scale {self.scale} needs an even input height and width, got {x.shape[3]}x{x.shape[2]}")
        y = self.head(x)
        y = self.body(y) + y
        if self.upsample == "bicubic-conv":
            return torch.clamp(self.shuffle(self.skip(x) + self.tail(y)), 0.0, 1.0)
        base = F.interpolate(x, scale_factor=self.scale, mode=self.upsample, align_corners=False)
        return torch.clamp(base + self.shuffle(self.tail(y)), 0.0, 1.0)


def parameter_count(model):
    return sum(p.numel() for p in model.parameters())
