"""Data, one module per kind, and which families read it:

- ``images``: image data as people have it (.npz, image folders, CIFAR-10, MNIST IDX) read into
  uint8 pixels; ``image_dataset``: those pixels held in memory and batched by index (gan, vae);
- ``toy``: the 2-D Gaussian mixtures and the protocol that scores samples on them (gan);
- ``sequences``: CSV or .npz time series, or the TimeGAN sines, scaled and windowed (rgan);
  ``csv_table``: the CSV reader it uses (time column, numbers, one-hot categories, gaps);
- ``text``: UTF-8 text split into training and validation windows (transformer);
- ``sentences``: one sentence per sequence, from .txt or token .npz files (textgan);
- ``npz``: reading a user's .npz, a damaged or foreign one as one DataError;
- ``download``: the checksummed downloader of the canonical dataset files;
- ``provenance``: which data a saved run trained on;
- ``assets/``: the data genlab ships (the MNIST test digits, tiny Shakespeare; ATTRIBUTION.md).

The package re-exports nothing, so each submodule name means the module.
"""
