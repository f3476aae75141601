"""mlscore: machine-learning predictive customer scoring.

Learned conversion and churn probabilities, calibrated, explained in words, and
segmented for campaigns; every retraining tracked in MLflow.
"""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__"]
