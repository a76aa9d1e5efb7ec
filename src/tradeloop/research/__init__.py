"""Research: optimisation studies over the strategy library, walk-forward folds, and what
the overfitting statistics say of them."""
