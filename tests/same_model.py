"""A shared check for save/load round trips.

A loaded model must hold exactly the stored tensors, so its state dict is compared bit for bit.
Its outputs are compared with a tolerance: the same weights can meet another kernel path
(a contiguous copy instead of a strided view, another CPU's vector unit), and floating-point
sums taken in another order differ in the last bits.
"""
import torch


def assert_same_model(loaded, original, *inputs, method="__call__", atol=1e-6, rtol=1e-5):
    """Equal state dicts (exactly) and equal outputs of `method` on `inputs` (within tolerance)."""
    a, b = loaded.state_dict(), original.state_dict()
    assert a.keys() == b.keys()
    for name in a:
        assert torch.equal(a[name], b[name]), f"stored tensor {name} changed on the round trip"
    with torch.no_grad():
        torch.testing.assert_close(getattr(loaded, method)(*inputs), getattr(original, method)(*inputs),
                                   atol=atol, rtol=rtol)
