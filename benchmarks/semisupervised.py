"""Lecture 04: test accuracy with 10, 20, 50 and 100 labels, for four methods.

    python benchmarks/semisupervised.py

For n in 10, 20, 50, 100 labels (balanced, drawn with seeds 0..4) on the fixed test split:
* `ssl.acc_<n>_labels`: SemiSupervisedAutoencoder with its defaults, 100 epochs;
* `ssl.acc_<n>_labels_supervised_only`: the same network on the labelled images alone, same steps;
* `ssl.acc_<n>_labels_logreg`: scikit-learn's LogisticRegression on the labelled images;
* `ssl.acc_<n>_labels_labelspreading`: scikit-learn's LabelSpreading with its defaults (RBF kernel);
* `ssl.acc_<n>_labels_labelspreading_knn`: LabelSpreading(kernel="knn"), which avoids the RBF
  kernel's empty rows on these data.
Each figure is the mean over the 5 seeds.
"""
import warnings

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.semi_supervised import LabelSpreading

from lecturekit import seed_everything
from lecturekit.data import load_digits
from lecturekit.semisupervised import SemiSupervisedAutoencoder, hide_labels, select_labelled
from report import record

SEEDS = range(5)
LABEL_COUNTS = (10, 20, 50, 100)


def accuracies(x, y, x_test, y_test, n, seed):
    chosen = select_labelled(y, n, seed=seed)
    partial = hide_labels(y, chosen)
    seed_everything(seed)
    co_trained = SemiSupervisedAutoencoder().fit(x, partial, epochs=100).score(x_test, y_test)
    seed_everything(seed)
    alone = SemiSupervisedAutoencoder().fit(x, partial, epochs=100, supervised_only=True).score(x_test, y_test)
    logreg = LogisticRegression(max_iter=2000).fit(x[chosen].numpy(), y[chosen].numpy())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # the RBF kernel's empty rows; see the docstring
        spreading = LabelSpreading().fit(x.numpy(), partial.numpy()).score(x_test.numpy(), y_test.numpy())
    spreading_knn = LabelSpreading(kernel="knn").fit(x.numpy(), partial.numpy())
    return {"": co_trained, "_supervised_only": alone,
            "_logreg": logreg.score(x_test.numpy(), y_test.numpy()),
            "_labelspreading": spreading,
            "_labelspreading_knn": spreading_knn.score(x_test.numpy(), y_test.numpy())}


def main():
    x, y = load_digits("train")
    x_test, y_test = load_digits("test")
    rows = []
    for n in LABEL_COUNTS:
        runs = [accuracies(x, y, x_test, y_test, n, seed) for seed in SEEDS]
        means = {suffix: float(np.mean([run[suffix] for run in runs])) for suffix in runs[0]}
        print(n, {k or "co-trained": round(v, 3) for k, v in means.items()})
        target = ">= 0.90 and above supervised-only (target)" if n == 50 else ""
        for suffix, value in means.items():
            rows.append((f"ssl.acc_{n}_labels{suffix}", value, target if suffix == "" else "",
                         f"test accuracy, mean of {len(SEEDS)} seeds"))
    record("semisupervised", "Lecture 04: accuracy against the number of labels", rows,
           notes="\nCo-trained: SemiSupervisedAutoencoder defaults (lambda 10, noise 0.3, "
                 "consistency 10), 100 epochs.")


if __name__ == "__main__":
    main()
