"""Metrics of generated samples, by kind of data.

Images: Fréchet distance (``frechet``: FD/FID), KID (``kid``), Inception Score
(``inception_score``), precision/recall and density/coverage (``precision_recall``). These take
feature tensors (N, D) or class probabilities (N, C), so they work with any extractor
(``extractors``): the standard FID Inception-v3 (``inception``) or genlab's own evaluators
(``evaluators``, weights in ``weights/``). ``images.evaluate_images`` runs the whole protocol on
images, with reference features cached (``cache``).

Time series: the TimeGAN discriminative and predictive scores and the correlational score
(``timeseries``), and the PCA and t-SNE views of real and synthetic sequences (``projection``).

Text: BLEU and self-BLEU as the text-GAN papers compute them (``bleu``).

``checks`` holds the checks they share: enough samples, matching features.
"""
