"""Loaders for real data sets, each file fetched once through enc2dec.data.paths.ensure_file.

multi30k.load_multi30k, tatoeba.load_tatoeba -> TranslationData; mnist.load_mnist_5k, load_mnist, load_digits
-> (X, y). Import the submodule you need; nothing here loads at package import.
"""
