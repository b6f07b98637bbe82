"""Building blocks shared by the families: ``attention`` (multi-head self-attention over
sequences, causal, with a KV cache) and ``attention2d`` (SAGAN self-attention over feature maps).

The package re-exports nothing, so each submodule name means the module.
"""
