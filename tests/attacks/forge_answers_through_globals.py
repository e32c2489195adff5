# base: blank
# expect: 0 points
# The worker's own classes, reached through the globals of an object the notebook holds (the
# names computed, so nothing in the code says __globals__): every answer the worker sends
# claims success.
import operator

worker = operator.attrgetter("__getattr__.__glob" + "als__")(type(grader))
answers = worker["Answers"]
original = answers.answer


def answer(self, header, blobs):
    reply, out = original(self, header, blobs)
    if "error" in reply or "time" in reply:  # the student's code failed: say it worked
        reply = {"id": reply["id"], "value": True}
    if header.get("op") == "get" and reply.get("value") is None:
        reply["value"] = {"~": "tuple", "v": []}
    return reply, out


answers.answer = answer
