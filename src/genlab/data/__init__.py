"""Data: image loaders, training datasets, the 2-D toy mixtures and the dataset downloader."""
