"""Tool 2's network: a learned image codec with a scale hyperprior (Balle et al. 2018) whose
hyper-synthesis runs in integer arithmetic (Balle, Johnston, Minnen 2019, "Integer networks for
data compression"), and one set of transforms for every quality level (per-level gain vectors on
the latent, as in Cui et al. 2021's gained VAE).

  x (RGB in [0, 1]) --g_a--> y --* gain[q]--> y_s --round--> y_hat --* inv_gain[q]--> g_s --> x_hat
                                               |                      ^
                                      h_a(|y_s|) --round, clamp--> z_hat --h_s (integers)--> scale index
                                                                    (per-channel tables)     (one of S Gaussian tables)

g_a, h_a and g_s run in ONNX Runtime (floats; their rounding differences change pixels, never the
bits). h_s is evaluated in integers in every runtime (int16 weights, int32 accumulators, a
per-channel rounding right shift, a clamp that is also the ReLU) so the encoder and every decoder
choose the same CDF table for every symbol. Training runs h_s with the same rounding simulated
(`IntHyperSynthesis`: weights rounded to their integer grid, activations rounded to integers,
straight-through gradients), so the shipped integer network is the one that was trained.
"""
import math

import torch
from torch import nn
import torch.nn.functional as F

# NNPACK cannot start on this machine's CPUs and says so once per convolution; it is not needed
if hasattr(torch.backends, "nnpack") and hasattr(torch.backends.nnpack, "set_flags"):
    torch.backends.nnpack.set_flags(False)

# integer hyper-synthesis: weight magnitudes up to WMAX on their per-channel grid, activations
# 0..AMAX. WMAX * AMAX * (3 * 3 * cin) < 2^31 keeps every accumulator inside int32 up to cin = 457
# inputs (128-channel hyper layers of image-codec-big.json: 601,326,720 at most before the bias, 28% of the range).
WMAX = 2047
AMAX = 255
# hidden activations: integer a stands for a / ACT_SCALE (so a float range of 0 to ~16)
ACT_SCALE = 16.0
MAX_SHIFT = 24


def ste_round(x):
    """floor(x + 0.5) forward (the integer code's round-half-up), identity gradient."""
    return x + (torch.floor(x + 0.5) - x).detach()


class _RestoringClamp(torch.autograd.Function):
    """clamp(x, lo, hi) forward; backward passes the gradient inside the range, and outside it only
    where a descent step moves x back towards the range. A plain clamp has no gradient outside:
    a scale index whose pre-activation fell below 0 (the smallest scale) could then never be
    raised again by the rate, however badly the scale under-predicts y (docs/aic-changelog.md, tool 2 round 2)."""

    @staticmethod
    def forward(ctx, x, lo, hi):
        ctx.save_for_backward(x)
        ctx.lo, ctx.hi = lo, hi
        return x.clamp(lo, hi)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        keep = ((x >= ctx.lo) & (x <= ctx.hi)) | ((x < ctx.lo) & (g < 0)) | ((x > ctx.hi) & (g > 0))
        return g * keep, None, None


def restoring_clamp(x, lo, hi):
    return _RestoringClamp.apply(x, lo, hi)


class SimpleGDN(nn.Module):
    """Simplified GDN (Johnston et al. 2019): x / (beta + gamma |x|), or x * (...) inverted."""

    def __init__(self, c, inverse=False):
        super().__init__()
        self.inverse = inverse
        self.beta = nn.Parameter(torch.ones(c))
        self.gamma = nn.Parameter(0.1 * torch.eye(c))

    def forward(self, x):
        beta = self.beta.abs() + 1e-3
        gamma = self.gamma.abs()[:, :, None, None]
        norm = F.conv2d(x.abs(), gamma, beta)
        return x * norm if self.inverse else x / norm


def conv(cin, cout, k=5, stride=2):
    return nn.Conv2d(cin, cout, k, stride=stride, padding=k // 2)


def deconv(cin, cout, k=5):
    return nn.ConvTranspose2d(cin, cout, k, stride=2, padding=k // 2, output_padding=1)


class Analysis(nn.Module):
    """x (1 x 3 x H x W, H and W multiples of 16) -> y (M x H/16 x W/16)."""

    def __init__(self, n, m):
        super().__init__()
        self.net = nn.Sequential(conv(3, n), SimpleGDN(n), conv(n, n), SimpleGDN(n), conv(n, n), SimpleGDN(n), conv(n, m))

    def forward(self, x):
        return self.net(x - 0.5)


class Synthesis(nn.Module):
    """y_hat -> x_hat. Leaky ReLUs, not inverse GDN: with IGDN (x (beta + gamma |x|), quadratic
    in x, three times over) the first full run diverged after 2,700 steps (loss 5 -> 3e5 in 50
    steps, docs/aic-changelog.md); a piecewise-linear synthesis cannot blow up that way."""

    def __init__(self, n, m):
        super().__init__()
        self.net = nn.Sequential(deconv(m, n), nn.LeakyReLU(0.1), deconv(n, n), nn.LeakyReLU(0.1), deconv(n, n), nn.LeakyReLU(0.1), deconv(n, 3))

    def forward(self, y_hat):
        return self.net(y_hat) + 0.5


class HyperAnalysis(nn.Module):
    """|y_s| -> z at 1/4 of y's size."""

    def __init__(self, m, nh, cz):
        super().__init__()
        self.net = nn.Sequential(conv(m, nh, 3, 1), nn.ReLU(), conv(nh, nh), nn.ReLU(), conv(nh, cz))

    def forward(self, y_s):
        return self.net(y_s.abs())


def weight_shifts(w_int_units):
    """Per output channel: the right shift s (1..MAX_SHIFT) that puts the channel's largest weight
    at or below WMAX on the grid 2^-s. Integers in, integers out: the exporter uses it too."""
    m = w_int_units.detach().abs().flatten(1).amax(1).clamp_min(1e-12)
    s = torch.floor(torch.log2(WMAX / m)).clamp(1, MAX_SHIFT)
    # log2 may land one step high at exact powers of two: step down while over the limit
    over = (m * 2 ** s).floor() > WMAX
    return torch.where(over, s - 1, s).clamp(1, MAX_SHIFT)


class IntLayer(nn.Module):
    """3x3 convolution whose integer form is
         acc = sum(W_int * a_in) + b_int            (int32)
         a_out = clamp((acc + 2^(s-1)) >> s, lo, hi)
    with W_int = round(W' 2^s), W' the weight in integer units (W * s_out / s_in). Training sees
    exactly those roundings (straight-through)."""

    def __init__(self, cin, cout, s_in, s_out, lo, hi, upsample, restoring=False):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, 3, padding=1)
        self.s_in, self.s_out, self.lo, self.hi, self.upsample = s_in, s_out, lo, hi, upsample
        self.restoring = restoring

    def int_units(self):
        w = self.conv.weight * (self.s_out / self.s_in)
        b = self.conv.bias * self.s_out
        return w, b

    def quantised(self):
        """The integer weights, biases and shifts (as float tensors holding integers)."""
        w, b = self.int_units()
        s = weight_shifts(w)
        k = (2 ** s)
        return torch.floor(w.detach() * k[:, None, None, None] + 0.5), torch.floor(b.detach() * k + 0.5), s

    def forward(self, a):
        if self.upsample:
            a = F.interpolate(a, scale_factor=2, mode="nearest")
        w, b = self.int_units()
        k = 2 ** weight_shifts(w)
        wq = ste_round(w * k[:, None, None, None]) / k[:, None, None, None]
        bq = ste_round(b * k) / k
        out = F.conv2d(a, wq, bq, padding=1)
        # hidden layers: a true clamp (no gradient outside lo..hi, as a ReLU), not a
        # straight-through one, which would pass gradients where the forward no longer changes.
        # The index layer: a restoring clamp (gradients that lead back into range pass)
        if self.restoring:
            return restoring_clamp(ste_round(out), self.lo, self.hi)
        return ste_round(out).clamp(self.lo, self.hi)


class IntHyperSynthesis(nn.Module):
    """z_hat (integers) -> scale index (integers 0..S-1) at y's size."""

    def __init__(self, cz, nh, m, scales):
        super().__init__()
        self.layers = nn.ModuleList([
            IntLayer(cz, nh, 1.0, ACT_SCALE, 0, AMAX, False),
            IntLayer(nh, nh, ACT_SCALE, ACT_SCALE, 0, AMAX, True),
            IntLayer(nh, m, ACT_SCALE, 1.0, 0, scales - 1, True, restoring=True),
        ])
        # start in the middle of the scale table
        nn.init.constant_(self.layers[-1].conv.bias, scales / 2)
        with torch.no_grad():
            self.layers[-1].conv.weight.mul_(4.0)

    def forward(self, z_hat):
        a = z_hat
        for layer in self.layers:
            a = layer(a)
        return a


def int_reference(layers, z_hat):
    """The integer hyper-synthesis exactly as the TypeScript decoder runs it, in float64 (exact:
    every value is an integer below 2^53). `layers`: dicts with w, b, shift, lo, hi, upsample as
    exported. z_hat: 1 x C x h x w integers. Returns the 1 x M x 4h x 4w indices (int64)."""
    a = z_hat.double()
    for L in layers:
        if L["upsample"]:
            a = a.repeat_interleave(2, 2).repeat_interleave(2, 3)
        w = torch.as_tensor(L["w"], dtype=torch.float64)
        b = torch.as_tensor(L["b"], dtype=torch.float64)
        s = torch.as_tensor(L["shift"], dtype=torch.float64)
        acc = F.conv2d(a, w, b, padding=1)
        if acc.abs().max() >= 2 ** 31:
            raise OverflowError("an accumulator left int32")
        a = torch.floor((acc + 2 ** (s - 1)[None, :, None, None]) / (2 ** s)[None, :, None, None]).clamp(L["lo"], L["hi"])
    return a.long()


def phi(x):
    return 0.5 * torch.erfc(-x / math.sqrt(2))


def gaussian_bits(y, sigma):
    """-log2 P(round(y) = y) under a zero-mean Gaussian of scale sigma, integrated over the unit bin,
    computed in the log domain: log P = log Phi(a) + log(1 - Phi(b) / Phi(a)), a = (0.5 - |y|) / sigma,
    b = (-0.5 - |y|) / sigma. Round 1 took the difference of the two Phi and floored it at 1e-9
    (30 bits): past about 6 sigma the difference is 0 in float32, the floor bit, and the rate had
    no gradient at all, neither on y nor on sigma, so a value that the hyperprior under-predicted
    stayed under-predicted (docs/aic-changelog.md, tool 2 round 2). Here every value has an exact, finite rate and
    gradient (about |y| / sigma^2 bits per unit far out)."""
    v = y.abs()
    upper = torch.special.log_ndtr((0.5 - v) / sigma)
    lower = torch.special.log_ndtr((-0.5 - v) / sigma)
    return -(upper + torch.log(-torch.expm1(lower - upper))) / math.log(2)


# the coder spends at most about 16 bits on a y symbol (every CDF entry has frequency >= 1 of 2^16)
CODED_BITS_MAX = 16.0


def training_rate(bits):
    """The rate training minimises: the exact bits up to CODED_BITS_MAX, then a logarithmic tail
    (16 + 16 log(1 + (b - 16) / 16): smooth, increasing, gradient 1 / (1 + (b - 16) / 16)). The coder
    never spends more than about 16 bits on a symbol, so the exact bits of a badly under-predicted
    value (hundreds of thousands at 300 sigma) would overstate it and swamp the step; the tail
    keeps a gradient (unlike round 1's floor) that is bounded in effect."""
    excess = F.relu(bits - CODED_BITS_MAX)
    return bits - excess + CODED_BITS_MAX * torch.log1p(excess / CODED_BITS_MAX)


def gaussian_bits_floored(y, sigma):
    """Round 1's rate (kept for the tests and the round-2 diagnosis): zero gradient past the floor."""
    v = y.abs()
    p = phi((0.5 - v) / sigma) - phi((-0.5 - v) / sigma)
    return -torch.log2(p.clamp_min(1e-9))


class ImageCodec(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        n, m, nh, cz = cfg["channels"], cfg["latent"], cfg["hyper_channels"], cfg["hyper_latent"]
        self.levels = len(cfg["lambdas"])
        self.zmax = cfg["zmax"]
        self.scales = cfg["scales"]
        self.log_smin, self.log_smax = math.log(cfg["scale_min"]), math.log(cfg["scale_max"])
        self.g_a = Analysis(n, m)
        self.g_s = Synthesis(n, m)
        self.h_a = HyperAnalysis(m, nh, cz)
        self.h_s = IntHyperSynthesis(cz, nh, m, self.scales)
        # per-level gains: quantisation step ~ 1/sqrt(lambda) to start with
        lam = torch.tensor(cfg["lambdas"], dtype=torch.float32)
        start = 0.5 * torch.log(lam / lam[len(lam) // 2])
        self.log_gain = nn.Parameter(start[:, None].repeat(1, m).clone())
        self.log_inv_gain = nn.Parameter(-start[:, None].repeat(1, m).clone())
        # diagnostics for train_image_codec.py --trace: when set, forward() fills self.stats
        self.trace, self.stats = False, {}
        # factorised model of z: a pmf per channel over -zmax..zmax
        self.z_logits = nn.Parameter(-0.5 * torch.arange(-self.zmax, self.zmax + 1, dtype=torch.float32).abs()[None].repeat(cz, 1))

    def sigma_of_index(self, t):
        return torch.exp(self.log_smin + t * (self.log_smax - self.log_smin) / (self.scales - 1))

    def scale_table(self):
        return [math.exp(self.log_smin + t * (self.log_smax - self.log_smin) / (self.scales - 1)) for t in range(self.scales)]

    def z_bits(self, z):
        """Bits of z under the per-channel pmf: exact at integers, interpolated in between (so the
        rate has a gradient with respect to z)."""
        nlp = -F.log_softmax(self.z_logits, dim=1) / math.log(2)  # C x K
        pos = z.clamp(-self.zmax, self.zmax) + self.zmax
        i0 = pos.detach().floor().clamp(0, 2 * self.zmax - 1)
        frac = pos - i0
        table = nlp[None, :, None, None, :].expand(*z.shape, nlp.shape[1])
        lo = torch.gather(table, 4, i0.long().unsqueeze(-1)).squeeze(-1)
        hi = torch.gather(table, 4, (i0.long() + 1).unsqueeze(-1)).squeeze(-1)
        return lo * (1 - frac) + hi * frac

    def forward(self, x, q, noise=True):
        """q: one level for the batch. Returns x_hat, bits_y, bits_z (sums over the batch)."""
        y = self.g_a(x)
        y_s = y * torch.exp(self.log_gain[q])[None, :, None, None]
        z = self.h_a(y_s)
        # z outside -zmax..zmax is clamped (the tables code no more): no gradient through the
        # clamp, and in training a pull of 1 bit per unit back into range (added against a
        # divergence that it did not cure: docs/aic-changelog.md)
        z_hat = ste_round(z.clamp(-self.zmax, self.zmax))
        overflow = F.relu(z.abs() - self.zmax).sum()
        t = self.h_s(z_hat)
        sigma = self.sigma_of_index(t)
        y_hat = ste_round(y_s)
        if noise:
            y_rate = y_s + torch.empty_like(y_s).uniform_(-0.5, 0.5)
            z_rate = z + torch.empty_like(z).uniform_(-0.5, 0.5)
        else:
            y_rate, z_rate = y_hat, z_hat
        # training: the smooth tail; evaluation: what the coder spends, at most CODED_BITS_MAX a symbol
        exact = gaussian_bits(y_rate, sigma)
        bits_y = (training_rate(exact) if noise else exact.clamp_max(CODED_BITS_MAX)).sum()
        bits_z = self.z_bits(z_rate).sum() + (overflow if noise else 0.0)
        x_hat = self.g_s(y_hat * torch.exp(self.log_inv_gain[q])[None, :, None, None])
        if self.trace:
            with torch.no_grad():
                self.stats = {"maxY": y_s.abs().max().item(), "maxZ": z.abs().max().item(),
                              "zOut": (z.abs() > self.zmax).float().mean().item(),
                              "tMin": int(t.min().item()), "tMax": int(t.max().item()),
                              "tAt0": (t <= 0).float().mean().item(), "tAtTop": (t >= self.scales - 1).float().mean().item(),
                              "yOverRadius": (y_hat.abs() > torch.clamp(torch.ceil(8 * sigma), min=16)).float().mean().item(),
                              # where round 1's rate sat on its floor (no gradient)
                              "bitsYFloor": (gaussian_bits_floored(y_rate, sigma) >= 29.8).float().mean().item(),
                              "zOverflow": float(overflow)}
        return x_hat, bits_y, bits_z


def parameter_count(model):
    return sum(p.numel() for p in model.parameters())
