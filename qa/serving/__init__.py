"""Serving: what the app needs beyond the pipeline.

Takes answers from :class:`~qa.pipeline.QAPipeline` and gives the chat's safe HTML and the admin pages
(:mod:`~qa.serving.presentation`), follow-up questions resolved (:mod:`~qa.serving.conversation`), visitors'
feedback and the question log in SQLite (:mod:`~qa.serving.feedback`, :mod:`~qa.serving.question_log`, with the
columns added since their first release in :mod:`~qa.serving.sqlite_schema`), the editors' grouping of what
visitors ask (:mod:`~qa.serving.insights`), the rate limit (:mod:`~qa.serving.ratelimit`) and the live reload of
a changed corpus (:mod:`~qa.serving.live`). Never Gradio: that is the app's (``app.py``).
"""
