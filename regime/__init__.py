"""Regime detection: a Gaussian HMM with causal (filtered) probabilities and stable names."""

from regime.hmm import RegimeHMM

__all__ = ["RegimeHMM"]
