"""Grading students' notebooks: a Canvas download in, scores, feedback and a Canvas import out.

``pipeline`` runs the stages in order over one record per file (``aelab.record``):
``collect`` (which file of each student), ``read`` (the notebook, team and written answers),
``run`` (each notebook graded by a trusted ``judge`` process from ``runner``: its cells run
in a ``sandbox`` by the worker of ``aelab.student_side``, its checks in the judge against
the answers that come back through ``remote``, a ``scan`` of the code for a person to look
at, scores from the grader's own ``autograder``), ``written`` (scores of written answers),
``credit`` (teams and groups), then ``outputs`` and ``gradebook_import`` (what goes back to
Canvas) and the class report (``aelab.report``).
"""
