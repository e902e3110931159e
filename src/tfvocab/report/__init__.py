"""``tfvocab report``: one self-contained ``report.html`` from whatever step outputs are given.

One module per section (``summary``, ``evaluation``, ``data_qc``, ``vocabulary``, ``training``,
``interpretation``, ``network``, ``run_info``), the figures in :mod:`.plots`, the HTML building
blocks in :mod:`.html`, finding and reading the inputs in :mod:`.files`, and the page with the
step's ``run()`` in :mod:`.page`.
"""
