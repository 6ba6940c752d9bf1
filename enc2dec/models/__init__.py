"""Models: the dense encoder-decoder and its autoencoder family (dense.py, autoencoders.py, vae.py), the
scikit-learn estimator (estimator.py)."""
