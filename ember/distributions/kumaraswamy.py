"""The Kumaraswamy distribution, as torch.distributions.Kumaraswamy."""

from __future__ import annotations

import ember
from ember.ops.special import digamma, lgamma

from . import constraints
from .transformed_distribution import TransformedDistribution
from .transforms import AffineTransform, PowerTransform
from .uniform import Uniform
from .utils import broadcast_all, euler_constant

__all__ = ["Kumaraswamy"]


def _log1p_or_nan(x):
    """log1p(x) with nan below -1 and -inf at -1, without NumPy's invalid-value warning."""
    ok = x > -1
    val = ember.log1p(ember.where(ok, x, ember.zeros_like(x)))
    bad = ember.where(x == -1, ember.full_like(x, -float("inf")), ember.full_like(x, float("nan")))
    return ember.where(ok, val, bad)


def _moments(a, b, n):
    """The n-th moment: b B(1 + n/a, b)."""
    arg1 = 1 + n / a
    log_value = lgamma(arg1) + lgamma(b) - lgamma(arg1 + b)
    return b * ember.exp(log_value)


class Kumaraswamy(TransformedDistribution):
    """(1 - (1 - U)^(1/b))^(1/a) for U uniform: a Beta-like law on (0, 1)."""

    arg_constraints = {
        "concentration1": constraints.positive,
        "concentration0": constraints.positive,
    }
    support = constraints.unit_interval
    has_rsample = True

    def __init__(self, concentration1, concentration0, validate_args=None):
        self.concentration1, self.concentration0 = broadcast_all(concentration1, concentration0)
        base_dist = Uniform(
            ember.full_like(self.concentration0, 0),
            ember.full_like(self.concentration0, 1),
            validate_args=validate_args,
        )
        transforms = [
            PowerTransform(exponent=self.concentration0.reciprocal()),
            AffineTransform(loc=1.0, scale=-1.0),
            PowerTransform(exponent=self.concentration1.reciprocal()),
        ]
        super().__init__(base_dist, transforms, validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        new = self._get_checked_instance(Kumaraswamy, _instance)
        new.concentration1 = self.concentration1.expand(batch_shape)
        new.concentration0 = self.concentration0.expand(batch_shape)
        return super().expand(batch_shape, _instance=new)

    @property
    def mean(self):
        return _moments(self.concentration1, self.concentration0, 1)

    @property
    def mode(self):
        # torch's formula, nan where a concentration is below 1
        log_mode = self.concentration0.reciprocal() * _log1p_or_nan(
            -self.concentration0
        ) - _log1p_or_nan(-self.concentration0 * self.concentration1)
        bad = (self.concentration0 < 1) | (self.concentration1 < 1)
        log_mode = ember.where(bad, ember.full_like(log_mode, float("nan")), log_mode)
        return log_mode.exp()

    @property
    def variance(self):
        return _moments(self.concentration1, self.concentration0, 2) - ember.pow(self.mean, 2)

    def entropy(self):
        t1 = 1 - self.concentration1.reciprocal()
        t0 = 1 - self.concentration0.reciprocal()
        H0 = digamma(self.concentration0 + 1) + euler_constant
        return t0 + t1 * H0 - ember.log(self.concentration1) - ember.log(self.concentration0)
