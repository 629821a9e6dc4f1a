r"""Normalising flows: an exact density through an invertible map (lecture 09).

A flow is an invertible map f from the data x to a code z = f(x) of the same size, with a simple
base density p_Z = N(0, I). The **change of variables** gives the density of x exactly:

    log p(x) = log p_Z(f(x)) + log |det df/dx|.

f is a composition f = f_L o ... o f_1 of layers, each invertible with a log-determinant that is
cheap to compute; the log-dets of a composition add up (the chain rule, det(AB) = det A det B):

    log |det df/dx| = sum_l log |det df_l/dh_{l-1}|,   h_0 = x, h_l = f_l(h_{l-1}).

Every layer here has `forward(x) -> (z, log_det)`, log_det of shape (n,), and `inverse(z) -> x`:

* `AffineCoupling` (Dinh et al., 2017, RealNVP): half the coordinates pass unchanged and set a
  scale and a shift for the other half; its Jacobian is triangular, so its log-det is a sum.
* `Permutation`: a fixed reordering of the coordinates, so that the next coupling changes the
  half this one left alone; |det| = 1. `Rotation`: a fixed random rotation, which also mixes them.
* `ActNorm` (Kingma & Dhariwal, 2018, Glow): an elementwise affine map, initialised from the
  first batch it sees so that its outputs have mean 0 and standard deviation 1.
* `Logit`: data in [0, 1] to the real line (Dinh et al., 2017, section 4.1), where a Gaussian
  base density can reach them.

`Flow` stacks them into a model with `log_prob` and `sample`. Sampling runs the layers backwards:
z ~ N(0, I), x = f^{-1}(z).

**Dequantisation.** The digits are discrete: each pixel is one of K = 17 levels, and a density on
the levels themselves could grow without bound. `DequantisedFlow` fits a density p_Y to
y = (x + u) / K, the levels spread over [0, 1] by noise u in [0, 1)^D, so that level k fills the
bin [k / K, (k + 1) / K). The probability of the discrete image x is the density's mass on its
cube of bins, which Jensen's inequality bounds from below:

    P(x) = \int_{[0,1)^D} p_Y((x + u) / K) K^{-D} du
    -log P(x) <= E_{u ~ q(u|x)} [ -log p_Y((x + u) / K) + log q(u | x) ] + D log K.

* uniform dequantisation (Theis et al., 2016): q(u | x) = 1 on [0, 1)^D, so log q = 0;
* variational dequantisation (Ho et al., 2019, Flow++): q(u | x) is learned (`VariationalDequantiser`),
  so that it can follow the shape of p(u | x) = p_Y((x + u) / K) K^{-D} / P(x) inside each cube, which
  the uniform q cannot. The bound's gap is KL(q(u | x) || p(u | x)); nothing guarantees that a learned
  q makes it smaller (q and the flow are trained together, and sigmoid(Gaussian) densities do not
  include the uniform one), but on the digits it did (lecture 09, benchmarks/flows.py).

The bin width w = 1 / K enters through the Jacobian of y = (x + u) / K: a density per unit volume of
y is a density per w^D units of u, so -log of the cube's mass is -log p_Y - D log w = -log p_Y +
D log K. The bound is then on the probability of the 17-level pixels, in nats per image: the same
units as the VAE's bound (lecture 03), the autoregressive models' exact NLL (lecture 08) and the
diffusion model's bound.
"""
import math

import torch
from torch import nn

from ._checks import as_matrix, check_choice, check_float, check_int
from .networks import mlp

PERMUTATIONS = ("reverse", "random")
MIXINGS = PERMUTATIONS + ("rotation",)
DEQUANTISATIONS = ("uniform", "variational")
LOG_2PI = math.log(2 * math.pi)


def standard_normal_log_prob(z):
    """log N(z; 0, I) = -(D log 2 pi + ||z||^2) / 2 for each row of z, shape (n,)."""
    return -0.5 * (z.shape[1] * LOG_2PI + (z ** 2).sum(dim=1))


def _finite(name, x):
    """Raise ValueError when x holds NaN or inf."""
    if not torch.isfinite(x).all():
        raise ValueError(f"{name} must be finite; it holds NaN or inf")
    return x


class AffineCoupling(nn.Module):
    r"""The affine coupling layer of RealNVP (Dinh et al., 2017). Split x into halves x_a (the first
    D/2 coordinates) and x_b (the rest); x_a passes unchanged and sets a scale and a shift for x_b:

        z_a = x_a,
        z_b = x_b * exp(s(x_a)) + t(x_a),       s = B tanh(s_raw / B),

    with (s_raw, t) the output of an MLP of x_a, and B = `scale_bound` keeping each log-scale in
    (-B, B), so that no step can blow up or collapse a coordinate. The inverse needs no inverse of
    the network, since x_a = z_a is known: x_b = (z_b - t(z_a)) * exp(-s(z_a)).

    The Jacobian dz/dx is block triangular, [[I, 0], [dz_b/dx_a, diag(exp(s))]], so its determinant
    is the product of the diagonal: log |det dz/dx| = sum_j s_j(x_a). The network's last layer
    starts at zero, so an untrained coupling is the identity.

    Parameters
    ----------
    n_features : D, even.
    hidden : sizes of the MLP's hidden layers.
    scale_bound : B > 0.
    """

    def __init__(self, n_features, hidden=(64, 64), scale_bound=2.0):
        super().__init__()
        n_features = check_int("n_features", n_features, low=2)
        if n_features % 2:
            raise ValueError(f"n_features must be even, for a coupling that splits x into two halves; got {n_features}")
        self.half = n_features // 2
        self.scale_bound = check_float("scale_bound", scale_bound, low=1e-6)
        hidden = tuple(check_int("hidden", h, low=1) for h in hidden)
        self.network = mlp([self.half, *hidden, 2 * self.half], activation=nn.SiLU)
        nn.init.zeros_(self.network[-1].weight)
        nn.init.zeros_(self.network[-1].bias)

    def scale_and_shift(self, x_a):
        """(s, t) for the half x_a, each of shape (n, D/2), with s in (-B, B)."""
        s_raw, t = self.network(x_a).chunk(2, dim=1)
        return self.scale_bound * torch.tanh(s_raw / self.scale_bound), t

    def forward(self, x):
        x_a, x_b = x[:, :self.half], x[:, self.half:]
        s, t = self.scale_and_shift(x_a)
        return torch.cat([x_a, x_b * s.exp() + t], dim=1), s.sum(dim=1)

    def inverse(self, z):
        z_a, z_b = z[:, :self.half], z[:, self.half:]
        s, t = self.scale_and_shift(z_a)
        return torch.cat([z_a, (z_b - t) * (-s).exp()], dim=1)


class Permutation(nn.Module):
    """z = x[:, order]: a fixed reordering of the coordinates, log |det| = 0 (a permutation matrix
    has determinant +-1). Between two couplings it lets the second change what the first kept.

    order : "reverse" (D-1, ..., 0; for D = 2 a swap) or "random" (drawn once from torch's global
    generator; kept as a buffer, so it is saved with the model).
    """

    def __init__(self, n_features, order="reverse"):
        super().__init__()
        n_features = check_int("n_features", n_features, low=1)
        check_choice("order", order, PERMUTATIONS)
        permutation = torch.arange(n_features - 1, -1, -1) if order == "reverse" else torch.randperm(n_features)
        self.register_buffer("order", permutation)
        self.register_buffer("inverse_order", torch.argsort(permutation))

    def forward(self, x):
        return x[:, self.order], x.new_zeros(len(x))

    def inverse(self, z):
        return z[:, self.inverse_order]


class Rotation(nn.Module):
    """z = x Q: a fixed rotation (or reflection) by a random orthogonal matrix Q, drawn once from
    torch's global generator and kept as a buffer; log |det| = log |det Q| = 0. In two dimensions a
    permutation can only swap the coordinates, and for data whose coordinates are independent (the
    grid) every coupling then conditions on a coordinate that says nothing about the other; a
    rotation mixes them. (Glow learns such a linear map; Kingma & Dhariwal, 2018.)
    """

    def __init__(self, n_features):
        super().__init__()
        n_features = check_int("n_features", n_features, low=1)
        q, r = torch.linalg.qr(torch.randn(n_features, n_features, dtype=torch.float64))
        self.register_buffer("matrix", q * r.diagonal().sign())  # uniform over the orthogonal matrices; float64,
                                                                 # so that Q^T is its inverse to 1e-16

    def forward(self, x):
        return x @ self.matrix.to(x.dtype), x.new_zeros(len(x))

    def inverse(self, z):
        return z @ self.matrix.T.to(z.dtype)


class ActNorm(nn.Module):
    r"""An elementwise affine layer, z = x * exp(log_scale) + shift, log |det| = sum_j log_scale_j,
    the same for every row (Kingma & Dhariwal, 2018).

    Activation normalisation: the first time it runs in training mode, it sets log_scale and shift
    from that batch so that its outputs have mean 0 and standard deviation 1 in every coordinate
    (a data-dependent initialisation); after that they are ordinary parameters. `initialised` is a
    buffer, saved with the model.
    """

    def __init__(self, n_features):
        super().__init__()
        n_features = check_int("n_features", n_features, low=1)
        self.log_scale = nn.Parameter(torch.zeros(n_features))
        self.shift = nn.Parameter(torch.zeros(n_features))
        self.register_buffer("initialised", torch.tensor(False))

    @torch.no_grad()
    def initialise(self, x):
        """Set log_scale = -log std(x) and shift = -mean(x) / std(x), column by column."""
        std = x.std(dim=0).clamp_min(1e-6) if len(x) > 1 else torch.ones_like(x[0])
        self.log_scale.copy_(-std.log())
        self.shift.copy_(-x.mean(dim=0) / std)
        self.initialised.fill_(True)

    def forward(self, x):
        if self.training and not self.initialised:
            self.initialise(x)
        return x * self.log_scale.exp() + self.shift, self.log_scale.sum().expand(len(x))

    def inverse(self, z):
        return (z - self.shift) * (-self.log_scale).exp()


class Logit(nn.Module):
    r"""Data in [0, 1] to the real line: z = logit(a + (1 - 2a) y), with a = `alpha` keeping the ends
    finite. (RealNVP models logit(a + (1 - a) y), a = 0.05, to reduce boundary effects; Dinh et al., 2017,
    section 4.1. This is the symmetric form, the same at both ends.) With w = a + (1 - 2a) y, each
    coordinate contributes

        log |dz/dy| = log(1 - 2a) - log w - log(1 - w)

    to the log-det. The inverse is y = (sigmoid(z) - a) / (1 - 2a), so the layer maps the slightly
    wider interval `support` = (-a / (1 - 2a), 1 + a / (1 - 2a)) onto the whole line, and a flow that
    starts with it puts a little of its mass just outside [0, 1] (none when a = 0).
    """

    def __init__(self, alpha=0.05):
        super().__init__()
        self.alpha = check_float("alpha", alpha, low=0.0, high=0.49)

    @property
    def support(self):
        """The interval (low, high) that the layer maps onto the real line."""
        margin = self.alpha / (1 - 2 * self.alpha)
        return -margin, 1 + margin

    def forward(self, y):
        w = self.alpha + (1 - 2 * self.alpha) * y
        log_det = (math.log(1 - 2 * self.alpha) - w.log() - (-w).log1p()).sum(dim=1)
        return w.log() - (-w).log1p(), log_det

    def inverse(self, z):
        return (torch.sigmoid(z) - self.alpha) / (1 - 2 * self.alpha)


class Flow(nn.Module):
    r"""A normalising flow: p(x) = N(f(x); 0, I) |det df/dx|, f the composition of the layers below.

    The layers, in the data-to-noise order: a `Logit` (when `logit_alpha` is given, for data in
    [0, 1]), then `couplings` steps of [`ActNorm`, `AffineCoupling`, a fixed mixing layer], then a
    last `ActNorm`. With couplings = 0 the flow is elementwise: an affine map of a Gaussian (after the
    logit, if any).

    Parameters
    ----------
    n_features : D, even when couplings > 0.
    couplings : number of coupling steps, >= 0 (K in lecture 09).
    hidden : sizes of each coupling network's hidden layers.
    scale_bound : the coupling's bound B on each log-scale.
    mixing : the fixed layer after each coupling: "reverse" or "random" (a `Permutation`), or
        "rotation" (a `Rotation`).
    logit_alpha : None (data on the real line) or a in [0, 0.49] (data in [0, 1]; see `Logit`).
    """

    def __init__(self, n_features=2, couplings=8, hidden=(64, 64), scale_bound=2.0, mixing="reverse",
                 logit_alpha=None):
        super().__init__()
        n_features = check_int("n_features", n_features, low=1)
        couplings = check_int("couplings", couplings, low=0)
        hidden = tuple(check_int("hidden", h, low=1) for h in hidden)
        check_choice("mixing", mixing, MIXINGS)
        if couplings and n_features % 2:
            raise ValueError(f"n_features must be even for coupling layers, which split x into two halves; "
                             f"got {n_features} (use couplings=0 for an elementwise flow)")
        self.hparams = dict(n_features=n_features, couplings=couplings, hidden=hidden,
                            scale_bound=check_float("scale_bound", scale_bound, low=1e-6), mixing=mixing,
                            logit_alpha=None if logit_alpha is None else check_float("logit_alpha", logit_alpha))
        layers = [] if logit_alpha is None else [Logit(logit_alpha)]
        for _ in range(couplings):
            layers += [ActNorm(n_features), AffineCoupling(n_features, hidden, scale_bound),
                       Rotation(n_features) if mixing == "rotation" else Permutation(n_features, mixing)]
        self.layers = nn.ModuleList(layers + [ActNorm(n_features)])

    def _data(self, name, x):
        """x as a tensor of shape (n, D) with the model's dtype and device, or a ValueError naming `name`."""
        x = _finite(name, as_matrix(name, x, self.hparams["n_features"]))
        if self.hparams["logit_alpha"] is not None and (x.min() < 0 or x.max() > 1):
            raise ValueError(f"{name} must lie in [0, 1] for a flow with a logit layer; got values "
                             f"from {x.min().item():.3g} to {x.max().item():.3g}")
        return x.to(self.layers[-1].shift)

    def forward(self, x):
        """z = f(x) and log |det df/dx|, shapes (n, D) and (n,)."""
        z, log_det = x, x.new_zeros(len(x))
        for layer in self.layers:
            z, layer_log_det = layer(z)
            log_det = log_det + layer_log_det
        return z, log_det

    def inverse(self, z):
        """x = f^{-1}(z): the layers' inverses in reverse order."""
        for layer in reversed(self.layers):
            z = layer.inverse(z)
        return z

    def log_prob(self, x):
        """log p(x) = log N(f(x); 0, I) + log |det df/dx|, in nats, shape (n,)."""
        z, log_det = self(self._data("x", x))
        return standard_normal_log_prob(z) + log_det

    @torch.no_grad()
    def sample(self, n, generator=None):
        """n draws x = f^{-1}(z), z ~ N(0, I); shape (n, D)."""
        n = check_int("n", n, low=1)
        z = torch.randn(n, self.hparams["n_features"], generator=generator).to(self.layers[-1].shift.device)
        return self.inverse(z)


def nll_loss(model, x):
    """The training loss for `train.fit`: -log p(x) in nats, averaged over the batch."""
    return -model.log_prob(x).mean()


def uniform_dequantise(counts, levels, generator=None):
    """y = (x + u) / K with u ~ U[0, 1)^D: each level k spread uniformly over its bin [k/K, (k+1)/K)."""
    u = torch.rand(counts.shape, generator=generator).to(counts.device)
    return (counts + u) / levels


class VariationalDequantiser(nn.Module):
    r"""A learned noise distribution q(u | x) on [0, 1)^D for the dequantisation bound (Ho et al., 2019):

        h = mu(x) + sigma(x) * eps,  eps ~ N(0, I),     u = sigmoid(h),
        log q(u | x) = log N(eps; 0, I) - sum_j log sigma_j(x) - sum_j log( u_j (1 - u_j) ),

    a Gaussian per coordinate pushed through the sigmoid (the change of variables once more;
    du/dh = u (1 - u)), with mu and log sigma from an MLP of the levels x / (K - 1). Flow++ uses a
    conditional flow for q; this is its simplest case, one conditional elementwise affine layer.
    The MLP's last layer starts at zero: u = sigmoid(eps), a bell-shaped q centred in each bin.
    """

    def __init__(self, n_features=64, levels=17, hidden=(256,)):
        super().__init__()
        self.levels = check_int("levels", levels, low=2)
        n_features = check_int("n_features", n_features, low=1)
        self.network = mlp([n_features, *hidden, 2 * n_features], activation=nn.SiLU)
        nn.init.zeros_(self.network[-1].weight)
        nn.init.zeros_(self.network[-1].bias)

    def forward(self, counts, generator=None):
        """A draw u ~ q(u | x) for each row of counts, and log q(u | x); shapes (n, D) and (n,)."""
        mu, log_sigma = self.network(counts / (self.levels - 1)).chunk(2, dim=1)
        eps = torch.randn(counts.shape, generator=generator).to(counts.device)
        h = mu + log_sigma.exp() * eps
        log_q = (standard_normal_log_prob(eps) - log_sigma.sum(dim=1)
                 - (nn.functional.logsigmoid(h) + nn.functional.logsigmoid(-h)).sum(dim=1))
        return torch.sigmoid(h), log_q


class DequantisedFlow(nn.Module):
    r"""A `Flow` on y = (x + u) / K in [0, 1]^D, a model of discrete data x in {0, ..., K-1}^D.

    Its discrete distribution P(x) is the mass of p_Y on x's cube of bins, the lowest and highest bin
    of each coordinate stretched to cover the little mass that the `Logit` layer puts outside [0, 1]
    (as the diffusion lecture's decoder stretches its end bins); sampling draws y ~ p_Y and returns
    the bins, floor(K y) clipped to 0..K-1, which are draws of that P. It is scored by the bound

        -log P(x) <= E_q [ -log p_Y((x + u) / K) + log q(u | x) ] + D log K,

    (see the module's docstring; a stretched bin holds at least the mass of its part in [0, 1], so
    the bound holds for it too), with q uniform or a `VariationalDequantiser`, trained with the flow.

    Parameters
    ----------
    n_features : D (64 pixels for the digits).
    levels : K (17 for the digits).
    dequantisation : "uniform" or "variational".
    couplings, hidden, scale_bound, mixing, logit_alpha : those of the `Flow`; logit_alpha > 0 or None.
    dequantiser_hidden : hidden sizes of the variational dequantiser's MLP.
    """

    def __init__(self, n_features=64, levels=17, dequantisation="uniform", couplings=8, hidden=(256, 256),
                 scale_bound=2.0, mixing="random", logit_alpha=0.05, dequantiser_hidden=(256,)):
        super().__init__()
        self.levels = check_int("levels", levels, low=2)
        check_choice("dequantisation", dequantisation, DEQUANTISATIONS)
        if logit_alpha is not None and not check_float("logit_alpha", logit_alpha) > 0:
            raise ValueError(f"logit_alpha must be > 0 (or None) for dequantised data, whose values can be 0, "
                             f"where the logit is infinite; got {logit_alpha}")
        self.flow = Flow(n_features, couplings, hidden, scale_bound, mixing, logit_alpha)
        self.dequantiser = (VariationalDequantiser(n_features, levels, tuple(dequantiser_hidden))
                            if dequantisation == "variational" else None)
        self.hparams = dict(self.flow.hparams, levels=self.levels, dequantisation=dequantisation,
                            dequantiser_hidden=tuple(dequantiser_hidden))

    def _counts(self, name, counts):
        """counts as a float tensor of integer levels 0..K-1, shape (n, D), or a ValueError."""
        counts = _finite(name, as_matrix(name, counts, self.hparams["n_features"]))
        if not torch.equal(counts, counts.round()) or counts.min() < 0 or counts.max() > self.levels - 1:
            raise ValueError(f"{name} must hold integer levels 0..{self.levels - 1} (for the digits in [0, 1], "
                             "pass data.to_counts(x))")
        return counts.to(self.flow.layers[-1].shift)

    def dequantise(self, counts, generator=None):
        """y = (x + u) / K with u ~ q(u | x), and log q(u | x) (0 for uniform noise)."""
        if self.dequantiser is None:
            return uniform_dequantise(counts, self.levels, generator), counts.new_zeros(len(counts))
        u, log_q = self.dequantiser(counts, generator)
        return (counts + u) / self.levels, log_q

    def nll_bound(self, counts, generator=None):
        """-log p_Y(y) + log q(u | x) + D log K for one draw of u per row: an unbiased estimate of the
        bound on -log P(x), in nats, shape (n,)."""
        counts = self._counts("counts", counts)
        y, log_q = self.dequantise(counts, generator)
        z, log_det = self.flow(y)
        return -(standard_normal_log_prob(z) + log_det) + log_q + counts.shape[1] * math.log(self.levels)

    @torch.no_grad()
    def importance_nll(self, counts, samples=100, generator=None):
        r"""A tighter bound on -log P(x), by importance sampling (as the IWAE bound of lecture 03):

            -log P(x) <= -log (1/S) sum_s p_Y(y_s) K^{-D} / q(u_s | x),    u_s ~ q(u | x),

        which falls, as the number of draws S grows, towards -log of p_Y's mass on x's bins inside
        [0, 1]^D: -log P(x) itself, but for the little mass that the stretched end bins add. Nats, shape (n,)."""
        counts = self._counts("counts", counts)
        samples = check_int("samples", samples, low=1)
        draws = self.nll_bound(counts.repeat(samples, 1), generator).view(samples, len(counts))   # (S, n)
        return -(torch.logsumexp(-draws, dim=0) - math.log(samples))

    @torch.no_grad()
    def sample(self, n, generator=None):
        """n draws of x ~ P(x): y ~ p_Y, x = floor(K y) clipped to 0..K-1; integer levels, shape (n, D)."""
        y = self.flow.sample(n, generator)
        return (y * self.levels).floor().clamp(0, self.levels - 1).long()


def dequantised_nll_loss(model, counts):
    """The training loss for `train.fit`: the bound on -log P(x) of a `DequantisedFlow`, averaged over the batch."""
    return model.nll_bound(counts).mean()
