r"""Naive Bayes: a generative classifier for the digits.

It models the joint distribution, with every pixel independent given the class:

    p(x, y) = p(y) \prod_i p(x_i | y)

Each pixel count x_i in {0, ..., 16} is categorical given y, fitted by counting with
additive smoothing alpha (alpha = 1 is Laplace's rule):

    p(y = c)             = N_c / N
    p(x_i = v | y = c)   = (N_{c,i,v} + alpha) / (N_c + 17 alpha)

Because it models p(x, y) it can classify, through Bayes' rule
p(y | x) = p(x, y) / sum_c p(x, c), and it can generate: draw every pixel from p(x_i | y).
"""
import torch
from torch import nn

from ._checks import check_float, check_int
from .data import DIGIT_MAX, N_CLASSES, to_counts

N_LEVELS = DIGIT_MAX + 1


class NaiveBayes(nn.Module):
    """Categorical naive Bayes over pixel counts 0..16, for images in [0, 1].

    Parameters
    ----------
    alpha : float >= 0, the additive smoothing.
    n_features : number of pixels (64 for the 8x8 digits).
    n_classes : number of classes (10 digits).

    The fitted tables are buffers, so `save_model` / `load_model` keep them:
    `log_prior[c] = log p(y=c)` and `log_pixel[c, i, v] = log p(x_i = v | y = c)`.
    """

    def __init__(self, alpha=1.0, n_features=64, n_classes=N_CLASSES):
        super().__init__()
        self.alpha = check_float("alpha", alpha, low=0.0)
        n_features = check_int("n_features", n_features, low=1)
        n_classes = check_int("n_classes", n_classes, low=1)
        self.hparams = dict(alpha=self.alpha, n_features=n_features, n_classes=n_classes)
        self.register_buffer("class_count", torch.zeros(n_classes))
        self.register_buffer("log_prior", torch.zeros(n_classes))
        self.register_buffer("log_pixel", torch.zeros(n_classes, n_features, N_LEVELS))

    def fit(self, x, y):
        """Count: fill p(y) and p(x_i = v | y) from images x in [0, 1] and labels y. Returns self."""
        counts = self._counts(x)
        y = self._labels(y, len(counts))
        n_classes, n_features, _ = self.log_pixel.shape
        one_hot = nn.functional.one_hot(counts, N_LEVELS).float()
        pixel_count = torch.zeros(n_classes, n_features, N_LEVELS, device=y.device).index_add_(0, y, one_hot)
        self.class_count = torch.bincount(y, minlength=n_classes).float()
        self.log_prior = torch.log(self.class_count / self.class_count.sum())
        numerator = pixel_count + self.alpha
        self.log_pixel = torch.log(numerator / numerator.sum(dim=-1, keepdim=True))
        return self

    def joint_log_prob(self, x):
        """log p(x, y = c) for every image and class, shape (n, n_classes)."""
        counts = self._counts(x)
        pixel = torch.arange(counts.shape[1], device=counts.device)
        log_likelihood = self.log_pixel[:, pixel, counts].sum(dim=-1)  # (n_classes, n)
        return (self.log_prior[:, None] + log_likelihood).T

    def log_prob(self, x):
        """log p(x) = log sum_c p(x, c): how likely the model finds each image."""
        return torch.logsumexp(self.joint_log_prob(x), dim=1)

    def predict_log_proba(self, x):
        """log p(y = c | x) by Bayes' rule, shape (n, n_classes)."""
        joint = self.joint_log_prob(x)
        return joint - torch.logsumexp(joint, dim=1, keepdim=True)

    def predict(self, x):
        """The most probable class argmax_c p(x, c) of each image."""
        return self.joint_log_prob(x).argmax(dim=1)

    def pixel_means(self, digit):
        """E[x_i | y = digit] in [0, 1]: the average image the model expects, shape (n_features,)."""
        digit = self._digit(digit)
        levels = torch.arange(N_LEVELS, dtype=torch.float32, device=self.log_pixel.device) / DIGIT_MAX
        return self.log_pixel[digit].exp() @ levels

    def ink_probability(self, digit):
        """p(x_i > 0 | y = digit): the probability that each pixel has any ink, shape (n_features,)."""
        digit = self._digit(digit)
        return 1.0 - self.log_pixel[digit, :, 0].exp()

    def sample(self, digit, n, generator=None):
        """n new images of class `digit`, each pixel drawn from p(x_i | y = digit); shape (n, n_features)."""
        digit = self._digit(digit)
        n = check_int("n", n, low=1)
        probs = self.log_pixel[digit].exp().cpu()  # (n_features, N_LEVELS), on the CPU: the same draws on any device
        counts = torch.multinomial(probs, n, replacement=True, generator=generator).T
        return counts.float().to(self.log_pixel.device) / DIGIT_MAX

    def _check_fitted(self):
        if self.class_count.sum() == 0:
            raise RuntimeError("this NaiveBayes is not fitted yet: call fit(x, y) first")

    def _digit(self, digit):
        self._check_fitted()
        return check_int("digit", digit, low=0, high=len(self.log_prior) - 1)

    def _counts(self, x):
        n_features = self.log_pixel.shape[1]
        x = torch.as_tensor(x)
        if x.ndim != 2 or x.shape[1] != n_features:
            raise ValueError(f"x must have shape (n, {n_features}); got {tuple(x.shape)}")
        return to_counts(x.cpu()).to(self.log_pixel.device)

    def _labels(self, y, n):
        y = torch.as_tensor(y).long().to(self.log_pixel.device)
        n_classes = len(self.log_prior)
        if y.shape != (n,):
            raise ValueError(f"y must have shape ({n},) to match x; got {tuple(y.shape)}")
        if y.min() < 0 or y.max() >= n_classes:
            raise ValueError(f"labels must be in 0..{n_classes - 1}; got {y.min().item()}..{y.max().item()}")
        return y
