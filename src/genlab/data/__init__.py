"""Data: image loaders (``images``), training datasets (``image_dataset``), the 2-D toy mixtures
(``toy``), the checksummed downloader (``download``) and what a saved run trained on (``provenance``).

The package re-exports nothing, so each submodule name means the module.
"""
