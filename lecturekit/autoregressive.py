r"""Autoregressive models: an exact likelihood, one variable at a time.

The chain rule of probability holds for any joint distribution and any order of the variables:

    p(x) = \prod_{i=1}^{D} p(x_i | x_1, ..., x_{i-1}).

Each model here gives the D conditionals of x = (x_1 .. x_D), each x_i an integer level in
0 .. K-1 (the digits: D = 64 pixels, K = 17 counts), as a softmax over K logits computed by
one network pass. The network is *causal*: the logits of position i read only x_1 .. x_{i-1}.
Then log p(x) is the sum of D log-softmax terms, exactly, in nats; training minimises it on
the data, all D terms at once (teacher forcing), while sampling needs D passes, one per position.

* `FullyVisible`: a softmax regression of each x_i on the values x_<i (Frey, 1998).
* `MADE`: an MLP whose weights are masked so that no path leads from x_j to the logits of
  x_i unless j < i (Germain et al., 2015).
* `CausalConvolution`: gated, dilated causal convolutions over the positions in their order
  (van den Oord et al., 2016), each pixel reading every earlier one.
* `CausalTransformer`: self-attention whose mask lets position i attend only to earlier ones
  (Vaswani et al., 2017; Radford et al., 2018).
* `ClassMixture`: p(x) = \sum_c \pi_c p(x | c), one causal convolution told the class c of the
  data, trained on labelled images and scored on images alone.
"""
import math

import torch
from torch import nn
from torch.nn import functional as F

from ._checks import check_float, check_int


class Autoregressive(nn.Module):
    r"""What every autoregressive model offers. A subclass defines `forward(x)`: the logits,
    shape (n, dim, levels), of p(x_i | x_<i) for integer x of shape (n, dim), position i
    reading only x_<i.

    Parameters
    ----------
    dim : number of variables D (64 pixels for the digits).
    levels : number of values K of each variable (17 pixel counts for the digits).
    """

    def __init__(self, dim=64, levels=17):
        super().__init__()
        self.dim = check_int("dim", dim, low=1)
        self.levels = check_int("levels", levels, low=2)

    def logits(self, x):
        """The logits of p(x_i | x_<i) for every position, shape (n, dim, levels)."""
        return self(self._values("x", x))

    def log_prob(self, x):
        r"""log p(x) = \sum_i log softmax(logits_i)[x_i], in nats, shape (n,)."""
        x = self._values("x", x)
        log_conditionals = F.log_softmax(self(x), dim=-1)
        return log_conditionals.gather(-1, x[..., None]).squeeze(-1).sum(dim=-1)

    @torch.no_grad()
    def sample(self, n, generator=None, temperature=1.0):
        """n draws x ~ p(x), one position at a time (dim network passes); integers, shape (n, dim).

        temperature T > 0 divides the logits: T < 1 sharpens every conditional, T > 1 flattens it.
        """
        n = check_int("n", n, low=1)
        temperature = check_temperature(temperature)
        x = torch.zeros(n, self.dim, dtype=torch.long, device=self._device())
        return self._fill(x, torch.zeros_like(x, dtype=torch.bool), generator, temperature)

    @torch.no_grad()
    def complete(self, x, known, generator=None, temperature=1.0):
        """x with every position where `known` is False drawn in order from p(x_i | x_<i).

        known : bool tensor of shape (dim,) or (n, dim). Known positions are never changed.
        When the known positions come first in the order (e.g. the top rows of a digit in
        raster order), this is an exact sample of p(unknown | known); an unknown position
        before a known one does not see it.
        """
        x = self._values("x", x)
        temperature = check_temperature(temperature)
        known = torch.as_tensor(known, device=x.device)
        if known.dtype != torch.bool or known.shape not in ((self.dim,), tuple(x.shape)):
            raise ValueError(f"known must be a bool tensor of shape ({self.dim},) or {tuple(x.shape)}; "
                             f"got {known.dtype} of shape {tuple(known.shape)}")
        return self._fill(x.clone(), known.expand_as(x), generator, temperature)

    def _fill(self, x, known, generator, temperature, logits_at=None):
        """Draw x_i for i = 1 .. dim in turn where not `known`: one network pass per position,
        logits_at(x, i) (by default `_logits_at`) giving the logits of x_i."""
        logits_at = logits_at or self._logits_at
        was_training = self.training
        self.eval()
        try:
            for i in range(self.dim):
                if known[:, i].all():
                    continue
                probs = F.softmax(logits_at(x, i) / temperature, dim=-1)
                u = torch.rand(len(x), 1, generator=generator).to(x.device)
                draw = (probs.cumsum(dim=-1) < u).sum(dim=-1).clamp(max=self.levels - 1)  # inverse CDF
                x[:, i] = torch.where(known[:, i], x[:, i], draw)
        finally:
            self.train(was_training)
        return x

    def _logits_at(self, x, i):
        """The logits of p(x_i | x_<i), shape (n, levels), from one network pass."""
        return self(x)[:, i]

    def _values(self, name, x):
        """x as a long tensor of shape (n, dim) with values in 0 .. levels-1, or a ValueError."""
        x = torch.as_tensor(x)
        if x.ndim != 2 or x.shape[1] != self.dim:
            raise ValueError(f"{name} must have shape (n, {self.dim}); got {tuple(x.shape)}")
        if x.is_floating_point():
            if not torch.equal(x, x.round()):
                raise ValueError(f"{name} must hold integer levels 0..{self.levels - 1}; got non-integer "
                                 "values (for the digits in [0, 1], pass data.to_counts(x))")
        elif x.dtype not in (torch.int64, torch.int32, torch.int16, torch.int8, torch.uint8):
            raise ValueError(f"{name} must be an integer (or integral float) tensor; got {x.dtype}")
        if x.numel() and (x.min() < 0 or x.max() >= self.levels):
            raise ValueError(f"{name} must hold levels 0..{self.levels - 1}; got values "
                             f"{x.min().item():g}..{x.max().item():g}")
        return x.long().to(self._device())

    def _device(self):
        return next(self.parameters()).device


def check_temperature(temperature):
    """The temperature as a float, or a ValueError unless it is > 0."""
    temperature = check_float("temperature", temperature)
    if not temperature > 0:
        raise ValueError(f"temperature must be > 0; got {temperature}")
    return temperature


def nll_loss(model, x):
    """The training loss for `train.fit`: -log p(x) in nats, averaged over the batch."""
    return -model.log_prob(x).mean()


def shift_right(x, start):
    """The inputs of a causal network: position i gets x_{i-1}, position 0 the token `start`."""
    return F.pad(x[:, :-1], (1, 0), value=start)


def autoregressive_mask(out_degrees, in_degrees, strict):
    """M[k, j] = 1 where unit k may read unit j: m(k) > m(j) if `strict`, else m(k) >= m(j)."""
    if strict:
        return (out_degrees[:, None] > in_degrees[None, :]).float()
    return (out_degrees[:, None] >= in_degrees[None, :]).float()


class MaskedLinear(nn.Linear):
    """y = (W * M) x + b: a linear layer whose connections are cut where the mask M is 0."""

    def __init__(self, mask):
        super().__init__(mask.shape[1], mask.shape[0])
        self.register_buffer("mask", mask)

    def forward(self, x):
        return F.linear(x, self.weight * self.mask, self.bias)


class MADE(Autoregressive):
    r"""Masked Autoencoder for Distribution Estimation (Germain et al., 2015), for K levels.

    The input is v_j = x_j / (K - 1). Input j gets degree j (1 .. dim), as do the K outputs of
    x_i; hidden unit k gets a degree m(k) in 1 .. dim-1, here m(k) = 1 + k mod (dim - 1), so
    every degree is used. A hidden unit reads units of degree <= m(k); the outputs of x_i read
    hidden units of degree < i. Every path from x_j to the logits of x_i then climbs through
    degrees j <= ... < i, so those logits read only x_<i, and one pass gives all dim conditionals.
    A masked direct connection adds the fully visible linear model (see `FullyVisible`):

        logits_i = b_i + \sum_{j<i} W_{ij} v_j + (masked MLP of v)_i.

    Parameters
    ----------
    dim, levels : see `Autoregressive`.
    hidden : sizes of the hidden ReLU layers; () leaves the fully visible linear model.
    """

    def __init__(self, dim=64, levels=17, hidden=(512,)):
        super().__init__(dim, levels)
        hidden = tuple(check_int("hidden", h, low=1) for h in hidden)
        self.hparams = dict(dim=self.dim, levels=self.levels, hidden=hidden)
        variable = torch.arange(1, self.dim + 1)
        output = variable.repeat_interleave(self.levels)  # the degree of the K logits of each x_i
        degrees = [variable] + [1 + torch.arange(h) % max(self.dim - 1, 1) for h in hidden]
        self.hidden = nn.ModuleList([MaskedLinear(autoregressive_mask(d_out, d_in, strict=False))
                                     for d_in, d_out in zip(degrees[:-1], degrees[1:])])
        self.output = MaskedLinear(autoregressive_mask(output, degrees[-1], strict=True)) if hidden else None
        self.direct = MaskedLinear(autoregressive_mask(output, variable, strict=True))

    def forward(self, x):
        v = x.float() / (self.levels - 1)
        logits = self.direct(v)
        if self.hidden:
            h = v
            for layer in self.hidden:
                h = F.relu(layer(h))
            logits = logits + self.output(h)
        return logits.view(len(x), self.dim, self.levels)


class FullyVisible(MADE):
    r"""The fully visible linear model: a softmax regression of each pixel on the earlier ones,

        p(x_i | x_<i) = softmax(b_i + \sum_{j<i} W_{ij} x_j / (K - 1)),

    with b_i and each W_{ij} vectors of K logits (Frey, 1998, with a softmax in place of the
    sigmoid). It is MADE without hidden layers."""

    def __init__(self, dim=64, levels=17):
        super().__init__(dim, levels, hidden=())
        self.hparams = dict(dim=self.dim, levels=self.levels)


def delay(h, steps):
    """h moved `steps` positions later along dimension 1, zeros in front: delay(h, s)[:, i] = h[:, i - s]."""
    return F.pad(h, (0, 0, steps, 0))[:, :h.shape[1]]


class GatedResidualBlock(nn.Module):
    r"""h + W_out dropout(tanh(W_f * h) \odot sigmoid(W_g * h)): WaveNet's gated unit
    (van den Oord et al., 2016) on a causal convolution of kernel k and dilation d,

        (W * h)_i = \sum_{t=0}^{k-1} W_t h_{i - t d},

    which reads positions i, i-d, ..., i-(k-1)d and never a later one. Here it is one linear
    map of the k delayed copies of h, with h of shape (n, dim, channels).
    """

    def __init__(self, channels, dilation, kernel_size, dropout):
        super().__init__()
        self.delays = [t * dilation for t in range(kernel_size)]
        self.conv = nn.Linear(kernel_size * channels, 2 * channels)  # W_f and W_g over the k taps
        self.out = nn.Linear(channels, channels)
        self.dropout = nn.Dropout(dropout)

    def forward(self, h):
        f, g = self.conv(torch.cat([delay(h, s) for s in self.delays], dim=-1)).chunk(2, dim=-1)
        return h + self.out(self.dropout(torch.tanh(f) * torch.sigmoid(g)))


class SequenceModel(Autoregressive):
    """A network run along the positions in order (indexed from 0 here, as in the code), whose
    output at position i is computed from its inputs at positions <= i alone. Its input at i
    holds x_{i-1} (the values shifted right), so the logits of p(x_i | x_<i) need only the prefix
    x[:, :i + 1], whose last value x_i the shift drops unread. Sampling position i runs the network
    on that prefix only: a draw of D positions covers 1 + 2 + ... + D = D(D + 1)/2 positions
    instead of D^2, about half (more for attention, whose cost grows with the square of the length).
    """

    def _logits_at(self, x, i):
        return self(x[:, :i + 1])[:, i]


class CausalConvolution(SequenceModel):
    r"""Gated residual blocks of dilated causal convolutions over the positions in order.

    The input is shifted right by one (position i holds x_{i-1}, position 0 a start token), so
    position i sees x_{i-1}, ..., x_{i-R} with the receptive field R = 1 + (k - 1) \sum_b d_b.
    With kernel k = 2 and dilations 1, 2, 4, ..., 32, R = 64: every pixel reads all earlier ones.

    Parameters
    ----------
    dim, levels : see `Autoregressive`.
    channels : width of every block.
    dilations : the dilation d_b of each block, in order.
    kernel_size : k, at least 2.
    dropout : dropout rate inside each block, in [0, 1).
    """

    def __init__(self, dim=64, levels=17, channels=64, dilations=(1, 2, 4, 8, 16, 32), kernel_size=2,
                 dropout=0.0):
        super().__init__(dim, levels)
        channels = check_int("channels", channels, low=1)
        dilations = tuple(check_int("dilations", d, low=1) for d in dilations)
        kernel_size = check_int("kernel_size", kernel_size, low=2)
        dropout = check_float("dropout", dropout, low=0.0, high=0.99)
        self.hparams = dict(dim=self.dim, levels=self.levels, channels=channels, dilations=dilations,
                            kernel_size=kernel_size, dropout=dropout)
        self.receptive_field = 1 + (kernel_size - 1) * sum(dilations)
        self.embed = nn.Embedding(self.levels + 1, channels)  # the extra token is the start
        self.blocks = nn.Sequential(*[GatedResidualBlock(channels, d, kernel_size, dropout) for d in dilations])
        self.head = nn.Sequential(nn.ReLU(), nn.Linear(channels, channels), nn.ReLU(),
                                  nn.Linear(channels, self.levels))

    def forward(self, x, context=None):
        """The logits; `context`, if given, of shape (n, channels), is added at every position."""
        h = self.embed(shift_right(x, start=self.levels))
        if context is not None:
            h = h + context[:, None]
        return self.head(self.blocks(h))


class ClassMixture(SequenceModel):
    r"""A mixture of C autoregressive models, one per class of the data, with equal weights:

        p(x) = \sum_{c=1}^{C} \pi_c p(x | c),   \pi_c = 1/C,   p(x | c) = \prod_i p(x_i | x_<i, c).

    One `CausalConvolution` serves every class: a learned vector e_c, added to its input at every
    position, tells it c. With labels y it is trained on log p(x, y) = log \pi_y + log p(x | y)
    (`joint_nll_loss`); it is scored on x alone, log p(x) = logsumexp_c (log \pi_c + log p(x | c)).

    Its own conditionals are those of the mixture, each still causal:

        p(x_i | x_<i) = \sum_c p(c | x_<i) p(x_i | x_<i, c),   p(c | x_<i) \propto \pi_c p(x_<i | c),

    the class's posterior after the earlier pixels weighting each class's prediction; their log
    is what `forward` returns (one network pass over C copies of the batch), and their product is
    p(x). Through p(c | x_<i), every conditional reads all earlier pixels, whatever the dilations.
    `sample` draws c ~ \pi first and then x ~ p(x | c): at temperature 1 the same distribution as
    the mixture's conditionals give, for one pass per pixel over the batch instead of C; `complete`
    uses the mixture's conditionals.

    Parameters
    ----------
    dim, levels : see `Autoregressive`.
    classes : C, the number of classes (labels 0 .. C-1).
    channels, dilations, kernel_size, dropout : those of the `CausalConvolution`.
    """

    def __init__(self, dim=64, levels=17, classes=10, channels=64, dilations=(1, 2, 4, 8, 16, 32), kernel_size=2,
                 dropout=0.0):
        super().__init__(dim, levels)
        self.classes = check_int("classes", classes, low=1)
        self.network = CausalConvolution(dim, levels, channels, dilations, kernel_size, dropout)
        self.hparams = dict(self.network.hparams, classes=self.classes)
        self.label = nn.Embedding(self.classes, self.network.hparams["channels"])  # e_c, one vector per class

    def conditional_logits(self, x, c):
        """The logits of p(x_i | x_<i, c) for every position, shape (n, length, levels)."""
        return self.network(x, context=self.label(c))

    def log_prob_given(self, x, c):
        r"""log p(x | c) = \sum_i log p(x_i | x_<i, c), in nats, shape (n,)."""
        x, c = self._values("x", x), self._labels(c, len(x))
        log_conditionals = F.log_softmax(self.conditional_logits(x, c), dim=-1)
        return log_conditionals.gather(-1, x[..., None]).squeeze(-1).sum(dim=-1)

    def forward(self, x):
        n, length = x.shape
        every_class = torch.arange(self.classes, device=x.device).repeat_interleave(n)
        log_conditionals = F.log_softmax(self.conditional_logits(x.repeat(self.classes, 1), every_class), dim=-1)
        log_conditionals = log_conditionals.view(self.classes, n, length, self.levels)
        log_p_x_i = log_conditionals.gather(-1, x.expand(self.classes, n, length)[..., None]).squeeze(-1)
        log_p_earlier = F.pad(log_p_x_i[..., :-1].cumsum(dim=-1), (1, 0))  # log p(x_<i | c), 0 at i = 0
        log_posterior = F.log_softmax(log_p_earlier, dim=0)  # log p(c | x_<i); the equal prior cancels
        return torch.logsumexp(log_posterior[..., None] + log_conditionals, dim=0)

    @torch.no_grad()
    def sample(self, n, generator=None, temperature=1.0):
        """n draws x ~ p(x): a class c ~ pi for each, then x ~ p(x | c) (see `sample_given`).

        temperature T divides the logits of p(x_i | x_<i, c); for T != 1 that is not the same
        distribution as `complete` with nothing known, which divides the mixture's logits."""
        n = check_int("n", n, low=1)
        temperature = check_temperature(temperature)
        c = torch.randint(self.classes, (n,), generator=generator).to(self._device())
        return self.sample_given(c, generator, temperature)

    @torch.no_grad()
    def sample_given(self, c, generator=None, temperature=1.0):
        """One draw x ~ p(x | c) per label in c, one position at a time; integers, shape (len(c), dim).
        temperature T > 0 divides the logits of p(x_i | x_<i, c)."""
        c = self._labels(c)
        temperature = check_temperature(temperature)
        x = torch.zeros(len(c), self.dim, dtype=torch.long, device=c.device)
        return self._fill(x, torch.zeros_like(x, dtype=torch.bool), generator, temperature,
                          lambda x, i: self.conditional_logits(x[:, :i + 1], c)[:, i])

    def _labels(self, c, n=None):
        """c as a long tensor of labels 0 .. classes-1 (n of them if n is given), or a ValueError."""
        c = torch.as_tensor(c)
        if c.ndim != 1 or c.is_floating_point() or (n is not None and len(c) != n):
            raise ValueError(f"c must be a 1-D integer tensor of labels{'' if n is None else f' of length {n}'}; "
                             f"got {c.dtype} of shape {tuple(c.shape)}")
        if c.numel() and (c.min() < 0 or c.max() >= self.classes):
            raise ValueError(f"c must hold labels 0..{self.classes - 1}; got {c.min().item()}..{c.max().item()}")
        return c.long().to(self._device())


def joint_nll_loss(model, x, y):
    """The training loss of a `ClassMixture` on labelled data for `train.fit`:
    -log p(x, y) = -log pi_y - log p(x | y) in nats, averaged over the batch."""
    return math.log(model.classes) - model.log_prob_given(x, y).mean()


class CausalSelfAttention(nn.Module):
    r"""softmax(Q K^T / sqrt(d_head) + mask) V with mask_{ij} = -inf for j > i, over several heads."""

    def __init__(self, width, heads, dim, dropout):
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(width, 3 * width)
        self.out = nn.Linear(width, width)
        self.dropout = nn.Dropout(dropout)
        self.register_buffer("causal", torch.ones(dim, dim).tril().bool(), persistent=False)

    def forward(self, h):
        n, length, width = h.shape
        q, k, v = (t.view(n, length, self.heads, -1).transpose(1, 2) for t in self.qkv(h).chunk(3, dim=-1))
        scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])
        scores = scores.masked_fill(~self.causal[:length, :length], float("-inf"))
        attention = self.dropout(F.softmax(scores, dim=-1))
        return self.out((attention @ v).transpose(1, 2).reshape(n, length, width))


class TransformerBlock(nn.Module):
    """h + attention(norm(h)), then h + MLP(norm(h)): a pre-norm Transformer block."""

    def __init__(self, width, heads, dim, dropout):
        super().__init__()
        self.norm1, self.norm2 = nn.LayerNorm(width), nn.LayerNorm(width)
        self.attention = CausalSelfAttention(width, heads, dim, dropout)
        self.mlp = nn.Sequential(nn.Linear(width, 4 * width), nn.GELU(), nn.Linear(4 * width, width),
                                 nn.Dropout(dropout))

    def forward(self, h):
        h = h + self.attention(self.norm1(h))
        return h + self.mlp(self.norm2(h))


class CausalTransformer(SequenceModel):
    """A small causal Transformer: embeddings of the right-shifted values plus learned position
    embeddings, `layers` blocks whose attention reads only earlier positions, and a softmax head.

    Parameters
    ----------
    dim, levels : see `Autoregressive`.
    width : embedding size d, a multiple of `heads`.
    heads, layers : attention heads per block, number of blocks.
    dropout : dropout rate, in [0, 1).
    """

    def __init__(self, dim=64, levels=17, width=96, heads=4, layers=3, dropout=0.0):
        super().__init__(dim, levels)
        width = check_int("width", width, low=1)
        heads = check_int("heads", heads, low=1)
        layers = check_int("layers", layers, low=1)
        dropout = check_float("dropout", dropout, low=0.0, high=0.99)
        if width % heads:
            raise ValueError(f"width must be a multiple of heads; got width {width}, heads {heads}")
        self.hparams = dict(dim=self.dim, levels=self.levels, width=width, heads=heads, layers=layers,
                            dropout=dropout)
        self.embed = nn.Embedding(self.levels + 1, width)  # the extra token is the start
        self.position = nn.Parameter(torch.zeros(self.dim, width))
        self.blocks = nn.Sequential(*[TransformerBlock(width, heads, self.dim, dropout) for _ in range(layers)])
        self.norm = nn.LayerNorm(width)
        self.head = nn.Linear(width, self.levels)

    def forward(self, x):
        h = self.embed(shift_right(x, start=self.levels)) + self.position[:x.shape[1]]
        return self.head(self.norm(self.blocks(h)))


@torch.no_grad()
def dependence(model, generator=None):
    """Which inputs each conditional reads, measured: a bool matrix R of shape (dim, dim) with
    R[i, j] True when changing x_j (on a random input) changes the logits of position i at all.

    A causal model has R[i, j] False for every j >= i. Each input is run on its own, so that
    unchanged logits are computed by the same kernel on the same bits and compare exactly.
    """
    x = torch.randint(model.levels, (1, model.dim), generator=generator)
    shift = torch.randint(1, model.levels, (model.dim,), generator=generator)
    was_training = model.training
    model.eval()
    try:
        before = model.logits(x)
        reads = torch.zeros(model.dim, model.dim, dtype=torch.bool)
        for j in range(model.dim):
            changed = x.clone()
            changed[0, j] = (x[0, j] + shift[j]) % model.levels
            reads[:, j] = (model.logits(changed) != before).any(dim=-1)[0].cpu()
    finally:
        model.train(was_training)
    return reads
