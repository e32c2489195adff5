"""The lab's checks run directly on the master's code: the solution passes, each mistake fails.

The fast counterpart of grading whole notebooks (tests/test_build.py): seconds, no build.
"""

import re

import independent_work as independent
import lab_checks
import pytest
import torch
from lab_env import (
    LAB,
    code_cells,
    master_cells,
    master_tests,
    mistake_cost,
    run_lab,
    with_mistake,
)
from student_work import MISTAKES

TESTS = master_tests()


@pytest.fixture(scope="module")
def lab():
    """The master's code cells and the namespace they leave behind."""
    sources = code_cells(master_cells())
    return sources, run_lab(sources)


def test_every_test_cell_is_a_call_into_lab_checks():
    assert TESTS
    for test in TESTS:
        name = test.call.split("(")[0]
        assert callable(getattr(lab_checks, name)), test.name
    assert sum(test.points for test in TESTS) == LAB.points  # counts come from lab.toml


@pytest.mark.parametrize("test", TESTS, ids=lambda t: t.name)
def test_the_solution_passes_every_check(lab, test):
    test.run(lab[1])


def _failed(tests, env):
    failed = {}
    for test in tests:
        try:
            test.run(env)
        except lab_checks.CheckFailed as failure:
            failed[test.name] = str(failure)
    return failed


@pytest.mark.parametrize(
    "mistake", MISTAKES, ids=[f"{m.question}-{i}" for i, m in enumerate(MISTAKES)]
)
def test_each_mistake_fails_its_own_problem(lab, mistake):
    sources, env = lab
    wrong, given_failed = with_mistake(sources, env, mistake)
    own = [test for test in TESTS if test.question == mistake.question]
    failed = _failed(own, wrong)
    assert mistake_cost(own, set(failed), given_failed) == mistake.points_lost, failed


def test_an_unfinished_notebook_is_told_what_to_do():
    """The checks of a blank notebook say what is missing, not a raw Python error."""
    env = {"train_dataset": ..., "AutoEncoder": None}
    with pytest.raises(lab_checks.CheckFailed, match="`train_dataset` is not defined yet: run"):
        lab_checks.dataset_sizes(env)
    blank = run_lab(["import torch\nfrom torch import nn\n", _BLANK_AUTOENCODER])
    with pytest.raises(lab_checks.CheckFailed, match=r"AutoEncoder needs self\.encoder"):
        lab_checks.autoencoder_shapes(blank)
    blank = run_lab(["def train_autoencoder(train_loader, val_loader, model=None, num_epochs=100, "
                     "early_stopping_patience=5):\n    ...\n    return None\n"])  # fmt: skip
    with pytest.raises(lab_checks.CheckFailed, match="train_autoencoder is not finished yet"):
        lab_checks.early_stopping(blank, "autoencoder")
    with pytest.raises(lab_checks.CheckFailed, match="`trained_autoencoder` is not defined yet"):
        lab_checks.extrapolation_signature_and_shape({"extrapolate_digits": _extrapolate})


_BLANK_AUTOENCODER = """
class AutoEncoder(nn.Module):
    def __init__(self, latent_dim):
        super().__init__()
        self.latent_dim = latent_dim
        ...

    def forward(self, x):
        ...
"""


def _extrapolate(digit1, digit2, dataloader, encoder, decoder, num_images=12):
    return None


def test_a_student_error_is_explained_in_the_message(lab):
    """The train function that builds its own model instead of using `model`."""
    _, env = lab
    source = (
        "def train_autoencoder(train_loader, val_loader, model=None, num_epochs=100,\n"
        "                      early_stopping_patience=5):\n"
        "    return AutoEncoder(latent_dim=2)\n"
    )
    wrong = run_lab([source], dict(env))
    with pytest.raises(lab_checks.CheckFailed, match="return the `model` it is given"):
        lab_checks.best_weights(wrong, "autoencoder")


def test_spread_mistake_is_named_as_such(lab):
    """std = logvar: told about the spread, not about fresh noise."""
    _, env = lab
    source = lab_env_source(env, "class VAE(").replace(
        "std = torch.exp(0.5 * logvar)", "std = logvar"
    )
    wrong = run_lab([source], dict(env))
    with pytest.raises(lab_checks.CheckFailed, match="returned mu itself"):
        lab_checks.reparameterize_is_fresh_and_differentiable(wrong)


def lab_env_source(env, marker):
    (source,) = [s for s in code_cells(master_cells()) if marker in s]
    return source


@pytest.mark.parametrize(
    ("check", "size"),
    [
        (lab_checks.latent_samples_are_standard_normal, ("latent_samples", 250)),
        (lab_checks.prior_is_standard_normal, ("prior", 500)),
    ],
)
def test_sampling_checks_never_fail_real_normal_samples(check, size):
    """No false failure over 2,000 seeds of honest samples."""
    name, count = size
    for seed in range(2000):
        generator = torch.Generator().manual_seed(seed)
        check({name: torch.randn(count, 2, generator=generator)})


def test_hidden_feedback_can_be_rendered_from_literals_only():
    """Every message template is a literal: grading trusts no other text."""
    import ast

    calls = 0
    for name, source in LAB.checks_files().items():
        for node in ast.walk(ast.parse(source)):
            called = getattr(getattr(node, "func", None), "id", "")
            if isinstance(node, ast.Call) and called in ("expect", "CheckFailed"):
                template = node.args[1] if called == "expect" else node.args[0]
                assert isinstance(template, (ast.Constant, ast.Name)), (name, ast.unparse(node))
                calls += 1
    assert calls > 80


@pytest.mark.slow
def test_checks_do_not_depend_on_a_lucky_draw(lab):
    """Seeded as the judge seeds each test, for three more notebooks' seeds: the solution passes
    everything and each mistake of the problems without training costs exactly its points."""
    from check_seeds import failures

    sources, env = lab
    tests = list(enumerate(TESTS))
    for seed in (1000, 2000, 3000):
        assert failures(tests, env, seed) == {}, seed
        for mistake in MISTAKES:
            if mistake.question in ("q3", "q9"):  # the training checks: see check_seeds.py
                continue
            wrong, given_failed = with_mistake(sources, env, mistake)
            own = [(k, t) for k, t in tests if t.question == mistake.question]
            failed = failures(own, wrong, seed)
            lost = mistake_cost([t for _, t in own], set(failed), given_failed)
            assert lost == mistake.points_lost, (seed, mistake.question, failed)


@pytest.mark.parametrize("style", sorted(independent.VARIANTS))
def test_correct_notebooks_in_other_styles_pass_every_check(lab, style):
    """Answers written independently, each style as a student might (tests/independent_work.py),
    lose nothing: every given cell runs after them and every check passes."""
    env = run_lab(independent.style_sources(lab[0], style))
    assert _failed(TESTS, env) == {}


def test_the_requirements_table_names_every_test(lab):
    """The lab's lab_checks/REQUIREMENTS.md traces each test to the sentence it checks: every
    test of the master is in it, and every test it names exists (the notebook's own names,
    such as test_loader, aside)."""
    table = (LAB.folder / LAB.checks / "REQUIREMENTS.md").read_text(encoding="utf-8")
    named = set(re.findall(r"`(test_\w+)`", table)) - set(lab[1])
    assert named == {test.name for test in TESTS}
