"""Data layer: genome inputs -> promoter windows -> normalised signal -> tokens, and gene pairs.

Steps (``run()``: read -> pure functions -> write): ``promoters``, ``extract``, ``merge``,
``normalize``, ``tokens``, ``pairs``. Their building blocks: the GFF3 annotation, track readers
(``bigwig``, ``peaks``, ``chroms``, ``samplesheet``), the vocabulary, co-expression edge lists and
layouts, the pair universe, folds and negative sampling, and ``genedata`` (the model's inputs
loaded as tensors).
Imports only the core (``errors``, ``log``, ``io``, ``publish``, ``defaults``, ``coords``) and
``formats``.
"""
