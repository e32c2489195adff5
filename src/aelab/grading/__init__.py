"""Grading students' notebooks: a Canvas download in, scores, feedback and a Canvas import out.

The stages, one module each: ``collect`` (which file of each student), ``runner`` (trusted
judge processes, one per notebook graded at once), ``judge`` (one notebook: its code run in a
``sandbox`` by the worker of ``aelab.student_side``, its checks run in the judge against the
answers that come back through ``remote``; a ``scan`` of the code for a person to look at;
scores from the grader's own ``autograder``), ``credit`` (teams), ``gradebook_import`` and
``outputs`` (what goes back to Canvas), and ``download`` (the whole run).
"""

from aelab.grading.download import GradingOptions, Summary, grade_submissions

__all__ = ["GradingOptions", "Summary", "grade_submissions"]
