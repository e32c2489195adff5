"""Grading students' notebooks: a Canvas download in, scores, feedback and a Canvas import out.

The stages, one module each: ``collect`` (which file of each student), ``scan`` (code aimed
at the grader), ``sandbox`` (where the code runs) and ``worker`` (what runs there),
``runner`` (one notebook, scored from the grader's own ``autograder`` copy), ``credit``
(teams), ``gradebook_import`` and ``outputs`` (what goes back to Canvas), and ``download``
(the whole run).
"""

from aelab.grading.download import GradingOptions, Summary, grade_submissions

__all__ = ["GradingOptions", "Summary", "grade_submissions"]
