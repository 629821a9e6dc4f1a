"""Lecture 04: test accuracy with 10, 20, 50 and 100 labels, with λ chosen on a validation set.

    python benchmarks/semisupervised.py

As in the notebook, 200 of the 1347 training images (20 per class, `split_validation(y, 200, seed=0)`)
form a validation set that no model trains on; the test split only reports. For n in 10, 20, 50, 100
labels (balanced, drawn from the other 1147 images with seeds 0..4), every network trains for up to
60 epochs and keeps its best epoch on the validation set (early stopping), and:
* `ssl.val_<n>_labels_lambda_<λ>`: the extension's validation accuracy for λ in 1, 10, 100;
* `ssl.lambda_<n>_labels`: the λ with the best of these (mean over the seeds), used below;
* `ssl.acc_<n>_labels`: SemiSupervisedAutoencoder with that λ (noise 0.3, consistency κ = 10);
* `ssl.acc_<n>_labels_no_consistency`: the ablation, the same without its consistency term (κ = 0);
* `ssl.acc_<n>_labels_plain`: the plain co-learning model, without noise and consistency term;
* `ssl.acc_<n>_labels_supervised_only`: the same network on the labelled images alone (noise 0.3);
* `ssl.acc_<n>_labels_logreg`: scikit-learn's LogisticRegression on the labelled images;
* `ssl.acc_<n>_labels_labelspreading`: scikit-learn's LabelSpreading with its defaults (RBF kernel);
* `ssl.acc_<n>_labels_labelspreading_knn`: LabelSpreading(kernel="knn"), which avoids the RBF
  kernel's empty rows on these data.
Each accuracy is the mean over the 5 seeds; RESULTS.md gives the min and max beside it.
"""
import warnings

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.semi_supervised import LabelSpreading

from lecturekit import seed_everything
from lecturekit.data import load_digits
from lecturekit.semisupervised import SemiSupervisedAutoencoder, hide_labels, select_labelled, split_validation
from report import record

SEEDS = range(5)
LABEL_COUNTS = (10, 20, 50, 100)
LAMBDAS = (1.0, 10.0, 100.0)
EPOCHS = 60


def network(x, partial, validation, seed, supervised_only=False, **settings):
    """A SemiSupervisedAutoencoder fitted with early stopping on the validation set."""
    seed_everything(seed)
    return SemiSupervisedAutoencoder(**settings).fit(x, partial, epochs=EPOCHS, supervised_only=supervised_only,
                                                      validation=validation)


def baselines(x, y, partial, chosen, x_test, y_test):
    """Test accuracies of the three scikit-learn methods, which take no validation set."""
    logreg = LogisticRegression(max_iter=2000).fit(x[chosen].numpy(), y[chosen].numpy())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # the RBF kernel's empty rows; see the docstring
        spreading = LabelSpreading().fit(x.numpy(), partial.numpy()).score(x_test.numpy(), y_test.numpy())
    spreading_knn = LabelSpreading(kernel="knn").fit(x.numpy(), partial.numpy())
    return {"_logreg": logreg.score(x_test.numpy(), y_test.numpy()),
            "_labelspreading": spreading,
            "_labelspreading_knn": spreading_knn.score(x_test.numpy(), y_test.numpy())}


def label_count(x, y, validation, x_test, y_test, n):
    """The rows for n labels: λ chosen on the validation set, then every method's test accuracy."""
    labelled = {seed: select_labelled(y, n, seed=seed) for seed in SEEDS}
    partials = {seed: hide_labels(y, labelled[seed]) for seed in SEEDS}
    validation_accuracy, test_accuracy = {}, {}
    for lam in LAMBDAS:
        models = [network(x, partials[seed], validation, seed, lam=lam) for seed in SEEDS]
        validation_accuracy[lam] = float(np.mean([max(m.history_["validation accuracy"]) for m in models]))
        test_accuracy[lam] = [m.score(x_test, y_test) for m in models]
    best_lam = max(LAMBDAS, key=lambda lam: validation_accuracy[lam])
    runs = []
    for seed in SEEDS:
        partial = partials[seed]
        run = {"": test_accuracy[best_lam][seed]}
        for suffix, settings in [("_no_consistency", dict(lam=best_lam, consistency=0.0)),
                                 ("_plain", dict(lam=best_lam, noise=0.0, consistency=0.0)),
                                 ("_supervised_only", dict(supervised_only=True))]:
            run[suffix] = network(x, partial, validation, seed, **settings).score(x_test, y_test)
        run.update(baselines(x, y, partial, labelled[seed], x_test, y_test))
        runs.append(run)
    means = {suffix: float(np.mean([run[suffix] for run in runs])) for suffix in runs[0]}
    spread = {suffix: (min(run[suffix] for run in runs), max(run[suffix] for run in runs)) for suffix in runs[0]}
    print(n, f"λ = {best_lam:g}", {lam: round(v, 3) for lam, v in validation_accuracy.items()},
          {k or "co-trained": round(v, 3) for k, v in means.items()})
    how = f"mean of {len(SEEDS)} seeds"
    rows = [(f"ssl.val_{n}_labels_lambda_{lam:g}", value, "", f"validation accuracy (200 images), {how}")
            for lam, value in validation_accuracy.items()]
    rows.append((f"ssl.lambda_{n}_labels", best_lam, "", "λ with the best validation accuracy"))
    target = ">= 0.90 and above supervised-only (target)" if n == 50 else ""
    rows += [(f"ssl.acc_{n}_labels{suffix}", value, target if suffix == "" else "",
              f"test accuracy, {how} (min {spread[suffix][0]:.3f}, max {spread[suffix][1]:.3f})")
             for suffix, value in means.items()]
    return rows


def main():
    x_all, y_all = load_digits("train")
    kept, held_out = split_validation(y_all, 200, seed=0)
    x, y, validation = x_all[kept], y_all[kept], (x_all[held_out], y_all[held_out])
    x_test, y_test = load_digits("test")
    rows = [row for n in LABEL_COUNTS for row in label_count(x, y, validation, x_test, y_test, n)]
    record("semisupervised", "Lecture 04: accuracy against the number of labels", rows,
           notes=f"\nSemiSupervisedAutoencoder (hidden 128, noise 0.3, consistency 10), up to {EPOCHS} epochs at a "
                 "constant learning rate, early stopping and λ chosen on a 200-image validation split of the "
                 "training set; trained on the other 1147 images.")


if __name__ == "__main__":
    main()
