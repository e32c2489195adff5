# base: blank
# expect: needs review, 0 points
# The same, hidden in a line that is IPython but not Python (a scan parsing Python skips it).
_ = %time [setattr(t, "ask", lambda *a: True) for t in __import__("gc").get_objects() if type(t).__name__ == "InProcess"]
