# base: blank
# replaces: _Type your answer here
# expect: 0 points
The encoder {SURROGATE} compresses each image.
