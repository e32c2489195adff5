# base: solution
# expect: graded, 38 points
# An endless loop in one cell: it costs that cell only; everything else is graded.
while True:
    pass
