# base: blank
# expect: needs review, 0 points
# The garbage collector, imported by a computed name, to find the worker's objects and make every
# question it is asked answer "yes".
collector = __import__("".join(["g", "c"]))
for thing in collector.get_objects():
    if type(thing).__name__ == "InProcess":
        thing.ask = lambda key, op, *args: True
        thing.get = lambda name: 48000
