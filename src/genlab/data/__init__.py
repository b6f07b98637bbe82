"""Data: image loaders (``images``), training datasets (``image_dataset``), the 2-D toy mixtures
(``toy``) and the checksummed downloader (``download``).

The package re-exports nothing, so each submodule name means the module.
"""
