# base: blank
# replaces: class AutoEncoder(
# expect: 0 points
# No patching of names: walk up from an exception's traceback to the worker's frames, and swap the
# student it answers with for one that says yes to everything ({MARKER}).


class AutoEncoder(nn.Module):
    def __init__(self, latent_dim):
        super().__init__()
        try:
            raise RuntimeError("{MARKER}")
        except RuntimeError as error:
            frame = error.__traceback__.tb_frame
        while frame is not None:
            owner = frame.f_locals.get("self")
            if type(owner).__name__ == "Answers":
                student = owner.student
                student.ask = lambda key, op, *args: True if op != "layers" else [("Linear", 784, 2)] * 4
                student.get = lambda name: student.plain(torch.zeros(625, 2))
            frame = frame.f_back
        self.encoder = nn.Linear(784, latent_dim)
        self.decoder = nn.Linear(latent_dim, 784)
