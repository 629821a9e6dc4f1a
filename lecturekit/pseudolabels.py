r"""Confident pseudo-labels on deformed digits: the semi-supervised autoencoder, taught by its own
confident answers (pseudo-labels, Lee, 2013), in a simplified form of FixMatch (Sohn et al., 2020):
FixMatch guesses the label on a weakly augmented copy, here the guess comes from the clean image.

For every image u_b of a minibatch u_1, ..., u_B, the model's class probabilities on the clean image,
p(u_b) = softmax(y_hat(f(u_b))), give a pseudo-label c_hat_b = argmax_c p_c(u_b) when the model is
confident, max_c p_c(u_b) >= tau. The pseudo-label is then the target for a *deformed* copy A(u_b):

    ell_u = (1/B) sum_{b=1}^{B} 1[max_c p_c(u_b) >= tau] CE(y_hat(f(A(u_b))), c_hat_b)

No gradient flows through the pseudo-label (it is a target, like a real label). A(u) is a small random
rotation, scaling and shift of the 8x8 image (`deform`) plus Gaussian noise: changes that keep a digit's
class. ell_u joins the labelled images' term with the same weight lambda (a confident image weighs
lambda / B, a labelled one lambda / l):

    L = (1/n) sum_{all i} || g(f(x_i)) - x_i ||^2  +  lambda [ (1/l) sum_{labelled i} CE(y_hat(f(x_i)), y_i) + ell_u ]
"""
import math

import torch
from torch import nn

from ._checks import check_float
from .autoencoders import squared_error
from .data import N_CLASSES
from .semisupervised import SemiSupervisedAutoencoder


def _check_images(x):
    """The side of the square images in x, of shape (n, side * side)."""
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"x must be a tensor, got {type(x).__name__}")
    side = math.isqrt(x.shape[-1]) if x.ndim == 2 else 0
    if x.ndim != 2 or side * side != x.shape[1] or side == 0:
        raise ValueError(f"x must have shape (n, side * side), square images flattened; got {tuple(x.shape)}")
    return side


def warp(x, angle, scale, shift):
    r"""Rotate, scale and shift square images, read between pixels by bilinear interpolation.

    The image content at position c (in pixels from the image's centre, x to the right, y down) moves to

        s R(angle) c + d,    R(a) = [[cos a, -sin a], [sin a, cos a]],

    so `angle` (degrees) turns the digit clockwise on the screen, `scale` s > 1 enlarges it and
    `shift` d = (dx, dy) moves it dx pixels to the right and dy pixels down. Where the source lies
    outside the image, the pixel is 0 (blank paper).

    Parameters
    ----------
    x : tensor (n, side * side), flattened square images.
    angle, scale : tensors (n,), one value per image; scale > 0.
    shift : tensor (n, 2), one (dx, dy) per image.
    """
    side = _check_images(x)
    n = len(x)
    angle, scale, shift = (torch.as_tensor(v, dtype=x.dtype, device=x.device) for v in (angle, scale, shift))
    if angle.shape != (n,) or scale.shape != (n,) or shift.shape != (n, 2):
        raise ValueError(f"angle and scale must have shape ({n},) and shift ({n}, 2); "
                         f"got {tuple(angle.shape)}, {tuple(scale.shape)} and {tuple(shift.shape)}")
    if not (scale > 0).all():
        raise ValueError("scale must be positive")
    # grid_sample reads the output pixel at p from the input at theta [p, 1], in coordinates where the
    # image spans [-1, 1]: the inverse map c = R(-angle) (p - d) / s, with d in those units (2 / side per pixel).
    a = torch.deg2rad(angle)
    cos, sin = torch.cos(a) / scale, torch.sin(a) / scale
    inverse = torch.stack([torch.stack([cos, sin], dim=1), torch.stack([-sin, cos], dim=1)], dim=1)
    d = shift * (2.0 / side)
    theta = torch.cat([inverse, -(inverse @ d.unsqueeze(2))], dim=2)
    grid = nn.functional.affine_grid(theta, (n, 1, side, side), align_corners=False)
    images = x.view(n, 1, side, side)
    return nn.functional.grid_sample(images, grid, align_corners=False, padding_mode="zeros").view(n, -1)


def deform(x, max_rotation=15.0, max_scale=0.1, max_shift=1.0):
    """A random small deformation of every image (`warp`): an angle uniform in [-max_rotation,
    max_rotation] degrees, a scale uniform in [1 - max_scale, 1 + max_scale] and a shift (dx, dy)
    with each part uniform in [-max_shift, max_shift] pixels, drawn independently per image
    with torch's global generator."""
    _check_images(x)
    max_rotation = check_float("max_rotation", max_rotation, low=0.0, high=180.0)
    max_scale = check_float("max_scale", max_scale, low=0.0, high=0.5)
    max_shift = check_float("max_shift", max_shift, low=0.0)
    n = len(x)

    def uniform(*shape, half_width):
        return (2 * torch.rand(*shape, device=x.device) - 1) * half_width

    return warp(x, uniform(n, half_width=max_rotation), 1 + uniform(n, half_width=max_scale),
                uniform(n, 2, half_width=max_shift))


def pseudo_label_loss(logits_deformed, logits_clean, threshold):
    r"""The pseudo-label term and which images it used:

        ell_u = (1/B) sum_b 1[max_c p_bc >= tau] CE(logits_deformed_b, argmax_c p_bc),
        p_b = softmax(logits_clean_b),

    a mean over all B images, the images without a confident answer counting 0. The pseudo-labels
    are targets: no gradient flows into `logits_clean`.

    Returns
    -------
    (loss, confident): a scalar tensor and a bool tensor (B,), True where max_c p_bc >= tau.
    """
    threshold = check_float("threshold", threshold, low=0.0, high=1.0)
    if logits_deformed.ndim != 2 or logits_deformed.shape != logits_clean.shape:
        raise ValueError(f"logits_deformed and logits_clean must both have shape (B, classes); "
                         f"got {tuple(logits_deformed.shape)} and {tuple(logits_clean.shape)}")
    confidence, pseudo_labels = logits_clean.detach().softmax(dim=1).max(dim=1)
    confident = confidence >= threshold
    cross_entropy = nn.functional.cross_entropy(logits_deformed, pseudo_labels, reduction="none")
    return (cross_entropy * confident).mean(), confident


class PseudoLabelAutoencoder(SemiSupervisedAutoencoder):
    """The semi-supervised autoencoder whose prediction term also learns from its own confident
    answers on the unlabelled images, asked of deformed copies (see the module's docstring).

    Parameters
    ----------
    n_features, latent_dim, hidden, n_classes : sizes of x (a square image), z, the hidden layers and y.
    lam : lambda >= 0, the weight of the prediction term (labels and pseudo-labels) against the
        mean reconstruction loss.
    threshold : tau in [0, 1], the confidence a pseudo-label needs.
    noise : std of the Gaussian noise added to the deformed copies, in [0, 1].
    max_rotation, max_scale, max_shift : the deformation's ranges (`deform`); all 0 (and noise > 0)
        gives pseudo-labels under noise alone.

    `fit`, `predict` and `score` are those of `SemiSupervisedAutoencoder`.
    """

    def __init__(self, n_features=64, latent_dim=16, hidden=128, n_classes=N_CLASSES, lam=10.0,
                 threshold=0.8, noise=0.3, max_rotation=15.0, max_scale=0.1, max_shift=1.0):
        super().__init__(n_features, latent_dim, hidden, n_classes, lam=lam, noise=noise, consistency=0.0)
        if math.isqrt(n_features) ** 2 != n_features:
            raise ValueError(f"n_features must be the number of pixels of a square image; got {n_features}")
        self.hparams = dict(
            {key: self.hparams[key] for key in ("n_features", "latent_dim", "hidden", "n_classes", "lam", "noise")},
            threshold=check_float("threshold", threshold, low=0.0, high=1.0),
            max_rotation=check_float("max_rotation", max_rotation, low=0.0, high=180.0),
            max_scale=check_float("max_scale", max_scale, low=0.0, high=0.5),
            max_shift=check_float("max_shift", max_shift, low=0.0))

    def deformed(self, x):
        """A(x): a random deformation (`deform`) of every image plus Gaussian noise of std `noise`."""
        h = self.hparams
        return self._noisy(deform(x, h["max_rotation"], h["max_scale"], h["max_shift"]))

    def loss(self, x, x_labelled, y_labelled):
        """The loss on a minibatch x of all images and the whole labelled set: a dict with the total
        "loss", its terms "reconstruction", "prediction" (the labelled images) and "pseudo-labels"
        (ell_u), and "confident", the fraction of x with a confident pseudo-label."""
        h = self.hparams
        z = self.encoder(x)
        reconstruction = squared_error(self.decoder(z), x)
        prediction = nn.functional.cross_entropy(self(x_labelled), y_labelled)
        pseudo, confident = pseudo_label_loss(self(self.deformed(x)), self.predictor(z), h["threshold"])
        total = reconstruction + h["lam"] * (prediction + pseudo)
        return {"loss": total, "reconstruction": reconstruction, "prediction": prediction,
                "pseudo-labels": pseudo, "confident": confident.float().mean()}
