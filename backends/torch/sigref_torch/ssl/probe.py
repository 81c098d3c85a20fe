"""Linear evaluation of frozen encoders (the protocol of the MSCL reference code's ``stl10_eval.py``,
github.com/filipbasara0/sigmoid-contrastive-loss, on the full train split).

Features are the target (EMA) backbone's pooled output in ``eval`` mode on resized, normalised images
(no augmentation), L2-normalised. Two classifiers:

* :func:`logistic_accuracy`: scikit-learn's multinomial logistic regression (lbfgs) on standardised
  features, fit on the train features, accuracy on the test features (the reference wraps it in a 5-fold calibrated
  ensemble fit on 4/5 of the data; here one model sees the whole train split);
* :func:`torch_linear_probe`: the same regularised multinomial model fit full-batch with L-BFGS in torch,
  on the training device (for feature sets too large for scikit-learn).

Baselines: :func:`raw_pixel_accuracy` (standardised pixels) and a random-initialised encoder
(``sigref ssl probe --random-init``).
"""

from __future__ import annotations

import numbers
import warnings

import numpy as np
import torch

from sigref_torch.ssl import data as sdata
from sigref_torch.ssl.augment import inference_transform

__all__ = [
    "extract_features",
    "load_probe_data",
    "logistic_accuracy",
    "logistic_probe_encoder",
    "raw_pixel_accuracy",
    "torch_linear_probe",
]


def load_probe_data(dataset: str, root=None, train_limit: int | None = None, test_limit: int | None = None, seed: int = 0):
    """(train, test) labelled splits of ``dataset``, optionally limited to fixed random subsets."""
    for name, limit in (("train_limit", train_limit), ("test_limit", test_limit)):
        if limit is not None and not (isinstance(limit, numbers.Integral) and limit > 0):
            raise ValueError(f"{name}: expected a positive number of images, or None for the whole split, got {limit!r}")
    _, train_split, test_split = sdata.default_splits(dataset)
    train = sdata.load_dataset(dataset, train_split, root).subset(train_limit, seed)
    test = sdata.load_dataset(dataset, test_split, root).subset(test_limit, seed)
    return train, test


@torch.no_grad()
def extract_features(backbone: torch.nn.Module, images: sdata.ImageSet, *, size: int, device=None,
                     batch_size: int = 512, mean=None, std=None) -> np.ndarray:
    """L2-normalised backbone features ``(N, F)`` (float64 on the host) of every image of ``images``."""
    device = torch.device(device or next(backbone.parameters()).device)
    was_training = backbone.training
    backbone.eval()
    mean = images.mean if mean is None else mean
    std = images.std if std is None else std
    chunks = []
    try:
        for start in range(0, len(images), batch_size):
            rows = np.arange(start, min(start + batch_size, len(images)))
            x = inference_transform(torch.from_numpy(images.batch(rows)).to(device), size, mean, std)
            f = backbone(x).float()
            chunks.append(torch.nn.functional.normalize(f, dim=-1).cpu().double().numpy())
    finally:
        backbone.train(was_training)
    return np.concatenate(chunks, 0)


def logistic_accuracy(train_x: np.ndarray, train_y: np.ndarray, test_x: np.ndarray, test_y: np.ndarray, *,
                      C: float = 1.0, max_iter: int = 1000, standardize: bool = True) -> float:
    """Test accuracy of scikit-learn's ``LogisticRegression`` fit on ``(train_x, train_y)``.

    ``standardize`` z-scores every feature with the train split's mean and std first: unit-norm
    features of a small network differ by little between images, and at C = 1 an unstandardised fit measures the
    regulariser more than the features.
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    if len(np.unique(train_y)) < 2:
        raise ValueError(f"train_y: expected labels of at least 2 classes, got {np.unique(train_y).tolist()}")
    clf = LogisticRegression(C=C, max_iter=max_iter)
    if standardize:
        clf = make_pipeline(StandardScaler(), clf)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ConvergenceWarning at max_iter is reported by the accuracy itself
        clf.fit(train_x, train_y)
    return float(np.mean(clf.predict(test_x) == test_y))


def torch_linear_probe(train_x: np.ndarray, train_y: np.ndarray, test_x: np.ndarray, test_y: np.ndarray, *,
                       C: float = 1.0, standardize: bool = True, max_iter: int = 500, device=None) -> float:
    """Test accuracy of a multinomial logistic regression fit full-batch with L-BFGS on the training device.

    It minimises scikit-learn's objective for ``LogisticRegression(C)``, ``C * sum_i CE(W x_i + c, y_i) +
    ||W||^2 / 2`` (the intercept ``c`` unpenalised), on features z-scored like :func:`logistic_accuracy`'s, so
    on the same features both give the same classifier; this one runs where the features are (a GPU for
    feature sets too large for scikit-learn).
    """
    device = torch.device(device or "cpu")
    dtype = torch.float64 if device.type == "cpu" else torch.float32
    X = torch.as_tensor(train_x, dtype=dtype, device=device)
    X_test = torch.as_tensor(test_x, dtype=dtype, device=device)
    if standardize:
        mean, std = X.mean(0), X.std(0, correction=0)
        std = torch.where(std > 0, std, torch.ones_like(std))  # constant features, as StandardScaler leaves them
        X, X_test = (X - mean) / std, (X_test - mean) / std
    y = torch.as_tensor(train_y, dtype=torch.long, device=device)
    classes = int(max(train_y.max(), test_y.max())) + 1
    layer = torch.nn.Linear(X.shape[1], classes, device=device, dtype=dtype)
    torch.nn.init.zeros_(layer.weight)
    torch.nn.init.zeros_(layer.bias)
    opt = torch.optim.LBFGS(layer.parameters(), lr=1.0, max_iter=max_iter, history_size=20,
                            tolerance_grad=1e-9, tolerance_change=1e-12, line_search_fn="strong_wolfe")

    def closure():  # the objective divided by C * n, so that its scale does not depend on the split's size
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(layer(X), y) + layer.weight.pow(2).sum() / (2 * C * len(X))
        loss.backward()
        return loss

    opt.step(closure)
    with torch.no_grad():
        pred = layer(X_test).argmax(1).cpu().numpy()
    return float(np.mean(pred == test_y))


def logistic_probe_encoder(backbone: torch.nn.Module, probe_data, *, size: int, device=None) -> float:
    """Logistic-regression probe accuracy of ``backbone`` on ``probe_data = (train, test)``."""
    train, test = probe_data
    f_train = extract_features(backbone, train, size=size, device=device, mean=train.mean, std=train.std)
    f_test = extract_features(backbone, test, size=size, device=device, mean=train.mean, std=train.std)
    return logistic_accuracy(f_train, train.labels, f_test, test.labels)


def raw_pixel_accuracy(train: sdata.ImageSet, test: sdata.ImageSet, **kwargs) -> float:
    """Baseline: logistic regression on standardised raw pixels."""
    def flat(s: sdata.ImageSet) -> np.ndarray:
        return s.batch(np.arange(len(s))).reshape(len(s), -1).astype(np.float64) / 255.0

    return logistic_accuracy(flat(train), train.labels, flat(test), test.labels, **kwargs)
