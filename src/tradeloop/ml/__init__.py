"""Machine learning: features, labels, datasets, nets, training, calibration, prediction."""
