"""Risk models on feature matrices, and the learner that keeps and publishes them.

- `base`: what a model offers (`RiskModel`) and what the learner publishes (`Published`).
- `link`: the logistic link and batch-independent row sums.
- `scorecard`: the hand-set prior scorecard, champion until labels say otherwise.
- `level`: the prior scorecard's level from the defaults the book has shown.
- `calibrated`: the prior scorecard's ranking with learned probabilities (Platt scaling).
- `logit`: an online logistic regression over every feature.
- `trees`: a fitted ensemble of boosted trees, with exact path reason codes.
- `growing`: growing boosted trees on binned features, in numpy.
- `store`: the bounded store of labelled rows the trees are refit on.
- `boosted`: the store and the periodic refit of the boosted model.
- `metrics`: ROC AUC and log loss.
- `validation`: the window of progressively validated labels and the champion's choice.
- `learner`: labels in, one published model per event-time month end out.
"""

from detectors.models.base import Published, RiskModel
from detectors.models.boosted import RefitBoosting
from detectors.models.calibrated import CalibratedScorecard
from detectors.models.learner import MODELS, LabelBatch, Learner
from detectors.models.logit import OnlineLogit
from detectors.models.scorecard import PriorScorecard
from detectors.models.trees import TreeEnsemble

__all__ = [
    "MODELS",
    "CalibratedScorecard",
    "LabelBatch",
    "Learner",
    "OnlineLogit",
    "PriorScorecard",
    "Published",
    "RefitBoosting",
    "RiskModel",
    "TreeEnsemble",
]
