"""genlab: train, sample, evaluate and compare deep generative models."""

__version__ = "0.1.0"
