"""Image-quality metrics: FD/FID, KID, Inception Score, precision/recall, density/coverage.

The metric functions take feature tensors (N, D) or class probabilities (N, C), so they work with
any extractor: the standard FID Inception-v3 (``inception.py``) or genlab's own evaluators
(``evaluators.py``). ``images.evaluate_images`` runs the whole protocol on images.
"""
