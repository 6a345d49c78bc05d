"""Chinese questions over English pages.

Takes a question and gives its language (:mod:`~qa.chinese.language`); for a Chinese question, the verbatim
English span with a confidence (:mod:`~qa.chinese.reader`: Chinese words matched to the corpus's words through
the multilingual model, a dictionary and pinyin, then the rule reader's scoring), and the question rendered in
English for the span model (:mod:`~qa.chinese.rendering`).
"""
