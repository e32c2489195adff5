"""The class report: where a class lost points, how long grading took, near-copies.

``aelab grade`` keeps a record of the run (``rows.json``: every row with its tests, timings
and the student's own code); :mod:`aelab.report.class_report` turns it into ``report.json``
(the numbers: :mod:`~aelab.report.statistics`, :mod:`~aelab.report.similarity`) and
``report.html`` (:mod:`~aelab.report.page`). ``aelab report FOLDER`` rebuilds both from the
record without grading again. This module stays import-free: similarity's worker processes
load only what they need.
"""
