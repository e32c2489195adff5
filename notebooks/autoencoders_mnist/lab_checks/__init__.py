"""The checks of the Autoencoders with MNIST lab: the logic of every public and hidden test.

Each test cell of the master notebook calls one function here with the notebook's variables
(``env``), e.g. ``lab_checks.dataset_sizes(env)``. A check asks the notebook's objects its
questions through a *student* (``aelab.student_side.objects``): in a student's Jupyter and in
the project's fast tests, that student answers in the same process; while grading, the checks
run in the grader's own process and the student is the sandbox where the notebook ran, which
answers with plain data. Either way the check, its expectations and its verdict stay here.

One module per problem, in the notebook's order (Problem 9's training loop is checked by
Problem 3's checks); ``common`` holds what they share, ``doubles`` the test doubles and
probes that must run beside the student's code (the only part of the checks a sandbox ever
receives). The autograder ships this package; the student notebook gets only the public
checks, which ``aelab build`` copies into its test cells.
"""

from .common import CheckFailed
from .p01_data import (
    dataset_sizes,
    loader_batch_sizes,
    loader_order,
    loaders_serve_their_datasets,
    split_is_a_random_partition,
)
from .p02_autoencoder import (
    autoencoder_forward,
    autoencoder_shapes,
    decoder_mirrors_the_encoder,
    decoder_sigmoid,
    encoder_architecture,
)
from .p03_training import (
    adam_steps,
    autoencoder_learns_on_mnist,
    best_weights,
    early_stopping,
    prints_the_validation_error,
    training_runs_and_reports,
    validates_in_eval_mode,
)
from .p05_latent_grid import (
    grid_images_are_decoded_grid_points,
    grid_reading_order,
    grid_shapes,
    grid_spans_minus_five_to_five,
)
from .p06_interpolation import extrapolation_signature_and_shape, interpolation_path
from .p08_vae import (
    mu_and_logvar_heads_are_linear,
    reparameterize_is_fresh_and_differentiable,
    reparameterize_mean_and_spread,
    vae_forward,
    vae_shapes,
)
from .p09_vae_loss import (
    vae_learns_with_vae_loss,
    vae_loss_signature,
    vae_loss_value,
    vae_prints_the_validation_loss,
)
from .p10_prior_samples import (
    latent_samples_are_standard_normal,
    prior_sample_shapes,
    reconstruction_decodes_the_samples,
)
from .p11_posterior import (
    comparison_shapes,
    posterior_uses_the_reparameterisation_trick,
    prior_is_standard_normal,
)

__all__ = [
    "CheckFailed",
    "adam_steps",
    "autoencoder_forward",
    "autoencoder_learns_on_mnist",
    "autoencoder_shapes",
    "best_weights",
    "comparison_shapes",
    "dataset_sizes",
    "decoder_mirrors_the_encoder",
    "decoder_sigmoid",
    "early_stopping",
    "encoder_architecture",
    "extrapolation_signature_and_shape",
    "grid_images_are_decoded_grid_points",
    "grid_reading_order",
    "grid_shapes",
    "grid_spans_minus_five_to_five",
    "interpolation_path",
    "latent_samples_are_standard_normal",
    "loader_batch_sizes",
    "loader_order",
    "loaders_serve_their_datasets",
    "mu_and_logvar_heads_are_linear",
    "posterior_uses_the_reparameterisation_trick",
    "prints_the_validation_error",
    "prior_is_standard_normal",
    "prior_sample_shapes",
    "reconstruction_decodes_the_samples",
    "reparameterize_is_fresh_and_differentiable",
    "reparameterize_mean_and_spread",
    "split_is_a_random_partition",
    "training_runs_and_reports",
    "vae_forward",
    "vae_learns_with_vae_loss",
    "vae_loss_signature",
    "vae_loss_value",
    "vae_prints_the_validation_loss",
    "vae_shapes",
    "validates_in_eval_mode",
]
