"""The one building block the models share: a multilayer perceptron."""
from torch import nn


def mlp(sizes, activation=nn.ReLU):
    """Linear layers of the given sizes with `activation()` between them (none after the last):
    mlp([64, 256, 256, 8]) is 64 -> 256 -> ReLU -> 256 -> ReLU -> 8."""
    layers = []
    for n_in, n_out in zip(sizes[:-1], sizes[1:]):
        layers += [nn.Linear(n_in, n_out), activation()]
    return nn.Sequential(*layers[:-1])
