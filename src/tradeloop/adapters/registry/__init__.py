"""Model registries: MLflow (authoritative) and the champion files mirrored for serving."""
