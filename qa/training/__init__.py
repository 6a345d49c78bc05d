"""Training of the learned reader (PyTorch and transformers, at training time only).

Nothing under ``qa.training`` is imported by the serving code: the shipped reader is an ONNX graph run by
ONNX Runtime (:mod:`qa.readers.learned`). ``qa train-reader`` runs :func:`qa.training.train.main`.

Takes ``../shared/data/qa_train`` (:mod:`~qa.training.data`), makes negatives (:mod:`~qa.training.negatives`) and
visitor-style questions (:mod:`~qa.training.styles`), tokenises fixed-shape windows (:mod:`~qa.training.windows`)
and trains (:mod:`~qa.training.train`); gives the shipped artefacts: the ONNX span model
(:mod:`~qa.training.export`, :mod:`~qa.training.warm_start` back), the combiner (``qa fit-combiner``), the
calibration of rendered questions (``qa fit-rendered``), the lead floors (``qa fit-leads``), the model card
(:mod:`~qa.training.card`) and the spelling corrector's word list (``qa make-word-list``,
:mod:`~qa.training.word_list`).
"""
