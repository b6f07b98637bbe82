"""genlab: train, sample, evaluate and compare deep generative models."""

__version__ = "0.2.0"
