"""Dealer sign policies: the assumed sign of the dealers' position in each contract.

Net dealer exposure is ``NetGEX = Σ_i s_i·GEX_i`` where ``s_i`` is the dealers' assumed
position sign (+1 long, -1 short) in contract i (METHODOLOGY §1.2). Open interest says how
many contracts are open, never who holds them, so ``s_i`` is an assumption; every output
records the policy's name.

Built-in policies:

* ``dealer_long_calls_short_puts`` (default): calls +1, puts -1. The "naive" convention of
  SqueezeMetrics, Perfiliev, TradingVolatility and SpotGamma: customers overwrite calls
  (dealers long) and buy puts for protection (dealers short).
* ``dealer_short_calls_long_puts``: calls -1, puts +1, the convention of the seed story's
  code (METHODOLOGY §1.12, "dealers short calls"). Under it every net quantity has the
  opposite sign, so its ``long_gamma`` is the others' ``short_gamma``.

A policy is anything with a ``name``, a ``description`` and ``weights(is_call)``; weights may
be fractional (e.g. flow-inferred signs in [-1, 1], METHODOLOGY §1.2 item 3).
"""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

__all__ = [
    "DEFAULT_SIGN_POLICY",
    "SEED_SIGN_POLICY",
    "SIGN_POLICIES",
    "FixedSignPolicy",
    "SignPolicy",
    "get_sign_policy",
]


@runtime_checkable
class SignPolicy(Protocol):
    """Assumed dealer position sign per contract."""

    @property
    def name(self) -> str:
        """Return the policy's stable name (recorded in every output)."""
        ...

    @property
    def description(self) -> str:
        """Return one sentence saying what the policy assumes."""
        ...

    def weights(self, is_call: npt.NDArray[np.bool_]) -> npt.NDArray[np.float64]:
        """Return the dealer sign weight of each contract, in [-1, 1]."""
        ...


@dataclass(frozen=True, slots=True)
class FixedSignPolicy:
    """One fixed sign for all calls and one for all puts.

    Attributes:
        name: Stable name recorded in outputs.
        description: What the policy assumes, in one sentence.
        call_sign: Weight of every call (+1 dealers long, -1 dealers short).
        put_sign: Weight of every put.
    """

    name: str
    description: str
    call_sign: float
    put_sign: float

    def weights(self, is_call: npt.NDArray[np.bool_]) -> npt.NDArray[np.float64]:
        """Return ``call_sign`` for calls and ``put_sign`` for puts."""
        return np.where(np.asarray(is_call, dtype=bool), self.call_sign, self.put_sign)


DEFAULT_SIGN_POLICY = FixedSignPolicy(
    name="dealer_long_calls_short_puts",
    description="Dealers long calls (+1) and short puts (-1): the SqueezeMetrics/Perfiliev "
    "convention (METHODOLOGY §1.2).",
    call_sign=1.0,
    put_sign=-1.0,
)

SEED_SIGN_POLICY = FixedSignPolicy(
    name="dealer_short_calls_long_puts",
    description="Dealers short calls (-1) and long puts (+1): the seed story's convention "
    "(METHODOLOGY §1.12), opposite to the standard one.",
    call_sign=-1.0,
    put_sign=1.0,
)

SIGN_POLICIES: Mapping[str, SignPolicy] = {
    policy.name: policy for policy in (DEFAULT_SIGN_POLICY, SEED_SIGN_POLICY)
}
"""Built-in policies by name."""


def get_sign_policy(name: str) -> SignPolicy:
    """Return the built-in policy called ``name``.

    Raises:
        KeyError: No built-in policy has that name (the message lists the known ones).
    """
    try:
        return SIGN_POLICIES[name]
    except KeyError:
        known = ", ".join(sorted(SIGN_POLICIES))
        raise KeyError(f"unknown sign policy {name!r}; known: {known}") from None
