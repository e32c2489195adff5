import json

from aelab.cli import main


def test_reference_run_writes_figures_and_metrics(tmp_path, capsys):
    out = tmp_path / "ref"
    assert (
        main(
            [
                "reference",
                "--out",
                str(out),
                "--ae-epochs",
                "1",
                "--vae-epochs",
                "1",
                "--device",
                "cpu",
            ]
        )
        == 0
    )
    metrics = json.loads((out / "metrics.json").read_text())
    assert set(metrics["test_mse"]) == {"autoencoder", "vae_posterior_mean", "pca_2_components"}
    assert 0.05 < metrics["test_mse"]["pca_2_components"] < 0.06
    assert metrics["autoencoder"]["epochs_run"] == 1
    for name in metrics["figures"]:
        assert (out / name).stat().st_size > 5_000
    assert len(metrics["figures"]) == 6
    assert "Figures and metrics.json written" in capsys.readouterr().out
