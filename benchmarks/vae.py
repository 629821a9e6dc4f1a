"""Lecture 03: how well the VAE models the test digits, in nats per image.

    python benchmarks/vae.py

Trains VAE(latent_dim=16) for 300 epochs (Adam 1e-3, cosine decay) on the training split,
then on the 450 test images reports, per image and as positive NLLs:
* `vae.test_elbo_nats`: minus the ELBO (one sample per image, averaged over 10 draws);
* `vae.test_iwae_nll_nats`: minus the importance-weighted bound with K = 1000;
* `vae.baseline_independent_pixels_nats`: every pixel an independent 17-way categorical,
  fitted by counting with add-one smoothing (naive Bayes with one class).
Means over 3 seeds.
"""
import torch

from lecturekit import seed_everything
from lecturekit.data import load_digits
from lecturekit.naive_bayes import NaiveBayes
from lecturekit.train import fit
from lecturekit.vae import VAE, elbo, iwae_log_likelihood, vae_loss
from report import record

SEEDS = (0, 1, 2)


def main():
    x, _ = load_digits("train")
    x_test, _ = load_digits("test")
    elbos, iwaes = [], []
    for seed in SEEDS:
        seed_everything(seed)
        model = VAE(latent_dim=16)
        fit(model, vae_loss, x, epochs=300, lr=1e-3, schedule="cosine", progress=False)
        with torch.no_grad():
            elbos.append(-torch.stack([elbo(model, x_test)["elbo"] for _ in range(10)]).mean().item())
        iwaes.append(-iwae_log_likelihood(model, x_test, k=1000).mean().item())
        print(f"seed {seed}: -ELBO {elbos[-1]:.2f}, IWAE NLL {iwaes[-1]:.2f}")
    independent = NaiveBayes(n_classes=1).fit(x, torch.zeros(len(x), dtype=torch.long))
    baseline = -independent.log_prob(x_test).mean().item()
    how = f"test set, nats per image, mean of {len(SEEDS)} seeds"
    rows = [("vae.test_elbo_nats", sum(elbos) / len(elbos), "", f"-ELBO, {how}"),
            ("vae.test_iwae_nll_nats", sum(iwaes) / len(iwaes), "<= 95 (target)", f"IWAE K = 1000, {how}"),
            ("vae.baseline_independent_pixels_nats", baseline, "about 106 (issue)",
             "independent 17-way categorical pixels, add-one smoothing")]
    record("vae", "Lecture 03: the VAE's test log-likelihood", rows,
           notes="\nVAE(latent_dim=16, hidden=256), Binomial(16, p) decoder, 300 epochs.")


if __name__ == "__main__":
    main()
