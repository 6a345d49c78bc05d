"""Training of the learned reader (PyTorch and transformers, at training time only).

Nothing under ``qa.training`` is imported by the serving code: the shipped reader is an ONNX graph run by
ONNX Runtime (:mod:`qa.readers.learned`). ``qa train-reader`` runs :func:`qa.training.train.main`.
"""
