"""Time distributions of a scenario (handle time, patience, answer delay, wrap-up).

Each is a small pydantic model tagged by `kind`; `sample(dist, rng, n)` draws n values in
seconds (vectorised, from the caller's numpy Generator) and `mean(dist)` gives the exact mean.
Lognormal and gamma are written by their mean and standard deviation, the figures a contact
center knows, and converted to the textbook parameters here.
"""

from __future__ import annotations

import math
from typing import Annotated, Literal

import numpy as np
from numpy.typing import NDArray
from pydantic import BaseModel, ConfigDict, Field, model_validator

FloatArray = NDArray[np.float64]


class _Dist(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Exponential(_Dist):
    kind: Literal["exponential"]
    mean: float = Field(gt=0, allow_inf_nan=False)


class Lognormal(_Dist):
    kind: Literal["lognormal"]
    mean: float = Field(gt=0, allow_inf_nan=False)
    sd: float = Field(gt=0, allow_inf_nan=False)


class Gamma(_Dist):
    kind: Literal["gamma"]
    mean: float = Field(gt=0, allow_inf_nan=False)
    sd: float = Field(gt=0, allow_inf_nan=False)


class Fixed(_Dist):
    kind: Literal["fixed"]
    value: float = Field(ge=0, allow_inf_nan=False)


class Uniform(_Dist):
    kind: Literal["uniform"]
    low: float = Field(ge=0, allow_inf_nan=False)
    high: float = Field(ge=0, allow_inf_nan=False)

    @model_validator(mode="after")
    def _ordered(self) -> Uniform:
        if self.high < self.low:
            raise ValueError("high must be at least low")
        return self


class Empirical(_Dist):
    """Values drawn with equal probability (with replacement), e.g. measured handle times."""

    kind: Literal["empirical"]
    values: list[Annotated[float, Field(ge=0, allow_inf_nan=False)]] = Field(min_length=1)


class NoPatience(_Dist):
    """Customers who never hang up (Erlang C)."""

    kind: Literal["none"]


Distribution = Annotated[
    Exponential | Lognormal | Gamma | Fixed | Uniform | Empirical, Field(discriminator="kind")
]
PatienceDistribution = Annotated[
    Exponential | Lognormal | Gamma | Fixed | Uniform | Empirical | NoPatience,
    Field(discriminator="kind"),
]
AnyDistribution = Exponential | Lognormal | Gamma | Fixed | Uniform | Empirical | NoPatience

KINDS = frozenset({"exponential", "lognormal", "gamma", "fixed", "uniform", "empirical", "none"})


def mean(dist: AnyDistribution) -> float:
    if isinstance(dist, Exponential | Lognormal | Gamma):
        return dist.mean
    if isinstance(dist, Fixed):
        return dist.value
    if isinstance(dist, Uniform):
        return (dist.low + dist.high) / 2.0
    if isinstance(dist, Empirical):
        return math.fsum(dist.values) / len(dist.values)
    return math.inf


def sample(dist: AnyDistribution, rng: np.random.Generator, n: int) -> FloatArray:
    """n draws in seconds; `none` gives +inf (never)."""
    if isinstance(dist, Exponential):
        return rng.exponential(dist.mean, n)
    if isinstance(dist, Lognormal):
        # mean m, sd s of the variable -> sigma^2 = ln(1 + s^2/m^2), mu = ln m - sigma^2/2.
        sigma2 = math.log1p((dist.sd / dist.mean) ** 2)
        return rng.lognormal(math.log(dist.mean) - sigma2 / 2.0, math.sqrt(sigma2), n)
    if isinstance(dist, Gamma):
        # shape k = m^2/s^2, scale = s^2/m.
        return rng.gamma((dist.mean / dist.sd) ** 2, dist.sd**2 / dist.mean, n)
    if isinstance(dist, Fixed):
        return np.full(n, dist.value)
    if isinstance(dist, Uniform):
        return rng.uniform(dist.low, dist.high, n)
    if isinstance(dist, Empirical):
        return np.asarray(rng.choice(np.asarray(dist.values, dtype=np.float64), n))
    return np.full(n, math.inf)
