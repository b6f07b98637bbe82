"""Building blocks shared by the families: ``attention`` (multi-head self-attention over
sequences, causal, with a KV cache, and residual blocks of it), ``attention2d`` (SAGAN
self-attention over feature maps), ``conditioning`` (a class one-hot beside the input),
``discrete`` (Gumbel-softmax and categorical sampling) and ``perceptron`` (MLPs).

The package re-exports nothing, so each submodule name means the module.
"""
