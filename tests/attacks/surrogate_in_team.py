# base: blank
# replaces: TEAM = [
# expect: 0 points
# A lone surrogate in a TEAM name (it cannot be written as UTF-8), and control characters.
TEAM = [
    {"name": "Eve \ud800", "canvas_id": "\udfff"},
    {"name": "\x00\x1b[2J", "canvas_id": "..."},
]
