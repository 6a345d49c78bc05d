"""Serving: what the app needs beyond the pipeline.

Takes answers from :class:`~qa.pipeline.QAPipeline` and gives the chat's safe HTML and the admin pages
(:mod:`~qa.serving.presentation`), follow-up questions resolved (:mod:`~qa.serving.conversation`), visitors'
feedback and the question log in the app's database, SQLite or PostgreSQL (:mod:`~qa.serving.feedback`,
:mod:`~qa.serving.question_log`, over :mod:`qa.persistence`), the editors' grouping of what visitors ask
(:mod:`~qa.serving.insights`), the rate limit (:mod:`~qa.serving.ratelimit`), the live reload of a changed
corpus (:mod:`~qa.serving.live`) and the corpus changes every replica applies (:mod:`~qa.serving.replication`).
Never Gradio: that is the app's (``app.py``).
"""
