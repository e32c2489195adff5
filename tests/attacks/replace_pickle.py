# base: blank
# expect: needs review, 0 points
# Replace pickle.dump so that a results file written later says full marks.
import pickle

_dump = pickle.dump
pickle.dump = lambda obj, file, *args, **kwargs: _dump({"score": 3800}, file)
